//! Searching a user's events: words in the title, description and location (each word a
//! case- and accent-insensitive prefix; all words must match), a date range, a calendar,
//! sorting and pages.
//!
//! This is the one place where the two databases run their own SQL, side by side:
//!
//! - SQLite: an FTS5 table (`events_fts`, contentless, `unicode61 remove_diacritics 2`)
//!   keyed by `events_fts_keys` (an integer key per event id: the events table has text
//!   ids, and its implicit rowids may change on `VACUUM`). Triggers on `events` keep both in
//!   step with every write, imports included.
//! - PostgreSQL: a GIN expression index over `to_tsvector('simple', …)` of the three
//!   columns, folded by `translate` (accents off, punctuation to spaces: built-ins only, so
//!   no extension is needed), queried with prefix `to_tsquery` terms.
//!
//! The DDL differs, so these objects are not in `migrations/`: [`prepare`] creates them at
//! start-up, right after the migrations (idempotent), and fills the index for rows written
//! before it existed.
//!
//! User input never reaches either query language as syntax: the text is cut into words of
//! letters and digits in Rust, and each word is passed as a quoted term.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use calento::FieldError;
use sqlx::Row;

use super::calendars::{self, CalendarRow};
use super::events::{COLUMNS, EventRow};
use super::{Backend, Db, unexpected};
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
#[derive(Debug, Clone, Default, serde::Deserialize)]
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

fn number(field: &str, value: Option<&str>, default: i64, max: i64) -> Result<i64, FieldError> {
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
        if let (Some(from), Some(to)) = (from_ms, to_ms) {
            if to <= from {
                problems.push(FieldError::new("to", "The end of the range must be after its start."));
            }
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
/// words, as the SQLite tokenizer and the PostgreSQL folding do), at most [`MAX_WORDS`],
/// each cut to [`MAX_WORD_CHARS`], without repeats.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
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

/// The FTS5 query: every word quoted (so no word is an operator) and a prefix.
pub fn fts5_query(words: &[String]) -> String {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "\"{}\"*", word.replace('"', "\"\""));
    }
    out
}

/// The `to_tsquery` text: every word folded like the index, quoted, a prefix, all required.
pub fn tsquery(words: &[String]) -> String {
    let mut out = String::new();
    for word in words {
        if !out.is_empty() {
            out.push_str(" & ");
        }
        let folded: String = word.chars().map(fold_char).collect();
        let _ = write!(out, "'{}':*", folded.replace('\\', "\\\\").replace('\'', "''"));
    }
    out
}

/// Letters with accents (canonical decompositions: a Latin letter and combining marks) and
/// their base letters, in the Latin blocks; PostgreSQL's `translate` folds documents with
/// it, and [`fold_char`] folds query words the same way.
static ACCENTS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let ranges = [('\u{00C0}', '\u{024F}'), ('\u{1E00}', '\u{1EFF}')];
    let mut pairs = Vec::new();
    for (first, last) in ranges {
        for c in first..=last {
            let mut parts = std::iter::once(c).nfd();
            let Some(base) = parts.next() else { continue };
            let rest: Vec<char> = parts.collect();
            if base != c && base.is_ascii_alphabetic() && !rest.is_empty() && rest.iter().all(|m| is_combining_mark(*m))
            {
                pairs.push((c, base));
            }
        }
    }
    pairs
});

static ACCENT_MAP: LazyLock<HashMap<char, char>> = LazyLock::new(|| ACCENTS.iter().copied().collect());

/// Characters that separate words in documents on PostgreSQL (its parser would otherwise
/// keep e-mail addresses, URLs, hyphenated words and decimals whole).
const SEPARATORS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u{a0}\u{a1}\u{a7}\u{ab}\u{b0}\u{b6}\u{b7}\u{bb}\u{bf}\u{d7}\u{f7}\
     \u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2015}\u{2018}\u{2019}\u{201a}\u{201b}\u{201c}\u{201d}\u{201e}\u{201f}\
     \u{2020}\u{2021}\u{2022}\u{2026}\u{2039}\u{203a}\u{20ac}\u{2122}\u{3000}\u{3001}\u{3002}\u{300c}\u{300d}";

