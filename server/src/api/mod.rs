//! The REST API under `/api/v1`: JSON in and out, a bearer token or the session cookie.
//!
//! **The route table.** Every route is added through [`Routes`], whose one constructor
//! takes the [`Guard`] of its area (who may call it and with which scope), so a route
//! cannot exist without a guard; [`route_table`] lists every route with its guard, and the
//! authorization tests read that table. Handlers live in one file per area, as the server
//! functions do in `app/src/server/*`. Refusals are denied by default: a guard names what
//! it allows, never what it forbids.

pub mod account;
pub mod calendar;
pub mod changes;
pub mod connections;
pub mod extract;
pub mod openapi;
pub mod outbox;
pub mod public;
pub mod scheduling;
pub mod security;
pub mod tasks;
pub mod tokens;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Extension, Router};
use tower_sessions::Session;

use app::AppError;
use app::ssr::session_store::USER_ID_KEY;
use app::ssr::tokens as personal_tokens;
use app::ssr::{AppState, accounts, grants, rate_limit};
use calento::scope::{Access, Area, Scopes};

pub use extract::{
    ApiCredential, ApiJson, ApiQuery, ApiUser, ClientOrigin, OptionalJson, bearer, error_body, query_instant,
};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Anyone, without a credential: the public booking API and apps' sign-in. These
    /// never answer with an account's data beyond what its public page shows.
    Public,
    /// Any valid credential, whatever its scopes: `/me`, and `/changes` (which shows each
    /// credential only the kinds its scopes read).
    Signed,
    /// A scope on an area: reading it for GET and HEAD, writing it for everything else.
    Area(Area),
    /// The account itself (tokens, sessions, apps, audit log, export, outbox): the browser
    /// session, or a personal token holding the `account` scope. Never an app's token.
    Account,
    /// A page-like route outside `/api/v1` that takes the browser session and sends a
    /// visitor without one to sign in (its handler does).
    Session,
    /// CalDAV (`/dav/`): HTTP Basic with the account's email or username and an app
    /// password (a personal token). Its handler checks the credential, and the
    /// `calendar:read` scope for reading or `calendar:write` for writing, per request.
    AppPassword,
}

impl Guard {
    /// Why `credential` may not make a `method` request under this guard, if it may not.
    pub fn refusal(self, credential: &ApiCredential, method: &Method) -> Option<String> {
        let access = if method == Method::GET || method == Method::HEAD { Access::Read } else { Access::Write };
        match self {
            Guard::Public | Guard::Signed | Guard::Session | Guard::AppPassword => None,
            Guard::Area(area) if credential.scopes.allows(area, access) => None,
            Guard::Area(area) => Some(format!("This token lacks the {}:{} scope.", area.as_str(), access.as_str())),
            Guard::Account if credential.personal && credential.scopes.has_account() => None,
            Guard::Account if !credential.personal => Some(
                "App tokens cannot manage the account; use a personal token with the account scope, or sign in."
                    .to_owned(),
            ),
            Guard::Account => Some("This token lacks the account scope.".to_owned()),
        }
    }
}

/// One route of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// The path inside `/api/v1` (or the site's path for [`site_routes`]).
    pub path: &'static str,
    pub guard: Guard,
    /// How its handler describes the operation (the OpenAPI description).
    pub describe: openapi::Describer,
}

/// The routes of one area, all under one guard.
pub struct Routes {
    guard: Guard,
    router: Router<AppState>,
    table: Vec<Route>,
}

impl Routes {
    /// An area whose every route has `guard`.
    pub fn new(guard: Guard) -> Self {
        Self { guard, router: Router::new(), table: Vec::new() }
    }

