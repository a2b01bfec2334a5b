//! CalDAV: calendar apps (Apple Calendar, Thunderbird, DAVx5, GNOME) sync with Calento.
//!
//! WebDAV (RFC 4918) and CalDAV (RFC 4791) under `/dav/`: a principal per account
//! (`/dav/principals/{user}/`), a calendar home (`/dav/calendars/{user}/`) holding a
//! collection per calendar (`…/{calendar}/`) and an object per event or series
//! (`…/{calendar}/{name}`). Discovery: `/.well-known/caldav` redirects here (RFC 6764), and
//! PROPFIND or OPTIONS on the site's root answer as `/dav/` does (Apple asks the bare URL).
//!
//! **Who may call.** HTTP Basic with the account's email or username and an app password (a
//! personal token; Settings → Calendar apps makes one). Reading needs `calendar:read`,
//! writing `calendar:write`; subscriptions are read-only and say so in their privileges.
//! A wrong password counts toward the same limits as a wrong sign-in, and each request spends
//! the token's request budget as a REST call does. OPTIONS needs none.
//!
//! **Data.** Objects are Calento's own event rows: what a client PUTs is read as an import
//! reads a file and written through the change feed, so it is in the views, the API, busy
//! time and the feed at once; the text it sent is kept beside the rows and served back
//! until Calento changes the event (`store`). Sync tokens and ctags are the calendar's
//! revision (the feed's per-calendar counter); reports are in `report`.

mod report;
mod store;
mod todo;
pub mod xml;

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::Digest as _;

use app::AppError;
use app::models::CalendarInput;
use app::ssr::accounts::UserRow;
use app::ssr::calendars::{self, CalendarRow};
use app::ssr::{AppState, Db, accounts, login_limits, tokens};
use calento::scope::{Access, Area, Scopes};
use store::Object;
use xml::{CALDAV, CS, DAV, ICAL, Multistatus, Name, escape, href};

/// Where the DAV tree starts.
pub const ROOT: &str = "/dav/";
/// What sync tokens start with (a URI, RFC 6578), before `{revision}-{feed counter}`.
const SYNC_PREFIX: &str = "https://calento.app/ns/sync/";
/// The largest object or request body read.
const MAX_BODY: usize = 1 << 20;
const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCALENDAR, MKCOL, MOVE, COPY";

/// What a DAV path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Root,
    Principal(String),
    Home(String),
    Calendar(String, String),
    Object(String, String, String),
}

impl Target {
    fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/dav").unwrap_or(path);
        let parts: Vec<String> = rest
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| percent_encoding::percent_decode_str(p).decode_utf8().map(|s| s.into_owned()))
            .collect::<Result<_, _>>()
            .ok()?;
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        Some(match parts.as_slice() {
            [] => Target::Root,
            ["principals", user] => Target::Principal((*user).to_owned()),
            ["calendars", user] => Target::Home((*user).to_owned()),
            ["calendars", user, calendar] => Target::Calendar((*user).to_owned(), (*calendar).to_owned()),
            ["calendars", user, calendar, name] => {
                Target::Object((*user).to_owned(), (*calendar).to_owned(), (*name).to_owned())
            }
            _ => return None,
        })
    }

    fn user(&self) -> Option<&str> {
        match self {
            Target::Root => None,
            Target::Principal(u) | Target::Home(u) | Target::Calendar(u, _) | Target::Object(u, _, _) => Some(u),
        }
    }
}

/// A path segment as it appears in an href.
fn segment(text: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'@')
        .remove(b'+')
        .remove(b'=');
    percent_encoding::utf8_percent_encode(text, KEEP).to_string()
}

fn principal_path(user: &str) -> String {
    format!("{ROOT}principals/{}/", segment(user))
}

fn home_path(user: &str) -> String {
    format!("{ROOT}calendars/{}/", segment(user))
}

fn calendar_path(user: &str, calendar: &str) -> String {
    format!("{}{}/", home_path(user), segment(calendar))
}

fn object_path(user: &str, calendar: &str, name: &str) -> String {
    format!("{}{}", calendar_path(user, calendar), segment(name))
}

/// The account a request acts for and what its app password may do.
pub struct Who {
    user: UserRow,
    scopes: Scopes,
}

impl Who {
    /// Calendars, with this access.
    fn may(&self, access: Access) -> bool {
        self.scopes.allows(Area::Calendar, access)
    }

    /// Calendars or tasks (the principal and the home serve both).
    fn may_any(&self, access: Access) -> bool {
        self.may(access) || self.scopes.allows(Area::Tasks, access)
    }

    fn may_write(&self, calendar: &CalendarRow) -> bool {
        self.may(Access::Write) && !calendar.read_only()
    }

    fn may_in(&self, collection: &Collection, access: Access) -> bool {
        match collection {
            Collection::Events(c) if access == Access::Write => self.may_write(c),
            Collection::Events(_) => self.may(access),
            Collection::Tasks(_) => self.scopes.allows(Area::Tasks, access),
        }
    }
}

/// A collection of the calendar home: a calendar of events, or a task list.
pub enum Collection {
    Events(Box<CalendarRow>),
    Tasks(todo::TaskList),
}

impl Collection {
    fn id(&self) -> &str {
        match self {
            Collection::Events(c) => &c.id,
            Collection::Tasks(l) => &l.id,
        }
    }
}

/// The collection an id names (a task list's id is `tasks` or its zone's).
async fn find_collection(db: &Db, who: &Who, id: &str) -> Result<Collection, AppError> {
    if let Some(list) = todo::find_list(db, &who.user.id, id).await? {
        return Ok(Collection::Tasks(list));
    }
    calendars::find(db, &who.user.id, id).await.map(|c| Collection::Events(Box::new(c)))
}

/// The home's collections this credential may read.
async fn collections(db: &Db, who: &Who) -> Result<Vec<Collection>, AppError> {
    let mut out = Vec::new();
    if who.may(Access::Read) {
        out.extend(calendars::list(db, &who.user.id).await?.into_iter().map(|c| Collection::Events(Box::new(c))));
    }
    if who.scopes.allows(Area::Tasks, Access::Read) {
        out.extend(todo::lists(db, &who.user.id).await?.into_iter().map(Collection::Tasks));
    }
    Ok(out)
}

async fn listing(db: &Db, who: &Who, collection: &Collection) -> Result<store::Listing, AppError> {
    match collection {
        Collection::Events(c) => store::list(db, &c.id).await,
        Collection::Tasks(l) => todo::list(db, &who.user.id, l).await,
    }
}

async fn bodies(
    db: &Db,
    who: &Who,
    collection: &Collection,
    objects: &[&Object],
) -> Result<HashMap<String, String>, AppError> {
    match collection {
        Collection::Events(c) => store::bodies(db, &c.id, objects).await,
        Collection::Tasks(_) => todo::bodies(db, &who.user, objects).await,
    }
}