pub fn fold_char(c: char) -> char {
    ACCENT_MAP.get(&c).copied().unwrap_or(c)
}

/// The document expression of the PostgreSQL index. Queries repeat it byte for byte, so
/// the planner uses the index. Changing it needs a new index name ([`PG_INDEX`]).
pub static PG_DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let from: String = ACCENTS.iter().map(|(c, _)| *c).chain(SEPARATORS.chars()).collect();
    let to: String = ACCENTS.iter().map(|(_, b)| *b).chain(SEPARATORS.chars().map(|_| ' ')).collect();
    format!(
        "to_tsvector('simple', translate(title || ' ' || description || ' ' || location, '{}', '{}'))",
        from.replace('\'', "''"),
        to
    )
});

/// The PostgreSQL index's name; a new version of [`PG_DOCUMENT`] gets a new name.
pub const PG_INDEX: &str = "events_search_v1";

const SQLITE_OBJECTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS events_fts_keys (key INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(title, description, location, content = '', \
     contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS events_fts_insert AFTER INSERT ON events BEGIN
        DELETE FROM events_fts WHERE rowid IN (SELECT key FROM events_fts_keys WHERE event_id = new.id);
        DELETE FROM events_fts_keys WHERE event_id = new.id;
        INSERT INTO events_fts_keys (event_id) VALUES (new.id);
        INSERT INTO events_fts (rowid, title, description, location)
            SELECT key, new.title, new.description, new.location FROM events_fts_keys WHERE event_id = new.id;
     END",
    "CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events BEGIN
        DELETE FROM events_fts WHERE rowid IN (SELECT key FROM events_fts_keys WHERE event_id = old.id);
        DELETE FROM events_fts_keys WHERE event_id = old.id;
     END",
    "CREATE TRIGGER IF NOT EXISTS events_fts_update AFTER UPDATE OF title, description, location ON events BEGIN
        DELETE FROM events_fts WHERE rowid IN (SELECT key FROM events_fts_keys WHERE event_id = old.id);
        INSERT INTO events_fts (rowid, title, description, location)
            SELECT key, new.title, new.description, new.location FROM events_fts_keys WHERE event_id = old.id;
     END",
];

async fn count(db: &Db, sql: &'static str) -> Result<i64, sqlx::Error> {
    sqlx::query(sql).fetch_one(db.write()).await?.try_get(0)
}

/// Creates the search objects of this backend if they are missing, and (SQLite) fills the
/// index when it does not cover every event (new index, or rows written without triggers).
pub async fn prepare(db: &Db) -> Result<(), sqlx::Error> {
    match db.backend() {
        Backend::Sqlite => {
            for statement in SQLITE_OBJECTS {
                sqlx::query(*statement).execute(db.write()).await?;
            }
            let events = count(db, "SELECT COUNT(*) FROM events").await?;
            let indexed = count(db, "SELECT COUNT(*) FROM events_fts_keys").await?;
            if events != indexed {
                tracing::info!(events, indexed, "building the search index");
                let mut tx = db.write().begin().await?;
                for statement in [
                    "INSERT INTO events_fts (events_fts) VALUES ('delete-all')",
                    "DELETE FROM events_fts_keys",
                    "INSERT INTO events_fts_keys (event_id) SELECT id FROM events",
                    "INSERT INTO events_fts (rowid, title, description, location)
                     SELECT k.key, e.title, e.description, e.location FROM events_fts_keys k JOIN events e ON e.id = k.event_id",
                ] {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Backend::Postgres => {
            let sql = format!("CREATE INDEX IF NOT EXISTS {PG_INDEX} ON events USING GIN (({}))", *PG_DOCUMENT);
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(db.write()).await?;
        }
    }
    Ok(())
}

enum Bind {
    Text(String),
    Int(i64),
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

    fn push(&mut self, condition: String) {
        self.conditions.push(condition);
    }

    fn sql(&self) -> String {
        self.conditions.join(" AND ")
    }
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

fn filter(backend: Backend, user_id: &str, search: &Search) -> Filter {
    let mut f = Filter::default();
    let user = f.param(Bind::Text(user_id.to_owned()));
    f.push(format!("user_id = {user}"));
    if let Some(calendar_id) = &search.calendar_id {
        let p = f.param(Bind::Text(calendar_id.clone()));
        f.push(format!("calendar_id = {p}"));
    }
    if let Some(to) = search.to_ms {
        let p = f.param(Bind::Int(to));
        f.push(format!("span_start_ms < {p}"));
    }
    if let Some(from) = search.from_ms {
        let p = f.param(Bind::Int(from));
        f.push(format!("(span_end_ms IS NULL OR span_end_ms > {p})"));
    }
    if !search.words.is_empty() {
        match backend {
            Backend::Sqlite => {
                let p = f.param(Bind::Text(fts5_query(&search.words)));
                f.push(format!(
                    "id IN (SELECT k.event_id FROM events_fts JOIN events_fts_keys k ON k.key = events_fts.rowid
                             WHERE events_fts MATCH {p})"
                ));
            }
            Backend::Postgres => {
                let p = f.param(Bind::Text(tsquery(&search.words)));
                f.push(format!("{} @@ to_tsquery('simple', {p})", *PG_DOCUMENT));
            }
        }
    }
    f
}

fn order_by(backend: Backend, search: &Search) -> String {
    let direction = match search.order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    };
    let key = match (search.sort, backend) {
        (Sort::Start, _) => "start_ms",
        (Sort::Created, _) => "created_at",
        // Code-point order on both (SQLite's BINARY; PostgreSQL's own collation may differ).
        (Sort::Title, Backend::Sqlite) => "lower(title)",
        (Sort::Title, Backend::Postgres) => "lower(title) COLLATE \"C\"",
    };
    format!("{key} {direction}, id {direction}")
}

/// One page of the user's events matching `search`, and how many match in all.
pub async fn search(db: &Db, user_id: &str, search: &Search) -> Result<EventPage, AppError> {
    let calendars = calendars::list(db, user_id).await?;
    if let Some(id) = &search.calendar_id {
        if !calendars.iter().any(|c| &c.id == id) {
            return Err(AppError::NotFound);
        }
    }
    let f = filter(db.backend(), user_id, search);
    let conditions = f.sql();
    let (total,): (i64,) = bind_all(
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM events WHERE {conditions}"))),
        &f.binds,
    )
    .fetch_one(db.read())
    .await
    .map_err(|e| unexpected("counting search results", e))?;
    let offset = (search.page - 1).saturating_mul(search.per_page);
    let rows: Vec<EventRow> = if offset >= total {
        Vec::new()
    } else {
        let order = order_by(db.backend(), search);
        let n = f.binds.len();
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE {conditions} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        bind_all(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &f.binds)
            .bind(search.per_page)
            .bind(offset)
            .fetch_all(db.read())
            .await
            .map_err(|e| unexpected("searching events", e))?
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
        assert_eq!(fts5_query(&w), "\"Caf\u{e9}\"* \"NEAR\"* \"ab\"*");
        assert_eq!(tsquery(&w), "'Cafe':* & 'NEAR':* & 'ab':*");
    }

    #[test]
    fn accents_fold_to_their_base_letters() {
        let folded: String = "ÉéèÀçÑøŁșẞỹ".chars().map(fold_char).collect();
        assert_eq!(folded, "EeeAcNøŁsẞy");
        assert!(ACCENTS.len() > 300, "{}", ACCENTS.len());
        assert!(!PG_DOCUMENT.contains("\\'"));
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