    pub fn get<H: Handler<T, AppState> + openapi::Describe<D>, T: 'static, D>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(Method::GET, path, axum::routing::get(handler), openapi::Describer::of::<H, D>())
    }

    pub fn post<H: Handler<T, AppState> + openapi::Describe<D>, T: 'static, D>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(Method::POST, path, axum::routing::post(handler), openapi::Describer::of::<H, D>())
    }

    pub fn put<H: Handler<T, AppState> + openapi::Describe<D>, T: 'static, D>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(Method::PUT, path, axum::routing::put(handler), openapi::Describer::of::<H, D>())
    }

    pub fn patch<H: Handler<T, AppState> + openapi::Describe<D>, T: 'static, D>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(Method::PATCH, path, axum::routing::patch(handler), openapi::Describer::of::<H, D>())
    }

    pub fn delete<H: Handler<T, AppState> + openapi::Describe<D>, T: 'static, D>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add(Method::DELETE, path, axum::routing::delete(handler), openapi::Describer::of::<H, D>())
    }

    /// Every method, the WebDAV ones included (`ANY` in the table).
    pub fn any<H: Handler<T, AppState> + openapi::Describe<D>, T: 'static, D>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        let any = Method::from_bytes(b"ANY").unwrap_or(Method::GET);
        self.add(any, path, axum::routing::any(handler), openapi::Describer::of::<H, D>())
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        route: MethodRouter<AppState>,
        describe: openapi::Describer,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.table.push(Route { method, path, guard: self.guard, describe });
        self
    }

    pub fn table(&self) -> &[Route] {
        &self.table
    }

    /// The axum router, with the guard's check on every route (after authentication,
    /// which sets the credential).
    pub fn into_router(self) -> Router<AppState> {
        match self.guard {
            Guard::Public | Guard::Session | Guard::AppPassword => self.router,
            guard => self
                .router
                .route_layer(middleware::from_fn(move |request: Request, next: Next| check(guard, request, next))),
        }
    }
}

/// The areas that need a credential. Adding an area here is the only way its routes
/// reach the API.
fn private_areas() -> Vec<Routes> {
    vec![
        account::routes(),
        changes::routes(),
        tokens::routes(),
        security::account_routes(),
        outbox::routes(),
        connections::routes(),
        calendar::routes(),
        scheduling::routes(),
        tasks::routes(),
    ]
}

/// The areas anyone may call.
fn public_areas() -> Vec<Routes> {
    vec![security::sign_in_routes(), public::routes()]
}

/// Every route of `/api/v1` with its guard.
pub fn route_table() -> Vec<Route> {
    public_areas().iter().chain(private_areas().iter()).flat_map(|area| area.table().to_vec()).collect()
}

/// The routes outside `/api/v1` that are not pages: feeds, provider sign-in, the
/// no-JavaScript import form. Each handler checks its own credential (a feed's secret, the
/// session); the guards say which.
pub fn site_routes() -> Vec<Routes> {
    vec![
        Routes::new(Guard::Public)
            .get("/feeds/{file}", calendar::feed)
            .get("/auth/oidc/{provider}/start", crate::oidc::start)
            .get("/auth/oidc/{provider}/callback", crate::oidc::callback),
        Routes::new(Guard::Session)
            .get("/connections/google/start", crate::google::connect::start)
            .get("/connections/google/callback", crate::google::connect::callback)
            .post("/connections/notion", crate::notion::connect)
            .get("/connections/notion/start", crate::notion::start)
            .get("/connections/notion/callback", crate::notion::callback)
            .post("/settings/calendars/{id}/import", calendar::import_form)
            .get("/settings/calendar-apps/calento.mobileconfig", crate::dav::apple_profile),
        Routes::new(Guard::Public).any("/.well-known/caldav", crate::dav::well_known),
        // The API's OpenAPI description (its own module).
        Routes::new(Guard::Public).get("/api/openapi.json", openapi::serve),
        // Google's push notifications: the channel's token is the credential.
        Routes::new(Guard::Public)
            .post("/connections/google/notify", crate::google::connect::notify)
            .post("/connections/notion/webhook", crate::notion::webhook),
        // Signed links from emails: the token is the credential (RFC 8058 one-click).
        Routes::new(Guard::Public)
            .get("/unsubscribe/{token}", crate::unsubscribe::confirm)
            .post("/unsubscribe/{token}", crate::unsubscribe::one_click),
        Routes::new(Guard::AppPassword)
            .any("/dav", crate::dav::handle)
            .any("/dav/", crate::dav::handle)
            .any("/dav/{*path}", crate::dav::handle),
    ]
}

/// The API: public areas as they are, the others behind [`authenticate`] (which also
/// answers unknown paths: 401 without a credential, 404 with one).
pub fn router(state: AppState) -> Router<AppState> {
    let mut public = Router::new();
    for area in public_areas() {
        public = public.merge(area.into_router());
    }
    let public = public::limited(public, state.clone());
    let mut private = Router::new();
    for area in private_areas() {
        private = private.merge(area.into_router());
    }
    let private =
        private.fallback(|| async { AppError::NotFound }).layer(middleware::from_fn_with_state(state, authenticate));
    public.merge(private)
}

