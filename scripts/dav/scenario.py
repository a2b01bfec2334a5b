"""CalDAV scenarios driven by the python `caldav` client library (3.6.0) against a running
Calento: python scripts/dav/scenario.py URL USERNAME PASSWORD

URL is the bare site address (discovery starts there). Prints one JSON object: each check's
name mapped to "ok" or to what went wrong; the caller (server/tests/integration/caldav.rs)
fails on anything but "ok". Exits 0 unless the script itself cannot run.
"""

import json
import sys
import traceback
from datetime import datetime, timezone

import caldav
from caldav.lib import error

URL, USER, PASSWORD = sys.argv[1:4]
results = {}


def check(name):
    def run(fn):
        try:
            fn()
            results[name] = "ok"
        except Exception as exc:  # every failure is reported, none stops the others
            results[name] = f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=3)}"
        return fn

    return run


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


state = {}

# A weekly meeting in Berlin across the change to summer time (31 March 2024), with one
# instance excluded (25 March) and one moved (1 April, 09:00 -> 10:00).
SERIES = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Calento tests//EN",
        "BEGIN:VEVENT",
        "UID:scenario-series@example.org",
        "DTSTAMP:20240301T000000Z",
        "DTSTART;TZID=Europe/Berlin:20240318T090000",
        "DTEND;TZID=Europe/Berlin:20240318T100000",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE;TZID=Europe/Berlin:20240325T090000",
        "SUMMARY:Planning",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:scenario-series@example.org",
        "DTSTAMP:20240301T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20240401T090000",
        "DTSTART;TZID=Europe/Berlin:20240401T100000",
        "DTEND;TZID=Europe/Berlin:20240401T110000",
        "SUMMARY:Planning (moved)",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def single(uid, title, day):
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Calento tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240301T000000Z\r\nDTSTART:{day}T120000Z\r\nDTEND:{day}T130000Z\r\n"
        f"SUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


client = caldav.DAVClient(url=URL, username=USER, password=PASSWORD)


@check("discovery from the site root")
def _():
    principal = client.principal()
    home = principal.calendar_home_set
    expect("/dav/calendars/" in str(home.url), f"home set {home.url}")
    calendars = principal.calendars()
    expect(len(calendars) >= 1, "the default calendar is listed")
    state["principal"] = principal


@check("MKCALENDAR")
def _():
    calendar = state["principal"].make_calendar(name="Scenario", cal_id="scenario")
    names = [c.get_display_name() for c in state["principal"].calendars()]
    expect("Scenario" in names, f"calendars {names}")
    state["calendar"] = calendar


@check("a series with an exception and an EXDATE across DST, expanded")
def _():
    calendar = state["calendar"]
    calendar.save_event(SERIES)
    found = calendar.search(
        start=datetime(2024, 3, 17, tzinfo=timezone.utc),
        end=datetime(2024, 4, 15, tzinfo=timezone.utc),
        event=True,
        expand=True,
    )
    starts = sorted(
        e.icalendar_component["DTSTART"].dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ") for e in found
    )
    # 18 Mar 09:00 CET, (25 Mar excluded), 1 Apr moved to 10:00 CEST, 8 Apr 09:00 CEST.
    expect(starts == ["2024-03-18T08:00Z", "2024-04-01T08:00Z", "2024-04-08T07:00Z"], f"instances {starts}")
    titles = sorted(str(e.icalendar_component["SUMMARY"]) for e in found)
    expect(titles == ["Planning", "Planning", "Planning (moved)"], f"titles {titles}")


@check("time-range search without expand")
def _():
    calendar = state["calendar"]
    calendar.save_event(single("scenario-may@example.org", "In May", "20240510"))
    found = calendar.search(
        start=datetime(2024, 5, 1, tzinfo=timezone.utc), end=datetime(2024, 6, 1, tzinfo=timezone.utc), event=True
    )
    uids = [str(e.icalendar_component["UID"]) for e in found]
    expect(uids == ["scenario-may@example.org"], f"found {uids}")


@check("sync-collection before and after an update and a delete")
def _():
    calendar = state["calendar"]
    calendar.save_event(single("scenario-gone@example.org", "To delete", "20240511"))
    collection = calendar.objects_by_sync_token(load_objects=True)
    expect(not str(collection.sync_token).startswith("fake-"), "a real sync token")
    expect(len(collection.objects) == 3, f"{len(collection.objects)} objects")
    may = calendar.event_by_uid("scenario-may@example.org")
    component = may.icalendar_component
    component["SUMMARY"] = "In May (renamed)"
    may.save()
    calendar.event_by_uid("scenario-gone@example.org").delete()
    updated, deleted = collection.sync()
    expect(len(updated) == 1 and "renamed" in updated[0].data, f"updated {[u.url for u in updated]}")
    expect(len(deleted) == 1, f"deleted {[d.url for d in deleted]}")
    again_updated, again_deleted = collection.sync()
    expect(not again_updated and not again_deleted, "a second sync changes nothing")


@check("a stale If-Match is refused with 412")
def _():
    calendar = state["calendar"]
    may = calendar.event_by_uid("scenario-may@example.org")
    response = client.put(str(may.url), may.data, {"If-Match": '"stale"', "Content-Type": "text/calendar"})
    expect(response.status == 412, f"status {response.status}")


@check("a task with a sub-task (VTODO with RELATED-TO), completed from the client")
def _():
    tasks = state["principal"].calendar(cal_id="tasks")
    parent = tasks.save_todo(summary="Plan the trip", uid="scenario-task@example.org", priority=1)
    child = tasks.save_todo(
        summary="Book the train",
        uid="scenario-step@example.org",
        parent=["scenario-task@example.org"],
    )
    loaded = tasks.todo_by_uid("scenario-step@example.org")
    related = str(loaded.icalendar_component.get("RELATED-TO", ""))
    expect(related == "scenario-task@example.org", f"RELATED-TO {related!r}")
    child.complete()
    pending = [str(t.icalendar_component["UID"]) for t in tasks.todos()]
    expect("scenario-step@example.org" not in pending, f"pending {pending}")
    expect("scenario-task@example.org" in pending, f"pending {pending}")
    done = tasks.todos(include_completed=True)
    expect(len(done) == 2, f"{len(done)} tasks with the completed one")
    expect(parent.id is not None, "the parent was saved")


@check("invalid data is refused")
def _():
    calendar = state["calendar"]
    try:
        calendar.save_event("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:broken\r\n")
    except (error.PutError, error.DAVError, ValueError):
        return
    raise AssertionError("the broken event was accepted")


print(json.dumps(results))