/// An Apple configuration profile (`.mobileconfig`) for the signed-in account: opened on
/// an iPhone, iPad or Mac it adds the CalDAV account (server, port, TLS, principal, user
/// name); the device asks for the app password when it is installed.
pub async fn apple_profile(State(state): State<AppState>, session: tower_sessions::Session) -> Response {
    let user_id = session.get::<String>(app::ssr::session_store::USER_ID_KEY).await.ok().flatten();
    let Some(user_id) = user_id else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login?next=/settings/calendar-apps")]).into_response();
    };
    let user = match accounts::find_by_id(&state.db, &user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return AppError::Unauthorized.into_response(),
        Err(error) => return error.into_response(),
    };
    let profile = profile_text(&state.public_url, &user);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/x-apple-aspen-config; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"Calento.mobileconfig\"")),
        ],
        profile,
    )
        .into_response()
}

/// The profile's text: a `com.apple.caldav.account` payload inside a configuration.
fn profile_text(public_url: &str, user: &UserRow) -> String {
    let url = url::Url::parse(public_url).ok();
    let host = url.as_ref().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".to_owned());
    let tls = url.as_ref().is_some_and(|u| u.scheme() == "https");
    let port = url.as_ref().and_then(url::Url::port_or_known_default).unwrap_or(if tls { 443 } else { 80 });
    // Stable identifiers: the same account on the same server is the same profile.
    let uuid = |salt: &str| {
        let digest = sha2::Sha256::digest(format!("{salt}|{host}|{}", user.id).as_bytes());
        let h: String = digest[..16].iter().map(|b| format!("{b:02X}")).collect();
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    };
    let x = |t: &str| escape(t);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>CalDAVAccountDescription</key><string>Calento</string>
      <key>CalDAVHostName</key><string>{host}</string>
      <key>CalDAVPort</key><integer>{port}</integer>
      <key>CalDAVPrincipalURL</key><string>{principal}</string>
      <key>CalDAVUseSSL</key><{tls}/>
      <key>CalDAVUsername</key><string>{login}</string>
      <key>PayloadDescription</key><string>Your Calento calendars and task lists</string>
      <key>PayloadDisplayName</key><string>Calento (CalDAV)</string>
      <key>PayloadIdentifier</key><string>calento.caldav.{id}</string>
      <key>PayloadType</key><string>com.apple.caldav.account</string>
      <key>PayloadUUID</key><string>{inner}</string>
      <key>PayloadVersion</key><integer>1</integer>
    </dict>
  </array>
  <key>PayloadDisplayName</key><string>Calento on {host}</string>
  <key>PayloadIdentifier</key><string>calento.{id}</string>
  <key>PayloadRemovalDisallowed</key><false/>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadUUID</key><string>{outer}</string>
  <key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
"#,
        host = x(&host),
        principal = x(&principal_path(&user.id)),
        tls = if tls { "true" } else { "false" },
        login = x(&user.email),
        id = x(&user.id),
        inner = uuid("caldav"),
        outer = uuid("profile"),
    )
}

/// `/.well-known/caldav` (RFC 6764): the DAV tree, whatever the method.
pub async fn well_known() -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, ROOT)]).into_response()
}

/// PROPFIND and OPTIONS on the site's root are DAV requests (clients given the bare URL
/// start there); everything else goes on to the pages.
pub async fn site_root(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let dav_method = matches!(request.method().as_str(), "PROPFIND" | "OPTIONS" | "REPORT");
    if request.uri().path() == "/" && dav_method {
        return handle(State(state), request).await;
    }
    next.run(request).await
}

/// Every request under `/dav/`.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return options();
    }
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|ConnectInfo(a)| *a);
    let who = match authenticate(&state, request.headers().clone(), peer).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let path = request.uri().path().to_owned();
    let target = if path == "/" { Some(Target::Root) } else { Target::parse(&path) };
    let Some(target) = target else {
        return AppError::NotFound.into_response();
    };
    // Another account's collections are not found, whoever asks.
    if target.user().is_some_and(|u| u != who.user.id) {
        return AppError::NotFound.into_response();
    }
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.").into_response(),
    };
    let Ok(body) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "The request body must be UTF-8.").into_response();
    };
    let headers = &parts.headers;
    let answer = match method.as_str() {
        "PROPFIND" => propfind(&state.db, &who, &target, headers, body).await,
        "PROPPATCH" => proppatch(&state.db, &who, &target, body).await,
        "REPORT" => report::report(&state.db, &who, &target, headers, body).await,
        "MKCALENDAR" | "MKCOL" => mkcalendar(&state.db, &who, &target, body).await,
        "GET" | "HEAD" => get(&state.db, &who, &target, headers, method == Method::HEAD).await,
        "PUT" => put(&state.db, &who, &target, headers, body).await,
        "DELETE" => delete(&state.db, &who, &target, headers).await,
        "MOVE" => move_object(&state.db, &who, &target, headers).await,
        "COPY" => Ok(copy_refused(&target)),
        _ => Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, ALLOW)]).into_response()),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

fn options() -> Response {
    (
        StatusCode::OK,
        [
            (header::ALLOW, HeaderValue::from_static(ALLOW)),
            (header::HeaderName::from_static("dav"), HeaderValue::from_static("1, 3, access-control, calendar-access")),
        ],
    )
        .into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Calento\", charset=\"UTF-8\""))],
        "Sign in with your email or username and an app password (Settings → Calendar apps).",
    )
        .into_response()
}

/// HTTP Basic with an app password. Failures count toward the sign-in limits of the
/// account and of the client's address.
async fn authenticate(
    state: &AppState,
    headers: HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Result<Who, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized());
    };
    let decoded = value
        .to_str()
        .ok()
        .and_then(|v| v.get(..6).filter(|p| p.eq_ignore_ascii_case("basic ")).map(|_| v[6..].trim()))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((login, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Err(unauthorized());
    };
    let login = login.trim().to_lowercase();
    if login.is_empty() || login.len() > 320 {
        return Err(unauthorized());
    }
    let client_ip = app::ssr::client_address(&headers, peer, state.trust_proxy);
    let db = &state.db;
    let failed = |e: AppError| e.into_response();
    let user = accounts::find_by_login(db, &login).await.map_err(failed)?;
    // The same key as a sign-in with the password (the email), so both count together.
    let account_key = user.as_ref().map_or(login.clone(), |u| u.email.clone());
    let now = app::ssr::now_ms();
    if let Some(retry) =
        login_limits::blocked_for(db, &state.login_limits, &account_key, &client_ip, now).await.map_err(failed)?
    {
        return Err(AppError::RateLimited { retry_after_secs: retry }.into_response());
    }
    let credential = tokens::authenticate(db, password.trim()).await.map_err(failed)?;
    let found = match (user, credential) {
        (Some(user), Some(credential)) if credential.user_id == user.id && user.disabled_at.is_none() => {
            Some((user, credential))
        }
        _ => None,
    };
    match found {
        Some((user, credential)) => {
            // The token's request budget, shared with its REST calls (CALENTO_API_RATE_PER_MINUTE).
            app::ssr::rate_limit::hit(db, "api", &credential.budget_key, state.rate_limits.api)
                .await
                .map_err(failed)?;
            Ok(Who { user, scopes: credential.scopes })
        }
        None => {
            login_limits::record_failure(db, &account_key, &client_ip, now).await.map_err(failed)?;
            Err(unauthorized())
        }
    }
}

