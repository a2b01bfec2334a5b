//! Searching a user's events: words in the title, description and location (each word a
//! case- and accent-insensitive prefix; all words must match), a date range, a calendar,
//! sorting and pages.
//!
//! This is the one place where the two databases run their own SQL, side by side:
//!
//! - SQLite: an FTS5 table (`events_fts`, contentless, `unicode61 remove_diacritics 2`)
//!   keyed by `events_search`, a narrow row per event (an integer key, the event id, and
//!   what searches filter and sort on: the events table has text ids, and its implicit
//!   rowids may change on `VACUUM`). Triggers on `events` keep both in step with every
//!   write, imports included.
//! - PostgreSQL: a stored generated column (`search_v1`, a `to_tsvector('simple', …)` of
//!   the three columns with accents and punctuation folded by immutable built-ins, so no
//!   extension is needed) with a GIN index, queried with prefix `to_tsquery` terms.
//!
//! The DDL differs, so these objects are not in `migrations/`: [`prepare`] creates them at
//! start-up, right after the migrations (idempotent), and fills the index for rows written
//! before it existed (PostgreSQL computes a new generated column for every row itself).
//!
//! User input never reaches either query language as syntax: the text is cut into words of
//! letters and digits in Rust, and each word is passed as a quoted term.

use std::collections::HashMap;
use std::fmt::Write as _;

use calento::FieldError;

use super::calendars::{self, CalendarRow};
use super::events::{COLUMNS, EventRow};
use super::{Backend, Db};
use crate::AppError;
use crate::models::EventPage;

/// The longest search text accepted (characters).
pub const MAX_QUERY_CHARS: usize = 500;
/// Words beyond this many are ignored.
pub const MAX_WORDS: usize = 16;
/// A longer word is cut to this many characters (it still matches as a prefix).
pub const MAX_WORD_CHARS: usize = 64;
pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 200;
pub const MAX_PAGE: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Start,
    Title,
    Created,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// The query string of `GET /api/v1/events`, as sent (everything optional text, so that no
/// input is refused before it can get a clear message).
#[derive(utoipa::ToSchema, Debug, Clone, Default, serde::Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub calendar_id: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A checked search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// Words to match (all of them), each as a prefix; empty: no text filter.
    pub words: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub calendar_id: Option<String>,
    pub sort: Sort,
    pub order: Order,
    pub page: i64,
    pub per_page: i64,
}

/// A whole number from 1 to `max` in a query (absent: `default`), or the field's message.
pub fn number(field: &str, value: Option<&str>, default: i64, max: i64) -> Result<i64, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(FieldError::new(field, format!("{field} is a whole number from 1 to {max}."))),
        },
    }
}

impl Search {
    /// Checks everything but the times, which the caller parses (`from_ms`, `to_ms`):
    /// every problem at once.
    pub fn parse(query: &SearchQuery, from_ms: Option<i64>, to_ms: Option<i64>) -> Result<Self, AppError> {
        let mut problems = Vec::new();
        let text = query.q.as_deref().unwrap_or_default();
        if text.chars().count() > MAX_QUERY_CHARS {
            problems.push(FieldError::new("q", format!("Search for at most {MAX_QUERY_CHARS} characters.")));
        }
        let sort = match query.sort.as_deref().map(str::trim).unwrap_or_default() {
            "" | "start" => Sort::Start,
            "title" => Sort::Title,
            "created" => Sort::Created,
            _ => {
                problems.push(FieldError::new("sort", "Sort by start, title or created."));
                Sort::Start
            }
        };
        let order = match query.order.as_deref().map(str::trim).unwrap_or_default() {
            "" | "asc" => Order::Asc,
            "desc" => Order::Desc,
            _ => {
                problems.push(FieldError::new("order", "The order is asc or desc."));
                Order::Asc
            }
        };
        let page = number("page", query.page.as_deref(), 1, MAX_PAGE).map_err(|e| problems.push(e)).unwrap_or(1);
        let per_page = number("per_page", query.per_page.as_deref(), DEFAULT_PER_PAGE, MAX_PER_PAGE)
            .map_err(|e| problems.push(e))
            .unwrap_or(DEFAULT_PER_PAGE);
        if let (Some(from), Some(to)) = (from_ms, to_ms)
            && to <= from
        {
            problems.push(FieldError::new("to", "The end of the range must be after its start."));
        }
        if !problems.is_empty() {
            return Err(AppError::fields(problems));
        }
        Ok(Self {
            words: words(text),
            from_ms,
            to_ms,
            calendar_id: query.calendar_id.clone().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
            sort,
            order,
            page,
            per_page,
        })
    }
}

