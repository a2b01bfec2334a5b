//! Instance backup and restore (`calento-server backup` / `restore`, and scheduled backups).
//!
//! The archive is database-neutral JSON lines, so a SQLite instance restores into
//! PostgreSQL (the way out when an instance outgrows SQLite):
//!
//! ```text
//! {"format":"calento-backup","version":1,"schema":20261210000001,"backend":"sqlite",…}
//! {"table":"users","columns":[["id","text"],["created_at","integer"],…]}
//! ["u1",1765000000000,…]                       one line a row, values in column order
//! {"end":"users","rows":2,"sha256":"…"}        the table's row lines' checksum
//! …                                            every table, parents before children
//! {"complete":true,"tables":40,"rows":1234,"sha256":"…"}   all the lines above
//! ```
//!
//! Every table is read in one read transaction (one snapshot: PostgreSQL's repeatable read,
//! SQLite's WAL reader), so a backup taken during writes is consistent. The file is written
//! beside its name and renamed when complete. On SQLite a `VACUUM INTO` copy is made too and
//! checked with `PRAGMA integrity_check`.
//!
//! A restore checks the whole archive before it touches the database, then writes every
//! row in one transaction (all or nothing), into the schema the backup was taken from, and
//! migrates it to this build's schema after.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use app::ssr::db::{self, Backend};
use app::ssr::{Db, search};
use base64::Engine as _;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

pub const FORMAT: &str = "calento-backup";
const VERSION: i64 = 1;
/// Values bound in one INSERT at most (under SQLite's 32,766 and PostgreSQL's 65,535).
const VALUES_PER_INSERT: usize = 8_000;

/// How a column's values are kept in the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Integer,
    Float,
    Text,
    /// Base64 in the archive.
    Blob,
}

impl Kind {
    /// From a declared SQL type (SQLite's affinity rules, PostgreSQL's type names).
    fn of(declared: &str) -> Self {
        let declared = declared.to_ascii_uppercase();
        if declared.contains("INT") {
            Kind::Integer
        } else if ["DOUBLE", "FLOAT", "REAL", "NUMERIC"].iter().any(|t| declared.contains(t)) {
            Kind::Float
        } else if declared.contains("BLOB") || declared.contains("BYTEA") {
            Kind::Blob
        } else {
            Kind::Text
        }
    }
}

/// A table as the database describes it.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
    /// Tables its foreign keys point at (itself excluded).
    parents: BTreeSet<String>,
    /// Its foreign keys to itself: (column, referenced column).
    self_refs: Vec<(String, String)>,
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub archive: PathBuf,
    /// The SQLite copy (`VACUUM INTO`), checked.
    pub copy: Option<PathBuf>,
    pub schema: i64,
    pub tables: usize,
    pub rows: u64,
    pub bytes: u64,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backup written: {} ({} tables, {} rows, {} bytes, schema {})",
            self.archive.display(),
            self.tables,
            self.rows,
            self.bytes,
            self.schema
        )?;
        if let Some(copy) = &self.copy {
            write!(f, "\nSQLite copy (integrity checked): {}", copy.display())?;
        }
        Ok(())
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A backup's file name when it is named for the time it was taken (UTC, to the millisecond).
fn timed_name(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("calento-backup-{}.jsonl", now.format("%Y%m%dT%H%M%S%3fZ"))
}

/// Tables of the moment, not data: who holds which lease (`leases`) ends with the processes.
const TRANSIENT: &[&str] = &["leases"];

