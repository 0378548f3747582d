#!/usr/bin/env python3
"""HTTP client of bench/aid/run: GET /api/v1/aid/requests/{id}/suggestions for every request,
as its requester (their household token), one after another over one keep-alive connection on
loopback, and time each.

  suggest.py HOST:PORT REQUESTS_TSV
      REQUESTS_TSV: `request_id<TAB>token` lines (fixture.py). One untimed request first (the
      server builds its matching index on first use); then every request once, timed.
  Prints one line: ok= p50_ms= p99_ms= max_ms= mean_ms= warmup_ms= suggested= full= empty=
  acquaintance_first= available= seconds=
  (full: requests with 10 suggestions; available: suggestions free at the requested time)
"""

import http.client
import json
import sys
import time


def main(addr, tsv):
    host, port = addr.rsplit(":", 1)
    rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
    conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def get(rid, token):
        t0 = time.perf_counter()
        conn.request(
            "GET",
            f"/api/v1/aid/requests/{rid}/suggestions",
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "ja"},
        )
        resp = conn.getresponse()
        body = resp.read()
        ms = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            sys.exit(f"GET suggestions of {rid}: HTTP {resp.status}: {body[:300]!r}")
        return ms, json.loads(body)

    warmup_ms, _ = get(*rows[0])
    times, suggested, full, empty, acq_first, available = [], 0, 0, 0, 0, 0
    started = time.perf_counter()
    for rid, token in rows:
        ms, body = get(rid, token)
        times.append(ms)
        suggested += len(body)
        full += len(body) >= 10
        empty += not body
        acq_first += bool(body) and body[0].get("trust") != "stranger"
        available += sum(1 for s in body if s.get("available"))
    seconds = time.perf_counter() - started
    times.sort()

    def pct(p):
        return times[max(0, -(-len(times) * p // 100) - 1)]

    print(
        f"ok={len(times)} p50_ms={pct(50):.2f} p99_ms={pct(99):.2f} max_ms={times[-1]:.2f}"
        f" mean_ms={sum(times) / len(times):.2f} warmup_ms={warmup_ms:.0f} suggested={suggested} full={full}"
        f" empty={empty} acquaintance_first={acq_first} available={available} seconds={seconds:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