fn multistatus(body: String) -> Response {
    (
        StatusCode::MULTI_STATUS,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"))],
        body,
    )
        .into_response()
}

/// A refused precondition (403 or 409 with `<d:error>`).
fn refuse(status: StatusCode, condition: Name, inner: &str, reason: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"))],
        xml::error(&condition, inner, reason),
    )
        .into_response()
}

fn bad_xml(reason: String) -> AppError {
    AppError::BadRequest { message: reason }
}

/// What a PROPFIND or REPORT asks of each resource.
#[derive(Debug, Clone)]
enum Wanted {
    All,
    Names,
    Props(Vec<Name>),
}

impl Wanted {
    /// From the element holding `prop`, `allprop` or `propname` (an empty body is allprop).
    fn of(parent: Option<roxmltree::Node<'_, '_>>) -> Self {
        let Some(parent) = parent else { return Wanted::All };
        if xml::child(parent, DAV, "propname").is_some() {
            return Wanted::Names;
        }
        match xml::child(parent, DAV, "prop") {
            Some(prop) => Wanted::Props(xml::elements(prop).map(Name::of).collect()),
            None => Wanted::All,
        }
    }

    fn wants(&self, ns: &str, local: &str) -> bool {
        match self {
            Wanted::Props(names) => names.iter().any(|n| n.is(ns, local)),
            Wanted::All => false,
            Wanted::Names => false,
        }
    }
}

/// A resource being described.
enum Res<'a> {
    Root,
    Principal,
    Home,
    Collection(&'a Collection),
    Object(&'a Collection, &'a Object, Option<&'a str>),
}

/// What describing resources needs: the account, the feed's counter (for sync tokens),
/// and the calendars' stored properties.
struct Ctx<'a> {
    who: &'a Who,
    seq: i64,
    /// The newest change pruned away: sync tokens below it have expired.
    floor: i64,
    dead: HashMap<String, Vec<(String, String)>>,
}

const LIVE: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "getetag"),
    (DAV, "getcontenttype"),
    (DAV, "getlastmodified"),
    (DAV, "current-user-principal"),
    (DAV, "principal-URL"),
    (DAV, "owner"),
    (DAV, "sync-token"),
    (DAV, "supported-report-set"),
    (DAV, "current-user-privilege-set"),
    (CALDAV, "calendar-home-set"),
    (CALDAV, "calendar-user-address-set"),
    (CALDAV, "supported-calendar-component-set"),
    (CALDAV, "supported-calendar-data"),
    (CALDAV, "max-resource-size"),
    (CALDAV, "calendar-data"),
    (CS, "getctag"),
    (ICAL, "calendar-color"),
];

impl<'a> Ctx<'a> {
    /// Reads the feed's counter before anything else, so a sync token never claims more
    /// than was read.
    async fn load(db: &Db, who: &'a Who) -> Result<Self, AppError> {
        let (seq, floor) = store::feed_bounds(db, &who.user.id).await?;
        let dead = store::dead_properties(db, &who.user.id).await?;
        Ok(Self { who, seq, floor, dead })
    }

    fn sync_token(&self, collection: &Collection) -> String {
        match collection {
            Collection::Events(c) => format!("{SYNC_PREFIX}{}-{}", c.revision, self.seq),
            Collection::Tasks(_) => format!("{SYNC_PREFIX}t{}", self.seq),
        }
    }

    fn privileges(&self, writable: bool) -> String {
        let mut out = String::from("<d:privilege><d:read/></d:privilege>");
        out.push_str("<d:privilege><d:read-current-user-privilege-set/></d:privilege>");
        if writable {
            for p in ["write", "write-properties", "write-content", "bind", "unbind"] {
                out.push_str(&format!("<d:privilege><d:{p}/></d:privilege>"));
            }
        }
        out
    }

    /// A property's value (inner XML), or `None` when the resource has no such property.
    fn value(&self, res: &Res<'_>, name: &Name) -> Option<String> {
        let user = &self.who.user;
        let principal = || href(&principal_path(&user.id));
        let ns = name.ns.as_str();
        let local = name.local.as_str();
        let value = match (ns, local, res) {
            (DAV, "resourcetype", Res::Root | Res::Home) => "<d:collection/>".to_owned(),
            (DAV, "resourcetype", Res::Principal) => "<d:principal/><d:collection/>".to_owned(),
            (DAV, "resourcetype", Res::Collection(_)) => "<d:collection/><c:calendar/>".to_owned(),
            (DAV, "resourcetype", Res::Object(..)) => String::new(),
            (DAV, "current-user-principal", _) => principal(),
            (DAV, "principal-URL", Res::Principal) => principal(),
            (DAV, "owner", Res::Home | Res::Collection(_) | Res::Object(..)) => principal(),
            (CALDAV, "calendar-home-set", Res::Root | Res::Principal | Res::Home) => href(&home_path(&user.id)),
            (CALDAV, "calendar-user-address-set", Res::Principal) => href(&format!("mailto:{}", user.email)),
            (DAV, "displayname", Res::Principal) => {
                escape(if user.name.trim().is_empty() { &user.username } else { &user.name })
            }
            (DAV, "displayname", Res::Collection(Collection::Events(c))) => escape(&c.name),
            (DAV, "displayname", Res::Collection(Collection::Tasks(l))) => escape(&l.name),
            (CS, "getctag", Res::Collection(Collection::Events(c))) => escape(&format!("\"{}\"", c.revision)),
            (CS, "getctag", Res::Collection(Collection::Tasks(_))) => escape(&format!("\"t{}\"", self.seq)),
            (DAV, "sync-token", Res::Collection(c)) => escape(&self.sync_token(c)),
            (CALDAV, "supported-calendar-component-set", Res::Collection(Collection::Events(_))) => {
                "<c:comp name=\"VEVENT\"/>".to_owned()
            }
            (CALDAV, "supported-calendar-component-set", Res::Collection(Collection::Tasks(_))) => {
                "<c:comp name=\"VTODO\"/>".to_owned()
            }
            (CALDAV, "supported-calendar-data", Res::Collection(_)) => {
                "<c:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>".to_owned()
            }
            (CALDAV, "max-resource-size", Res::Collection(_)) => MAX_BODY.to_string(),
            (DAV, "supported-report-set", Res::Collection(c)) => {
                let reports: &[&str] = match c {
                    Collection::Events(_) => {
                        &["c:calendar-query", "c:calendar-multiget", "d:sync-collection", "c:free-busy-query"]
                    }
                    Collection::Tasks(_) => &["c:calendar-query", "c:calendar-multiget", "d:sync-collection"],
                };
                reports
                    .iter()
                    .map(|r| format!("<d:supported-report><d:report><{r}/></d:report></d:supported-report>"))
                    .collect()
            }
            (DAV, "current-user-privilege-set", Res::Collection(c)) => {
                self.privileges(self.who.may_in(c, Access::Write))
            }
            (DAV, "current-user-privilege-set", Res::Object(c, o, _)) => {
                self.privileges(self.who.may_in(c, Access::Write) && !o.booked)
            }
            (DAV, "current-user-privilege-set", Res::Home) => self.privileges(self.who.may_any(Access::Write)),
            (DAV, "current-user-privilege-set", Res::Root | Res::Principal) => self.privileges(false),
            (ICAL, "calendar-color", Res::Collection(Collection::Events(c))) => {
                escape(&format!("{}FF", c.color.to_ascii_uppercase()))
            }
            (ICAL, "calendar-color", Res::Collection(Collection::Tasks(l))) => {
                escape(&format!("{}FF", l.color.to_ascii_uppercase()))
            }
            (DAV, "getetag", Res::Object(_, o, _)) => escape(&format!("\"{}\"", o.etag)),
            (DAV, "getcontenttype", Res::Object(Collection::Events(_), ..)) => {
                "text/calendar; charset=utf-8; component=vevent".to_owned()
            }
            (DAV, "getcontenttype", Res::Object(Collection::Tasks(_), ..)) => {
                "text/calendar; charset=utf-8; component=vtodo".to_owned()
            }
            (DAV, "getlastmodified", Res::Object(_, o, _)) => http_date(o.updated_at),
            (CALDAV, "calendar-data", Res::Object(_, _, Some(body))) => escape(body),
            (_, _, Res::Collection(c)) => {
                let clark = name.clark();
                let (_, value) = self.dead.get(c.id())?.iter().find(|(n, _)| *n == clark)?;
                escape(value)
            }
            _ => return None,
        };
        Some(value)
    }

