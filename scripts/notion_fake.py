#!/usr/bin/env python3
"""A local fake of Notion's API (version 2025-09-03: data sources), for Calento's tests.

It speaks the parts Calento uses, as Notion documents them: users/me; search for data
sources; data sources (retrieve, query with a last_edited_time or a relation "contains"
filter, sorts and cursors; trashed pages are not returned); "Sub-items" (a database's dual
relation to itself, "Parent item" ↔ "Sub-item", kept in step on both sides); pages
(create with children, retrieve, update properties, move to the trash); block children
(list with cursors, append) and blocks (update, delete). Like Notion, `last_edited_time` is rounded down to the minute; every request needs
`Notion-Version`; more than five requests in a second per token get 429 with Retry-After;
failures can be scripted (429, 5xx).

Tests script "a person in Notion" through /_control/… and read the request log.

Usage: notion_fake.py PORT
"""

import json
import secrets
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
STATE = {"workspaces": {}, "sources": {}, "pages": {}, "blocks": {}, "failures": [], "log": [], "calls": {}}

TASK_SCHEMA = {
    "Name": {"type": "title", "title": {}},
    "Status": {"type": "status", "status": {
        "options": [{"id": "s1", "name": "Not started", "color": "default"},
                    {"id": "s2", "name": "In progress", "color": "blue"},
                    {"id": "s3", "name": "Done", "color": "green"}],
        "groups": [{"id": "g1", "name": "To-do", "option_ids": ["s1"]},
                   {"id": "g2", "name": "In progress", "option_ids": ["s2"]},
                   {"id": "g3", "name": "Complete", "option_ids": ["s3"]}]}},
    "Due": {"type": "date", "date": {}},
    "Priority": {"type": "select", "select": {"options": [{"id": "p1", "name": "High"}, {"id": "p2", "name": "Medium"},
                                                          {"id": "p3", "name": "Low"}]}},
    "Tags": {"type": "multi_select", "multi_select": {"options": []}},
    "Estimate": {"type": "number", "number": {"format": "number"}},
}


def minute_now():
    # Tests may stop Notion's clock at one minute (POST /_control/settings {"clock": …}).
    return STATE.get("clock") or time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime())


def text_of(rich):
    return "".join((r.get("plain_text") or (r.get("text") or {}).get("content") or "") for r in (rich or []))


def rich(text):
    return [{"type": "text", "text": {"content": text, "link": None}, "plain_text": text, "href": None,
             "annotations": {"bold": False, "italic": False, "strikethrough": False, "underline": False,
                             "code": False, "color": "default"}}]


def error(status, code, message):
    return status, {"object": "error", "status": status, "code": code, "message": message}


def property_value(schema, name, value):
    """A written property value as Notion stores and answers it."""
    kind = schema[name]["type"]
    out = {"id": schema[name].get("id", name), "type": kind}
    given = value.get(kind) if isinstance(value, dict) else None
    if kind == "title":
        out["title"] = rich(text_of(given))
    elif kind in ("status", "select"):
        if given is None:
            out[kind] = None
        else:
            options = schema[name][kind].setdefault("options", [])
            found = next((o for o in options if o["name"] == given.get("name")), None)
            if found is None:
                if kind == "status":
                    raise ValueError("invalid status option %r" % given.get("name"))
                found = {"id": secrets.token_hex(3), "name": given["name"], "color": "default"}
                options.append(found)
            out[kind] = dict(found)
    elif kind == "multi_select":
        options = schema[name]["multi_select"].setdefault("options", [])
        chosen = []
        for item in given or []:
            found = next((o for o in options if o["name"] == item.get("name")), None)
            if found is None:
                found = {"id": secrets.token_hex(3), "name": item["name"], "color": "default"}
                options.append(found)
            chosen.append(dict(found))
        out["multi_select"] = chosen
    elif kind == "date":
        out["date"] = None if given is None else {"start": given.get("start"), "end": given.get("end"), "time_zone": None}
    elif kind in ("number", "checkbox"):
        out[kind] = given
    elif kind == "relation":
        ids = []
        for item in given or []:
            if item.get("id") not in STATE["pages"]:
                raise ValueError("relation: %s is not a page the integration can see" % item.get("id"))
            ids.append({"id": item["id"]})
        out["relation"] = ids
        out["has_more"] = False
    return out