/// Every request to a private area needs a valid bearer token or a signed-in session; a
/// presented but invalid token is refused even when a session cookie is also present. The
/// credential's request budget must not be spent (429). Its scopes are checked by the
/// route's guard ([`check`]).
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let credential = match bearer(request.headers()) {
        Some(Some(token)) if token.starts_with(grants::ACCESS_PREFIX) => grants::authenticate(&state.db, &token).await,
        Some(Some(token)) => personal_tokens::authenticate(&state.db, &token).await,
        Some(None) => Ok(None),
        None => match session {
            Some(session) => {
                Ok(session.get::<String>(USER_ID_KEY).await.ok().flatten().map(|user_id| personal_tokens::Credential {
                    budget_key: format!("user:{user_id}"),
                    user_id,
                    scopes: Scopes::everything(),
                    personal: true,
                }))
            }
            None => Ok(None),
        },
    };
    let credential = match credential {
        Ok(credential) => credential,
        Err(error) => return error.into_response(),
    };
    let user = match &credential {
        Some(credential) => match accounts::find_by_id(&state.db, &credential.user_id).await {
            Ok(user) => user.filter(|u| u.disabled_at.is_none()),
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let (Some(user), Some(credential)) = (user, credential) else {
        let mut response = AppError::Unauthorized.into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    };
    if let Err(error) = rate_limit::hit(&state.db, "api", &credential.budget_key, state.rate_limits.api).await {
        return error.into_response();
    }
    request.extensions_mut().insert(ApiUser(user));
    // An app's token never reaches the account, whatever its family's stored scopes say.
    let scopes = if credential.personal { credential.scopes } else { credential.scopes.without_account() };
    request.extensions_mut().insert(ApiCredential { scopes, personal: credential.personal });
    next.run(request).await
}

/// The guard of the matched route: 403 `insufficient_scope` when the credential may not.
async fn check(guard: Guard, request: Request, next: Next) -> Response {
    let Some(Extension(credential)) = request.extensions().get::<ApiCredential>().cloned().map(Extension) else {
        // Authentication always runs first; without its credential, deny.
        return AppError::Unauthorized.into_response();
    };
    if let Some(message) = guard.refusal(&credential, request.method()) {
        let mut response = AppError::forbidden(message).into_response();
        if let Ok(value) = header::HeaderValue::from_str("Bearer error=\"insufficient_scope\"") {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(scopes: &str, personal: bool) -> ApiCredential {
        ApiCredential { scopes: Scopes::parse(scopes).expect("scopes"), personal }
    }

    #[test]
    fn every_route_has_a_guard_and_areas_read_for_get_and_write_otherwise() {
        let table = route_table();
        assert!(table.len() > 50, "{}", table.len());
        let guard = |method: Method, path: &str| {
            table.iter().find(|r| r.method == method && r.path == path).map(|r| r.guard).expect(path)
        };
        assert_eq!(guard(Method::GET, "/calendars/{id}"), Guard::Area(Area::Calendar));
        assert_eq!(guard(Method::POST, "/bookings/{id}/cancel"), Guard::Area(Area::Bookings));
        assert_eq!(guard(Method::POST, "/tokens"), Guard::Account);
        assert_eq!(guard(Method::GET, "/account/export"), Guard::Account);
        assert_eq!(guard(Method::GET, "/me"), Guard::Signed);
        assert_eq!(guard(Method::POST, "/auth/token"), Guard::Public);
        let read = credential("calendar:read", true);
        assert!(Guard::Area(Area::Calendar).refusal(&read, &Method::GET).is_none());
        assert!(Guard::Area(Area::Calendar).refusal(&read, &Method::PATCH).is_some());
        assert!(Guard::Area(Area::Tasks).refusal(&read, &Method::GET).is_some());
        assert!(Guard::Account.refusal(&read, &Method::GET).is_some(), "the account needs its scope");
        assert!(Guard::Account.refusal(&credential("account", true), &Method::POST).is_none());
        assert!(Guard::Account.refusal(&credential("account", false), &Method::GET).is_some(), "never an app");
    }
}
