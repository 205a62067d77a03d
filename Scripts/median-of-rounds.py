#!/usr/bin/env python3
"""Merges benchmark records from several rounds into one record per measurement.

    python3 Scripts/median-of-rounds.py rounds.jsonl > merged.jsonl

Records (JSON lines in the format of ../shared/bench/README.md) are grouped by implementation,
op, dtype, threads and shape; each group becomes one record whose median_us is the median of
the rounds' medians, with gbps recomputed from it, `rounds` the number of rounds and
`low_us` / `high_us` the fastest and slowest round. On a shared machine whose speed drifts
by tens of percent from minute to minute, interleaved rounds keep one slow minute from
deciding a ratio.
"""
import json
import statistics
import sys
from collections import defaultdict

groups = defaultdict(list)
order = []
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["impl"], r["op"], r["dtype"], int(r["threads"]), int(r["N"]), int(r["D"]))
        if key not in groups:
            order.append(key)
        groups[key].append(r)

for key in order:
    records = groups[key]
    times = sorted(float(r["median_us"]) for r in records)
    merged = dict(records[0])
    median = statistics.median(times)
    merged["median_us"] = round(median, 3)
    if "gbps" in merged and merged.get("median_us"):
        bytes_moved = float(records[0]["gbps"]) * float(records[0]["median_us"]) * 1e3
        merged["gbps"] = round(bytes_moved / (median * 1e3), 3)
    merged["rounds"] = len(times)
    merged["low_us"] = times[0]
    merged["high_us"] = times[-1]
    print(json.dumps(merged))
