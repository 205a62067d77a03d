#!/usr/bin/env python3
"""Turns benchmark records (ours.jsonl, peers.jsonl from Scripts/compare-peers.sh) into the
README's Markdown tables: per op and dtype, one row per shape with the package's median,
GB/s, the naive loops, PyTorch, ONNX Runtime and the copy yardstick, and the ratios.

    python3 Scripts/markdown-table.py ours.jsonl peers.jsonl
"""
import json
import sys
from collections import defaultdict

rows = defaultdict(dict)
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["op"], r["dtype"], int(r["N"]), int(r["D"]))][(r["impl"], int(r["threads"]))] = r

SHAPES = [(64, 768), (4096, 768), (8192, 1024), (2048, 4096), (512, 16384), (16, 65536),
          (32768, 128), (1000000, 8)]


def us(r):
    return f"{r['median_us']:.1f}" if r else "–"


def ratio(a, b):
    return f"{b['median_us'] / a['median_us']:.2f}x" if a and b else "–"


ops = sorted({(op, dt) for (op, dt, _, _) in rows if op != "copy"})
for op, dtype in ops:
    print(f"\n**{op}, {dtype}** (µs, medians; ratios are speedups of the package)\n")
    print("| shape | package 1T | GB/s | naive 1T | vs naive | torch 1T | vs torch | ORT 1T | copy | package 2T | torch 2T | vs torch 2T |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, d in SHAPES:
        impls = rows.get((op, dtype, n, d))
        if not impls:
            continue
        ours1, ours2 = impls.get(("layernorm", 1)), impls.get(("layernorm", 2))
        naive, torch1, torch2 = impls.get(("naive", 1)), impls.get(("torch", 1)), impls.get(("torch", 2))
        ort = impls.get(("onnxruntime", 1))
        copy = rows.get(("copy", dtype, n, d), {}).get(("numpy", 1))
        gbps = f"{ours1['gbps']:.1f}" if ours1 else "–"
        print(f"| {n}x{d} | {us(ours1)} | {gbps} | {us(naive)} | {ratio(ours1, naive)} | {us(torch1)} | "
              f"{ratio(ours1, torch1)} | {us(ort)} | {us(copy)} | {us(ours2)} | {us(torch2)} | {ratio(ours2, torch2)} |")
