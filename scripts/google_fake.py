#!/usr/bin/env python3
"""A local fake of Google's OAuth 2.0 endpoints and Calendar API v3, for Calento's tests.

It speaks the parts Calento uses, as Google documents them:
- OAuth: GET /o/oauth2/v2/auth (a consent page), POST /token (authorization_code with
  PKCE S256 and refresh_token grants; `invalid_grant` for a revoked grant), POST /revoke.
- Calendar: users/me/calendarList; calendars/{id}/events list (singleEvents=false: masters
  with `recurrence` and exceptions with `recurringEventId`/`originalStartTime`; pageToken;
  syncToken with deleted items; 410 fullSyncRequired for an expired token), get, insert
  (client-chosen ids in base32hex, 409 duplicate), patch/put/delete with If-Match (412
  conditionNotMet), events.watch and channels.stop, and push notifications to a channel.
  An instance of a recurring event is addressed as `{masterId}_{original start}` (UTC
  `YYYYMMDDTHHMMSSZ`, or `YYYYMMDD` all-day): get answers the unmodified instance, patch
  makes it an exception and delete cancels it. An id whose start is not at the series'
  time of day, or before its first instance, is 404 (the rule itself is not expanded).
- Failures as Google fails: 401 authError for a bad access token, 403 rateLimitExceeded
  and 429 with Retry-After, scripted per method and path.

Tests script "Google's side" through /_control/… (accounts, events changed by someone
else, expired sync tokens, revoked grants, failures) and read the request log.

Usage: google_fake.py PORT
"""

import base64
import datetime
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
STATE = {
    "seq": 0,
    "accounts": {},  # email -> {"calendars": [calendar ids]}
    "calendars": {},  # id -> {"summary", "timeZone", "owner", "primary", "events": {id: event}, "floor": 0}
    "codes": {},
    "access": {},  # token -> (email, expires_at)
    "refresh": {},  # token -> email
    "failures": [],
    "log": [],
    "channels": {},
    "page_size": None,
}

BASE32HEX = set("0123456789abcdefghijklmnopqrstuv")


def next_seq():
    STATE["seq"] += 1
    return STATE["seq"]


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


