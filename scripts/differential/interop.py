"""Reads calendar files the way other software does, for the interoperability test
(server/tests/integration/interop.rs).

Input on stdin: {"window": {"from", "to"}, "files": {NAME: ICS text}}. For each file, python
icalendar parses it (`Calendar.from_ical`, every parse problem it records is reported) and
recurring-ical-events expands it over the window. Output on stdout:
{NAME: {"errors": [...], "events": [{"uid", "recurrence_id", "summary", "description",
"location", "categories"}], "occurrences": [{"uid", "recurrence_id", "start", "end"}]}},
times formatted as tests/fixtures/recurrence/README.md says.
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


def read(text, window):
    out = {"errors": [], "events": [], "occurrences": []}
    try:
        cal = icalendar.Calendar.from_ical(text)
    except Exception as error:  # noqa: BLE001 - reported to the test
        out["errors"].append(f"from_ical: {type(error).__name__}: {error}")
        return out
    for component in cal.walk():
        for name, message in getattr(component, "errors", []):
            out["errors"].append(f"{component.name} {name}: {message}")
    for event in cal.walk("VEVENT"):
        categories = []
        for item in event.get("CATEGORIES", []) if isinstance(event.get("CATEGORIES"), list) else [event.get("CATEGORIES")]:
            if item is not None:
                categories.extend(str(c) for c in item.cats)
        out["events"].append({
            "uid": str(event["UID"]),
            "recurrence_id": fmt(event["RECURRENCE-ID"].dt) if "RECURRENCE-ID" in event else None,
            "summary": str(event.get("SUMMARY", "")),
            "description": str(event.get("DESCRIPTION", "")),
            "location": str(event.get("LOCATION", "")),
            "categories": categories,
        })
    try:
        found = recurring_ical_events.of(cal).between(instant(window["from"]), instant(window["to"]))
    except Exception as error:  # noqa: BLE001 - reported to the test
        out["errors"].append(f"recurring_ical_events: {type(error).__name__}: {error}")
        return out
    for event in found:
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = event["DTSTART"].dt
        end = event["DTEND"].dt if "DTEND" in event else start
        rid = event["RECURRENCE-ID"].dt if "RECURRENCE-ID" in event else start
        out["occurrences"].append({"uid": str(event["UID"]), "recurrence_id": fmt(rid), "start": fmt(start),
                                   "end": fmt(end)})
    return out


def main():
    request = json.load(sys.stdin)
    versions = {"icalendar": icalendar.__version__, "python": sys.version.split()[0]}
    answer = {name: read(text, request["window"]) for name, text in request["files"].items()}
    json.dump({"versions": versions, "files": answer}, sys.stdout)


if __name__ == "__main__":
    main()