    /// Adds a resource's response to `out`.
    fn describe(&self, out: &mut Multistatus, path: &str, res: &Res<'_>, wanted: &Wanted) {
        match wanted {
            Wanted::Props(names) => {
                let mut found = Vec::new();
                let mut missing = Vec::new();
                for name in names {
                    match self.value(res, name) {
                        Some(v) => found.push((name.clone(), v)),
                        None => missing.push(name.clone()),
                    }
                }
                out.response(path, &found, &missing);
            }
            Wanted::All | Wanted::Names => {
                let mut names: Vec<Name> = LIVE
                    .iter()
                    .map(|(ns, local)| Name::new(ns, local))
                    // allprop leaves out what is costly or large (RFC 4918 §9.1, RFC 4791 §9.6).
                    .filter(|n| !matches!(wanted, Wanted::All) || !n.is(CALDAV, "calendar-data"))
                    .collect();
                if let Res::Collection(c) = res {
                    names.extend(self.dead.get(c.id()).into_iter().flatten().filter_map(|(n, _)| Name::from_clark(n)));
                }
                let found: Vec<(Name, String)> = names
                    .into_iter()
                    .filter_map(|n| self.value(res, &n).map(|v| (n, v)))
                    .map(|(n, v)| if matches!(wanted, Wanted::Names) { (n, String::new()) } else { (n, v) })
                    .collect();
                out.response(path, &found, &[]);
            }
        }
    }
}

fn http_date(ms: i64) -> String {
    app::ssr::millis_to_utc(ms).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `Depth`: 0, 1, or infinity (the default), which is answered as 1.
fn depth(headers: &HeaderMap) -> u8 {
    match headers.get("depth").and_then(|v| v.to_str().ok()).map(str::trim) {
        Some("0") => 0,
        _ => 1,
    }
}

async fn propfind(db: &Db, who: &Who, target: &Target, headers: &HeaderMap, body: &str) -> Result<Response, AppError> {
    if !who.may_any(Access::Read) {
        return Ok(need_privilege("read", "This app password can read neither calendars nor tasks."));
    }
    let wanted = {
        let doc = if body.trim().is_empty() { None } else { Some(xml::parse(body).map_err(bad_xml)?) };
        let root = doc.as_ref().map(roxmltree::Document::root_element);
        if root.is_some_and(|r| !xml::is(r, DAV, "propfind")) {
            return Err(bad_xml("A PROPFIND body is a DAV:propfind element.".to_owned()));
        }
        Wanted::of(root)
    };
    let depth = depth(headers);
    let ctx = Ctx::load(db, who).await?;
    let user = &who.user.id;
    let mut out = Multistatus::new();
    match target {
        Target::Root => ctx.describe(&mut out, ROOT, &Res::Root, &wanted),
        Target::Principal(_) => ctx.describe(&mut out, &principal_path(user), &Res::Principal, &wanted),
        Target::Home(_) => {
            ctx.describe(&mut out, &home_path(user), &Res::Home, &wanted);
            if depth > 0 {
                for collection in collections(db, who).await? {
                    let path = calendar_path(user, collection.id());
                    ctx.describe(&mut out, &path, &Res::Collection(&collection), &wanted);
                }
            }
        }
        Target::Calendar(_, id) => {
            let collection = readable(db, who, id).await?;
            ctx.describe(&mut out, &calendar_path(user, collection.id()), &Res::Collection(&collection), &wanted);
            if depth > 0 {
                let listing = listing(db, who, &collection).await?;
                let all: Vec<&Object> = listing.objects.iter().collect();
                let bodies = if wanted.wants(CALDAV, "calendar-data") {
                    bodies(db, who, &collection, &all).await?
                } else {
                    HashMap::new()
                };
                for object in all {
                    let res = Res::Object(&collection, object, bodies.get(&object.id).map(String::as_str));
                    ctx.describe(&mut out, &object_path(user, collection.id(), &object.name), &res, &wanted);
                }
            }
        }
        Target::Object(_, id, name) => {
            let collection = readable(db, who, id).await?;
            let listing = listing(db, who, &collection).await?;
            let object = listing.by_name(name).ok_or(AppError::NotFound)?;
            let bodies = if wanted.wants(CALDAV, "calendar-data") {
                bodies(db, who, &collection, &[object]).await?
            } else {
                HashMap::new()
            };
            let res = Res::Object(&collection, object, bodies.get(&object.id).map(String::as_str));
            ctx.describe(&mut out, &object_path(user, collection.id(), &object.name), &res, &wanted);
        }
    }
    Ok(multistatus(out.finish()))
}

/// A collection this credential may read (one it may not is not found).
async fn readable(db: &Db, who: &Who, id: &str) -> Result<Collection, AppError> {
    let collection = find_collection(db, who, id).await?;
    if who.may_in(&collection, Access::Read) { Ok(collection) } else { Err(AppError::NotFound) }
}

fn need_privilege(privilege: &str, reason: &str) -> Response {
    refuse(
        StatusCode::FORBIDDEN,
        Name::new(DAV, "need-privileges"),
        &format!("<d:resource><d:privilege><d:{privilege}/></d:privilege></d:resource>"),
        reason,
    )
}

/// Properties nobody may set: the server keeps them.
fn protected(name: &Name) -> bool {
    LIVE.iter().any(|(ns, local)| name.is(ns, local))
        && !name.is(DAV, "displayname")
        && !name.is(ICAL, "calendar-color")
}

/// `#RRGGBB` from what clients write (`#RRGGBB`, Apple's `#RRGGBBAA`, or a CSS colour
/// name such as `blue`).
fn color_of(text: &str) -> Option<String> {
    let t = text.trim();
    const NAMES: &[(&str, &str)] = &[
        ("black", "#000000"),
        ("white", "#ffffff"),
        ("gray", "#808080"),
        ("grey", "#808080"),
        ("red", "#ff0000"),
        ("orange", "#ffa500"),
        ("yellow", "#ffff00"),
        ("green", "#008000"),
        ("lime", "#00ff00"),
        ("teal", "#008080"),
        ("cyan", "#00ffff"),
        ("blue", "#0000ff"),
        ("navy", "#000080"),
        ("purple", "#800080"),
        ("magenta", "#ff00ff"),
        ("pink", "#ffc0cb"),
        ("brown", "#a52a2a"),
    ];
    if let Some((_, hex)) = NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(t)) {
        return Some((*hex).to_owned());
    }
    let hex = t.strip_prefix('#')?;
    let rgb = match hex.len() {
        6 => hex,
        8 => &hex[..6],
        _ => return None,
    };
    rgb.bytes().all(|b| b.is_ascii_hexdigit()).then(|| format!("#{}", rgb.to_ascii_lowercase()))
}

