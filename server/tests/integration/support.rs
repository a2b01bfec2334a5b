//! The test harness: a real server on port 0 over a fresh database (a new SQLite file, or
//! a new PostgreSQL schema when `TEST_DATABASE_URL` is set), and a small HTTP client that
//! keeps cookies like a browser.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use server::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// Runs a test body on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::support::postgres_url().is_none() {
                        eprintln!("PostgreSQL run skipped: TEST_DATABASE_URL is not set");
                        return;
                    }
                    super::$name($crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", app::ssr::new_id().to_lowercase())
}

/// A fresh, empty database URL for one test.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(unique("calento-test-"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}/calento.db", dir.display())
        }
        Backend::Postgres => {
            let base = postgres_url().expect("TEST_DATABASE_URL");
            let schema = unique("calento_test_");
            sqlx::any::install_default_drivers();
            let pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .connect(&base)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&pool)
                .await
                .expect("create schema");
            pool.close().await;
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}options=-c%20search_path%3D{schema}")
        }
    }
}

/// What test servers may call out to: the fake feed servers, the local OpenID provider and
/// the fake model listen on this address. The guard's own tests set `CALENTO_OUTBOUND_ALLOW`
/// to something else (an empty value: public addresses only).
pub const LOCAL_SERVICES: &str = "127.0.0.1/32";

/// The guarded client as test servers have it.
pub fn local_outbound() -> server::outbound::Outbound {
    server::outbound::Outbound::new(server::outbound::Allowlist::parse(LOCAL_SERVICES).expect("allowlist"))
}

/// The configuration a test server runs with; `settings` override the defaults.
pub fn test_config(database_url: &str, settings: &[(&str, &str)]) -> Config {
    let mut values: HashMap<String, String> = HashMap::new();
    values.insert("DATABASE_URL".into(), database_url.into());
    values.insert("CALENTO_ADDR".into(), "127.0.0.1:0".into());
    values.insert("CALENTO_OUTBOUND_ALLOW".into(), LOCAL_SERVICES.into());
    values.insert("CALENTO_MAX_BODY_BYTES".into(), "65536".into());
    for (k, v) in settings {
        values.insert((*k).into(), (*v).into());
    }
    Config::from_values(&values).expect("valid test config")
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The database this server uses.
    pub url: String,
    pub state: app::ssr::AppState,
    client: Client<HttpConnector, Full<Bytes>>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, settings: &[(&str, &str)]) -> TestApp {
    let url = fresh_database(backend).await;
    spawn_app_on(&url, settings).await
}

/// A server on an existing database: several of them make a cluster of processes.
pub async fn spawn_app_on(url: &str, settings: &[(&str, &str)]) -> TestApp {
    // Server errors show up in a failing test's output.
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
    let config = test_config(url, settings);
    let state = server::open_state(&config).await.expect("open database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let app = server::router(state.clone(), &config);
    let serving = state.clone();
    // The job worker runs as in production: with the send_email handler when the test's
    // settings name an SMTP server.
    let worker = server::spawn_jobs(state.db.clone(), &config);
    tokio::spawn(async move {
        let _ = server::serve_with_jobs(listener, app, serving, std::time::Duration::from_secs(1), worker).await;
    });
    let client = Client::builder(TokioExecutor::new()).build_http();
    TestApp { addr, state, client, url: url.to_owned() }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client with its own cookie jar: one browser.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: Mutex<HashMap<String, String>>,
}

impl TestApp {
    pub fn browser(&self) -> Browser<'_> {
        Browser { app: self, cookies: Mutex::new(HashMap::new()) }
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let mut builder = http::Request::builder().method(method).uri(format!("http://{}{}", self.addr, path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(Bytes::from(body))).expect("request");
        // A server that never answers fails the test with the request named, instead of hanging
        // it (a page render that never finished was once found this way: docs/TESTING.md).
        let wait = std::time::Duration::from_secs(120);
        let response = tokio::time::timeout(wait, self.client.request(request))
            .await
            .unwrap_or_else(|_| panic!("no answer to {method} {path} within 120 s"))
            .expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Vec::new()).await
    }

    /// A GET whose answer is read as it arrives (a stream of Server-Sent Events): the
    /// status, the headers and the body still to be read.
    pub async fn open(&self, path: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, hyper::body::Incoming) {
        let mut builder = http::Request::builder().method("GET").uri(format!("http://{}{}", self.addr, path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(Bytes::new())).expect("request");
        let response = tokio::time::timeout(std::time::Duration::from_secs(30), self.client.request(request))
            .await
            .unwrap_or_else(|_| panic!("no answer to GET {path} within 30 s"))
            .expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.into_body())
    }

    /// An API call with a bearer token.
    pub async fn api(&self, method: &str, path: &str, token: &str, body: Option<serde_json::Value>) -> Reply {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send(method, path, &headers, bytes).await
    }
}

/// The password [`Browser::register`] chooses.
pub const PASSWORD: &str = "correct horse battery";

pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", app::components::percent_encode(k), app::components::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().expect("jar");
        cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&self, reply: &Reply) {
        let mut cookies = self.cookies.lock().expect("jar");
        for value in reply.headers.get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
                if expired {
                    cookies.remove(name);
                } else {
                    cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.lock().expect("jar").get("calento_session").cloned()
    }

    pub fn set_session_cookie(&self, value: &str) {
        self.cookies.lock().expect("jar").insert("calento_session".into(), value.into());
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let cookie = self.cookie_header();
        let mut all = headers.to_vec();
        if !cookie.is_empty() {
            all.push(("cookie", cookie.as_str()));
        }
        let reply = self.app.send(method, path, &all, body).await;
        self.keep_cookies(&reply);
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Vec::new()).await
    }

    /// Calls a server function the way the hydrated page does.
    pub async fn call(&self, function: &str, fields: &[(&str, &str)]) -> Reply {
        let path = format!("/fn/{function}");
        self.send(
            "POST",
            &path,
            &[("content-type", "application/x-www-form-urlencoded"), ("accept", "application/json")],
            form(fields),
        )
        .await
    }

    /// Posts a form the way a browser without JavaScript does.
    pub async fn submit(&self, function: &str, referer: &str, fields: &[(&str, &str)]) -> Reply {
        let path = format!("/fn/{function}");
        let referer = format!("http://{}{}", self.app.addr, referer);
        self.send(
            "POST",
            &path,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "text/html,application/xhtml+xml"),
                ("referer", &referer),
            ],
            form(fields),
        )
        .await
    }

    /// Registers and ends up signed in, as a person does: the instance's first account is
    /// signed in by registering, later ones log in with their password afterwards. The
    /// answer is the registration's.
    pub async fn register(&self, email: &str, name: &str) -> Reply {
        let reply = self
            .call(
                "register",
                &[("email", email), ("password", PASSWORD), ("name", name), ("time_zone", "Europe/Paris")],
            )
            .await;
        let signed_in =
            reply.headers.get_all("set-cookie").iter().any(|c| c.as_bytes().starts_with(b"calento_session="));
        if reply.status == 200 && !signed_in {
            self.login(email, PASSWORD).await;
        }
        reply
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call("login", &[("email", email), ("password", password)]).await
    }
}