/// The words of a search text: runs of letters and digits (everything else separates
/// words, as the SQLite tokenizer and the PostgreSQL folding do) that are more than
/// combining marks, at most [`MAX_WORDS`], each cut to [`MAX_WORD_CHARS`], without repeats.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !fold(w).is_empty()) {
        let word: String = word.chars().take(MAX_WORD_CHARS).collect();
        if !out.contains(&word) {
            out.push(word);
        }
        if out.len() == MAX_WORDS {
            break;
        }
    }
    out
}

/// The FTS5 query: every word quoted (so no word is an operator) and a prefix, in the
/// three text columns; and the owner's token (and the calendar's), so that FTS5 alone
/// keeps to one user's events.
pub fn fts5_query(words: &[String], user_id: &str, calendar_id: Option<&str>) -> String {
    let quote = |text: &str| text.replace('"', "\"\"");
    let mut out = String::from("{title description location} : (");
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "\"{}\"*", quote(word));
    }
    let _ = write!(out, ") AND owner : \"u{}\"", quote(user_id));
    if let Some(calendar_id) = calendar_id {
        let _ = write!(out, " AND owner : \"c{}\"", quote(calendar_id));
    }
    out
}

/// The `to_tsquery` text: every word folded like the documents ([`fold`]), quoted, a
/// prefix, all required.
pub fn tsquery(words: &[String]) -> String {
    let mut out = String::new();
    for word in words {
        let folded = fold(word);
        if folded.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(" & ");
        }
        let _ = write!(out, "'{}':*", folded.replace('\\', "\\\\").replace('\'', "''"));
    }
    out
}

/// Combining diacritical marks: what accent folding removes after canonical decomposition.
const MARKS: std::ops::RangeInclusive<char> = '\u{300}'..='\u{36f}';

/// A word as PostgreSQL documents are folded: canonical decomposition (NFD), then the
/// combining marks dropped ("Crème" → "Creme").
pub fn fold(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    word.nfd().filter(|c| !MARKS.contains(c)).collect()
}

/// The document of an event on PostgreSQL: title, description and location, decomposed
/// (NFD) with combining marks removed, punctuation and symbols turned into spaces (else its
/// parser keeps e-mail addresses, URLs and decimals whole), as a `simple` tsvector. Only
/// immutable built-ins: no extension needed (the database must be UTF-8, as `normalize`
/// requires). Changing it needs a new column name ([`PG_COLUMN`]).
pub const PG_DOCUMENT: &str = "to_tsvector('simple', regexp_replace(regexp_replace(\
     normalize(title || ' ' || description || ' ' || location, NFD), '[\\u0300-\\u036f]', '', 'g'), \
     '[!-/:-@\\[-`{-~\\u00a0-\\u00a9\\u00ab-\\u00b1\\u00b4\\u00b6-\\u00b8\\u00bb\\u00bf\\u00d7\\u00f7\\u2000-\\u206f\\u20a0-\\u20cf\\u3000-\\u3004\\u3008-\\u3020\\u3030\\u303d\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65]', ' ', 'g'))";

/// The generated column holding [`PG_DOCUMENT`] and its GIN index. A stored column, not an
/// expression index: the planner may then test rows it reached through another index
/// (calendar, dates) without recomputing the document.
pub const PG_COLUMN: &str = "search_v1";
pub const PG_INDEX: &str = "events_search_v1";

