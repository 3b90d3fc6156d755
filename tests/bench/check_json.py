#!/usr/bin/env python3
"""check_json.py FILE [--expect-fail NAME] NAME...: check a `shmkit bench --json` report.

Every NAME must appear; a measured transport must have a round_trip and a throughput entry per
size, each either ok with every figure (the same sample count for every transport, every
message checked) or not applicable / failed with a reason and no figure. --expect-fail NAME:
that transport's applicable cases must all have failed (with a reason naming a bad message)."""
import json
import sys

FIGURES_RT = ["samples", "validated_messages", "p50_ns", "p99_ns", "p999_ns", "max_ns", "min_ns",
              "mean_ns", "cpu_s_per_million"]
FIGURES_TP = ["messages", "batches", "validated_messages", "msgs_per_s", "gb_per_s",
              "cpu_s_per_million"]


def fail(msg):
    print("check_json: " + msg, file=sys.stderr)
    sys.exit(1)


def check_case(t, mode, case, want, expect_fail):
    where = "%s %s %d" % (t["name"], mode, case["size"])
    status = case["status"]
    figures = FIGURES_RT if mode == "round_trip" else FIGURES_TP
    if status == "ok":
        if expect_fail:
            fail(where + ": measured, but its messages were corrupted")
        for f in figures:
            if not isinstance(case.get(f), (int, float)):
                fail(where + ": missing " + f)
        count = case["samples"] if mode == "round_trip" else case["messages"]
        if count != want:
            fail("%s: %d samples, the run promised %d" % (where, count, want))
        if case["validated_messages"] < count:
            fail(where + ": fewer messages checked than measured")
        if mode == "round_trip" and not (case["min_ns"] <= case["p50_ns"] <= case["p99_ns"]
                                         <= case["p999_ns"] <= case["max_ns"]):
            fail(where + ": percentiles out of order")
        return 1
    if status not in ("not-applicable", "failed") or not case.get("reason"):
        fail(where + ": status %r without a reason" % status)
    if any(f in case for f in figures):
        fail(where + ": a figure from a case that did not pass")
    if expect_fail and status == "failed":
        if "corrupt" not in case["reason"] and "checksum" not in case["reason"]:
            fail(where + ": failed for another reason: " + case["reason"])
        return -1
    if status == "failed":
        fail(where + ": failed: " + case["reason"])
    return 0


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    expect_fail = set()
    while args and args[0] == "--expect-fail":
        args.pop(0)
        expect_fail.add(args.pop(0))
    with open(path) as f:
        doc = json.load(f)
    for key in ("format", "command", "machine", "config", "samples", "transports", "ratios"):
        if key not in doc:
            fail("missing " + key)
    for key in ("cpu", "cores", "kernel", "governor"):
        if key not in doc["machine"]:
            fail("machine: missing " + key)
    sizes = doc["config"]["sizes"]
    names = {t["name"]: t for t in doc["transports"]}
    for name in args + sorted(expect_fail):
        if name not in names:
            fail("transport %s missing from the report" % name)
    measured = 0
    for t in doc["transports"]:
        if t["status"] == "skipped":
            if not t.get("reason"):
                fail(t["name"] + ": skipped without a reason")
            print("check_json: %s skipped: %s" % (t["name"], t["reason"]))
            continue
        for mode, count_key in (("round_trip", "round_trip"), ("throughput", "throughput_messages")):
            cases = t[mode]
            if [c["size"] for c in cases] != sizes:
                fail("%s %s: sizes %r" % (t["name"], mode, [c["size"] for c in cases]))
            results = [check_case(t, mode, c, doc["samples"][count_key][str(c["size"])],
                                  t["name"] in expect_fail) for c in cases]
            if t["name"] in expect_fail and 1 in results:
                fail(t["name"] + ": a figure despite the corruption")
            measured += results.count(1)
    for r in doc["ratios"]:
        if r["value"] is None and not r.get("pending"):
            fail("ratio %s/%s: neither a value nor a reason" % (r["a"], r["b"]))
    print("check_json: %d cases measured and checked" % measured)


main()