/// Reads the tables the backup holds, parents first: every table but sqlx's migration
/// ledger, the search index (rebuilt from `events`) and the [`TRANSIENT`] ones.
async fn describe(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<Vec<Table>, String> {
    let fail = |e: sqlx::Error| format!("cannot read the schema: {e}");
    let derived = |name: &str| {
        TRANSIENT.contains(&name)
            || search::DERIVED_TABLES.iter().any(|d| name == *d || name.starts_with(&format!("{d}_")))
    };
    let names: Vec<String> = match backend {
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
               AND name <> '_sqlx_migrations' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
        ),
        // The catalogs, not information_schema: its views read every schema's columns
        // (slow on a server holding many).
        Backend::Postgres => sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
              ORDER BY 1",
        ),
    }
    .fetch_all(&mut *conn)
    .await
    .map_err(fail)?;
    let mut tables = Vec::new();
    for name in names.into_iter().filter(|n| !derived(n)) {
        let columns: Vec<(String, String)> = match backend {
            Backend::Sqlite => sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid"),
            Backend::Postgres => sqlx::query_as(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)::text
                   FROM pg_attribute a
                   JOIN pg_class c ON c.oid = a.attrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0
                    AND NOT a.attisdropped AND a.attgenerated = ''
                  ORDER BY a.attnum",
            ),
        }
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?;
        let keys: Vec<(String, String, Option<String>)> = match backend {
            Backend::Sqlite => sqlx::query_as("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list($1)"),
            Backend::Postgres => sqlx::query_as(
                "SELECT p.relname::text, a.attname::text, pa.attname::text
                   FROM pg_constraint k
                   JOIN pg_class c ON c.oid = k.conrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_class p ON p.oid = k.confrelid
                   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                   JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
                  WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1",
            ),
        }
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?;
        let mut parents = BTreeSet::new();
        let mut self_refs = Vec::new();
        for (parent, from, to) in keys {
            if parent == name {
                self_refs.push((from, to.unwrap_or_else(|| "id".to_owned())));
            } else {
                parents.insert(parent);
            }
        }
        let columns = columns.into_iter().map(|(c, t)| (c, Kind::of(&t))).collect();
        tables.push(Table { name, columns, parents, self_refs });
    }
    parents_first(tables)
}

/// Orders tables so that every table comes after the tables its foreign keys point at.
fn parents_first(mut tables: Vec<Table>) -> Result<Vec<Table>, String> {
    let names: HashSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let (ready, waiting): (Vec<Table>, Vec<Table>) =
            tables.into_iter().partition(|t| t.parents.iter().all(|p| done.contains(p) || !names.contains(p)));
        if ready.is_empty() {
            let stuck: Vec<&str> = waiting.iter().map(|t| t.name.as_str()).collect();
            return Err(format!("the tables' foreign keys form a cycle: {}", stuck.join(", ")));
        }
        for table in ready {
            done.insert(table.name.clone());
            ordered.push(table);
        }
        tables = waiting;
    }
    Ok(ordered)
}

/// Writes through to a file, hashing everything and, separately, the current table's rows.
struct Sink {
    out: BufWriter<std::fs::File>,
    all: Sha256,
    table: Sha256,
    bytes: u64,
}

impl Sink {
    fn line(&mut self, value: &Value, row: bool) -> std::io::Result<()> {
        let mut text = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        text.push(b'\n');
        self.all.update(&text);
        if row {
            self.table.update(&text);
        }
        self.bytes += text.len() as u64;
        self.out.write_all(&text)
    }
}

fn value_of(row: &sqlx::any::AnyRow, index: usize, kind: Kind) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        Kind::Integer => row.try_get::<Option<i64>, _>(index)?.map_or(Value::Null, Value::from),
        Kind::Float => row.try_get::<Option<f64>, _>(index)?.map_or(Value::Null, Value::from),
        Kind::Text => row.try_get::<Option<String>, _>(index)?.map_or(Value::Null, Value::from),
        Kind::Blob => row
            .try_get::<Option<Vec<u8>>, _>(index)?
            .map_or(Value::Null, |b| Value::from(base64::engine::general_purpose::STANDARD.encode(b))),
    })
}

/// Takes a backup of the whole instance into `to` while the server may be running: `to` is
/// a folder when it is one (or ends with a slash), which gets a file named for the time,
/// else the archive's file name.
pub async fn backup(db: &Db, to: &Path) -> Result<Written, String> {
    let is_folder = to.is_dir() || to.as_os_str().to_string_lossy().ends_with(std::path::MAIN_SEPARATOR);
    if is_folder { backup_in_folder(db, to).await } else { write_to(db, to.to_owned()).await }
}

