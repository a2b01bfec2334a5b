"""CalDAV speed against a peer, same data, same run (docs/BENCHMARKS.md, "CalDAV").

python scripts/dav/bench.py NAME=COLLECTION_URL,USER,PASSWORD [NAME=…] [--runs N]

Each collection must exist and be empty. The script PUTs the same 1,000 events into each
(800 single events over 2024 and 200 weekly series, a fifth of them with an exception),
then times, per server, the median of N runs of:
  - calendar-query for March 2024 (time-range) asking only getetag (Apple's first step),
  - the same asking getetag and calendar-data, without expand,
  - the same with expand,
  - sync-collection from a token taken before 10 changes (5 updates, 5 new events).
Prints a JSON object: {name: {etag_ms, query_ms, expand_ms, sync_ms, objects_month,
expanded, sync_changed}}, then each peer's times as multiples of the first server's.
"""

import base64
import http.client
import json
import random
import re
import statistics
import sys
import time
import urllib.parse

RUNS = 15
args = sys.argv[1:]
if "--runs" in args:
    i = args.index("--runs")
    RUNS = int(args[i + 1])
    del args[i : i + 2]


def event(uid, title, start, end, rrule=None, exception=None):
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Calento bench//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20240101T000000Z",
        f"DTSTART;TZID=Europe/Berlin:{start}",
        f"DTEND;TZID=Europe/Berlin:{end}",
        f"SUMMARY:{title}",
    ]
    if rrule:
        lines.append(f"RRULE:{rrule}")
    lines.append("END:VEVENT")
    if exception:
        rid, new_start, new_end = exception
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20240101T000000Z",
            f"RECURRENCE-ID;TZID=Europe/Berlin:{rid}",
            f"DTSTART;TZID=Europe/Berlin:{new_start}",
            f"DTEND;TZID=Europe/Berlin:{new_end}",
            f"SUMMARY:{title} (moved)",
            "END:VEVENT",
        ]
    lines += ["END:VCALENDAR", ""]
    return "\r\n".join(lines)


def dataset():
    rng = random.Random(7)
    out = []
    for i in range(800):
        day = rng.randrange(0, 365)
        month, dom = divmod(day, 28)
        hour = rng.randrange(7, 19)
        stamp = f"2024{month % 12 + 1:02d}{dom + 1:02d}T{hour:02d}"
        out.append((f"single-{i}", event(f"single-{i}@bench", f"Event {i}", stamp + "0000", stamp + "4500")))
    for i in range(200):
        dom = rng.randrange(1, 28)
        hour = rng.randrange(7, 18)
        start = f"202401{dom:02d}T{hour:02d}0000"
        end = f"202401{dom:02d}T{hour:02d}3000"
        exception = None
        if i % 5 == 0:
            exception = (f"202402{dom:02d}T{hour:02d}0000", f"202402{dom:02d}T{hour + 1:02d}0000", f"202402{dom:02d}T{hour + 1:02d}3000")
        out.append((f"series-{i}", event(f"series-{i}@bench", f"Series {i}", start, end, "FREQ=WEEKLY;COUNT=52", exception)))
    return out


class Server:
    def __init__(self, spec):
        name, rest = spec.split("=", 1)
        url, user, password = rest.split(",", 2)
        self.name = name
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method, path, body=b"", headers=None):
        h = {"Authorization": self.auth, "Content-Length": str(len(body))}
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data

    def put(self, name, text):
        status, data = self.request("PUT", self.path + name + ".ics", text.encode(), {"Content-Type": "text/calendar"})
        if status not in (201, 204):
            raise SystemExit(f"{self.name}: PUT {name} answered {status}: {data[:300]!r}")

    def report(self, body):
        status, data = self.request(
            "REPORT", self.path, body.encode(), {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        )
        if status != 207:
            raise SystemExit(f"{self.name}: REPORT answered {status}: {data[:300]!r}")
        return data.decode()


QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/>{data}</d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="20240301T000000Z" end="20240401T000000Z"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""
DATA = "<c:calendar-data/>"
EXPAND = '<c:calendar-data><c:expand start="20240301T000000Z" end="20240401T000000Z"/></c:calendar-data>'
SYNC = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
<d:prop><d:getetag/></d:prop></d:sync-collection>"""


def timed(fn):
    samples = []
    result = None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 2), result


def token_of(body):
    return body.split("<sync-token>")[-1].split("<")[0] if "<sync-token>" in body else body.split(":sync-token>")[1].split("<")[0]


servers = [Server(spec) for spec in args]
data = dataset()
for server in servers:
    for name, text in data:
        server.put(name, text)

results = {}
for server in servers:
    etag_ms, body = timed(lambda: server.report(QUERY.format(data="")))
    query_ms, body = timed(lambda: server.report(QUERY.format(data=DATA)))
    month = body.count("getetag>") // 2
    expand_ms, body = timed(lambda: server.report(QUERY.format(data=EXPAND)))
    expanded = body.count("BEGIN:VEVENT")
    first = server.report(SYNC.format(token=""))
    token = token_of(first)
    for i in range(5):
        name, text = data[i]
        server.put(name, text.replace(f"Event {i}", f"Event {i} (changed)"))
        server.put(f"new-{i}", event(f"new-{i}@bench", f"New {i}", "20240305T100000", "20240305T110000"))
    sync_ms, body = timed(lambda: server.report(SYNC.format(token=token)))
    changed = len(re.findall(r"<(?:\w+:)?response[ >]", body))
    results[server.name] = {
        "etag_ms": etag_ms,
        "query_ms": query_ms,
        "expand_ms": expand_ms,
        "sync_ms": sync_ms,
        "objects_month": month,
        "expanded": expanded,
        "sync_changed": changed,
    }
print(json.dumps(results, indent=2))
first = servers[0].name
for server in servers[1:]:
    ratios = {
        k: round(results[server.name][k] / max(results[first][k], 0.001), 1)
        for k in ("etag_ms", "query_ms", "expand_ms", "sync_ms")
    }
    print(f"{server.name} / {first}: {ratios}")
