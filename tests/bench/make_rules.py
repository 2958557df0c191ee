#!/usr/bin/env python3
"""Writes the matcher benchmark's pattern files into OUT_DIR:
- the 14 CityLots2 reference sets (set-<name>.jsonl, 5 patterns each),
- generated rule sets of the exact, prefix, numeric and anything-but kinds
  (gen-<kind>-<count>.jsonl) over the CityLots2 fields, values drawn from the
  events so that some of them match.
Usage: make_rules.py REFERENCE_PATTERNS EVENTS OUT_DIR"""
import json
import os
import random
import sys

ref, events_path, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
random.seed(7)

sets = {}
with open(ref) as f:
    for line in f:
        if line.strip():
            p = json.loads(line)
            sets.setdefault(p["set"], []).append(p)
for name, patterns in sets.items():
    with open(os.path.join(out, "set-%s.jsonl" % name), "w") as f:
        for p in patterns:
            f.write(json.dumps({"name": p["name"], "pattern": p["pattern"]}) + "\n")

blklots, streets, xs = [], [], []
with open(events_path) as f:
    for i, line in enumerate(f):
        if i >= 20000:
            break
        e = json.loads(line)
        blklots.append(e["properties"]["MAPBLKLOT"])
        streets.append(e["properties"]["STREET"])
        xs.append(e["geometry"]["firstCoordinates"]["x"])


def exact(i):
    v = random.choice(blklots) if i % 2 == 0 else "%07d" % random.randrange(10 ** 7)
    return {"properties": {"MAPBLKLOT": [v]}}


def prefix(i):
    s = random.choice(streets)
    return {"properties": {"STREET": [{"prefix": s[: random.randint(2, min(5, len(s)))] + ("" if i % 2 == 0 else "Q")}]}}


def numeric(i):
    lo = random.choice(xs)
    if i % 3 == 0:
        return {"geometry": {"firstCoordinates": {"x": [{"numeric": [">", lo]}]}}}
    if i % 3 == 1:
        return {"geometry": {"firstCoordinates": {"x": [{"numeric": ["<", lo]}]}}}
    return {"geometry": {"firstCoordinates": {"x": [{"numeric": [">=", lo, "<", lo + 0.001]}]}}}


def anything_but(i):
    return {"properties": {"STREET": [{"anything-but": [random.choice(streets), "NOT-A-STREET-%d" % i]}]}}


for kind, make in (("exact", exact), ("prefix", prefix), ("numeric", numeric), ("anything_but", anything_but)):
    for count in (10, 100, 10000):
        with open(os.path.join(out, "gen-%s-%d.jsonl" % (kind, count)), "w") as f:
            for i in range(count):
                f.write(json.dumps({"name": "%s-%d" % (kind, i), "pattern": make(i)}) + "\n")
