//! Calento's server: configuration, the router (pages, server functions, REST API,
//! health, metrics, static files), background upkeep and graceful shutdown.

pub mod admin;
pub mod api;
pub mod backup;
pub mod config;
pub mod dav;
pub mod google;
pub mod guard;
pub mod jwt;
pub mod llm;
pub mod notion;
pub mod oidc;
pub mod ops;
pub mod outbound;
pub mod page_cache;
pub mod push;
pub mod secrets;
pub mod subscriptions;
pub mod unsubscribe;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::ssr::jobs::{self, WorkerHandle};
use app::ssr::session_store::DbSessionStore;
use app::ssr::{AppState, Db, login_limits, mail};
use app::{App, shell};

pub use config::{Config, ConfigError, LogFormat};

/// Opens the database (applying migrations) and assembles the shared state.
pub async fn open_state(config: &Config) -> Result<AppState, app::ssr::db::ConnectError> {
    let db = Db::connect(&config.database_url, config.db_max_connections).await?;
    // Other server processes on the same PostgreSQL database announce their changes and
    // jobs here; SQLite has one process.
    app::ssr::changes::spawn_listener(&db, &config.database_url);
    let vapid_public_key = match push::Vapid::load(&db, push::subject(config)).await {
        Ok(vapid) => vapid.public_key(),
        Err(error) => {
            tracing::error!(%error, "push notifications are off");
            String::new()
        }
    };
    Ok(AppState::new(app::ssr::AppStateFields {
        leptos_options: leptos_options(config),
        db,
        login_limits: config.login_limits,
        secure_cookies: config.secure_cookies(),
        trust_proxy: config.trust_proxy,
        rate_limits: config.rate_limits,
        public_url: config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr)),
        canonical_base: config.public_url.clone(),
        step_suggester: llm::suggester(config),
        url_check: config.outbound().url_check(),
        vapid_public_key,
        sign_in_providers: config.sign_in_providers.iter().map(oidc::ProviderConfig::info).collect(),
        google_connect: google::Google::from_config(config).is_some_and(|g| g.secrets.is_some()),
        notion_connect: config.notion_client.is_some() && config.secrets.is_some(),
    }))
}

/// Start-up refuses to run when accounts are connected but `CALENTO_SECRET_KEY` is not
/// set: their tokens could not be opened, and sync would stop without a word.
pub async fn check_secrets(config: &Config, db: &Db) -> Result<(), String> {
    if config.secrets.is_some() {
        return Ok(());
    }
    match app::ssr::connections::any_connected(db).await {
        Ok(false) => Ok(()),
        Ok(true) => Err("accounts are connected (Google) but CALENTO_SECRET_KEY is not set: set it to the key \
                         their tokens were sealed with"
            .to_owned()),
        Err(error) => Err(format!("checking connected accounts: {error}")),
    }
}

/// Leptos' options: from cargo-leptos' environment when it runs us (`cargo leptos watch`),
/// else from our own configuration.
fn leptos_options(config: &Config) -> LeptosOptions {
    let from_env = leptos::config::get_config_from_env().map(|c| c.leptos_options).ok();
    let mut options = from_env.unwrap_or_else(|| LeptosOptions::builder().output_name("calento").build());
    options.site_addr = config.addr;
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() {
        options.site_root = config.site_root.clone().into();
    }
    // Hashed asset names are in effect when the build left a hash file beside the binary.
    let hash_file =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
    options.hash_files = hash_file.is_some_and(|path| path.exists());
    options
}

