//! The database handle: SQLite (default) or PostgreSQL behind one portable SQL dialect.
//!
//! SQLite gets a single-connection writer pool beside a reader pool, so writers queue in
//! Rust instead of failing with `database is locked`; PostgreSQL uses one pool for both.

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a `DATABASE_URL` names, or `None` for an unsupported scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    bus: std::sync::Arc<Bus>,
}

/// A user's data changed: their change feed now ends at `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    pub user_id: String,
    pub seq: i64,
}

/// What a database handle tells the rest of its process once a write has committed: the
/// changes (to in-process subscribers such as live updates) and that jobs are waiting (to
/// the job workers). On PostgreSQL the same news also travels to every other server
/// process on the database with `NOTIFY` (see `changes::spawn_listener`).
#[derive(Debug)]
pub struct Bus {
    changes: tokio::sync::broadcast::Sender<Announced>,
    jobs: tokio::sync::Notify,
    /// This handle's name in `NOTIFY` payloads, so it can skip its own.
    process: String,
    /// The `NOTIFY` channel: one per PostgreSQL schema, so databases sharing a server
    /// (the tests' schemas) never hear each other.
    channel: String,
}

impl Bus {
    fn new(channel: String) -> Self {
        let process = format!("{:016x}", rand::random::<u64>());
        Self { changes: tokio::sync::broadcast::channel(1024).0, jobs: tokio::sync::Notify::new(), process, channel }
    }

    /// Follows the changes of every user, from now on. A receiver that falls behind gets
    /// `Lagged` and reads the feed from its cursor instead.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Announced> {
        self.changes.subscribe()
    }

    /// Tells this process' subscribers (no-one listening is fine).
    pub fn announce(&self, news: Announced) {
        let _ = self.changes.send(news);
    }

    /// Wakes this process' job workers now instead of at their next poll.
    pub fn wake_jobs(&self) {
        self.jobs.notify_waiters();
    }

    /// Resolves at the next [`Bus::wake_jobs`] (listen before looking for work, so a wake
    /// between the look and the wait is not lost).
    pub fn jobs_woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.jobs.notified()
    }

    pub fn process(&self) -> &str {
        &self.process
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL must start with sqlite: or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    #[error("cannot create the database folder {path}: {source}")]
    Folder { path: String, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database is already at schema {database}, newer than {wanted}: restore this backup into a new, \
         empty database (a new SQLite file or an empty PostgreSQL schema)"
    )]
    SchemaAhead { database: i64, wanted: i64 },
}

/// The schema's migrations, compiled in.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The newest schema this build knows (its last migration's version).
pub fn latest_schema() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default()
}

/// The schema a database is at: its newest applied migration, `None` when it has none.
pub async fn schema_of(pool: &AnyPool) -> Option<i64> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .ok()
        .flatten()
}

/// The SQLite file a `sqlite:` URL points at, if it is a file and not memory.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then_some(path)
}

impl Db {
    /// Opens the pools, creating the SQLite file and its folder on first use, and applies
    /// pending migrations. `Db::connect` (in `ssr`) also prepares what differs by backend.
    pub(super) async fn open(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        Self::open_at(url, max_connections, None).await
    }