/// SQLite: the words (FTS5, contentless, with prefix indexes for one- and two-letter
/// prefixes; an `owner` column holds the tokens `u<user id>` and `c<calendar id>`) and, per
/// event, a narrow row with what a search filters and sorts on (`events_search`; its
/// integer `key` is the FTS5 rowid), with a covering index in start order. A search walks
/// that index and keeps the rows FTS5 matched; counting without dates is FTS5 alone.
/// The SQLite tables made here and filled from `events` (an FTS table's own shadow tables
/// start with its name and `_`): never backed up, rebuilt after a restore.
pub const DERIVED_TABLES: &[&str] = &["events_search", "events_fts"];

const SQLITE_TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS events_search (
        key INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        calendar_id TEXT NOT NULL,
        title_key TEXT NOT NULL,
        start_ms BIGINT NOT NULL,
        span_start_ms BIGINT NOT NULL,
        span_end_ms BIGINT,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS events_search_start
        ON events_search (user_id, start_ms, event_id, calendar_id, span_start_ms, span_end_ms)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(title, description, location, owner, content = '', \
     contentless_delete = 1, prefix = '1 2', tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE INDEX IF NOT EXISTS events_user_title ON events (user_id, lower(title), id)",
];

/// The triggers, dropped and made again at every start (in one transaction), so their
/// text always matches this file.
const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN
        DELETE FROM events_fts WHERE rowid IN (SELECT key FROM events_search WHERE event_id = new.id);
        DELETE FROM events_search WHERE event_id = new.id;
        INSERT INTO events_search (event_id, user_id, calendar_id, title_key, start_ms, span_start_ms, span_end_ms, created_at)
            VALUES (new.id, new.user_id, new.calendar_id, lower(new.title), new.start_ms, new.span_start_ms,
                    new.span_end_ms, new.created_at);
        INSERT INTO events_fts (rowid, title, description, location, owner)
            VALUES (last_insert_rowid(), new.title, new.description, new.location,
                    'u' || new.user_id || ' c' || new.calendar_id);
     END",
    "CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN
        DELETE FROM events_fts WHERE rowid IN (SELECT key FROM events_search WHERE event_id = old.id);
        DELETE FROM events_search WHERE event_id = old.id;
     END",
    "CREATE TRIGGER events_search_words
        AFTER UPDATE OF title, description, location, user_id, calendar_id ON events BEGIN
        DELETE FROM events_fts WHERE rowid IN (SELECT key FROM events_search WHERE event_id = old.id);
        INSERT INTO events_fts (rowid, title, description, location, owner)
            SELECT key, new.title, new.description, new.location, 'u' || new.user_id || ' c' || new.calendar_id
              FROM events_search WHERE event_id = old.id;
     END",
    "CREATE TRIGGER events_search_fields
        AFTER UPDATE OF user_id, calendar_id, title, start_ms, span_start_ms, span_end_ms, created_at ON events BEGIN
        UPDATE events_search SET user_id = new.user_id, calendar_id = new.calendar_id, title_key = lower(new.title),
               start_ms = new.start_ms, span_start_ms = new.span_start_ms, span_end_ms = new.span_end_ms,
               created_at = new.created_at
         WHERE event_id = old.id;
     END",
];

const SQLITE_TRIGGER_NAMES: &[&str] = &[
    "events_search_insert",
    "events_search_delete",
    "events_search_words",
    "events_search_fields",
    // The first version's.
    "events_fts_insert",
    "events_fts_delete",
    "events_fts_update",
];

/// Both: indexes for listing without words (sorted pages stop early; date ranges are
/// counted from the index alone).
const ORDER_INDEXES: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS events_user_start ON events (user_id, start_ms, id)",
    "CREATE INDEX IF NOT EXISTS events_user_created ON events (user_id, created_at, id)",
    "CREATE INDEX IF NOT EXISTS events_user_span_range ON events (user_id, span_start_ms, span_end_ms)",
];

const SQLITE_REBUILD: &[&str] = &[
    "INSERT INTO events_fts (events_fts) VALUES ('delete-all')",
    "DELETE FROM events_search",
    "INSERT INTO events_search (event_id, user_id, calendar_id, title_key, start_ms, span_start_ms, span_end_ms, created_at)
     SELECT id, user_id, calendar_id, lower(title), start_ms, span_start_ms, span_end_ms, created_at FROM events",
    "INSERT INTO events_fts (rowid, title, description, location, owner)
     SELECT s.key, e.title, e.description, e.location, 'u' || e.user_id || ' c' || e.calendar_id
       FROM events_search s JOIN events e ON e.id = s.event_id",
];