/// The whole HTTP application.
pub fn router(state: AppState, config: &Config) -> Router {
    let routes = page_routes();
    let options = state.leptos_options.clone();
    let dev_reload_port = (options.env == leptos::config::Env::DEV && std::env::var_os("LEPTOS_WATCH").is_some())
        .then_some(options.reload_port);
    let hashed_assets = options.hash_files;
    let metrics = ops::Metrics::default();
    let body_limits = ops::BodyLimits { default: config.max_body_bytes, import: config.max_import_bytes };
    let secure_cookies = config.secure_cookies();
    let pages = page_cache::PageCache::new(&state.db);
    let shed = ops::Shed::new(
        config.load,
        routes
            .iter()
            .filter_map(|r| r.path().trim_start_matches('/').split('/').next().map(str::to_owned))
            .filter(|s| !s.is_empty() && !s.starts_with(':') && !s.starts_with('*'))
            .collect(),
    );

    let sessions = {
        let secure = config.secure_cookies();
        SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
            .with_name(if secure { "__Host-calento_session" } else { "calento_session" })
            .with_secure(secure)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(time::Duration::days(i64::from(config.session_days))))
    };

    // Each page gets a fresh CSP nonce (leptos makes one per render): the render records
    // it in the request's slot and `ops::page_nonce` puts it in the header.
    let page_context = move || {
        provide_context(app::ssr::PageMemo::default());
        if let (Some(nonce), Some(parts)) = (leptos::nonce::use_nonce(), use_context::<http::request::Parts>())
            && let Some(slot) = parts.extensions.get::<ops::PageNonce>()
        {
            slot.record(&nonce);
        }
    };

    // Shared, not copied: every layer around a route clones the route for each request.
    let shared_options = std::sync::Arc::new(options);
    let mut site = Router::new();
    for area in site_routes() {
        site = site.merge(area.into_router());
    }
    Router::new()
        .nest("/api/v1", api::router(state.clone()))
        .merge(site)
        .leptos_routes_with_context(&state, routes, page_context, {
            let options = shared_options.clone();
            move || shell((*options).clone())
        })
        .leptos_routes_with_context(&state, booking_routes(), page_context, move || {
            app::booking_shell((*shared_options).clone())
        })
        .fallback(files)
        .layer(axum::middleware::from_fn_with_state(state.clone(), dav::site_root))
        .with_state(state)
        .layer(axum::middleware::from_fn(move |req, next| ops::page_nonce(dev_reload_port, req, next)))
        .layer(axum::middleware::from_fn(guard::session_guard))
        .layer(axum::middleware::from_fn(move |req, next| ops::server_fn_errors(secure_cookies, req, next)))
        .layer(sessions)
        .layer(axum::middleware::from_fn({
            let allowed = guard::AllowedOrigin::new(config.public_url.as_deref());
            move |req, next| guard::same_origin(allowed.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| ops::harden(hashed_assets, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| page_cache::serve(pages.clone(), req, next)))
        .layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(move |req, next| ops::limit_body(body_limits, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| ops::shed(shed.clone(), req, next)))
        .layer(axum::middleware::from_fn(ops::observe))
        .layer(axum::Extension(metrics))
        .layer(axum::Extension(subscriptions::Poller::new(config.outbound(), config.max_import_bytes)))
        .layer(axum::Extension(google::Google::from_config(config)))
        .layer(axum::Extension(notion::Notion::from_config(config)))
        .layer(axum::Extension(oidc::SignIn::new(
            config.sign_in_providers.clone(),
            config.public_url.clone(),
            config.outbound(),
        )))
}

/// The pages' routes, generated once per process. Generating them sets a process-wide
/// flag under which any page rendering at that moment waits forever for its data
/// (leptos-rs/leptos#4773: `SuppressResourceLoad`), so a second router in the same process
/// (the tests run many servers side by side) must never generate them while another one
/// serves. This was the rare unanswered GET of the integration tests.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The invitees' pages' routes (their own root, `BookingApp`), generated once like the
/// app's. The server functions are the app's routes already: listed here as excluded, so
/// they are not routed twice.
fn booking_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES
        .get_or_init(|| {
            let functions = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()).collect();
            leptos_axum::generate_route_list_with_exclusions(app::BookingApp, Some(functions))
        })
        .clone()
}

/// Static files and the not-found page, rendered by the app (its header asks who is
/// signed in).
async fn files(
    uri: axum::http::Uri,
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::http::Request<axum::body::Body>,
) -> axum::response::Response {
    let context = state.clone();
    let serve = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || provide_context(context.clone()),
        shell,
    );
    serve(uri, axum::extract::State(state), request).await
}

/// Every route that is not a page or the API, with its guard: static files, health and
/// metrics, feeds, provider sign-in, the no-JavaScript import form. The files get their
/// own routes because a public booking address `/{username}/{slug}` would otherwise catch
/// `/pkg/…`.
pub fn site_routes() -> Vec<api::Routes> {
    let mut areas = api::site_routes();
    areas.push(
        api::Routes::new(api::Guard::Public)
            .get("/pkg/{*path}", files)
            .get("/favicon.svg", files)
            .get("/icons/{file}", files)
            .get("/manifest.webmanifest", files)
            .get("/sw.js", files)
            .get("/app.js", files)
            .get("/notify.js", files)
            .get("/health/live", ops::live)
            .get("/health/ready", ops::ready)
            .get("/metrics", ops::metrics),
    );
    areas
}

