#!/usr/bin/env python3
"""Fixture for bench/aid/run: supporters, open requests and the trust graph of a generated town,
written straight into its SQLite database (migrated, with the demo town's people, households,
areas and association memberships, and one API token per household from `machi token provision`).

  fixture.py sqlite DB TOKENS OUT SUPPORTERS REQUESTS LINKS PAST
      DB:         the SQLite database
      TOKENS:     `household_id<TAB>token` lines (machi token provision --out)
      OUT:        writes OUT/requests.tsv: `request_id<TAB>token of its requester`, one a line
      SUPPORTERS: people with a supporter profile (a random sample of the town's people), each at
                  a random point of their own 町丁目, radius 1-5 km, 1-5 categories, weekly slots;
                  10% hold a valid childcare certification (and 1% an expired one)
      REQUESTS:   open requests (audience `invited`), one per requester; the requesters are
                  household representatives (the holders of the tokens); about 1/8 childcare;
                  starting within the next 14 days, 08:00-19:45 local, 30-180 minutes
      LINKS:      「知り合い」 pairs among the people (85% accepted), besides 0-5 accepted links
                  of every requester
      PAST:       settled past activities between random people and supporters, with reviews
                  (they give ratings and "past aid" trust), besides 0-4 of every requester
  Prints one line of key=value counts. Bumps aid_meta.index_version at the end.
"""

import datetime
import hashlib
import os
import random
import sqlite3
import sys
import time

CATEGORIES = ["childcare", "shopping", "housework", "garden", "moving", "it_help", "listening", "other"]
# How often a supporter offers each category (childcare mostly comes with the certification).
OFFER_P = {
    "childcare": 0.04,
    "shopping": 0.5,
    "housework": 0.35,
    "garden": 0.3,
    "moving": 0.2,
    "it_help": 0.25,
    "listening": 0.4,
    "other": 0.3,
}
SKILLS = [
    "料理", "買い物", "掃除", "草むしり", "剪定", "スマホ", "パソコン", "英語", "中国語", "運転",
    "送迎", "読み聞かせ", "保育士", "介護", "傾聴", "大工", "電球交換", "家具の組み立て", "犬の散歩", "書類",
]
DESCRIPTIONS = {
    "childcare": "子どもの保育園のお迎えと、夕方まで見ていてほしいです",
    "shopping": "スーパーでの買い物をお願いしたいです",
    "housework": "台所と風呂の掃除を手伝ってほしいです",
    "garden": "庭の草むしりと生け垣の手入れをお願いします",
    "moving": "タンスを二階に運ぶのを手伝ってください",
    "it_help": "スマホの設定とビデオ通話のやり方を教えてほしいです",
    "listening": "話し相手になってほしいです。お茶を用意します",
    "other": "町会の回覧板を近所に配るのを手伝ってほしいです",
}
BLOCKS = ["06:00-09:00", "09:00-12:00", "13:00-17:00", "17:00-21:00", "09:00-17:00", "10:00-16:00"]
JST = datetime.timezone(datetime.timedelta(hours=9))
DAY_MS = 86_400_000


def slots(rng):
    r = rng.random()
    if r < 0.25:  # weekday daytime
        return [f"{d}:09:00-17:00" for d in range(5)]
    if r < 0.45:  # weekends
        return ["5:09:00-18:00", "6:09:00-18:00"]
    if r < 0.60:  # after work
        return [f"{d}:18:00-21:00" for d in range(5)] + ["5:10:00-16:00"]
    if r < 0.70:  # any time
        return [f"{d}:00:00-24:00" for d in range(7)]
    picked = {(rng.randrange(7), rng.choice(BLOCKS)) for _ in range(rng.randint(2, 7))}
    return [f"{d}:{b}" for d, b in sorted(picked)]


def point(rng, box):
    west, south, east, north = box
    return south + rng.random() * (north - south), west + rng.random() * (east - west)