/// Creates the search objects of this backend if they are missing, and (SQLite) fills the
/// index when it does not cover every event (new index, or rows written without triggers).
pub async fn prepare(db: &Db) -> Result<(), sqlx::Error> {
    match db.backend() {
        Backend::Sqlite => {
            let mut tx = db.write().begin().await?;
            for name in SQLITE_TRIGGER_NAMES {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {name}"))).execute(&mut *tx).await?;
            }
            // Earlier shapes of the index (a key table; no owner column) are replaced.
            let (current,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_fts' AND sql LIKE '%owner%'")
                    .fetch_one(&mut *tx)
                    .await?;
            if current == 0 {
                sqlx::query("DROP TABLE IF EXISTS events_fts").execute(&mut *tx).await?;
                sqlx::query("DROP TABLE IF EXISTS events_fts_keys").execute(&mut *tx).await?;
            }
            for statement in SQLITE_TABLES.iter().chain(ORDER_INDEXES).chain(SQLITE_TRIGGERS) {
                sqlx::query(*statement).execute(&mut *tx).await?;
            }
            let (events,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events").fetch_one(&mut *tx).await?;
            let (indexed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events_search").fetch_one(&mut *tx).await?;
            if events != indexed || (current == 0 && events > 0) {
                tracing::info!(events, indexed, "building the search index");
                for statement in SQLITE_REBUILD {
                    sqlx::query(*statement).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        }
        Backend::Postgres => {
            // Adding the column computes it for existing rows (a one-time table rewrite).
            // Each statement runs only when its object is missing: even a no-op ALTER
            // TABLE locks the table, which other running servers would wait for.
            let column = format!(
                "ALTER TABLE events ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
            );
            let mut wanted = vec![
                (PG_COLUMN, column),
                (PG_INDEX, format!("CREATE INDEX IF NOT EXISTS {PG_INDEX} ON events USING GIN ({PG_COLUMN})")),
                (
                    "events_user_title",
                    "CREATE INDEX IF NOT EXISTS events_user_title ON events (user_id, (lower(title) COLLATE \"C\"), id)"
                        .to_owned(),
                ),
            ];
            for sql in ORDER_INDEXES {
                let name = sql.split_whitespace().nth(5).unwrap_or_default();
                wanted.push((name, (*sql).to_owned()));
            }
            for (name, sql) in wanted {
                let (present,): (i64,) = sqlx::query_as(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                      WHERE c.oid = to_regclass('events') AND a.attname = $1 AND NOT a.attisdropped
                     UNION ALL
                     SELECT CAST(COUNT(*) AS BIGINT) FROM pg_class WHERE oid = to_regclass($1)
                     ORDER BY 1 DESC LIMIT 1",
                )
                .bind(name)
                .fetch_one(db.write())
                .await?;
                if present == 0 {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(db.write()).await?;
                }
            }
        }
    }
    Ok(())
}

/// A parameter of a search statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// One statement of a search and its parameters (`$1`…).
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
}

/// A page of a word search walks an index in sort order (testing each row against the
/// words) only when matches are common enough that the page fills quickly; otherwise it
/// takes the matches from the word index and sorts them. The exact count is known by then
/// (PostgreSQL's own estimates for prefix queries are too rough to choose well).
const WALK_FROM_MATCHES: i64 = 5_000;
const WALK_RATIO: i64 = 50;

fn walks(total: i64, offset: i64, per_page: i64) -> bool {
    total >= WALK_FROM_MATCHES && offset.saturating_add(per_page).saturating_mul(WALK_RATIO) <= total
}

/// Conditions and their parameters, numbered as they are added.
#[derive(Default)]
struct Filter {
    conditions: Vec<String>,
    binds: Vec<Bind>,
}

impl Filter {
    fn param(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    /// The common conditions, on the columns of `events` or `events_search` (`prefix`).
    fn common(&mut self, prefix: &str, user_id: &str, search: &Search) {
        let user = self.param(Bind::Text(user_id.to_owned()));
        self.conditions.push(format!("{prefix}user_id = {user}"));
        if let Some(calendar_id) = &search.calendar_id {
            let p = self.param(Bind::Text(calendar_id.clone()));
            self.conditions.push(format!("{prefix}calendar_id = {p}"));
        }
        if let Some(to) = search.to_ms {
            let p = self.param(Bind::Int(to));
            self.conditions.push(format!("{prefix}span_start_ms < {p}"));
        }
        if let Some(from) = search.from_ms {
            let p = self.param(Bind::Int(from));
            self.conditions.push(format!("({prefix}span_end_ms IS NULL OR {prefix}span_end_ms > {p})"));
        }
    }

    /// SQLite: only the rows FTS5 matched (the user and calendar are in the FTS5 query).
    fn words_sqlite(&mut self, user_id: &str, search: &Search) {
        let q = self.param(Bind::Text(fts5_query(&search.words, user_id, search.calendar_id.as_deref())));
        self.conditions.push(format!("s.key IN (SELECT rowid FROM events_fts WHERE events_fts MATCH {q})"));
    }

    fn words_postgres(&mut self, search: &Search) {
        let p = self.param(Bind::Text(tsquery(&search.words)));
        self.conditions.push(format!("{PG_COLUMN} @@ to_tsquery('simple', {p})"));
    }

    fn sql(&self) -> String {
        self.conditions.join(" AND ")
    }

    fn into_statement(self, sql: String) -> Statement {
        Statement { sql, binds: self.binds }
    }
}

fn direction(search: &Search) -> &'static str {
    match search.order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    }
}

fn has_dates(search: &Search) -> bool {
    search.from_ms.is_some() || search.to_ms.is_some()
}

/// How many events match `search` (the first statement of a search).
pub fn count_statement(backend: Backend, user_id: &str, search: &Search) -> Statement {
    let mut f = Filter::default();
    match (backend, search.words.is_empty()) {
        (Backend::Sqlite, false) if !has_dates(search) => {
            let q = f.param(Bind::Text(fts5_query(&search.words, user_id, search.calendar_id.as_deref())));
            f.into_statement(format!("SELECT COUNT(*) FROM events_fts WHERE events_fts MATCH {q}"))
        }
        (Backend::Sqlite, false) => {
            f.common("s.", user_id, search);
            f.words_sqlite(user_id, search);
            let sql = format!("SELECT COUNT(*) FROM events_search s WHERE {}", f.sql());
            f.into_statement(sql)
        }
        (Backend::Postgres, false) => {
            f.common("", user_id, search);
            f.words_postgres(search);
            let sql = format!("SELECT COUNT(*) FROM events WHERE {}", f.sql());
            f.into_statement(sql)
        }
        (_, true) => {
            f.common("", user_id, search);
            let sql = format!("SELECT COUNT(*) FROM events WHERE {}", f.sql());
            f.into_statement(sql)
        }
    }
}

/// The page of events (their [`COLUMNS`]) for `search`, given how many match in all.
pub fn page_statement(backend: Backend, user_id: &str, search: &Search, total: i64) -> Statement {
    let dir = direction(search);
    let offset = (search.page - 1).saturating_mul(search.per_page);
    let mut f = Filter::default();
    if backend == Backend::Sqlite && !search.words.is_empty() {
        // Only the page's events are read whole. Common words in start order: walk the
        // narrow rows' covering index in that order, keeping those FTS5 matched (the page
        // fills quickly). Otherwise: the narrow rows of the matches, sorted.
        let walk = search.sort == Sort::Start && walks(total, offset, search.per_page);
        let from = if walk {
            f.common("s.", user_id, search);
            f.words_sqlite(user_id, search);
            "events_search s"
        } else {
            let q = f.param(Bind::Text(fts5_query(&search.words, user_id, search.calendar_id.as_deref())));
            f.conditions.push(format!("events_fts MATCH {q}"));
            f.common("s.", user_id, search);
            // CROSS JOIN: SQLite keeps this order (FTS5 first, then each row by its key).
            "events_fts CROSS JOIN events_search s ON s.key = events_fts.rowid"
        };
        let key = match (search.sort, walk) {
            (Sort::Start, true) => "s.start_ms",
            (Sort::Start, false) => "+s.start_ms",
            (Sort::Created, _) => "+s.created_at",
            (Sort::Title, _) => "+s.title_key",
        };
        let (limit, skip) = (f.param(Bind::Int(search.per_page)), f.param(Bind::Int(offset)));
        let e = COLUMNS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {e} FROM events e JOIN (
                 SELECT s.event_id, {key} AS sort_key FROM {from} WHERE {}
                  ORDER BY {key} {dir}, s.event_id {dir} LIMIT {limit} OFFSET {skip}
             ) h ON e.id = h.event_id
             ORDER BY h.sort_key {dir}, h.event_id {dir}",
            f.sql()
        );
        return f.into_statement(sql);
    }
    f.common("", user_id, search);
    if !search.words.is_empty() {
        f.words_postgres(search);
    }
    // Whether to sort the matching rows rather than walk an index in sort order.
    let gather = match backend {
        // With a date range, SQLite sorts the range's rows rather than walking the start
        // index (which would visit every earlier event first).
        Backend::Sqlite => has_dates(search) && search.sort == Sort::Start,
        Backend::Postgres => !search.words.is_empty() && !walks(total, offset, search.per_page),
    };
    let key = match (search.sort, backend, gather) {
        (Sort::Start, Backend::Sqlite, true) => "+start_ms",
        (Sort::Start, Backend::Postgres, true) => "start_ms + 0",
        (Sort::Start, _, _) => "start_ms",
        (Sort::Created, Backend::Postgres, true) => "created_at + 0",
        (Sort::Created, _, _) => "created_at",
        // Code-point order on both (SQLite's BINARY; PostgreSQL's own collation may differ).
        (Sort::Title, Backend::Sqlite, _) => "lower(title)",
        (Sort::Title, Backend::Postgres, true) => "(lower(title) || '') COLLATE \"C\"",
        (Sort::Title, Backend::Postgres, false) => "lower(title) COLLATE \"C\"",
    };
    let (limit, skip) = (f.param(Bind::Int(search.per_page)), f.param(Bind::Int(offset)));
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE {} ORDER BY {key} {dir}, id {dir} LIMIT {limit} OFFSET {skip}",
        f.sql()
    );
    f.into_statement(sql)
}

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    binds: &'q [Bind],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.as_str()),
            Bind::Int(n) => query.bind(*n),
        };
    }
    query
}