/// Deletes expired sessions and stale failed-login records every few minutes.
pub fn spawn_upkeep(state: AppState) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(state.db.clone());
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            // One process a round, however many share the database (the lease outlives
            // the round, so the others skip it).
            match app::ssr::leases::take(&state.db, "upkeep", Duration::from_secs(540)).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(%error, "taking the upkeep lease");
                    continue;
                }
            }
            if let Err(error) = store.delete_expired().await {
                tracing::warn!(%error, "deleting expired sessions");
            }
            if let Err(error) = login_limits::prune(&state.db, &state.login_limits, app::ssr::now_ms()).await {
                tracing::warn!(%error, "pruning failed logins");
            }
            if let Err(error) = app::ssr::rate_limit::prune(&state.db, app::ssr::now_ms()).await {
                tracing::warn!(%error, "pruning request counters");
            }
            if let Err(error) = app::ssr::grants::prune(&state.db, app::ssr::now_ms()).await {
                tracing::warn!(%error, "pruning expired app tokens");
            }
        }
    });
}

/// The background jobs this configuration runs: re-planning time blocks after busy time
/// changed, pruning the change feed, and `send_email` only when SMTP is configured (without
/// it emails stay pending in the outbox).
pub fn job_handlers(config: &Config) -> jobs::Handlers {
    let retention = i64::from(config.changes_retention_days);
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr));
    let handlers =
        app::ssr::planning::register(jobs::Handlers::new()).add(app::ssr::upkeep::PRUNE_JOB, move |db, _| async move {
            app::ssr::upkeep::run_pruning(&db, retention).await
        });
    let handlers = app::ssr::notify::register(handlers, public_url);
    let handlers = push::register(handlers, config.outbound(), push::subject(config));
    let handlers = google::register(handlers, google::Google::from_config(config), notion::Notion::from_config(config));
    let handlers = backup::register(handlers, config.backups.clone());
    match config.mailer() {
        Some(mailer) => mail::register(handlers, mailer),
        None => handlers,
    }
}

/// Starts the job worker, and makes sure the change feed's pruning is scheduled.
pub fn spawn_jobs(db: Db, config: &Config) -> Option<WorkerHandle> {
    let handlers = job_handlers(config);
    {
        let db = db.clone();
        let backups = config.backups.clone();
        tokio::spawn(async move {
            if let Some(plan) = &backups
                && let Err(error) = backup::schedule(&db, plan).await
            {
                tracing::warn!(%error, "scheduling backups");
            }
            if let Err(error) = app::ssr::upkeep::schedule_pruning(&db, app::ssr::now_ms()).await {
                tracing::warn!(%error, "scheduling the change feed's pruning");
            }
            if let Err(error) = app::ssr::notify::schedule_scan(&db, app::ssr::now_ms()).await {
                tracing::warn!(%error, "scheduling the notification scan");
            }
            if let Err(error) = app::ssr::connections::schedule_scan(&db, app::ssr::now_ms()).await {
                tracing::warn!(%error, "scheduling the connected accounts' sync scan");
            }
        });
    }
    tracing::info!(kinds = ?handlers.kinds(), "job worker started");
    let options =
        jobs::WorkerOptions { lease: Duration::from_secs(config.job_lease_secs), ..jobs::WorkerOptions::default() };
    Some(jobs::spawn_worker_with(db, handlers, options))
}

/// Serves until SIGTERM or Ctrl-C, then lets requests in flight finish (up to the grace
/// period) and closes the database.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    state: AppState,
    grace: Duration,
) -> std::io::Result<()> {
    serve_with_jobs(listener, app, state, grace, None).await
}

/// [`serve`], also stopping the job worker (letting its jobs in flight finish within the
/// grace period) before the database closes.
pub async fn serve_with_jobs(
    listener: tokio::net::TcpListener,
    app: Router,
    state: AppState,
    grace: Duration,
    worker: Option<WorkerHandle>,
) -> std::io::Result<()> {
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = closing_tx.send(true);
        },
    );
    let mut closing = closing_rx.clone();
    let result = tokio::select! {
        result = server => result,
        () = async move {
            let _ = closing.wait_for(|closing| *closing).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("grace period over: closing remaining connections");
            Ok(())
        }
    };
    if let Some(worker) = worker {
        worker.shutdown(grace).await;
    }
    state.db.close().await;
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Logging: readable lines for people, JSON for collectors.
pub fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match config.log_format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}