def make(db, tokens_file, out, n_supporters, n_requests, n_links, n_past):
    rng = random.Random(20261201)
    now = int(time.time() * 1000)
    today = datetime.datetime.now(JST).date()
    con = sqlite3.connect(db, timeout=60)
    con.execute("PRAGMA foreign_keys = ON")

    boxes = {}
    town = None
    for aid, w, s, e, n, level in con.execute("SELECT id, min_lon, min_lat, max_lon, max_lat, level FROM areas"):
        boxes[aid] = (w, s, e, n)
        if level == "town":
            town = aid
    people = con.execute("SELECT id, area_id FROM people WHERE deleted_at IS NULL ORDER BY id").fetchall()
    if len(people) < n_supporters:
        sys.exit(f"the town has {len(people)} people, fewer than SUPPORTERS={n_supporters}")
    area_of = {p: (a if a in boxes else town) for p, a in people}

    # The households' token holders (their representatives).
    holder_of_hash = dict(con.execute("SELECT token_hash, person_id FROM api_tokens WHERE revoked_at IS NULL"))
    holders = []
    for line in open(tokens_file):
        household, token = line.rstrip("\n").split("\t")
        person = holder_of_hash.get(hashlib.sha256(token.encode()).hexdigest())
        if person is not None:
            holders.append((person, token))
    if len(holders) < n_requests:
        sys.exit(f"only {len(holders)} household tokens, fewer than REQUESTS={n_requests}")

    # ---- supporters and certifications
    chosen = rng.sample([p for p, _ in people], n_supporters)
    supporters, certs = [], []
    certified = expired = childcare_offered = 0
    for i, person in enumerate(chosen):
        cats = [c for c in CATEGORIES if rng.random() < OFFER_P[c]]
        roll = rng.random()
        if roll < 0.10:  # a valid childcare certification
            valid = today + datetime.timedelta(days=rng.randint(30, 730))
            certs.append((f"bench-aid-c{i:06d}", person, "childcare", "みどり市社会福祉協議会", valid.isoformat(), "bench", now))
            certified += 1
            if "childcare" not in cats:
                cats.append("childcare")
        elif roll < 0.11:  # only an expired one
            valid = today - datetime.timedelta(days=rng.randint(0, 365))
            certs.append((f"bench-aid-c{i:06d}", person, "childcare", "みどり市社会福祉協議会", valid.isoformat(), "bench", now))
            expired += 1
        if not cats:
            cats = [rng.choice(CATEGORIES[1:])]
        cats.sort(key=CATEGORIES.index)
        childcare_offered += "childcare" in cats
        lat, lon = point(rng, boxes[area_of[person]])
        insured = rng.random() < 0.6
        supporters.append(
            (
                person,
                ",".join(cats),
                ",".join(rng.sample(SKILLS, rng.randint(0, 3))),
                rng.randrange(1000, 5001, 250),
                round(lat, 6),
                round(lon, 6),
                ",".join(slots(rng)),
                int(insured),
                ",".join(c for c in cats if insured and rng.random() < 0.9),
                rng.choices(["ja", "ja,en", "ja,zh", "ja,vi"], [90, 6, 3, 1])[0],
                1,
                now,
            )
        )
    supporter_set = set(chosen)

    # ---- requesters, their open requests
    requesters = rng.sample(holders, n_requests)
    requests, req_out = [], []
    for i, (person, token) in enumerate(requesters):
        category = CATEGORIES[i % len(CATEGORIES)]  # exactly 1/8 of each
        while True:
            day = today + datetime.timedelta(days=rng.randrange(14))
            local = datetime.datetime(day.year, day.month, day.day, rng.randint(8, 19), rng.choice([0, 15, 30, 45]), tzinfo=JST)
            starts_at = int(local.timestamp() * 1000)
            if starts_at > now + 3_600_000:
                break
        area = area_of[person]
        lat, lon = point(rng, boxes[area])
        words = " ".join(rng.sample(SKILLS, rng.randint(0, 2)))
        rid = f"bench-aid-r{i:06d}"
        requests.append(
            (
                rid, person, category, starts_at, rng.choice([30, 60, 60, 90, 120, 180]), area, round(lat, 6), round(lon, 6),
                rng.randint(0, 1), (DESCRIPTIONS[category] + " " + words).strip(),
                0 if rng.random() < 0.4 else rng.choice([500, 600, 800, 1000]), "invited", "open",
                now - rng.randrange(3 * DAY_MS),
            )
        )
        req_out.append(f"{rid}\t{token}\n")
    requester_ids = [p for p, _ in requesters]

    # ---- past activities (settled) with reviews: ratings, and "past aid" trust
    past, settlements, reviews = [], [], []

    def past_activity(requester, supporter):
        j = len(past)
        pid = f"bench-aid-p{j:06d}"
        cat = rng.choice(CATEGORIES[1:])
        starts = now - rng.randint(2, 365) * DAY_MS - rng.randrange(DAY_MS)
        fee = rng.choice([0, 0, 500, 800, 1000])
        past.append(
            (
                pid, requester, cat, starts, 60, area_of[requester], 35.68, 139.56, 0, DESCRIPTIONS[cat], fee,
                "nearby", "settled", starts - 3 * DAY_MS, supporter, starts - 2 * DAY_MS, fee, int(rng.random() < 0.5),
                starts + 3_600_000, starts + 7_200_000,
            )
        )
        settlements.append((pid, fee, "cash", None, requester, starts + 7_200_000))
        stars = rng.choices([5, 4, 3, 2, 1], [50, 30, 12, 5, 3])[0]
        reviews.append((pid, requester, supporter, stars, None, starts + 7_200_000))
        if rng.random() < 0.5:
            reviews.append((pid, supporter, requester, rng.choices([5, 4, 3], [70, 25, 5])[0], None, starts + 7_200_000))

    for person in requester_ids:
        for _ in range(rng.randint(0, 4)):
            s = rng.choice(chosen)
            if s != person:
                past_activity(person, s)
    for _ in range(n_past):
        r, s = rng.choice(people)[0], rng.choice(chosen)
        if r != s:
            past_activity(r, s)

    # ---- 「知り合い」 links (a < b), blocks
    links = {}

    def link(x, y, accepted):
        if x == y:
            return
        a, b = (x, y) if x < y else (y, x)
        if (a, b) not in links:
            asked = now - rng.randrange(365 * DAY_MS)
            links[(a, b)] = (a, b, rng.choice([a, b]), asked, asked + rng.randrange(DAY_MS) if accepted else None)

    for person in requester_ids:
        for _ in range(rng.randint(0, 5)):
            link(person, rng.choice(chosen), True)
        link(person, rng.choice(chosen), False)
    target = len(links) + n_links
    for _ in range(n_links * 3):
        if len(links) >= target:
            break
        # Mostly between supporters (who use the feature), some with other people.
        x = rng.choice(chosen)
        y = rng.choice(chosen) if rng.random() < 0.8 else rng.choice(people)[0]
        link(x, y, rng.random() < 0.85)
    blocks = set()
    for person in rng.sample(requester_ids, max(1, n_requests // 20)):
        blocks.add((person, rng.choice(chosen)))
    for _ in range(max(1, n_supporters // 100)):
        blocks.add((rng.choice(people)[0], rng.choice(people)[0]))
    blocks = [(a, b, now - rng.randrange(365 * DAY_MS)) for a, b in blocks if a != b]

    with con:
        con.executemany("INSERT INTO aid_supporters VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", supporters)
        con.executemany(
            "INSERT INTO aid_certifications (id, person_id, kind, issued_by, valid_until, recorded_by, recorded_at) "
            "VALUES (?,?,?,?,?,?,?)",
            certs,
        )
        con.executemany(
            "INSERT INTO aid_requests (id, requester_id, category, starts_at, duration_minutes, area_id, lat, lon, "
            "exact_point, description, fee_per_hour, audience, state, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            requests,
        )
        con.executemany(
            "INSERT INTO aid_requests (id, requester_id, category, starts_at, duration_minutes, area_id, lat, lon, "
            "exact_point, description, fee_per_hour, audience, state, created_at, supporter_id, accepted_at, fee_agreed, "
            "covered, done_at, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            past,
        )
        con.executemany("INSERT INTO aid_settlements VALUES (?,?,?,?,?,?)", settlements)
        con.executemany(
            "INSERT INTO aid_reviews (request_id, reviewer_id, reviewee_id, rating, comment, created_at) VALUES (?,?,?,?,?,?)",
            reviews,
        )
        con.executemany("INSERT INTO aid_links (a, b, asked_by, asked_at, accepted_at) VALUES (?,?,?,?,?)", links.values())
        con.executemany("INSERT INTO aid_blocks (blocker_id, blocked_id, created_at) VALUES (?,?,?)", blocks)
        con.execute("UPDATE aid_meta SET value = value + 1 WHERE key = 'index_version'")
    con.close()
    with open(os.path.join(out, "requests.tsv"), "w") as f:
        f.writelines(req_out)
    rated = len({r[2] for r in reviews} & supporter_set)
    accepted = sum(1 for l in links.values() if l[4] is not None)
    print(
        f"supporters={len(supporters)} certified={certified} expired_certs={expired} childcare_offered={childcare_offered}"
        f" requests={len(requests)} past={len(past)} reviews={len(reviews)} rated_supporters={rated}"
        f" links={len(links)} accepted_links={accepted} blocks={len(blocks)}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 9 and sys.argv[1] == "sqlite":
        make(sys.argv[2], sys.argv[3], sys.argv[4], *(int(a) for a in sys.argv[5:9]))
    else:
        sys.exit(__doc__)