def sync_duals(source_id):
    """A dual relation holds on both sides: each page's synced property lists the pages that
    point at it through the other."""
    schema = STATE["sources"][source_id]["properties"]
    pages = [p for p in STATE["pages"].values() if p["parent"]["data_source_id"] == source_id]
    for name, prop in schema.items():
        dual = (prop.get("relation") or {}).get("dual_property") if prop["type"] == "relation" else None
        if not dual or prop["relation"].get("data_source_id") != source_id:
            continue
        synced = dual["synced_property_name"]
        for page in pages:
            pointing = [{"id": p["id"]} for p in pages
                        if not p["in_trash"] and any(r["id"] == page["id"] for r in p["properties"][name]["relation"])]
            page["properties"][synced]["relation"] = pointing


def empty_value(schema, name):
    kind = schema[name]["type"]
    defaults = {"title": [], "status": None, "select": None, "multi_select": [], "date": None, "number": None,
                "checkbox": False, "relation": []}
    return {"id": schema[name].get("id", name), "type": kind, kind: defaults.get(kind)}


def touch(page):
    page["last_edited_time"] = minute_now()
    page["_seq"] = time.time()


def make_block(page_id, block):
    block_id = str(uuid.uuid4())
    kind = block.get("type", "paragraph")
    body = dict(block.get(kind) or {})
    if "rich_text" in body:
        body["rich_text"] = rich(text_of(body["rich_text"]))
    if kind == "to_do":
        body.setdefault("checked", False)
    stored = {"object": "block", "id": block_id, "type": kind, kind: body, "has_children": False,
              "in_trash": False, "parent": {"type": "page_id", "page_id": page_id},
              "created_time": minute_now(), "last_edited_time": minute_now()}
    STATE["blocks"][block_id] = stored
    STATE["pages"][page_id]["_children"].append(block_id)
    return stored


def create_page(source_id, properties, children):
    source = STATE["sources"][source_id]
    schema = source["properties"]
    page_id = str(uuid.uuid4())
    props = {name: empty_value(schema, name) for name in schema}
    for name, value in (properties or {}).items():
        if name not in schema:
            raise ValueError("%s is not a property that exists." % name)
        props[name] = property_value(schema, name, value)
    page = {"object": "page", "id": page_id, "created_time": minute_now(), "last_edited_time": minute_now(),
            "in_trash": False, "archived": False,
            "parent": {"type": "data_source_id", "data_source_id": source_id, "database_id": source["database_id"]},
            "properties": props, "url": "https://www.notion.so/" + page_id.replace("-", ""), "_children": [],
            "_made": time.time()}
    STATE["pages"][page_id] = page
    touch(page)
    for child in children or []:
        make_block(page_id, child)
    sync_duals(source_id)
    return page


def simple_value(kind, value):
    """A property written the way a person types it (a name, a date, a number)."""
    if kind == "title":
        return {"title": rich(value)}
    if kind in ("status", "select"):
        return {kind: None if value is None else {"name": value}}
    if kind == "date":
        return {"date": None if value is None else {"start": value}}
    if kind == "multi_select":
        return {"multi_select": [{"name": v} for v in value or []]}
    if kind == "relation":
        return {"relation": [{"id": v} for v in value or []]}
    return {kind: value}