    /// [`Db::open`], migrating only up to schema `up_to` when given (a restore of an older
    /// backup: its rows go into the schema they were taken from, then the rest migrates them).
    pub(super) async fn open_at(url: &str, max_connections: u32, up_to: Option<i64>) -> Result<Self, ConnectError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| ConnectError::UnsupportedUrl(redact(url)))?;
        let db = match backend {
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                // One NOTIFY channel per schema: `calento_` and the schema's name, kept to
                // the characters and length of a PostgreSQL identifier.
                let schema: String = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(&pool).await?;
                let channel: String = format!("calento_{schema}")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '_' })
                    .take(63)
                    .collect();
                Self { read: pool.clone(), write: pool, backend, bus: std::sync::Arc::new(Bus::new(channel)) }
            }
            Backend::Sqlite => {
                let file = sqlite_file(url).ok_or_else(|| ConnectError::UnsupportedUrl(redact(url)))?;
                if let Some(folder) = Path::new(file).parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder)
                        .map_err(|source| ConnectError::Folder { path: folder.display().to_string(), source })?;
                }
                let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
                let write = sqlite_pool(1).connect(&url).await?;
                let read = sqlite_pool(max_connections.max(2)).connect(&url).await?;
                Self { read, write, backend, bus: std::sync::Arc::new(Bus::new(String::new())) }
            }
        };
        match up_to {
            None => MIGRATOR.run(&db.write).await?,
            Some(wanted) => {
                if let Some(database) = schema_of(&db.write).await.filter(|&v| v > wanted) {
                    return Err(ConnectError::SchemaAhead { database, wanted });
                }
                MIGRATOR.run_to(wanted, &db.write).await?;
            }
        }
        Ok(db)
    }

    /// The pool for queries that only read.
    pub fn read(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for statements that write (serialised to one connection on SQLite).
    pub fn write(&self) -> &AnyPool {
        &self.write
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where committed writes are announced (see [`Bus`]).
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.read).await.map(|_| ())
    }

    /// Connections (in use, idle) over both pools, for metrics.
    pub fn pool_usage(&self) -> (u32, u32) {
        let pools: &[&AnyPool] = match self.backend {
            Backend::Sqlite => &[&self.read, &self.write],
            Backend::Postgres => &[&self.read],
        };
        pools.iter().fold((0, 0), |(used, idle), pool| {
            let idle_here = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            (used + pool.size().saturating_sub(idle_here), idle + idle_here)
        })
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// A pool of connections to the SQLite file. A connection is not pinged before each use
/// (sqlx's `test_before_acquire`): a local file does not drop connections as a network
/// does, and the ping was a round trip to the connection's thread before every query
/// (BENCHMARKS.md, "Week view with 500 events").
fn sqlite_pool(max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                if conn.backend_name() == "SQLite" {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                }
                Ok(())
            })
        })
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_scheme_chooses_the_backend() {
        assert_eq!(Backend::of_url("sqlite://data/calento.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://u@h/db"), None);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_file("sqlite://data/calento.db?mode=rwc"), Some("data/calento.db"));
        assert_eq!(sqlite_file("sqlite:/tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[test]
    fn passwords_are_hidden_from_messages() {
        assert_eq!(redact("postgres://calento:s3cret@db:5432/calento"), "postgres://calento:***@db:5432/calento");
        assert_eq!(redact("postgres://calento@db/calento"), "postgres://calento@db/calento");
    }
}

/// The one storage error: the database refused a statement or could not be reached. It
/// keeps where in our code it happened (`?` records the caller), is logged with its cause
/// when it reaches a boundary, and becomes [`AppError::Unexpected`] there: the client never
/// sees the cause. Expected refusals (a unique key taken) are matched on the `sqlx::Error`
/// before `?`, where they mean something to the user.
#[derive(Debug)]
pub struct StorageError {
    source: sqlx::Error,
    at: &'static std::panic::Location<'static>,
}

impl From<sqlx::Error> for StorageError {
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        Self { source, at: std::panic::Location::caller() }
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at {}:{})", self.source, self.at.file(), self.at.line())
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<StorageError> for crate::AppError {
    fn from(error: StorageError) -> Self {
        // The database out of reach is not a fault in the request: 503, try again.
        if matches!(
            error.source,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_)
        ) {
            tracing::warn!(%error, "storage unreachable");
            return crate::AppError::Unavailable;
        }
        tracing::error!(%error, "storage");
        crate::AppError::Unexpected
    }
}

impl From<sqlx::Error> for crate::AppError {
    #[track_caller]
    fn from(error: sqlx::Error) -> Self {
        StorageError::from(error).into()
    }
}
