//! Expands recurrence cases for comparison with another implementation.
//!
//! Reads one JSON case per line on stdin (`{"id", "ics", "window": {"from", "to"}}`, the
//! format of `tests/fixtures/recurrence`) and writes one line per case: `{"id", "occurrences"}`
//! or `{"id", "error"}`. Used by `scripts/differential`.

use std::io::{BufRead, Write};

use calento::calendar_file;
use serde_json::{Value, json};

fn instant(text: &str) -> Option<chrono::NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.naive_utc())
}

fn expand(case: &Value) -> Result<Vec<Value>, String> {
    let ics = case["ics"].as_str().ok_or("no ics")?;
    let from = instant(case["window"]["from"].as_str().unwrap_or_default()).ok_or("bad from")?;
    let to = instant(case["window"]["to"].as_str().unwrap_or_default()).ok_or("bad to")?;
    let file = calendar_file::read(ics.as_bytes()).map_err(|e| e.to_string())?;
    if let Some(skipped) = file.skipped.first() {
        return Err(format!("skipped: {}", skipped.reason));
    }
    let mut out = Vec::new();
    for event in &file.events {
        let found = event.series.occurrences(&event.exceptions(), from, to, 100_000).map_err(|e| e.to_string())?;
        for o in found {
            let i = o.instance;
            out.push(json!({
                "uid": event.uid,
                "recurrence_id": i.recurrence_id.to_string(),
                "start": i.start.to_string(),
                "end": i.end.to_string(),
            }));
        }
    }
    Ok(out)
}

fn main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines().map_while(Result::ok) {
        let Ok(case) = serde_json::from_str::<Value>(&line) else { continue };
        let answer = match expand(&case) {
            Ok(occurrences) => json!({ "id": case["id"], "occurrences": occurrences }),
            Err(error) => json!({ "id": case["id"], "error": error }),
        };
        let _ = writeln!(stdout, "{answer}");
    }
}