async fn proppatch(db: &Db, who: &Who, target: &Target, body: &str) -> Result<Response, AppError> {
    let doc = xml::parse(body).map_err(bad_xml)?;
    let root = doc.root_element();
    if !xml::is(root, DAV, "propertyupdate") {
        return Err(bad_xml("A PROPPATCH body is a DAV:propertyupdate element.".to_owned()));
    }
    // (name, new text or None to remove), in document order.
    let mut updates: Vec<(Name, Option<String>)> = Vec::new();
    for action in xml::elements(root) {
        let set = xml::is(action, DAV, "set");
        if !set && !xml::is(action, DAV, "remove") {
            continue;
        }
        for prop in xml::elements(action).filter(|n| xml::is(*n, DAV, "prop")) {
            for p in xml::elements(prop) {
                updates.push((Name::of(p), set.then(|| xml::text(p))));
            }
        }
    }
    let Target::Calendar(_, id) = target else {
        let path = match target {
            Target::Home(_) => home_path(&who.user.id),
            Target::Principal(_) => principal_path(&who.user.id),
            _ => ROOT.to_owned(),
        };
        let names: Vec<Name> = updates.into_iter().map(|(n, _)| n).collect();
        let mut out = Multistatus::new();
        out.response_statuses(&path, &[(&names, "403 Forbidden")]);
        return Ok(multistatus(out.finish()));
    };
    let collection = readable(db, who, id).await?;
    let may = match &collection {
        Collection::Events(_) => who.may(Access::Write),
        Collection::Tasks(_) => who.may_in(&collection, Access::Write),
    };
    if !may {
        return Ok(need_privilege("write-properties", "This app password cannot change this collection."));
    }
    let mut input = CalendarInput::default();
    let mut dead: Vec<(String, Option<String>)> = Vec::new();
    let mut failed: Vec<Name> = Vec::new();
    let mut invalid: Vec<Name> = Vec::new();
    for (name, value) in &updates {
        if name.is(DAV, "displayname") {
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty() && v.chars().count() <= 100) {
                Some(v) => input.name = Some(v.to_owned()),
                None => invalid.push(name.clone()),
            }
        } else if name.is(ICAL, "calendar-color") {
            match value.as_deref().and_then(color_of) {
                Some(c) => input.color = Some(c),
                None => invalid.push(name.clone()),
            }
        } else if protected(name) {
            failed.push(name.clone());
        } else if value.as_ref().is_some_and(|v| v.len() > 64 * 1024) {
            invalid.push(name.clone());
        } else {
            dead.push((name.clark(), value.clone()));
        }
    }
    let path = calendar_path(&who.user.id, collection.id());
    let all: Vec<Name> = updates.iter().map(|(n, _)| n.clone()).collect();
    let mut out = Multistatus::new();
    if !failed.is_empty() || !invalid.is_empty() {
        // All or nothing (RFC 4918 §9.2): the rest fail as dependents.
        let others: Vec<Name> = all.into_iter().filter(|n| !failed.contains(n) && !invalid.contains(n)).collect();
        out.response_statuses(
            &path,
            &[(&failed, "403 Forbidden"), (&invalid, "409 Conflict"), (&others, "424 Failed Dependency")],
        );
        return Ok(multistatus(out.finish()));
    }
    match &collection {
        Collection::Events(calendar) => {
            if input.name.is_some() || input.color.is_some() {
                calendars::update(db, &who.user.id, &calendar.id, &input).await?;
            }
            if !dead.is_empty() {
                store::set_dead_properties(db, store::PropertiesOf::Calendar(calendar), &dead).await?;
            }
        }
        Collection::Tasks(list) => {
            if list.zone_id.is_none() && (input.name.is_some() || input.color.is_some()) {
                out.response_statuses(&path, &[(&all, "403 Forbidden")]);
                return Ok(multistatus(out.finish()));
            }
            todo::update_list(db, &who.user.id, &list.id, input.name.as_deref(), input.color.as_deref()).await?;
            if !dead.is_empty() {
                let owner =
                    store::PropertiesOf::List { user_id: &who.user.id, id: &list.id, zone: list.zone_id.is_some() };
                store::set_dead_properties(db, owner, &dead).await?;
            }
        }
    }
    out.response_statuses(&path, &[(&all, "200 OK")]);
    Ok(multistatus(out.finish()))
}

/// A calendar's id as a client names it in MKCALENDAR.
fn valid_collection_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@+~".contains(&b))
}

