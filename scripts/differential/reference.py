"""Expands recurrence cases with the reference implementation (recurring-ical-events).

Reads one JSON case per line on stdin (the format of tests/fixtures/recurrence) and writes
one line per case: {"id", "occurrences"} or {"id", "error"}, formatted as that folder's
README says.
"""
import datetime
import json
import sys

import icalendar
import recurring_ical_events


def fmt(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.strftime("%Y-%m-%d")


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def expand(case):
    cal = icalendar.Calendar.from_ical(case["ics"])
    window = case["window"]
    out = []
    for event in recurring_ical_events.of(cal).between(instant(window["from"]), instant(window["to"])):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = event["DTSTART"].dt
        end = event["DTEND"].dt if "DTEND" in event else start
        rid = event["RECURRENCE-ID"].dt if "RECURRENCE-ID" in event else start
        out.append({"uid": str(event["UID"]), "recurrence_id": fmt(rid), "start": fmt(start), "end": fmt(end)})
    return out


for line in sys.stdin:
    case = json.loads(line)
    try:
        answer = {"id": case["id"], "occurrences": expand(case)}
    except Exception as error:  # noqa: BLE001 - reported per case
        answer = {"id": case["id"], "error": f"{type(error).__name__}: {error}"}
    print(json.dumps(answer), flush=True)