/// One page of the user's events matching `search`, and how many match in all.
pub async fn search(db: &Db, user_id: &str, search: &Search) -> Result<EventPage, AppError> {
    let calendars = calendars::list(db, user_id).await?;
    if let Some(id) = &search.calendar_id
        && !calendars.iter().any(|c| &c.id == id)
    {
        return Err(AppError::NotFound);
    }
    let count = count_statement(db.backend(), user_id, search);
    let (total,): (i64,) =
        bind_all(sqlx::query_as(sqlx::AssertSqlSafe(count.sql)), &count.binds).fetch_one(db.read()).await?;
    let offset = (search.page - 1).saturating_mul(search.per_page);
    let rows: Vec<EventRow> = if offset >= total {
        Vec::new()
    } else {
        let page = page_statement(db.backend(), user_id, search, total);
        bind_all(sqlx::query_as(sqlx::AssertSqlSafe(page.sql)), &page.binds).fetch_all(db.read()).await?
    };
    let by_id: HashMap<&str, &CalendarRow> = calendars.iter().map(|c| (c.id.as_str(), c)).collect();
    let items = rows
        .iter()
        .filter_map(|row| by_id.get(row.calendar_id.as_str()).map(|c| row.info(c)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EventPage { items, page: search.page, per_page: search.per_page, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        assert_eq!(words("  Team-Sync: \"Q3\" AND *plan* café  "), ["Team", "Sync", "Q3", "AND", "plan", "café"]);
        assert_eq!(words("'; DROP TABLE events; --"), ["DROP", "TABLE", "events"]);
        assert!(words("*:-\"()^").is_empty());
        assert_eq!(words("a a A"), ["a", "A"]);
        assert_eq!(words(&"x".repeat(1000))[0].len(), MAX_WORD_CHARS);
        assert_eq!(words(&"w ".repeat(100)).len(), 1);
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        assert_eq!(words(&many).len(), MAX_WORDS);
    }

    #[test]
    fn query_texts_quote_every_word() {
        let w = words("Caf\u{e9} NEAR ab");
        assert_eq!(
            fts5_query(&w, "U1", Some("C\"1")),
            "{title description location} : (\"Caf\u{e9}\"* \"NEAR\"* \"ab\"*) AND owner : \"uU1\" AND owner : \"cC\"\"1\""
        );
        assert_eq!(tsquery(&w), "'Cafe':* & 'NEAR':* & 'ab':*");
        assert!(words("\u{345} \u{301}").is_empty(), "words of marks only fold to nothing");
        assert_eq!(words("a\u{345}"), ["a\u{345}"]);
    }

    #[test]
    fn accents_fold_to_their_base_letters() {
        assert_eq!(fold("ÉéèÀçÑøŁșẞỹ Σύσκεψη"), "EeeAcNøŁsẞy Συσκεψη");
        assert_eq!(fold("e\u{301}cole"), "ecole");
    }

    #[test]
    fn word_searches_count_and_page_by_the_cheapest_path() {
        let search = Search { words: words("meet"), page: 1, per_page: 50, ..Search::default() };
        let count = count_statement(Backend::Sqlite, "U", &search);
        assert!(count.sql.starts_with("SELECT COUNT(*) FROM events_fts WHERE"), "{}", count.sql);
        assert_eq!(count.binds.len(), 1, "the user is in the FTS5 query");
        let dated = Search { from_ms: Some(1), ..search.clone() };
        assert!(count_statement(Backend::Sqlite, "U", &dated).sql.contains("FROM events_search s"));

        let rare = page_statement(Backend::Sqlite, "U", &search, 100);
        assert!(rare.sql.contains("events_fts CROSS JOIN events_search"), "{}", rare.sql);
        let common = page_statement(Backend::Sqlite, "U", &search, 50_000);
        assert!(common.sql.contains("FROM events_search s WHERE") && common.sql.contains("ORDER BY s.start_ms ASC"));
        let deep = page_statement(Backend::Sqlite, "U", &Search { page: 100, ..search.clone() }, 50_000);
        assert!(deep.sql.contains("CROSS JOIN"), "deep pages sort the matches");

        let rare = page_statement(Backend::Postgres, "U", &search, 100);
        assert!(rare.sql.contains("ORDER BY start_ms + 0 ASC"), "{}", rare.sql);
        let common = page_statement(Backend::Postgres, "U", &search, 50_000);
        assert!(common.sql.contains("ORDER BY start_ms ASC"), "{}", common.sql);
        let listing = page_statement(Backend::Postgres, "U", &Search { words: Vec::new(), ..search }, 10);
        assert!(listing.sql.contains("ORDER BY start_ms ASC"), "{}", listing.sql);
        assert_eq!(listing.binds.last(), Some(&Bind::Int(0)), "the offset is the last parameter");
    }

    #[test]
    fn bad_parameters_are_named_together() {
        let query = SearchQuery {
            sort: Some("size".into()),
            order: Some("up".into()),
            page: Some("0".into()),
            per_page: Some("500".into()),
            q: Some("x".repeat(MAX_QUERY_CHARS + 1)),
            ..SearchQuery::default()
        };
        let Err(AppError::Invalid { fields, .. }) = Search::parse(&query, Some(10), Some(5)) else {
            panic!("expected invalid")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["q", "sort", "order", "page", "per_page", "to"]);
        let fine = Search::parse(&SearchQuery::default(), None, None).expect("defaults");
        assert_eq!((fine.page, fine.per_page, fine.sort, fine.order), (1, DEFAULT_PER_PAGE, Sort::Start, Order::Asc));
    }
}