async fn mkcalendar(db: &Db, who: &Who, target: &Target, body: &str) -> Result<Response, AppError> {
    let Target::Calendar(_, id) = target else {
        return Ok((StatusCode::FORBIDDEN, "Calendars are made inside the calendar home.").into_response());
    };
    if !valid_collection_name(id) {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            Name::new(DAV, "resource-must-be-null"),
            "",
            "A new calendar's name has 1 to 64 letters, digits, '-', '_', '.', '@', '+' or '~'.",
        ));
    }
    let exists = || {
        refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            Name::new(DAV, "resource-must-be-null"),
            "",
            "A calendar or list with this name already exists.",
        )
    };
    if find_collection(db, who, id).await.is_ok() {
        return Ok(exists());
    }
    let mut input = CalendarInput { name: Some(id.clone()), ..CalendarInput::default() };
    // The components asked for; none named means events.
    let mut components: Vec<String> = Vec::new();
    if !body.trim().is_empty() {
        let doc = xml::parse(body).map_err(bad_xml)?;
        let set = xml::elements(doc.root_element()).filter(|n| xml::is(*n, DAV, "set"));
        for prop in set.flat_map(xml::elements).filter(|n| xml::is(*n, DAV, "prop")) {
            for p in xml::elements(prop) {
                if xml::is(p, DAV, "displayname") && !xml::text(p).trim().is_empty() {
                    input.name = Some(xml::text(p).trim().chars().take(100).collect());
                } else if xml::is(p, ICAL, "calendar-color") {
                    input.color = color_of(&xml::text(p));
                } else if xml::is(p, CALDAV, "supported-calendar-component-set") {
                    components.extend(
                        xml::elements(p)
                            .filter(|c| xml::is(*c, CALDAV, "comp"))
                            .filter_map(|c| c.attribute("name").map(str::to_ascii_uppercase)),
                    );
                }
            }
        }
    }
    let events = components.is_empty() || components.iter().any(|c| c == "VEVENT");
    let made = if events {
        if !who.may(Access::Write) {
            return Ok(need_privilege("bind", "This app password cannot make calendars."));
        }
        calendars::create_with_id(db, &who.user.id, id.clone(), &input, &who.user.time_zone).await.map(|_| ())
    } else if components.iter().any(|c| c == "VTODO") {
        if !who.scopes.allows(Area::Tasks, Access::Write) {
            return Ok(need_privilege("bind", "This app password cannot make task lists."));
        }
        let name = input.name.clone().unwrap_or_else(|| id.clone());
        todo::create_list(db, &who.user.id, id, &name, input.color.clone()).await
    } else {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            Name::new(CALDAV, "supported-calendar-component"),
            "",
            "Collections here hold events (VEVENT) or tasks (VTODO).",
        ));
    };
    match made {
        Ok(()) => Ok((StatusCode::CREATED, [(header::LOCATION, calendar_path(&who.user.id, id))]).into_response()),
        Err(AppError::Conflict { .. }) => Ok(exists()),
        Err(other) => Err(other),
    }
}

/// The ETags an `If-Match` or `If-None-Match` names; `*` as itself.
fn etags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"').to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// Whether a write's preconditions hold for the object as it is (`current`'s ETag).
fn preconditions_hold(headers: &HeaderMap, current: Option<&str>) -> bool {
    if let Some(wanted) = etags(headers, header::IF_MATCH)
        && !current.is_some_and(|etag| wanted.iter().any(|w| w == "*" || w == etag))
    {
        return false;
    }
    if let Some(unwanted) = etags(headers, header::IF_NONE_MATCH)
        && current.is_some_and(|etag| unwanted.iter().any(|w| w == "*" || w == etag))
    {
        return false;
    }
    true
}

fn precondition_failed() -> Response {
    (StatusCode::PRECONDITION_FAILED, "The object changed since it was read (its ETag differs); read it again.")
        .into_response()
}

async fn get(db: &Db, who: &Who, target: &Target, headers: &HeaderMap, head: bool) -> Result<Response, AppError> {
    let calendar_text = |text: String, etag: String| {
        let mut response = (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8")),
                (header::ETAG, HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static(""))),
            ],
        )
            .into_response();
        if !head {
            *response.body_mut() = Body::from(text);
        }
        response
    };
    match target {
        Target::Object(_, id, name) => {
            let collection = readable(db, who, id).await?;
            let listing = listing(db, who, &collection).await?;
            let object = listing.by_name(name).ok_or(AppError::NotFound)?;
            if etags(headers, header::IF_NONE_MATCH).is_some_and(|t| t.iter().any(|t| *t == object.etag || t == "*")) {
                return Ok(StatusCode::NOT_MODIFIED.into_response());
            }
            let mut bodies = bodies(db, who, &collection, &[object]).await?;
            let text = bodies.remove(&object.id).ok_or(AppError::NotFound)?;
            Ok(calendar_text(text, object.etag.clone()))
        }
        Target::Calendar(_, id) => match readable(db, who, id).await? {
            Collection::Events(calendar) => {
                let text = app::ssr::ical::export(db, &calendar).await?;
                let etag = store::text_etag(&text);
                Ok(calendar_text(text, etag))
            }
            Collection::Tasks(_) => Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, ALLOW)]).into_response()),
        },
        _ => {
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Calento CalDAV")
                .into_response())
        }
    }
}

fn calendar_data_refused(reason: &str) -> Response {
    refuse(StatusCode::FORBIDDEN, Name::new(CALDAV, "valid-calendar-data"), "", reason)
}

fn object_refused(reason: &str) -> Response {
    refuse(StatusCode::FORBIDDEN, Name::new(CALDAV, "valid-calendar-object-resource"), "", reason)
}

fn component_refused(reason: &str) -> Response {
    refuse(StatusCode::FORBIDDEN, Name::new(CALDAV, "supported-calendar-component"), "", reason)
}

/// A booking's event is changed through the booking (Calento tells the invitee), not by
/// an app; the app is told so and keeps the server's copy.
fn booking_refused() -> Response {
    need_privilege(
        "write-content",
        "This event is a booking: reschedule or cancel it in Calento (Bookings), so the invitee is told.",
    )
}

fn written(etag: &str, created: bool) -> Response {
    let status = if created { StatusCode::CREATED } else { StatusCode::NO_CONTENT };
    let etag = HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static(""));
    (status, [(header::ETAG, etag)]).into_response()
}

async fn put(db: &Db, who: &Who, target: &Target, headers: &HeaderMap, body: &str) -> Result<Response, AppError> {
    let Target::Object(_, id, name) = target else {
        return Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, ALLOW)]).into_response());
    };
    let collection = readable(db, who, id).await?;
    if !who.may_in(&collection, Access::Write) {
        let reason = match &collection {
            Collection::Events(c) if c.read_only() => {
                "This calendar is a subscription: it mirrors its source and cannot be edited."
            }
            _ => "This app password cannot change this collection.",
        };
        return Ok(need_privilege("write-content", reason));
    }
    if name.len() > 255 || name.contains('/') {
        return Ok(calendar_data_refused("An object's name has at most 255 characters."));
    }
    let listing = listing(db, who, &collection).await?;
    let current = listing.by_name(name);
    match &collection {
        Collection::Events(calendar) => put_event(db, who, calendar, name, headers, body, current).await,
        Collection::Tasks(list) => put_task(db, who, list, name, headers, body, current).await,
    }
}

