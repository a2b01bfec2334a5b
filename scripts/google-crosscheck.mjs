// Cross-checks Calento's Google fake (scripts/google_fake.py) against the npm package
// @emulators/google for what both implement: calendarList, events list/insert/delete, and
// Google's error shape (400, 401, 404). The same requests go to both; the answers must
// agree on status, kind, the fields Calento reads, and the error's code and reason.
// Run once by scripts/google-crosscheck (results in docs/TESTING.md); not part of the suite.
import { createHash, randomBytes } from "node:crypto";

const fakeUrl = process.argv[2];
const emuModule = process.argv[3];
const { createServer } = await import(`${emuModule}/@emulators/core/dist/index.js`);
const google = await import(`${emuModule}/@emulators/google/dist/index.js`);
const email = "cross@example.com";

// The emulator, in process (its Hono app answers Requests).
const emu = createServer(google.default, { port: 4999, tokens: { "emu-token": { login: email, id: 1 } } });
google.seedFromConfig(emu.store, emu.baseUrl, {
  users: [{ email, name: "Cross Check" }],
  calendars: [{ id: email, user_email: email, summary: email, primary: true, time_zone: "UTC" }],
});
const emuCall = async (method, path, body, auth = true) => {
  const headers = { "content-type": "application/json" };
  if (auth) headers.authorization = "Bearer emu-token";
  const response = await emu.app.fetch(
    new Request(`http://localhost:4999${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined }),
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
};

// The fake: a token through its OAuth flow (PKCE S256).
await fetch(`${fakeUrl}/_control/accounts`, { method: "POST", body: JSON.stringify({ email }) });
const verifier = randomBytes(32).toString("base64url");
const challenge = createHash("sha256").update(verifier).digest("base64url");
const redirect = "http://127.0.0.1:1/callback";
const approve = await fetch(`${fakeUrl}/o/oauth2/v2/approve`, {
  method: "POST",
  redirect: "manual",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({
    client_id: "cross", redirect_uri: redirect, response_type: "code", state: "s", access_type: "offline",
    scope: "https://www.googleapis.com/auth/calendar", code_challenge: challenge, code_challenge_method: "S256",
    email, decision: "allow",
  }),
});
const code = new URL(approve.headers.get("location")).searchParams.get("code");
const token = await (
  await fetch(`${fakeUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code, redirect_uri: redirect, client_id: "cross", client_secret: "s",
      code_verifier: verifier,
    }),
  })
).json();
const fakeCall = async (method, path, body, auth = true) => {
  const headers = { "content-type": "application/json" };
  if (auth) headers.authorization = `Bearer ${token.access_token}`;
  const response = await fetch(`${fakeUrl}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
};

const results = [];
const check = (name, ok, detail) => {
  results.push({ name, ok, detail });
};
const keys = (object, wanted) => wanted.filter((k) => object?.[k] === undefined);
const both = async (method, path, body, auth) => [await emuCall(method, path, body, auth), await fakeCall(method, path, body, auth)];

const cal = encodeURIComponent(email);
let [e, f] = await both("GET", "/calendar/v3/users/me/calendarList");
check("calendarList: status and kind", e.status === f.status && e.json.kind === f.json.kind, `${e.status}/${f.status}`);
const ep = e.json.items.find((i) => i.primary), fp = f.json.items.find((i) => i.primary);
const listKeys = ["kind", "etag", "id", "summary", "timeZone", "accessRole", "primary"];
check("calendarList: the primary entry's fields", ep?.id === email && fp?.id === email && keys(ep, listKeys).length === 0 && keys(fp, listKeys).length === 0,
  `emulator lacks ${keys(ep, listKeys)}; fake lacks ${keys(fp, listKeys)}`);

const event = { summary: "Cross", start: { dateTime: "2030-01-14T09:00:00Z" }, end: { dateTime: "2030-01-14T10:00:00Z" } };
[e, f] = await both("POST", `/calendar/v3/calendars/${cal}/events`, event);
const eventKeys = ["kind", "etag", "id", "status", "htmlLink", "summary", "created", "updated", "start", "end"];
check("insert: status, kind, fields", e.status === 200 && f.status === 200 && e.json.kind === f.json.kind &&
  keys(e.json, eventKeys).length === 0 && keys(f.json, eventKeys).length === 0 && e.json.status === f.json.status,
  `${e.status}/${f.status}; emulator lacks ${keys(e.json, eventKeys)}; fake lacks ${keys(f.json, eventKeys)}; status ${e.json.status}/${f.json.status}`);
const ids = [e.json.id, f.json.id];
const instant = (t) => Date.parse(t?.dateTime ?? "");
check("insert: the times read back as the same instants", instant(e.json.start) === instant(f.json.start) && instant(e.json.end) === instant(f.json.end),
  `${JSON.stringify(e.json.start)} / ${JSON.stringify(f.json.start)}`);

let [el, fl] = [await emuCall("GET", `/calendar/v3/calendars/${cal}/events`), await fakeCall("GET", `/calendar/v3/calendars/${cal}/events`)];
check("list: kind and the new item", el.json.kind === fl.json.kind && el.json.items.some((i) => i.id === ids[0]) && fl.json.items.some((i) => i.id === ids[1]),
  `${el.json.kind}/${fl.json.kind}`);

[e, f] = await both("POST", `/calendar/v3/calendars/${cal}/events`, { summary: "No times" });
check("insert without times: 400 in Google's error shape", e.status === 400 && f.status === 400 && e.json.error?.code === 400 && f.json.error?.code === 400 &&
  Array.isArray(e.json.error.errors) && Array.isArray(f.json.error.errors), `${e.status}/${f.status}`);

[e, f] = await both("GET", `/calendar/v3/calendars/${cal}/events`, undefined, false);
check("no credentials: 401 authError", e.status === 401 && f.status === 401 && e.json.error.errors[0].reason === f.json.error.errors[0].reason,
  `${e.status}/${f.status} ${e.json.error?.errors?.[0]?.reason}/${f.json.error?.errors?.[0]?.reason}`);

[e, f] = [await emuCall("DELETE", `/calendar/v3/calendars/${cal}/events/${ids[0]}`), await fakeCall("DELETE", `/calendar/v3/calendars/${cal}/events/${ids[1]}`)];
check("delete: 204", e.status === 204 && f.status === 204, `${e.status}/${f.status}`);
[el, fl] = [await emuCall("GET", `/calendar/v3/calendars/${cal}/events`), await fakeCall("GET", `/calendar/v3/calendars/${cal}/events`)];
check("list after delete: gone", !el.json.items.some((i) => i.id === ids[0] && i.status !== "cancelled") && !fl.json.items.some((i) => i.id === ids[1]), "");

[e, f] = await both("DELETE", `/calendar/v3/calendars/${cal}/events/nosuchevent1`);
check("delete unknown: 404 notFound", e.status === 404 && f.status === 404 && e.json.error.errors[0].reason === f.json.error.errors[0].reason,
  `${e.status}/${f.status} ${e.json.error?.errors?.[0]?.reason}/${f.json.error?.errors?.[0]?.reason}`);

for (const r of results) console.log(`${r.ok ? "agree   " : "DIFFER  "} ${r.name}${r.ok ? "" : ` — ${r.detail}`}`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
