"""The python-dateutil side of scripts/bench-recurrence.

Reads the JSON lines of examples/bench_recurrence (one case each: zone, DTSTART, RRULE,
EXDATEs, UTC window, the instances Calento found and its median time), builds the same rule
with dateutil (an rruleset when there are EXDATEs), times rrule.between(from, to, inc=True)
with timeit, fails when the instances differ, and prints a Markdown table.
"""
import datetime
import json
import statistics
import sys
import timeit
from zoneinfo import ZoneInfo

import dateutil
from dateutil import rrule

UTC = datetime.timezone.utc


def local(text, zone):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=zone)


def build(case):
    zone = ZoneInfo(case["zone"])
    rule = rrule.rrulestr(case["rrule"], dtstart=local(case["start"], zone))
    if not case["exdates"]:
        return rule
    rules = rrule.rruleset()
    rules.rrule(rule)
    for text in case["exdates"]:
        rules.exdate(local(text, zone))
    return rules


def median_seconds(call, budget, repeats=15):
    timer = timeit.Timer(call)
    number, taken = timer.autorange()
    # autorange aims at 0.2 s; scale a batch to the budget shared by the repeats.
    number = max(1, int(number * (budget / repeats) / max(taken, 1e-9)))
    return statistics.median(t / number for t in timer.repeat(repeat=repeats, number=number))


def main():
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rows, failures = [], []
    for line in sys.stdin:
        case = json.loads(line)
        rules = build(case)
        after = datetime.datetime.fromisoformat(case["from"]).replace(tzinfo=UTC)
        before = datetime.datetime.fromisoformat(case["to"]).replace(tzinfo=UTC)
        found = rules.between(after, before, inc=True)
        starts = [t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in found]
        if starts != case["starts"]:
            failures.append(f"{case['name']}: dateutil {starts} != Calento {case['starts']}")
            continue
        seconds = median_seconds(lambda: rules.between(after, before, inc=True), budget)
        rows.append((case, len(starts), case["ns"] / 1000, seconds * 1e6))
    print(f"python-dateutil {dateutil.__version__}, Python {sys.version.split()[0]}; "
          "medians; each side asked for the same window of the same series", file=sys.stderr)
    print("| case | DTSTART (Europe/Berlin) | window (UTC) | instances | Calento | dateutil | dateutil / Calento |")
    print("|---|---|---|---|---|---|---|")
    for case, count, ours, theirs in rows:
        window = f"{case['from'][:10]} → {case['to'][:10]}"
        print(f"| {case['name']} | {case['start'].replace('T', ' ')[:16]} | {window} | {count} | {ours:.2f} µs | "
              f"{theirs:.1f} µs | {theirs / ours:,.0f}× |")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