/// Refuses a PUT whose UID differs from the object's, or is used by another object.
fn uid_changed(who: &Who, collection: &str, current: Option<&Object>, uid: &str) -> Option<Response> {
    let current = current.filter(|c| c.uid != uid)?;
    Some(refuse(
        StatusCode::FORBIDDEN,
        Name::new(CALDAV, "no-uid-conflict"),
        &href(&object_path(&who.user.id, collection, &current.name)),
        "An object's UID cannot change; put the new UID under a new name.",
    ))
}

async fn put_event(
    db: &Db,
    who: &Who,
    calendar: &CalendarRow,
    name: &str,
    headers: &HeaderMap,
    body: &str,
    current: Option<&Object>,
) -> Result<Response, AppError> {
    let file = match app::ssr::ical::read(body.as_bytes()) {
        Ok(file) => file,
        Err(error) => return Ok(calendar_data_refused(&error.to_string())),
    };
    let mut events = file.events;
    if events.len() > 1 {
        return Ok(object_refused("An object holds one event or series (one UID); this one has several."));
    }
    let Some(event) = events.pop() else {
        if let Some(skipped) = file.skipped.first() {
            return Ok(calendar_data_refused(&skipped.reason));
        }
        return Ok(component_refused("This calendar holds events (VEVENT); the object has none."));
    };
    if !preconditions_hold(headers, current.map(|o| o.etag.as_str())) {
        return Ok(precondition_failed());
    }
    if current.is_some_and(|c| c.booked) {
        return Ok(booking_refused());
    }
    if let Some(refused) = uid_changed(who, &calendar.id, current, &event.uid) {
        return Ok(refused);
    }
    let mut existing = current.map(|o| o.id.clone());
    let mut left = None;
    if let Some((other_calendar, other)) =
        store::uid_taken(db, &who.user.id, &event.uid, current.map(|o| o.id.as_str())).await?
    {
        let other_name = store::name_of_gone(db, &who.user.id, &other).await?;
        // Thunderbird and Evolution move an event to another calendar by PUT there and
        // DELETE here: the PUT moves it (UIDs are one event per account), the DELETE then
        // finds it already gone. A booking's or a subscription's event stays where it is.
        let movable = current.is_none()
            && other_calendar != calendar.id
            && find_collection(db, who, &other_calendar).await.is_ok_and(|c| who.may_in(&c, Access::Write))
            && store::list_of(db, &other_calendar, std::slice::from_ref(&other))
                .await?
                .objects
                .first()
                .is_some_and(|o| !o.booked);
        if !movable {
            return Ok(refuse(
                StatusCode::FORBIDDEN,
                Name::new(CALDAV, "no-uid-conflict"),
                &href(&object_path(&who.user.id, &other_calendar, &other_name)),
                "An event with this UID is already in one of your calendars.",
            ));
        }
        existing = Some(other);
        left = Some((other_calendar, other_name));
    }
    let left = left.as_ref().map(|(c, n)| store::Left { collection_id: c, name: n });
    let created = current.is_none();
    match store::put(db, calendar, &event, body, store::Place { name, existing: existing.as_deref(), left }).await {
        Ok(etag) => Ok(written(&etag, created)),
        Err(AppError::Unexpected) => Err(AppError::Unexpected),
        Err(other) => Ok(calendar_data_refused(&other.to_string())),
    }
}

async fn put_task(
    db: &Db,
    who: &Who,
    list: &todo::TaskList,
    name: &str,
    headers: &HeaderMap,
    body: &str,
    current: Option<&Object>,
) -> Result<Response, AppError> {
    let todo = match todo::read(body) {
        Ok(todo) => todo,
        Err(todo::Unreadable::Invalid(reason)) => return Ok(calendar_data_refused(&reason)),
        Err(todo::Unreadable::NotATask) => {
            return Ok(component_refused("A task list holds tasks (VTODO); the object has none."));
        }
        Err(todo::Unreadable::Several) => {
            return Ok(object_refused("An object holds one task (one UID); this one has several."));
        }
    };
    if !preconditions_hold(headers, current.map(|o| o.etag.as_str())) {
        return Ok(precondition_failed());
    }
    if let Some(refused) = uid_changed(who, &list.id, current, &todo.uid) {
        return Ok(refused);
    }
    let mut existing = current.map(|o| o.id.clone());
    let mut left = None;
    if let Some(other) = todo::task_of_uid(db, &who.user.id, &todo.uid).await?
        && current.is_none_or(|c| c.id != other)
    {
        // A task PUT into another list under its UID moves there (as for events); a step
        // stays with its task.
        let whereabouts = todo::whereabouts(db, &who.user.id, &other).await?;
        let other_name = store::name_of_gone(db, &who.user.id, &other).await?;
        match whereabouts {
            Some((other_list, false)) if current.is_none() && other_list != list.id => {
                existing = Some(other);
                left = Some((other_list, other_name));
            }
            found => {
                let holder = found.map(|(l, _)| href(&object_path(&who.user.id, &l, &other_name)));
                return Ok(refuse(
                    StatusCode::FORBIDDEN,
                    Name::new(CALDAV, "no-uid-conflict"),
                    holder.as_deref().unwrap_or(""),
                    "A task with this UID is already in one of your lists.",
                ));
            }
        }
    }
    let left = left.as_ref().map(|(c, n)| store::Left { collection_id: c, name: n });
    let created = current.is_none();
    match todo::put(db, &who.user, list, todo, body, store::Place { name, existing: existing.as_deref(), left }).await {
        Ok(etag) => Ok(written(&etag, created)),
        Err(AppError::Unexpected) => Err(AppError::Unexpected),
        Err(other) => Ok(object_refused(&other.to_string())),
    }
}