/// [`backup`] into a folder (made when missing), under a name for the time it is taken.
pub async fn backup_in_folder(db: &Db, folder: &Path) -> Result<Written, String> {
    write_to(db, folder.join(timed_name(chrono::Utc::now()))).await
}

async fn write_to(db: &Db, archive: PathBuf) -> Result<Written, String> {
    let now = chrono::Utc::now();
    if let Some(folder) = archive.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| format!("cannot make {}: {e}", folder.display()))?;
    }
    let partial = archive.with_extension("jsonl.partial");
    let written = write_archive(db, &partial, now).await;
    let (schema, tables, rows, bytes) = match written {
        Ok(figures) => figures,
        Err(message) => {
            let _ = std::fs::remove_file(&partial);
            return Err(message);
        }
    };
    std::fs::rename(&partial, &archive).map_err(|e| format!("cannot name the backup {}: {e}", archive.display()))?;
    let copy = match db.backend() {
        Backend::Sqlite => Some(sqlite_copy(db, &archive.with_extension("sqlite3")).await?),
        Backend::Postgres => None,
    };
    Ok(Written { archive, copy, schema, tables, rows, bytes })
}

async fn write_archive(
    db: &Db,
    path: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(i64, usize, u64, u64), String> {
    let fail = |e: sqlx::Error| format!("cannot read the database: {e}");
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(io)?;
    let mut sink = Sink { out: BufWriter::new(file), all: Sha256::new(), table: Sha256::new(), bytes: 0 };
    // One snapshot for every table.
    let mut tx = db.read().begin().await.map_err(fail)?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    let schema = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?
        .unwrap_or_default();
    let tables = describe(&mut tx, db.backend()).await?;
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    sink.line(
        &json!({
            "format": FORMAT,
            "version": VERSION,
            "schema": schema,
            "backend": backend,
            "taken_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "calento": env!("CARGO_PKG_VERSION"),
        }),
        false,
    )
    .map_err(io)?;
    let mut total = 0u64;
    for table in &tables {
        let columns: Vec<Value> = table.columns.iter().map(|(c, k)| json!([c, k])).collect();
        sink.line(&json!({ "table": table.name, "columns": columns }), false).map_err(io)?;
        sink.table = Sha256::new();
        let list = table.columns.iter().map(|(c, _)| quote(c)).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {list} FROM {}", quote(&table.name));
        let mut count = 0u64;
        {
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
            while let Some(row) = stream.try_next().await.map_err(fail)? {
                let mut values = Vec::with_capacity(table.columns.len());
                for (index, (column, kind)) in table.columns.iter().enumerate() {
                    values.push(
                        value_of(&row, index, *kind)
                            .map_err(|e| format!("cannot read {}.{column} as {kind:?}: {e}", table.name))?,
                    );
                }
                sink.line(&Value::Array(values), true).map_err(io)?;
                count += 1;
            }
        }
        let digest = hex(&std::mem::take(&mut sink.table).finalize());
        sink.line(&json!({ "end": table.name, "rows": count, "sha256": digest }), false).map_err(io)?;
        total += count;
    }
    tx.rollback().await.map_err(fail)?;
    let digest = hex(&sink.all.clone().finalize());
    sink.line(&json!({ "complete": true, "tables": tables.len(), "rows": total, "sha256": digest }), false)
        .map_err(io)?;
    let file = sink.out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok((schema, tables.len(), total, sink.bytes))
}

/// `VACUUM INTO` a file, then `PRAGMA integrity_check` on it.
async fn sqlite_copy(db: &Db, path: &Path) -> Result<PathBuf, String> {
    let _ = std::fs::remove_file(path);
    let name = path.to_str().ok_or_else(|| format!("the path {} is not UTF-8", path.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(name)
        .execute(db.read())
        .await
        .map_err(|e| format!("cannot copy the SQLite file to {name}: {e}"))?;
    use sqlx::Connection as _;
    let url = format!("sqlite://{name}?mode=ro");
    let mut conn = sqlx::AnyConnection::connect(&url).await.map_err(|e| format!("cannot open the copy {name}: {e}"))?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| format!("cannot check the copy {name}: {e}"))?;
    let _ = conn.close().await;
    if verdict != ["ok"] {
        return Err(format!("the SQLite copy {name} failed its integrity check: {}", verdict.join("; ")));
    }
    Ok(path.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------------------

/// A checked archive's header and shape.
#[derive(Debug, Clone)]
pub struct Checked {
    pub schema: i64,
    pub backend: String,
    pub taken_at: String,
    pub tables: Vec<(String, u64)>,
    pub rows: u64,
}

/// One line of an archive.
enum Line {
    Header(Value),
    Start { table: String, columns: Vec<(String, Kind)> },
    Row(Vec<Value>),
    End { table: String, rows: u64, sha256: String },
    Complete { tables: u64, rows: u64, sha256: String },
}

fn parse(text: &str, number: usize) -> Result<Line, String> {
    let bad = || format!("line {number} is not part of a Calento backup");
    let value: Value = serde_json::from_str(text).map_err(|e| format!("line {number} is damaged: {e}"))?;
    Ok(match value {
        Value::Array(values) => Line::Row(values),
        Value::Object(ref object) if object.contains_key("format") => Line::Header(value),
        Value::Object(object) if object.contains_key("table") => {
            let table = object["table"].as_str().ok_or_else(bad)?.to_owned();
            let columns: Vec<(String, Kind)> =
                serde_json::from_value(object.get("columns").cloned().unwrap_or_default()).map_err(|_| bad())?;
            Line::Start { table, columns }
        }
        Value::Object(object) if object.contains_key("end") => Line::End {
            table: object["end"].as_str().ok_or_else(bad)?.to_owned(),
            rows: object.get("rows").and_then(Value::as_u64).ok_or_else(bad)?,
            sha256: object.get("sha256").and_then(Value::as_str).ok_or_else(bad)?.to_owned(),
        },
        Value::Object(object) if object.contains_key("complete") => Line::Complete {
            tables: object.get("tables").and_then(Value::as_u64).ok_or_else(bad)?,
            rows: object.get("rows").and_then(Value::as_u64).ok_or_else(bad)?,
            sha256: object.get("sha256").and_then(Value::as_str).ok_or_else(bad)?.to_owned(),
        },
        _ => return Err(bad()),
    })
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>, String> {
    std::fs::File::open(path).map(BufReader::new).map_err(|e| format!("cannot open the backup {}: {e}", path.display()))
}

/// Reads the whole archive and checks its checksums, counts and shape; touches no database.
pub fn check(path: &Path) -> Result<Checked, String> {
    let reader = open(path)?;
    let mut all = Sha256::new();
    let mut table_hash = Sha256::new();
    let mut current: Option<(String, usize, u64)> = None;
    let mut header: Option<Checked> = None;
    let mut tables = Vec::new();
    let mut rows = 0u64;
    let mut complete = false;
    for (index, line) in reader.split(b'\n').enumerate() {
        let number = index + 1;
        let bytes = line.map_err(|e| format!("cannot read the backup: {e}"))?;
        if complete {
            return Err(format!("line {number} follows the backup's last line: the file was changed"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| format!("line {number} is damaged (not UTF-8)"))?;
        let parsed = match parse(text, number) {
            Ok(parsed) => parsed,
            Err(_) if header.is_none() => return Err(format!("{} is not a Calento backup", path.display())),
            Err(message) => return Err(message),
        };
        if header.is_none() && !matches!(parsed, Line::Header(_)) {
            return Err(format!("{} is not a Calento backup", path.display()));
        }
        match parsed {
            Line::Header(value) => {
                if header.is_some() {
                    return Err(format!("line {number}: a second header"));
                }
                if value["format"] != FORMAT {
                    return Err(format!("{} is not a Calento backup", path.display()));
                }
                let version = value["version"].as_i64().unwrap_or_default();
                if version > VERSION {
                    return Err(format!(
                        "this backup's format ({version}) is newer than this Calento reads ({VERSION}): upgrade Calento"
                    ));
                }
                header = Some(Checked {
                    schema: value["schema"].as_i64().ok_or("the backup's header has no schema")?,
                    backend: value["backend"].as_str().unwrap_or_default().to_owned(),
                    taken_at: value["taken_at"].as_str().unwrap_or_default().to_owned(),
                    tables: Vec::new(),
                    rows: 0,
                });
            }
            Line::Start { table, columns } => {
                if let Some((open_table, ..)) = &current {
                    return Err(format!("line {number}: table {table} starts before {open_table} ends"));
                }
                table_hash = Sha256::new();
                current = Some((table, columns.len(), 0));
            }
            Line::Row(values) => {
                let Some((table, width, count)) = current.as_mut() else {
                    return Err(format!("line {number}: a row outside any table"));
                };
                if values.len() != *width {
                    return Err(format!("line {number}: a row of {table} with {} values, not {width}", values.len()));
                }
                table_hash.update(&bytes);
                table_hash.update(b"\n");
                *count += 1;
            }
            Line::End { table, rows: said, sha256 } => {
                let Some((open_table, _, count)) = current.take() else {
                    return Err(format!("line {number}: the end of {table}, which never started"));
                };
                if open_table != table || said != count {
                    return Err(format!(
                        "the backup is damaged: table {open_table} has {count} rows, its end says {said}"
                    ));
                }
                if hex(&std::mem::take(&mut table_hash).finalize()) != sha256 {
                    return Err(format!("the backup is damaged: table {table}'s checksum does not match its rows"));
                }
                rows += count;
                tables.push((table, count));
            }
            Line::Complete { tables: said_tables, rows: said_rows, sha256 } => {
                if current.is_some() || said_tables != tables.len() as u64 || said_rows != rows {
                    return Err("the backup is damaged: its last line does not match its tables".to_owned());
                }
                if hex(&all.clone().finalize()) != sha256 {
                    return Err("the backup is damaged: its checksum does not match".to_owned());
                }
                complete = true;
                continue;
            }
        }
        all.update(&bytes);
        all.update(b"\n");
    }
    let mut checked = header.ok_or_else(|| format!("{} is empty", path.display()))?;
    if !complete {
        return Err("the backup is incomplete: it ends before its last line (was it cut short?)".to_owned());
    }
    checked.tables = tables;
    checked.rows = rows;
    Ok(checked)
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub tables: usize,
    pub rows: u64,
    pub schema: i64,
}

/// Restores a checked archive into `url`'s database: refuses a backup newer than this build,
/// and a database that holds accounts unless `force`. Leaves the database at this build's
/// schema.
pub async fn restore(url: &str, path: &Path, force: bool) -> Result<Restored, String> {
    let checked = check(path)?;
    let latest = db::latest_schema();
    if checked.schema > latest {
        return Err(format!(
            "this backup is from a newer Calento (schema {}); this one knows schema {latest} at most: upgrade Calento first",
            checked.schema
        ));
    }
    if !db::MIGRATOR.version_exists(checked.schema) {
        return Err(format!("this backup's schema {} is not one this Calento knows", checked.schema));
    }
    let db = Db::connect_at(url, 2, checked.schema).await.map_err(|e| e.to_string())?;
    let result = restore_into(&db, path, force).await;
    let result = match result {
        Ok(restored) => db.finish_migrating().await.map(|()| restored).map_err(|e| e.to_string()),
        Err(message) => Err(message),
    };
    db.close().await;
    let (tables, rows) = result?;
    Ok(Restored { tables, rows, schema: latest })
}

async fn restore_into(db: &Db, path: &Path, force: bool) -> Result<(usize, u64), String> {
    let fail = |e: sqlx::Error| format!("cannot restore: {e}");
    let mut tx = db.write().begin().await.map_err(fail)?;
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await.map_err(fail)?;
    if accounts > 0 && !force {
        return Err(format!(
            "the database already holds {accounts} account(s): restore never replaces data without --force"
        ));
    }
    let tables = describe(&mut tx, db.backend()).await?;
    let by_name: HashMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
    // Whatever is there goes (children first); the archive holds the whole instance.
    for table in TRANSIENT {
        let exists: i64 = match db.backend() {
            Backend::Sqlite => {
                sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
            }
            Backend::Postgres => sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = $1",
            ),
        }
        .bind(*table)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        if exists > 0 {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", quote(table))))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
    }
    for table in tables.iter().rev() {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", quote(&table.name))))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    let mut current: Option<Target> = None;
    let mut total = 0u64;
    let mut restored = 0usize;
    for (index, line) in open(path)?.split(b'\n').enumerate() {
        let bytes = line.map_err(|e| format!("cannot read the backup: {e}"))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| format!("line {} is damaged", index + 1))?;
        match parse(text, index + 1)? {
            Line::Start { table, columns } => {
                let target = by_name.get(table.as_str()).ok_or_else(|| format!("the database has no table {table}"))?;
                let mut kinds = Vec::with_capacity(columns.len());
                for (column, _) in &columns {
                    let kind = target
                        .columns
                        .iter()
                        .find(|(c, _)| c == column)
                        .map(|(_, k)| *k)
                        .ok_or_else(|| format!("the database's table {table} has no column {column}"))?;
                    kinds.push(kind);
                }
                current = Some(Target { table: (*target).clone(), columns, kinds, pending: Vec::new() });
            }
            Line::Row(values) => {
                let target = current.as_mut().ok_or("a row outside any table")?;
                target.pending.push(values);
                if target.table.self_refs.is_empty() && target.pending.len() * target.columns.len() >= VALUES_PER_INSERT
                {
                    total += target.flush(&mut tx).await?;
                }
            }
            Line::End { .. } => {
                if let Some(mut target) = current.take() {
                    target.order_parents_first();
                    total += target.flush(&mut tx).await?;
                    restored += 1;
                }
            }
            Line::Header(_) | Line::Complete { .. } => {}
        }
    }
    tx.commit().await.map_err(fail)?;
    Ok((restored, total))
}

/// The table being restored and its rows not yet written.
struct Target {
    table: Table,
    columns: Vec<(String, Kind)>,
    kinds: Vec<Kind>,
    pending: Vec<Vec<Value>>,
}

impl Target {
    /// Rows referring to another row of their own table (a series' exception, a micro-step)
    /// after the row they refer to.
    fn order_parents_first(&mut self) {
        if self.table.self_refs.is_empty() {
            return;
        }
        let position = |name: &str| self.columns.iter().position(|(c, _)| c == name);
        let refs: Vec<(usize, usize)> =
            self.table.self_refs.iter().filter_map(|(from, to)| Some((position(from)?, position(to)?))).collect();
        let key = |value: &Value| value.to_string();
        let mut placed: HashSet<String> = HashSet::new();
        let present: HashSet<String> =
            refs.iter().flat_map(|&(_, to)| self.pending.iter().map(move |row| key(&row[to]))).collect();
        let mut waiting = std::mem::take(&mut self.pending);
        let mut ordered = Vec::with_capacity(waiting.len());
        while !waiting.is_empty() {
            let (ready, rest): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|row| {
                refs.iter().all(|&(from, _)| {
                    row[from].is_null() || placed.contains(&key(&row[from])) || !present.contains(&key(&row[from]))
                })
            });
            if ready.is_empty() {
                // A cycle cannot be ordered: written as they are (the database decides).
                ordered.extend(rest);
                break;
            }
            for row in &ready {
                for &(_, to) in &refs {
                    placed.insert(key(&row[to]));
                }
            }
            ordered.extend(ready);
            waiting = rest;
        }
        self.pending = ordered;
    }

    async fn flush(&mut self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<u64, String> {
        let rows = std::mem::take(&mut self.pending);
        let per_insert = (VALUES_PER_INSERT / self.columns.len().max(1)).max(1);
        let list = self.columns.iter().map(|(c, _)| quote(c)).collect::<Vec<_>>().join(", ");
        let mut written = 0u64;
        for chunk in rows.chunks(per_insert) {
            let mut sql = format!("INSERT INTO {} ({list}) VALUES ", quote(&self.table.name));
            let mut n = 0;
            for (r, _) in chunk.iter().enumerate() {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for c in 0..self.columns.len() {
                    n += 1;
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${n}"));
                }
                sql.push(')');
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for ((value, kind), (column, _)) in row.iter().zip(&self.kinds).zip(&self.columns) {
                    let wrong = || format!("{}.{column}: {value} is not a {kind:?} value", self.table.name);
                    query = match kind {
                        Kind::Integer => {
                            query.bind(if value.is_null() { None } else { Some(value.as_i64().ok_or_else(wrong)?) })
                        }
                        Kind::Float => {
                            query.bind(if value.is_null() { None } else { Some(value.as_f64().ok_or_else(wrong)?) })
                        }
                        Kind::Text => query.bind(if value.is_null() {
                            None
                        } else {
                            Some(value.as_str().ok_or_else(wrong)?.to_owned())
                        }),
                        Kind::Blob => query.bind(if value.is_null() {
                            None
                        } else {
                            Some(
                                base64::engine::general_purpose::STANDARD
                                    .decode(value.as_str().ok_or_else(wrong)?)
                                    .map_err(|_| wrong())?,
                            )
                        }),
                    };
                }
            }
            query
                .execute(&mut **tx)
                .await
                .map_err(|e| format!("cannot restore the rows of {}: {e}", self.table.name))?;
            written += chunk.len() as u64;
        }
        Ok(written)
    }
}

/// The backups a folder holds (archives this module named), oldest first.
pub fn list(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("calento-backup-") && n.ends_with(".jsonl"))
        })
        .collect();
    found.sort();
    found
}

/// Keeps the newest `keep` backups in `folder` (each archive with its SQLite copy); returns
/// how many went.
pub fn prune(folder: &Path, keep: usize) -> usize {
    let found = list(folder);
    let extra = found.len().saturating_sub(keep.max(1));
    for archive in &found[..extra] {
        let _ = std::fs::remove_file(archive);
        let _ = std::fs::remove_file(archive.with_extension("sqlite3"));
    }
    extra
}

// ---------------------------------------------------------------------------------------
// Scheduled backups
// ---------------------------------------------------------------------------------------

/// The job that takes a scheduled backup (one queued at a time: its key is its kind).
pub const JOB: &str = "backup";
/// The lease a scheduled backup holds while it runs, in whichever process.
const LEASE: &str = "backup";

/// `CALENTO_BACKUP_DIR`, `CALENTO_BACKUP_EVERY_HOURS`, `CALENTO_BACKUP_KEEP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: std::time::Duration,
    pub keep: usize,
}

impl Schedule {
    fn every_ms(&self) -> i64 {
        i64::try_from(self.every.as_millis()).unwrap_or(i64::MAX / 2)
    }
}

async fn queue(db: &Db, run_at_ms: i64) -> Result<(), String> {
    let mut write = app::ssr::changes::begin_unowned(db).await.map_err(|e| e.to_string())?;
    app::ssr::jobs::enqueue_once(&mut write, JOB, JOB, &json!({}), run_at_ms).await.map_err(|e| e.to_string())?;
    write.commit().await.map_err(|e| e.to_string())
}

/// Queues the next scheduled backup (every process calls this at start; one is queued): one
/// period after the newest backup, at once when there is none or it is overdue, within an
/// hour when the newest failed.
pub async fn schedule(db: &Db, plan: &Schedule) -> Result<(), String> {
    let now = app::ssr::now_ms();
    let last = app::ssr::instance::last_backup(db).await.map_err(|e| e.to_string())?;
    let next = match last {
        None => now,
        Some(run) if run.ok => run.finished_at.timestamp_millis() + plan.every_ms(),
        Some(run) => run.finished_at.timestamp_millis() + plan.every_ms().min(3_600_000),
    };
    queue(db, next.max(now)).await
}

/// Adds the scheduled backup's handler when backups are scheduled.
pub fn register(handlers: app::ssr::jobs::Handlers, schedule: Option<Schedule>) -> app::ssr::jobs::Handlers {
    let Some(schedule) = schedule else { return handlers };
    handlers.add(JOB, move |db, _| {
        let schedule = schedule.clone();
        async move { run_scheduled(db, schedule).await }
    })
}

/// One scheduled backup. It runs in a task of its own under a lease, so a large backup goes
/// on past a job's time limit and a retry meanwhile does not start a second one. Its result
/// (failures included) is recorded for the admin page and `/metrics`, not retried as a job:
/// the next is queued either way.
async fn run_scheduled(db: Db, plan: Schedule) -> Result<(), String> {
    let held = app::ssr::leases::Held::take(&db, LEASE, std::time::Duration::from_secs(6 * 3600))
        .await
        .map_err(|e| e.to_string())?;
    let Some(held) = held else {
        // Another one is running (or its process died holding the lease): look again later.
        return queue(&db, app::ssr::now_ms() + 3_600_000).await;
    };
    let task = tokio::spawn(async move {
        let _held = held;
        let started = app::ssr::now_ms();
        let result = backup_in_folder(&db, &plan.dir).await;
        let finished = app::ssr::now_ms();
        let record = sqlx::query(
            "INSERT INTO backups (id, started_at, finished_at, ok, archive, bytes, row_count, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(app::ssr::new_id())
        .bind(started)
        .bind(finished);
        let record = match &result {
            Ok(written) => {
                let gone = prune(&plan.dir, plan.keep);
                tracing::info!(archive = %written.archive.display(), rows = written.rows, bytes = written.bytes, pruned = gone, "backup written");
                record
                    .bind(1_i64)
                    .bind(Some(written.archive.display().to_string()))
                    .bind(Some(i64::try_from(written.bytes).unwrap_or(i64::MAX)))
                    .bind(Some(i64::try_from(written.rows).unwrap_or(i64::MAX)))
                    .bind(None::<String>)
            }
            Err(message) => {
                tracing::error!(error = %message, dir = %plan.dir.display(), "scheduled backup failed");
                record.bind(0_i64).bind(None::<String>).bind(None::<i64>).bind(None::<i64>).bind(Some(message.clone()))
            }
        };
        record.execute(db.write()).await.map_err(|e| format!("cannot record the backup: {e}"))?;
        schedule(&db, &plan).await
    });
    task.await.map_err(|e| format!("the backup stopped: {e}"))?
}

/// The newest scheduled backup as Prometheus metrics (empty when none ran).
pub async fn metrics(db: &Db) -> String {
    let Ok(Some(last)) = app::ssr::instance::last_backup(db).await else { return String::new() };
    let mut out = String::new();
    out.push_str("# HELP calento_backup_last_ok Whether the newest scheduled backup succeeded (1) or failed (0).\n");
    out.push_str("# TYPE calento_backup_last_ok gauge\n");
    out.push_str(&format!("calento_backup_last_ok {}\n", i64::from(last.ok)));
    out.push_str("# HELP calento_backup_last_finished_timestamp_seconds When the newest scheduled backup finished.\n");
    out.push_str("# TYPE calento_backup_last_finished_timestamp_seconds gauge\n");
    out.push_str(&format!("calento_backup_last_finished_timestamp_seconds {}\n", last.finished_at.timestamp()));
    if let Some(bytes) = last.bytes {
        out.push_str("# HELP calento_backup_last_bytes The newest scheduled backup's archive size.\n");
        out.push_str("# TYPE calento_backup_last_bytes gauge\n");
        out.push_str(&format!("calento_backup_last_bytes {bytes}\n"));
    }
    out
}