def public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}  # a form (the consent page's approval)
        parts = [p for p in url.path.split("/") if p]
        with LOCK:
            if parts and parts[0] == "_control":
                try:
                    return self.control(method, parts[1:], body)
                except (KeyError, ValueError) as bad:
                    return self.reply(400, {"error": "control: %r" % bad})
            token = (self.headers.get("Authorization") or "")[7:]
            now = time.time()
            STATE["log"].append({"method": method, "path": url.path, "at": now, "token": token[:8], "body": body})
            if parts[:1] != ["v1"]:
                return self.reply(*error(404, "object_not_found", "Not found"))
            if parts[1:2] == ["oauth"]:
                return self.oauth(method, parts[2:], query, body, raw)
            workspace = STATE["workspaces"].get(token)
            if workspace is None:
                return self.reply(*error(401, "unauthorized", "API token is invalid."))
            if not self.headers.get("Notion-Version"):
                return self.reply(*error(400, "missing_version", "Notion-Version header failed validation."))
            calls = [t for t in STATE["calls"].get(token, []) if now - t < 1.0]
            calls.append(now)
            STATE["calls"][token] = calls
            if len(calls) > 5:
                return self.reply(*error(429, "rate_limited", "Rate limited"), headers={"Retry-After": "1"})
            for rule in STATE["failures"]:
                if rule["times"] > 0 and rule.get("method", method) == method and rule.get("path", "") in url.path:
                    rule["times"] -= 1
                    headers = {"Retry-After": str(rule["retry_after"])} if rule.get("retry_after") is not None else {}
                    code = "rate_limited" if rule["status"] == 429 else "service_unavailable"
                    return self.reply(*error(rule["status"], code, "scripted failure"), headers=headers)
            try:
                return self.route(method, parts[1:], query, body, workspace)
            except KeyError as missing:
                return self.reply(*error(404, "object_not_found", "Could not find %s." % missing))
            except ValueError as bad:
                return self.reply(*error(400, "validation_error", str(bad)))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def route(self, method, parts, query, body, workspace):
        if parts == ["users", "me"] and method == "GET":
            return self.reply(200, {"object": "user", "id": workspace["bot_id"], "type": "bot", "name": "Calento",
                                    "bot": {"owner": {"type": "workspace", "workspace": True},
                                            "workspace_name": workspace["name"], "workspace_id": workspace["id"]}})
        if parts == ["search"] and method == "POST":
            results = [self.source_json(s) for s in STATE["sources"].values() if s["_workspace"] == workspace["id"]]
            return self.reply(200, {"object": "list", "results": results, "next_cursor": None, "has_more": False})
        if parts[:1] == ["data_sources"] and len(parts) >= 2:
            source = STATE["sources"][parts[1]]
            if source["_workspace"] != workspace["id"]:
                raise KeyError(parts[1])
            if len(parts) == 2 and method == "GET":
                return self.reply(200, self.source_json(source))
            if parts[2:] == ["query"] and method == "POST":
                return self.query(source, body)
        if parts[:1] == ["pages"]:
            if len(parts) == 1 and method == "POST":
                parent = body.get("parent") or {}
                source_id = parent.get("data_source_id")
                if source_id not in STATE["sources"]:
                    raise ValueError("parent.data_source_id should be a data source the integration can see")
                page = create_page(source_id, body.get("properties"), body.get("children"))
                return self.reply(200, public(page))
            page = STATE["pages"][parts[1]]
            if method == "GET":
                return self.reply(200, public(page))
            if method == "PATCH":
                schema = STATE["sources"][page["parent"]["data_source_id"]]["properties"]
                for name, value in (body.get("properties") or {}).items():
                    if name not in schema:
                        raise ValueError("%s is not a property that exists." % name)
                    page["properties"][name] = property_value(schema, name, value)
                if "in_trash" in body:
                    page["in_trash"] = page["archived"] = bool(body["in_trash"])
                touch(page)
                sync_duals(page["parent"]["data_source_id"])
                return self.reply(200, public(page))
        if parts[:1] == ["blocks"] and len(parts) >= 2:
            if parts[2:] == ["children"]:
                page = STATE["pages"][parts[1]]
                if method == "GET":
                    live = [STATE["blocks"][b] for b in page["_children"] if not STATE["blocks"][b]["in_trash"]]
                    start = int(query.get("start_cursor") or 0)
                    size = min(int(query.get("page_size") or 100), 100)
                    chunk = live[start:start + size]
                    more = start + size < len(live)
                    return self.reply(200, {"object": "list", "results": chunk, "has_more": more,
                                            "next_cursor": str(start + size) if more else None})
                if method == "PATCH":
                    made = [make_block(page["id"], child) for child in body.get("children") or []]
                    touch(page)
                    return self.reply(200, {"object": "list", "results": made, "has_more": False, "next_cursor": None})
            block = STATE["blocks"][parts[1]]
            page = STATE["pages"][block["parent"]["page_id"]]
            if method == "PATCH":
                kind = block["type"]
                if kind in body:
                    update = dict(body[kind])
                    if "rich_text" in update:
                        update["rich_text"] = rich(text_of(update["rich_text"]))
                    block[kind].update(update)
                block["last_edited_time"] = minute_now()
                touch(page)
                return self.reply(200, block)
            if method == "DELETE":
                block["in_trash"] = True
                touch(page)
                return self.reply(200, block)
        return self.reply(*error(400, "invalid_request_url", "Invalid request URL."))

    def oauth(self, method, parts, query, body, raw):
        """A public integration's OAuth: consent page, approval, code → token (HTTP Basic)."""
        if parts == ["authorize"] and method == "GET":
            for needed in ("client_id", "redirect_uri", "response_type", "state"):
                if not query.get(needed):
                    return self.reply(400, {"error": "invalid_request", "missing": needed})
            hidden = "".join('<input type="hidden" name="%s" value="%s">' % (k, v.replace('"', "&quot;")) for k, v in query.items())
            page = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Notion (fake): allow access</title>'
                    '</head><body><form method="post" action="/v1/oauth/approve">%s<label>Workspace '
                    '<input name="workspace" value="Acme"></label> <button name="decision" value="allow">Allow access'
                    '</button></form></body></html>') % hidden
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if parts == ["approve"] and method == "POST":
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            code = secrets.token_urlsafe(16)
            STATE.setdefault("codes", {})[code] = {"client_id": form["client_id"], "redirect_uri": form["redirect_uri"],
                                                   "workspace": form.get("workspace") or "Acme"}
            sep = "&" if "?" in form["redirect_uri"] else "?"
            location = "%s%scode=%s&state=%s" % (form["redirect_uri"], sep, code, urllib.parse.quote(form["state"]))
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if parts == ["token"] and method == "POST":
            header = self.headers.get("Authorization") or ""
            if not header.startswith("Basic "):
                return self.reply(*error(401, "unauthorized", "Client authentication failed"))
            import base64
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            if body.get("grant_type") == "refresh_token":
                # Newer public integrations: the refresh token is spent and a new pair given.
                held = STATE.setdefault("refresh", {}).pop(body.get("refresh_token", ""), None)
                if held is None or held["client_id"] != client_id or not secret:
                    return self.reply(400, {"error": "invalid_grant",
                                            "error_description": "Token has been expired or revoked."})
                return self.reply(200, self.grant_tokens(client_id, held["workspace"]))
            grant = STATE.get("codes", {}).pop(body.get("code", ""), None)
            if (grant is None or grant["client_id"] != client_id or not secret
                    or grant["redirect_uri"] != body.get("redirect_uri") or body.get("grant_type") != "authorization_code"):
                return self.reply(400, {"error": "invalid_grant", "error_description": "Invalid code."})
            name = grant["workspace"]
            existing = next((w for w in STATE["workspaces"].values() if w["name"] == name), None)
            workspace = dict(existing) if existing else {"id": str(uuid.uuid4()), "name": name, "bot_id": str(uuid.uuid4())}
            return self.reply(200, self.grant_tokens(client_id, workspace))
        return self.reply(*error(404, "object_not_found", "Not found"))

    def grant_tokens(self, client_id, workspace):
        """A new access token (and, with the setting `refresh_tokens`, a refresh token and
        `expires_in`, as newer public integrations get)."""
        token = "ntn_" + secrets.token_urlsafe(24)
        STATE["workspaces"][token] = workspace
        answer = {"access_token": token, "token_type": "bearer", "bot_id": workspace["bot_id"],
                  "workspace_id": workspace["id"], "workspace_name": workspace["name"],
                  "owner": {"type": "user", "user": {"object": "user", "id": str(uuid.uuid4())}}}
        if STATE.get("refresh_tokens"):
            refresh = "nrt_" + secrets.token_urlsafe(24)
            STATE.setdefault("refresh", {})[refresh] = {"client_id": client_id, "workspace": workspace}
            answer["refresh_token"] = refresh
            answer["expires_in"] = STATE.get("expires_in", 3600)
        return answer

    def source_json(self, source):
        return {"object": "data_source", "id": source["id"], "title": rich(source["title"]),
                "properties": {name: dict(p, id=p.get("id", name), name=name) for name, p in source["properties"].items()},
                "parent": {"type": "database_id", "database_id": source["database_id"]}}

    def query(self, source, body):
        pages = [p for p in STATE["pages"].values()
                 if p["parent"]["data_source_id"] == source["id"] and not p["in_trash"]]
        flt = body.get("filter") or {}
        if "relation" in flt:
            name = flt.get("property")
            if source["properties"].get(name, {}).get("type") != "relation":
                raise ValueError("Could not find property with name or id: %s" % name)
            wanted = flt["relation"].get("contains")
            pages = [p for p in pages if any(r["id"] == wanted for r in p["properties"][name]["relation"])]
        if flt.get("timestamp") == "last_edited_time":
            since = flt["last_edited_time"].get("on_or_after")
            if since:
                since = since.replace("+00:00", "Z")
                pages = [p for p in pages if p["last_edited_time"] >= since[:17] + "00.000Z"]
        order = (body.get("sorts") or [{}])[0]
        if order.get("timestamp") == "created_time":
            pages.sort(key=lambda p: (p["created_time"], p["_made"]))
        else:
            pages.sort(key=lambda p: (p["last_edited_time"], p["_seq"]))
        if order.get("direction") == "descending":
            pages.reverse()
        start = int(body.get("start_cursor") or 0)
        size = min(int(body.get("page_size") or 100), 100)
        if STATE.get("page_size"):
            size = min(size, STATE["page_size"])
        chunk = pages[start:start + size]
        more = start + size < len(pages)
        return self.reply(200, {"object": "list", "results": [public(p) for p in chunk], "has_more": more,
                                "next_cursor": str(start + size) if more else None})

    def control(self, method, parts, body):
        head = parts[0] if parts else ""
        if head == "workspaces" and method == "POST":
            STATE["workspaces"][body["token"]] = {"id": body.get("id") or str(uuid.uuid4()), "name": body["name"],
                                                 "bot_id": str(uuid.uuid4())}
            return self.reply(200, STATE["workspaces"][body["token"]])
        if head == "sources" and method == "POST":
            workspace = STATE["workspaces"][body["token"]] if "token" in body else next(
                w for w in STATE["workspaces"].values() if w["name"] == body["workspace"])
            source_id = body.get("id") or str(uuid.uuid4())
            STATE["sources"][source_id] = {"id": source_id, "title": body.get("title", "Tasks"),
                                           "database_id": str(uuid.uuid4()), "_workspace": workspace["id"],
                                           "properties": json.loads(json.dumps(body.get("properties") or TASK_SCHEMA))}
            if body.get("sub_items"):
                # Notion's "Sub-items" switch: two relation properties of the database to itself.
                schema = STATE["sources"][source_id]["properties"]
                for name, other in (("Parent item", "Sub-item"), ("Sub-item", "Parent item")):
                    schema[name] = {"type": "relation", "relation": {
                        "data_source_id": source_id, "database_id": STATE["sources"][source_id]["database_id"],
                        "type": "dual_property",
                        "dual_property": {"synced_property_name": other, "synced_property_id": other[:3].lower()}}}
            return self.reply(200, {"id": source_id})
        if head == "pages" and method == "POST":
            # A person adds a page in Notion: simple values, e.g. {"Name": "x", "Status": "Done", "Due": "2030-01-14"}.
            source_id = parts[1]
            schema = STATE["sources"][source_id]["properties"]
            props = {}
            for name, value in (body.get("values") or {}).items():
                kind = schema[name]["type"]
                props[name] = simple_value(kind, value)
            children = [{"type": "to_do", "to_do": {"rich_text": rich(t), "checked": c}} for t, c in body.get("steps", [])]
            page = create_page(source_id, props, children)
            return self.reply(200, public(page))
        if head == "pages" and method == "PATCH":
            page = STATE["pages"][parts[1]]
            schema = STATE["sources"][page["parent"]["data_source_id"]]["properties"]
            for name, value in (body.get("values") or {}).items():
                kind = schema[name]["type"]
                page["properties"][name] = property_value(schema, name, simple_value(kind, value))
            if "in_trash" in body:
                page["in_trash"] = page["archived"] = bool(body["in_trash"])
            for block_id, checked in (body.get("check") or {}).items():
                STATE["blocks"][block_id]["to_do"]["checked"] = checked
            for title in body.get("add_steps") or []:
                make_block(page["id"], {"type": "to_do", "to_do": {"rich_text": rich(title), "checked": False}})
            touch(page)
            sync_duals(page["parent"]["data_source_id"])
            return self.reply(200, public(page))
        if head == "pages" and method == "GET":
            out = []
            for page in STATE["pages"].values():
                if page["parent"]["data_source_id"] != parts[1]:
                    continue
                item = public(page)
                item["steps"] = [STATE["blocks"][b] for b in page["_children"] if not STATE["blocks"][b]["in_trash"]]
                out.append(item)
            return self.reply(200, out)
        if head == "expire" and method == "POST":
            # Every access token of the workspace stops working (401); refresh tokens too
            # with {"refresh": true}.
            for token in [t for t, w in STATE["workspaces"].items() if w["name"] == body["workspace"]]:
                del STATE["workspaces"][token]
            if body.get("refresh"):
                STATE["refresh"] = {r: h for r, h in STATE.get("refresh", {}).items()
                                    if h["workspace"]["name"] != body["workspace"]}
            return self.reply(200, {})
        if head == "fail" and method == "POST":
            body.setdefault("times", 1)
            STATE["failures"].append(body)
            return self.reply(200, {})
        if head == "settings" and method == "POST":
            STATE.update(body)
            return self.reply(200, {})
        if head == "log" and method == "GET":
            return self.reply(200, STATE["log"])
        return self.reply(404, {"error": "unknown control"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
