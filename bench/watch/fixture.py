#!/usr/bin/env python3
"""Fixture for bench/watch/run: every person of a list watched (a circle with the person's consent
record, one bulb device, one `period` rule of 24 h + 1 h grace), as CSV files the run script
loads into SQLite (here) or PostgreSQL (psql \\copy).

  fixture.py make PEOPLE OUT OVERDUE_EVERY
      PEOPLE: person ids, one a line. Writes OUT/{consents,circles,devices,rules,state}.csv,
      OUT/tokens.txt (the device tokens of the persons who keep signalling, one a line) and
      OUT/devices.txt (their `device-id<TAB>token` lines, for MQTT), both in a random order:
      100,000 devices each signalling every 5 minutes arrive in no order of person or device.
      OUT/tokens-in-order.txt holds the same tokens in the order of the persons' ids (a
      writer that meets neighbouring rows one after the other: the best case, for comparison). Every OVERDUE_EVERY-th
      person went silent 25-26 h ago (their last signal is past the rule's 24 h + 1 h grace)
      and sends nothing more; everybody else's device signalled within the last 5 minutes.
  fixture.py sqlite DB OUT
      Load OUT/*.csv into the SQLite database DB (migrated, with the people).
  fixture.py psql OUT
      Print the psql script that loads OUT/*.csv into PostgreSQL in one transaction, then
      gathers the planner's statistics (ANALYZE).
"""

import csv
import hashlib
import os
import random
import secrets
import sqlite3
import sys
import time

TABLES = {
    "consents": ("consents", ["id", "person_id", "purpose", "scope", "granted_at", "granted_by"]),
    "circles": ("watch_circles", ["id", "person_id", "created_by", "created_at", "consent_id", "consented_at", "ladder_minutes"]),
    "devices": ("watch_devices", ["id", "circle_id", "person_id", "kind", "token_hash", "created_at", "last_value", "last_at"]),
    "rules": ("watch_rules", ["id", "circle_id", "kind", "source", "period_minutes", "grace_minutes", "created_by", "created_at"]),
    "state": ("watch_state", ["person_id", "last_signal_at"]),
}


def make(people_file, out, overdue_every):
    people = [l.strip() for l in open(people_file) if l.strip()]
    now = int(time.time() * 1000)
    began = now - 2 * 86_400_000  # watching began two days ago
    rng = random.Random(7)
    files = {name: open(os.path.join(out, f"{name}.csv"), "w", newline="") for name in TABLES}
    writers = {name: csv.writer(f) for name, f in files.items()}
    overdue = 0
    active = []
    for i, person in enumerate(people):
        circle, device, rule = f"bench-c{i:06d}", f"bench-d{i:06d}", f"bench-r{i:06d}"
        token = "mdev_" + secrets.token_hex(32)
        silent = overdue_every > 0 and i % overdue_every == 0
        if silent:
            last = now - 25 * 3_600_000 - rng.randrange(3_600_000)
            overdue += 1
        else:
            last = now - rng.randrange(300_000)
            active.append((device, token))
        consent = f"bench-consent-{i:06d}"
        writers["consents"].writerow([consent, person, "見守り(watch)", f"watch/{circle}", began, person])
        writers["circles"].writerow([circle, person, "bench", began, consent, began, 30])
        writers["devices"].writerow(
            [device, circle, person, "bulb", hashlib.sha256(token.encode()).hexdigest(), began, "off", last]
        )
        writers["rules"].writerow([rule, circle, "period", "any", 1440, 60, "bench", began])
        writers["state"].writerow([person, last])
    for f in files.values():
        f.close()
    with open(os.path.join(out, "tokens-in-order.txt"), "w") as f:
        f.writelines(token + "\n" for _, token in active)
    rng.shuffle(active)
    with open(os.path.join(out, "tokens.txt"), "w") as tokens, open(os.path.join(out, "devices.txt"), "w") as devices:
        for device, token in active:
            tokens.write(token + "\n")
            devices.write(f"{device}\t{token}\n")
    print(f"persons={len(people)} overdue={overdue}")


def load_sqlite(db, out):
    con = sqlite3.connect(db, timeout=30)
    con.execute("PRAGMA foreign_keys = ON")
    with con:
        for name, (table, cols) in TABLES.items():
            with open(os.path.join(out, f"{name}.csv"), newline="") as f:
                con.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    ([None if v == "" else v for v in row] for row in csv.reader(f)),
                )
    con.close()


def psql(out):
    print("\\set ON_ERROR_STOP on")
    print("BEGIN;")
    for name, (table, cols) in TABLES.items():
        path = os.path.abspath(os.path.join(out, f"{name}.csv")).replace("'", "''")
        print(f"\\copy {table} ({', '.join(cols)}) FROM '{path}' WITH (FORMAT csv)")
    print("COMMIT;")
    # Statistics for the planner, as autovacuum would gather within a minute of such a load:
    # without them PostgreSQL plans the sweep as if every table held one row.
    print("ANALYZE;")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "sqlite":
        load_sqlite(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "psql":
        psql(sys.argv[2])
    else:
        sys.exit(__doc__)