def google_error(code, reason, message):
    return code, {"error": {"code": code, "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}}


def ensure_account(email):
    if email in STATE["accounts"]:
        return
    STATE["accounts"][email] = {"calendars": []}
    add_calendar(email, {"id": email, "summary": email, "timeZone": "Europe/Paris", "primary": True})
    add_calendar(email, {"id": "work-" + hashlib.sha1(email.encode()).hexdigest()[:8] + "@group.calendar.google.com",
                         "summary": "Work", "timeZone": "Europe/Paris"})


def add_calendar(email, spec):
    cid = spec["id"]
    STATE["calendars"][cid] = {
        "summary": spec.get("summary", cid),
        "timeZone": spec.get("timeZone", "UTC"),
        "primary": bool(spec.get("primary")),
        "owner": email,
        "events": {},
        "floor": 0,
    }
    STATE["accounts"][email]["calendars"].append(cid)


def stamp(event):
    event["_seq"] = next_seq()
    event["etag"] = '"%d%06d"' % (int(time.time() * 1000), event["_seq"])
    event["updated"] = now_rfc3339()


def public(event):
    return {k: v for k, v in event.items() if not k.startswith("_")}


def notify_channels(cid):
    for channel in list(STATE["channels"].values()):
        if channel["calendar"] == cid and not channel.get("stopped"):
            channel["pending"] = channel.get("pending", 0) + 1


def store_event(cid, body, by_owner):
    """Creates or replaces an event as Google keeps it."""
    cal = STATE["calendars"][cid]
    eid = body.get("id") or secrets.token_hex(13)
    old = cal["events"].get(eid)
    event = dict(body)
    event["id"] = eid
    event["kind"] = "calendar#event"
    event.setdefault("status", "confirmed")
    if old:
        event["iCalUID"] = old["iCalUID"]
        event["created"] = old["created"]
        event["sequence"] = old.get("sequence", 0) + (1 if event.get("start") != old.get("start") else 0)
    else:
        master = cal["events"].get(event.get("recurringEventId") or "")
        event.setdefault("iCalUID", master["iCalUID"] if master else eid + "@google.com")
        event["created"] = now_rfc3339()
        event.setdefault("sequence", 0)
    event.setdefault("organizer", {"email": cid, "self": True} if by_owner else {"email": "someone@example.com"})
    event["htmlLink"] = "https://calendar.google.test/event?eid=" + eid
    stamp(event)
    cal["events"][eid] = event
    notify_channels(cid)
    return event


def cancel_event(cid, eid):
    cal = STATE["calendars"][cid]
    event = cal["events"][eid]
    event["status"] = "cancelled"
    stamp(event)
    for other in cal["events"].values():
        if other.get("recurringEventId") == eid and other["status"] != "cancelled":
            other["status"] = "cancelled"
            stamp(other)
    notify_channels(cid)


def parse_time(value):
    """A Google time object as an aware datetime (a date: None)."""
    text = value.get("dateTime")
    if not text:
        return None
    at = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        from zoneinfo import ZoneInfo
        at = at.replace(tzinfo=ZoneInfo(value.get("timeZone") or "UTC"))
    return at


def instance_of(cal, eid):
    """The unmodified instance `{master}_{start}` of a recurring event, or None."""
    master_id, _, stamp = eid.rpartition("_")
    master = cal["events"].get(master_id)
    if not master or not master.get("recurrence") or master["status"] == "cancelled":
        return None
    try:
        if "date" in master["start"]:
            day = datetime.datetime.strptime(stamp, "%Y%m%d").date()
            first = datetime.date.fromisoformat(master["start"]["date"])
            length = datetime.date.fromisoformat(master["end"]["date"]) - first
            if day < first:
                return None
            original = {"date": day.isoformat()}
            start, end = dict(original), {"date": (day + length).isoformat()}
        else:
            utc = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            first = parse_time(master["start"])
            length = parse_time(master["end"]) - first
            at = utc.astimezone(first.tzinfo)
            if at < first or at.timetz().replace(tzinfo=None) != first.timetz().replace(tzinfo=None):
                return None
            zone = master["start"].get("timeZone")
            original = {"dateTime": at.isoformat(), "timeZone": zone}
            start = dict(original)
            end = {"dateTime": (at + length).isoformat(), "timeZone": zone}
    except (ValueError, KeyError, TypeError):
        return None
    instance = {k: master[k] for k in ("summary", "description", "location", "transparency", "iCalUID") if k in master}
    instance.update({"id": eid, "recurringEventId": master_id, "originalStartTime": original, "start": start,
                     "end": end, "status": "confirmed"})
    return instance


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    # -- plumbing -----------------------------------------------------------------------

    def reply(self, status, body=None, headers=None, content_type="application/json; charset=UTF-8"):
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if data or status not in (204, 302):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self):
        raw = self.body()
        return json.loads(raw) if raw else {}

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        raw = self.body() if method in ("POST", "PATCH", "PUT") else b""
        self._raw = raw
        with LOCK:
            if not path.startswith("/_control"):
                STATE["log"].append({
                    "method": method, "path": path, "query": query,
                    "if_match": self.headers.get("If-Match"),
                    "authorization": (self.headers.get("Authorization") or "")[:7],
                    "body": raw.decode("utf-8", "replace")[:4000],
                })
                for rule in STATE["failures"]:
                    if rule["times"] > 0 and rule.get("method", method) == method and rule.get("path", "") in path:
                        rule["times"] -= 1
                        headers = {}
                        if rule.get("retry_after") is not None:
                            headers["Retry-After"] = str(rule["retry_after"])
                        status = rule["status"]
                        reason = rule.get("reason") or {403: "rateLimitExceeded", 429: "rateLimitExceeded"}.get(status, "backendError")
                        return self.reply(*google_error(status, reason, "scripted failure"), headers=headers)
            try:
                return self.route(method, path, query, raw)
            except KeyError as missing:
                return self.reply(*google_error(404, "notFound", "Not Found: %s" % missing))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # -- routes -------------------------------------------------------------------------

    def route(self, method, path, query, raw):
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts[0] == "_control":
            return self.control(method, parts[1:], raw)
        if path == "/o/oauth2/v2/auth" and method == "GET":
            return self.consent(query)
        if path == "/o/oauth2/v2/approve" and method == "POST":
            return self.approve(dict(urllib.parse.parse_qsl(raw.decode())))
        if path == "/token" and method == "POST":
            return self.token(dict(urllib.parse.parse_qsl(raw.decode())))
        if path == "/revoke" and method == "POST":
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            token = query.get("token") or form.get("token")
            STATE["refresh"].pop(token, None)
            STATE["access"].pop(token, None)
            return self.reply(200, {})
        if parts[:2] != ["calendar", "v3"]:
            return self.reply(*google_error(404, "notFound", "Not Found"))
        email = self.authorised()
        if email is None:
            return self.reply(*google_error(401, "authError", "Invalid Credentials"),
                              headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        rest = parts[2:]
        if rest == ["users", "me", "calendarList"] and method == "GET":
            items = []
            for cid in STATE["accounts"][email]["calendars"]:
                cal = STATE["calendars"][cid]
                item = {"kind": "calendar#calendarListEntry", "etag": '"%s"' % hashlib.sha1(cid.encode()).hexdigest()[:16],
                        "id": cid, "summary": cal["summary"],
                        "timeZone": cal["timeZone"], "accessRole": "owner", "backgroundColor": "#039be5"}
                if cal["primary"]:
                    item["primary"] = True
                items.append(item)
            return self.reply(200, {"kind": "calendar#calendarList", "items": items})
        if rest == ["channels", "stop"] and method == "POST":
            body = json.loads(raw or b"{}")
            channel = STATE["channels"].get(body.get("id"))
            if not channel or channel["resourceId"] != body.get("resourceId"):
                return self.reply(*google_error(404, "notFound", "Channel not found"))
            channel["stopped"] = True
            return self.reply(204)
        if len(rest) >= 3 and rest[0] == "calendars" and rest[2] == "events":
            cid = rest[1]
            cal = STATE["calendars"].get(cid)
            if cal is None or cal["owner"] != email:
                return self.reply(*google_error(404, "notFound", "Not Found"))
            if len(rest) == 3 and method == "GET":
                return self.list_events(cid, cal, query)
            if len(rest) == 3 and method == "POST":
                return self.insert(cid, cal, json.loads(raw or b"{}"))
            if len(rest) == 4 and rest[3] == "watch" and method == "POST":
                return self.watch(cid, json.loads(raw or b"{}"))
            if len(rest) == 4:
                return self.one_event(method, cid, cal, rest[3], raw)
        return self.reply(*google_error(404, "notFound", "Not Found"))

    def authorised(self):
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            return None
        found = STATE["access"].get(header[7:])
        if not found or found[1] < time.time():
            return None
        return found[0]

    # -- OAuth --------------------------------------------------------------------------

    def consent(self, query):
        missing = [k for k in ("client_id", "redirect_uri", "response_type", "scope", "code_challenge") if not query.get(k)]
        if missing or query.get("code_challenge_method") != "S256":
            return self.reply(400, ("Error 400: invalid_request (%s)" % ", ".join(missing or ["code_challenge_method"])).encode(),
                              content_type="text/plain")
        hidden = "".join('<input type="hidden" name="%s" value="%s">' % (k, v.replace('"', "&quot;")) for k, v in query.items())
        page = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (fake)</title></head>
<body><h1>Choose an account</h1><p>to continue to Calento, which wants to see and edit your calendars</p>
<form method="post" action="/o/oauth2/v2/approve">%s
<label>Email <input name="email" value="ana@gmail.test"></label>
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Cancel</button>
</form></body></html>""" % hidden
        return self.reply(200, page.encode(), content_type="text/html; charset=utf-8")

    def approve(self, form):
        redirect = form["redirect_uri"]
        sep = "&" if "?" in redirect else "?"
        state = urllib.parse.quote(form.get("state", ""))
        if form.get("decision") == "deny":
            return self.reply(302, headers={"Location": "%s%serror=access_denied&state=%s" % (redirect, sep, state)})
        email = form.get("email") or "ana@gmail.test"
        ensure_account(email)
        code = "4/" + secrets.token_urlsafe(24)
        STATE["codes"][code] = {"email": email, "client_id": form["client_id"], "redirect_uri": redirect,
                                "challenge": form["code_challenge"], "scope": form["scope"],
                                "offline": form.get("access_type") == "offline"}
        location = "%s%scode=%s&state=%s&scope=%s" % (redirect, sep, urllib.parse.quote(code), state,
                                                      urllib.parse.quote(form["scope"]))
        return self.reply(302, headers={"Location": location})

    def client_of(self, form):
        header = self.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(secret)
        return form.get("client_id"), form.get("client_secret")

    def token(self, form):
        client_id, secret = self.client_of(form)
        if not client_id or not secret:
            return self.reply(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = STATE["codes"].pop(form.get("code", ""), None)
            if code is None or code["client_id"] != client_id or code["redirect_uri"] != form.get("redirect_uri"):
                return self.reply(400, {"error": "invalid_grant", "error_description": "Malformed auth code."})
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != code["challenge"]:
                return self.reply(400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
            answer = self.issue(code["email"], code["scope"])
            if code["offline"]:
                refresh = "1//" + secrets.token_urlsafe(32)
                STATE["refresh"][refresh] = code["email"]
                answer["refresh_token"] = refresh
            return self.reply(200, answer)
        if grant == "refresh_token":
            email = STATE["refresh"].get(form.get("refresh_token", ""))
            if email is None:
                return self.reply(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            return self.reply(200, self.issue(email, "https://www.googleapis.com/auth/calendar"))
        return self.reply(400, {"error": "unsupported_grant_type"})

    def issue(self, email, scope):
        token = "ya29." + secrets.token_urlsafe(32)
        lifetime = STATE.get("token_lifetime") or 3599
        STATE["access"][token] = (email, time.time() + lifetime)
        return {"access_token": token, "expires_in": lifetime, "scope": scope, "token_type": "Bearer"}

    # -- events -------------------------------------------------------------------------

    def list_events(self, cid, cal, query):
        size = min(int(query.get("maxResults") or 250), 2500)
        if STATE["page_size"]:
            size = min(size, STATE["page_size"])
        token = query.get("pageToken")
        if token:
            kind, since, offset, top = token.split(":")
            since, offset, top = int(since), int(offset), int(top)
        elif query.get("syncToken"):
            try:
                tcid, since = query["syncToken"].rsplit(":", 1)
                since = int(since)
            except ValueError:
                return self.reply(*google_error(400, "invalid", "Invalid sync token value."))
            if tcid != cid:
                return self.reply(*google_error(400, "invalid", "Invalid sync token value."))
            if since < cal["floor"]:
                return self.reply(*google_error(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."))
            kind, offset, top = "inc", 0, STATE["seq"]
        else:
            kind, since, offset, top = "full", 0, 0, STATE["seq"]
        events = sorted(cal["events"].values(), key=lambda e: e["_seq"])
        if kind == "inc":
            chosen = [e for e in events if since < e["_seq"]]
        else:
            show_deleted = query.get("showDeleted") == "true"
            chosen = [e for e in events
                      if e["status"] != "cancelled" or show_deleted or e.get("recurringEventId")]
        page = chosen[offset:offset + size]
        answer = {"kind": "calendar#events", "summary": cal["summary"], "timeZone": cal["timeZone"],
                  "updated": now_rfc3339(), "items": [public(e) for e in page]}
        if offset + size < len(chosen):
            answer["nextPageToken"] = "%s:%d:%d:%d" % (kind, since, offset + size, top)
        else:
            answer["nextSyncToken"] = "%s:%d" % (cid, max([top] + [e["_seq"] for e in page]))
        return self.reply(200, answer)

    def insert(self, cid, cal, body):
        eid = body.get("id")
        if eid is not None and (not 5 <= len(eid) <= 1024 or not set(eid) <= BASE32HEX):
            return self.reply(*google_error(400, "invalid", "Invalid resource id value."))
        if eid in cal["events"]:
            return self.reply(*google_error(409, "duplicate", "The requested identifier already exists."))
        if not body.get("start") or not body.get("end"):
            return self.reply(*google_error(400, "required", "Missing time."))
        event = store_event(cid, body, by_owner=True)
        return self.reply(200, public(event))

    def one_event(self, method, cid, cal, eid, raw):
        event = cal["events"].get(eid)
        if event is None:
            instance = instance_of(cal, eid)
            if instance is None:
                return self.reply(*google_error(404, "notFound", "Not Found"))
            if method == "GET":
                return self.reply(200, instance)
            # Changing an instance makes it an exception of its own.
            event = store_event(cid, instance, by_owner=True)
        if method == "GET":
            return self.reply(200, public(event))
        match = self.headers.get("If-Match")
        if match is not None and match != event["etag"]:
            return self.reply(*google_error(412, "conditionNotMet", "Precondition Failed"))
        if method == "DELETE":
            if event["status"] == "cancelled":
                return self.reply(*google_error(410, "deleted", "Resource has been deleted"))
            cancel_event(cid, eid)
            return self.reply(204)
        body = json.loads(raw or b"{}")
        if method == "PATCH":
            merged = dict(event)
            merged.update(body)
        else:
            merged = dict(body)
            for keep in ("recurringEventId", "originalStartTime", "organizer"):
                if keep in event and keep not in merged:
                    merged[keep] = event[keep]
        merged["id"] = eid
        stored = store_event(cid, {k: v for k, v in merged.items() if not k.startswith("_") and k not in ("etag", "updated")},
                             by_owner=True)
        if "organizer" in event:
            stored["organizer"] = event["organizer"]
        return self.reply(200, public(stored))

    def watch(self, cid, body):
        if body.get("type") != "web_hook" or not body.get("address", "").startswith("https://"):
            return self.reply(*google_error(400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS"))
        if body.get("id") in STATE["channels"]:
            return self.reply(*google_error(400, "channelIdNotUnique", "Channel id not unique"))
        expiration = int(body.get("expiration") or (time.time() + 7 * 86400) * 1000)
        channel = {"id": body["id"], "token": body.get("token"), "address": body["address"], "calendar": cid,
                   "resourceId": secrets.token_urlsafe(12), "expiration": expiration, "messages": 0}
        STATE["channels"][body["id"]] = channel
        return self.reply(200, {"kind": "api#channel", "id": channel["id"], "resourceId": channel["resourceId"],
                                "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/%s/events" % cid,
                                "token": channel["token"], "expiration": str(expiration)})

    # -- control ------------------------------------------------------------------------

    def control(self, method, parts, raw):
        body = json.loads(raw) if raw else {}
        head = parts[0] if parts else ""
        if head == "accounts" and method == "POST":
            ensure_account(body["email"])
            for spec in body.get("calendars", []):
                if spec["id"] not in STATE["calendars"]:
                    add_calendar(body["email"], spec)
            return self.reply(200, {"calendars": STATE["accounts"][body["email"]]["calendars"]})
        if head == "events" and method == "POST":
            cid = parts[1]
            if body.get("id") in STATE["calendars"][cid]["events"] and body.get("_keep"):
                merged = dict(STATE["calendars"][cid]["events"][body["id"]])
                merged.update(body)
                body = merged
            body.pop("_keep", None)
            organiser = body.pop("_organiser", None)
            if organiser:
                body["organizer"] = {"email": organiser}
            return self.reply(200, public(store_event(cid, {k: v for k, v in body.items() if k not in ("etag", "updated")},
                                                      by_owner=organiser is None)))
        if head == "events" and method == "DELETE":
            cancel_event(parts[1], parts[2])
            return self.reply(204)
        if head == "events" and method == "GET":
            cal = STATE["calendars"][parts[1]]
            return self.reply(200, [public(e) for e in sorted(cal["events"].values(), key=lambda e: e["_seq"])])
        if head == "fail" and method == "POST":
            body.setdefault("times", 1)
            STATE["failures"].append(body)
            return self.reply(204)
        if head == "expire" and method == "POST":
            STATE["calendars"][parts[1]]["floor"] = STATE["seq"] + 1
            return self.reply(204)
        if head == "revoke" and method == "POST":
            for table in ("refresh",):
                for token, email in list(STATE[table].items()):
                    if email == body["email"]:
                        del STATE[table][token]
            for token, (email, _) in list(STATE["access"].items()):
                if email == body["email"]:
                    del STATE["access"][token]
            return self.reply(204)
        if head == "settings" and method == "POST":
            if "page_size" in body:
                STATE["page_size"] = body["page_size"]
            if "token_lifetime" in body:
                STATE["token_lifetime"] = body["token_lifetime"]
            return self.reply(204)
        if head == "log" and method == "GET":
            return self.reply(200, STATE["log"])
        if head == "log" and method == "DELETE":
            STATE["log"].clear()
            return self.reply(204)
        if head == "channels" and method == "GET":
            return self.reply(200, list(STATE["channels"].values()))
        if head == "push" and method == "POST":
            # Delivers the pending notifications of a calendar's channels to `base` (the
            # channel's address with its origin replaced: tests run the server on http).
            sent = []
            for channel in STATE["channels"].values():
                if channel["calendar"] != parts[1] or channel.get("stopped"):
                    continue
                channel["messages"] += 1
                target = urllib.parse.urlsplit(channel["address"])
                url = body["base"].rstrip("/") + target.path
                request = urllib.request.Request(url, data=b"", method="POST", headers={
                    "X-Goog-Channel-ID": channel["id"],
                    "X-Goog-Channel-Token": body.get("token", channel["token"]) or "",
                    "X-Goog-Channel-Expiration": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(channel["expiration"] / 1000)),
                    "X-Goog-Resource-ID": channel["resourceId"],
                    "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/%s/events" % parts[1],
                    "X-Goog-Resource-State": "exists",
                    "X-Goog-Message-Number": str(channel["messages"]),
                })
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        sent.append(answer.status)
                except urllib.error.HTTPError as error:
                    sent.append(error.code)
            return self.reply(200, sent)
        return self.reply(404, {"error": "unknown control"})


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