async fn delete(db: &Db, who: &Who, target: &Target, headers: &HeaderMap) -> Result<Response, AppError> {
    match target {
        Target::Object(_, id, name) => {
            let collection = readable(db, who, id).await?;
            if !who.may_in(&collection, Access::Write) {
                return Ok(need_privilege("unbind", "This collection cannot be changed with this app password."));
            }
            let listing = listing(db, who, &collection).await?;
            let Some(object) = listing.by_name(name) else {
                // An app that moved the object elsewhere (PUT there, then DELETE here).
                if store::departed_name(db, &who.user.id, id, name).await? {
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
                return Err(AppError::NotFound);
            };
            if !preconditions_hold(headers, Some(&object.etag)) {
                return Ok(precondition_failed());
            }
            if object.booked {
                return Ok(booking_refused());
            }
            match collection {
                Collection::Events(_) => store::delete(db, &who.user.id, &object.id).await?,
                Collection::Tasks(_) => todo::delete(db, &who.user.id, &object.id).await?,
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Target::Calendar(_, id) => match readable(db, who, id).await? {
            Collection::Events(calendar) => {
                if !who.may(Access::Write) {
                    return Ok(need_privilege("unbind", "This app password cannot delete calendars."));
                }
                if calendar.is_default == 1 {
                    return Ok(need_privilege("unbind", "The default calendar cannot be deleted."));
                }
                calendars::delete(db, &who.user.id, &calendar.id).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Collection::Tasks(list) => {
                if !who.scopes.allows(Area::Tasks, Access::Write) {
                    return Ok(need_privilege("unbind", "This app password cannot delete task lists."));
                }
                if list.zone_id.is_none() {
                    return Ok(need_privilege("unbind", "The Tasks list stays: it holds the tasks of no zone."));
                }
                todo::delete_list(db, &who.user.id, &list.id).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
        },
        _ => Ok((StatusCode::FORBIDDEN, "This resource cannot be deleted.").into_response()),
    }
}

/// COPY would make a second object with the same UID, which a calendar home does not hold
/// (RFC 4791 §5.3.2.1): a copy is a new object with a new UID, PUT under a new name.
fn copy_refused(target: &Target) -> Response {
    match target {
        Target::Object(..) => refuse(
            StatusCode::FORBIDDEN,
            Name::new(CALDAV, "no-uid-conflict"),
            "",
            "A copy would share the original's UID; put the copy with a new UID under a new name.",
        ),
        _ => (StatusCode::FORBIDDEN, "Collections cannot be copied.").into_response(),
    }
}

/// MOVE (RFC 4918 §9.9) of an object to another name in its collection, or to another
/// collection of the same kind: an event to another calendar, a task to another list. The
/// object keeps its UID, content and the text the app wrote; the collection it left names
/// it as gone in its next sync. Collections keep their address (rename them by their name).
async fn move_object(db: &Db, who: &Who, target: &Target, headers: &HeaderMap) -> Result<Response, AppError> {
    let Target::Object(_, from_id, name) = target else {
        return Ok((StatusCode::FORBIDDEN, "Collections keep their address; rename them by their display name.")
            .into_response());
    };
    let Some(destination) = headers.get("destination").and_then(|v| v.to_str().ok()) else {
        return Err(AppError::BadRequest { message: "A MOVE names where to in its Destination header.".to_owned() });
    };
    let destination = report::href_path(destination);
    let destination = destination.split(['?', '#']).next().unwrap_or(destination);
    let Some(Target::Object(user, to_id, new_name)) = Target::parse(destination) else {
        return Ok((StatusCode::FORBIDDEN, "A MOVE's destination is an object in one of your calendars or lists.")
            .into_response());
    };
    if user != who.user.id || !destination.starts_with("/dav/") {
        return Ok((StatusCode::FORBIDDEN, "Objects move only within your own calendars and lists.").into_response());
    }
    if to_id == *from_id && new_name == *name {
        return Ok((StatusCode::FORBIDDEN, "The source and the destination are the same.").into_response());
    }
    if new_name.len() > 255 {
        return Ok(calendar_data_refused("An object's name has at most 255 characters."));
    }
    let from = readable(db, who, from_id).await?;
    let to = match find_collection(db, who, &to_id).await {
        Ok(to) => to,
        Err(AppError::NotFound) => {
            return Ok((StatusCode::CONFLICT, "The destination's collection does not exist.").into_response());
        }
        Err(other) => return Err(other),
    };
    if !who.may_in(&from, Access::Write) {
        return Ok(need_privilege("unbind", "This collection cannot be changed with this app password."));
    }
    if !who.may_in(&to, Access::Write) {
        return Ok(need_privilege("bind", "The destination cannot be changed with this app password."));
    }
    let from_listing = listing(db, who, &from).await?;
    let Some(object) = from_listing.by_name(name) else {
        return Err(AppError::NotFound);
    };
    if !preconditions_hold(headers, Some(&object.etag)) {
        return Ok(precondition_failed());
    }
    if object.booked {
        return Ok(booking_refused());
    }
    let to_listing = if to_id == *from_id { None } else { Some(listing(db, who, &to).await?) };
    let occupant = to_listing.as_ref().unwrap_or(&from_listing).by_name(&new_name).filter(|o| o.id != object.id);
    let overwrite = headers.get("overwrite").and_then(|v| v.to_str().ok()).is_none_or(|v| v.trim() != "F");
    if occupant.is_some() && !overwrite {
        return Ok((StatusCode::PRECONDITION_FAILED, "The destination exists and Overwrite is F.").into_response());
    }
    if occupant.is_some_and(|o| o.booked) {
        return Ok(booking_refused());
    }
    let etag = match (&from, &to) {
        (Collection::Events(_), Collection::Events(calendar)) => {
            if let Some(occupant) = occupant {
                store::delete(db, &who.user.id, &occupant.id).await?;
            }
            store::relocate(db, &who.user.id, object, from_id, calendar, &new_name).await?
        }
        (Collection::Tasks(from_list), Collection::Tasks(to_list)) => {
            if from_id != &to_id && todo::whereabouts(db, &who.user.id, &object.id).await?.is_some_and(|(_, step)| step)
            {
                return Ok(need_privilege("unbind", "A step moves with its task; move the task."));
            }
            if let Some(occupant) = occupant {
                todo::delete(db, &who.user.id, &occupant.id).await?;
            }
            todo::relocate(db, &who.user, object, from_list, to_list, &new_name).await?
        }
        (_, Collection::Events(_)) => {
            return Ok(component_refused("This calendar holds events (VEVENT); a task cannot move into it."));
        }
        (_, Collection::Tasks(_)) => {
            return Ok(component_refused("A task list holds tasks (VTODO); an event cannot move into it."));
        }
    };
    Ok(written(&etag, occupant.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_tree_and_decode_their_segments() {
        assert_eq!(Target::parse("/dav/"), Some(Target::Root));
        assert_eq!(Target::parse("/dav/principals/u1/"), Some(Target::Principal("u1".into())));
        assert_eq!(Target::parse("/dav/calendars/u1"), Some(Target::Home("u1".into())));
        assert_eq!(
            Target::parse("/dav/calendars/u1/c1/a%20b%40x.ics"),
            Some(Target::Object("u1".into(), "c1".into(), "a b@x.ics".into()))
        );
        assert_eq!(Target::parse("/dav/calendars/u1/c1/a/b"), None);
        assert_eq!(object_path("u1", "c1", "a b@x.ics"), "/dav/calendars/u1/c1/a%20b@x.ics");
    }

    #[test]
    fn preconditions_follow_if_match_and_if_none_match() {
        let mut h = HeaderMap::new();
        assert!(preconditions_hold(&h, None));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(preconditions_hold(&h, None));
        assert!(!preconditions_hold(&h, Some("abc")));
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"abc\""));
        assert!(preconditions_hold(&h, Some("abc")));
        assert!(!preconditions_hold(&h, Some("abd")));
        assert!(!preconditions_hold(&h, None));
    }

    #[test]
    fn colours_read_apple_and_plain_forms() {
        assert_eq!(color_of("#FF8800FF").as_deref(), Some("#ff8800"));
        assert_eq!(color_of("#ff8800").as_deref(), Some("#ff8800"));
        assert_eq!(color_of("blue").as_deref(), Some("#0000ff"), "CSS names, as the tester sets them");
        assert_eq!(color_of("reddish"), None);
    }
}
