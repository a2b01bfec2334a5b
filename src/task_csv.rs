//! Tasks as CSV: reading Todoist's export and Calento's own (generic) format, and writing the
//! generic one. Pure; the server stores what this reads.
//!
//! # The generic format
//!
//! A header row, then one row per task or micro-step. Columns (any order, unknown ones
//! ignored, only `title` required): `title`, `notes`, `zone`, `tags` (space-separated),
//! `priority` (1 highest … 4), `do_at` and `due` (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`,
//! the user's wall time, or an RFC 3339 instant), `estimate_minutes`, `energy` (low, medium,
//! high), `status` (todo, doing, done, archived), `depth` (0 a task, 1–7 its micro-steps:
//! a row with depth n belongs to the nearest row above it with depth n − 1).
//!
//! # Todoist
//!
//! Recognised by its `TYPE,CONTENT,…` header. `task` rows are read (`section` and `note` rows
//! are skipped and counted), `INDENT` 1 is a task and 2–8 its sub-tasks (imported as
//! micro-steps), `PRIORITY` 4 is Todoist's p1 (our 1), `DATE` is read like a quick-capture
//! date ("tomorrow", "Mar 14", "2024-03-14"); a repeating date ("every day") keeps the text in
//! the notes and is reported. Labels in `CONTENT` (`@label`) become tags.

use serde::{Deserialize, Serialize};

use crate::capture::{self, CaptureContext, Energy, When};

/// The largest file read, in bytes, and the most rows.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_ROWS: usize = 20_000;

/// Splits CSV text (RFC 4180: quoted fields with doubled quotes and line breaks inside) into
/// rows of fields, each with its 1-based starting line. A lone quote left open is an error.
pub fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut row_line = 1usize;
    let mut chars = text.chars().peekable();
    let mut field_started = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                quoted = true;
                field_started = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                field_started = false;
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push((row_line, std::mem::take(&mut row)));
                } else {
                    row.clear();
                }
                line += 1;
                row_line = line;
                if rows.len() > MAX_ROWS {
                    return Err(format!("At most {MAX_ROWS} rows at once."));
                }
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if quoted {
        return Err(format!("A quoted field starting on line {row_line} is never closed."));
    }
    if field_started || !row.is_empty() {
        row.push(field);
        rows.push((row_line, row));
    }
    Ok(rows)
}

/// One field for CSV: quoted when it holds a comma, a quote or a line break.
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The generic format's columns, in the order Calento writes them.
pub const COLUMNS: [&str; 11] =
    ["title", "notes", "zone", "tags", "priority", "do_at", "due", "estimate_minutes", "energy", "status", "depth"];

/// A row read from a file, before the server checks and stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    pub line: usize,
    /// 0 a task, 1–7 a micro-step of the task above.
    pub depth: u32,
    pub title: String,
    pub notes: String,
    pub zone: Option<String>,
    pub tags: Vec<String>,
    pub priority: Option<u8>,
    /// As written: the server reads these in the user's zone.
    pub do_at: Option<String>,
    pub due: Option<String>,
    pub estimate_minutes: Option<u32>,
    pub energy: Option<Energy>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Todoist,
    Generic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub format: Format,
    pub rows: Vec<ImportRow>,
    pub skipped: Vec<Skipped>,
    /// Things read but changed on the way (a repeating Todoist date kept as text, …).
    pub notes: Vec<Skipped>,
}

/// Reads a CSV file in either format. `ctx` reads Todoist's natural-language dates.
pub fn read(text: &str, ctx: &CaptureContext) -> Result<Import, String> {
    if text.len() > MAX_BYTES {
        return Err(format!("The file is larger than {} MB.", MAX_BYTES / 1024 / 1024));
    }
    let rows = parse(text)?;
    let Some((_, header)) = rows.first() else {
        return Err("The file is empty.".to_owned());
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    if column("type").is_some() && column("content").is_some() {
        return Ok(read_todoist(&rows[1..], &column, ctx));
    }
    if column("title").is_none() {
        return Err("The first row must name the columns: Calento's (title, notes, zone, tags, priority, do_at, due, \
                    estimate_minutes, energy, status, depth) or Todoist's export (TYPE, CONTENT, …)."
            .to_owned());
    }
    Ok(read_generic(&rows[1..], &column))
}

fn cell(row: &[String], index: Option<usize>) -> &str {
    index.and_then(|i| row.get(i)).map(|s| s.trim()).unwrap_or_default()
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn read_generic(rows: &[(usize, Vec<String>)], column: &dyn Fn(&str) -> Option<usize>) -> Import {
    let mut out = Import { format: Format::Generic, rows: Vec::new(), skipped: Vec::new(), notes: Vec::new() };
    let mut last_depth: Option<u32> = None;
    for (line, row) in rows {
        let title = cell(row, column("title"));
        if title.is_empty() {
            out.skipped.push(Skipped { line: *line, reason: "no title".to_owned() });
            continue;
        }
        let depth_text = cell(row, column("depth"));
        let depth = if depth_text.is_empty() { 0 } else { depth_text.parse::<u32>().unwrap_or(u32::MAX) };
        if depth > crate::task::MAX_DEPTH {
            out.skipped.push(Skipped { line: *line, reason: format!("depth “{depth_text}” is not 0 to 7") });
            continue;
        }
        if depth > 0 && last_depth.is_none_or(|d| depth > d + 1) {
            out.skipped.push(Skipped { line: *line, reason: "a micro-step without its task above it".to_owned() });
            continue;
        }
        let priority = cell(row, column("priority"));
        let estimate = cell(row, column("estimate_minutes"));
        let energy = cell(row, column("energy"));
        out.rows.push(ImportRow {
            line: *line,
            depth,
            title: title.to_owned(),
            notes: cell(row, column("notes")).to_owned(),
            zone: non_empty(cell(row, column("zone"))),
            tags: cell(row, column("tags")).split([' ', ',']).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            priority: priority.parse::<u8>().ok().filter(|p| (1..=4).contains(p)),
            do_at: non_empty(cell(row, column("do_at"))),
            due: non_empty(cell(row, column("due"))),
            estimate_minutes: estimate.parse::<u32>().ok().filter(|m| (1..=1440).contains(m)),
            energy: match energy.to_lowercase().as_str() {
                "low" => Some(Energy::Low),
                "medium" => Some(Energy::Medium),
                "high" => Some(Energy::High),
                _ => None,
            },
            status: non_empty(&cell(row, column("status")).to_lowercase()),
        });
        if !priority.is_empty() && out.rows.last().is_some_and(|r| r.priority.is_none()) {
            out.notes
                .push(Skipped { line: *line, reason: format!("priority “{priority}” is not 1 to 4; left out") });
        }
        last_depth = Some(depth);
    }
    out
}

fn read_todoist(rows: &[(usize, Vec<String>)], column: &dyn Fn(&str) -> Option<usize>, ctx: &CaptureContext) -> Import {
    let mut out = Import { format: Format::Todoist, rows: Vec::new(), skipped: Vec::new(), notes: Vec::new() };
    let mut last_depth: Option<u32> = None;
    for (line, row) in rows {
        let kind = cell(row, column("type")).to_lowercase();
        if kind != "task" {
            if !kind.is_empty() {
                out.skipped.push(Skipped { line: *line, reason: format!("a Todoist {kind}, not a task") });
            }
            continue;
        }
        let content = cell(row, column("content"));
        // Labels are written into the content as @label.
        let mut tags = Vec::new();
        let title: Vec<&str> = content
            .split_whitespace()
            .filter(|word| match word.strip_prefix('@') {
                Some(label) if !label.is_empty() => {
                    tags.push(label.to_lowercase());
                    false
                }
                _ => true,
            })
            .collect();
        let title = title.join(" ");
        if title.is_empty() {
            out.skipped.push(Skipped { line: *line, reason: "no title".to_owned() });
            continue;
        }
        let indent = cell(row, column("indent")).parse::<u32>().unwrap_or(1).max(1);
        let depth = indent - 1;
        if depth > crate::task::MAX_DEPTH {
            out.skipped.push(Skipped { line: *line, reason: "nested deeper than 7 levels".to_owned() });
            continue;
        }
        if depth > 0 && last_depth.is_none_or(|d| depth > d + 1) {
            out.skipped.push(Skipped { line: *line, reason: "a sub-task without its task above it".to_owned() });
            continue;
        }
        let priority = cell(row, column("priority")).parse::<u8>().ok().filter(|p| (1..=4).contains(p)).map(|p| 5 - p);
        let mut notes = cell(row, column("description")).to_owned();
        let date = cell(row, column("date"));
        let mut do_at = None;
        if !date.is_empty() {
            if date.to_lowercase().starts_with("every") {
                if !notes.is_empty() {
                    notes.push('\n');
                }
                notes.push_str(&format!("Repeats (from Todoist): {date}"));
                out.notes
                    .push(Skipped { line: *line, reason: format!("repeating date “{date}” kept in the notes") });
            } else {
                do_at = todoist_date(date, ctx);
                if do_at.is_none() {
                    out.notes
                        .push(Skipped { line: *line, reason: format!("date “{date}” not understood; left out") });
                }
            }
        }
        let duration = cell(row, column("duration")).parse::<u32>().ok();
        let unit = cell(row, column("duration_unit")).to_lowercase();
        let estimate =
            duration.map(|d| if unit == "day" { d.saturating_mul(1440) } else { d }).filter(|m| (1..=1440).contains(m));
        out.rows.push(ImportRow {
            line: *line,
            depth,
            title,
            notes,
            zone: None,
            tags,
            priority,
            do_at: do_at.map(|w| match w {
                When::Date(d) => d.format("%Y-%m-%d").to_string(),
                When::DateTime(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            }),
            due: None,
            estimate_minutes: estimate,
            energy: None,
            status: None,
        });
        last_depth = Some(depth);
    }
    out
}

/// A Todoist date: ISO first, else what quick capture understands ("tomorrow", "Mar 14",
/// "14 March 2025 10:00").
fn todoist_date(text: &str, ctx: &CaptureContext) -> Option<When> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(When::Date(date));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(When::DateTime(at));
        }
    }
    let parsed = capture::parse_line(&format!("x {text}"), ctx);
    parsed.do_at.or(parsed.due)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Weekday};

    fn ctx() -> CaptureContext {
        CaptureContext {
            now: NaiveDate::from_ymd_opt(2030, 1, 15).unwrap().and_hms_opt(9, 0, 0).unwrap(),
            week_start: Weekday::Mon,
        }
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let rows = parse("a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\n\nlast,").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].1, ["x, y", "say \"hi\"\nthere"]);
        assert_eq!(rows[2], (5, vec!["last".to_owned(), String::new()]), "the line number of a row");
        assert!(parse("a\n\"open").is_err());
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("plain"), "plain");
    }

    #[test]
    fn what_calento_writes_it_reads_back() {
        let header = COLUMNS.join(",");
        let text = format!(
            "{header}\n{}\nWash,,,,,,,,,done,1\n",
            [
                "Clean, then rest",
                "notes \"quoted\"",
                "Home",
                "a b",
                "2",
                "2030-01-16",
                "2030-01-17T17:00",
                "45",
                "low",
                "todo",
                "0"
            ]
            .map(field)
            .join(",")
        );
        let import = read(&text, &ctx()).unwrap();
        assert_eq!(import.format, Format::Generic);
        assert_eq!(import.rows.len(), 2);
        let task = &import.rows[0];
        assert_eq!(task.title, "Clean, then rest");
        assert_eq!(task.notes, "notes \"quoted\"");
        assert_eq!(task.tags, ["a", "b"]);
        assert_eq!((task.priority, task.estimate_minutes, task.energy), (Some(2), Some(45), Some(Energy::Low)));
        assert_eq!(task.due.as_deref(), Some("2030-01-17T17:00"));
        assert_eq!((import.rows[1].depth, import.rows[1].status.as_deref()), (1, Some("done")));
    }

    #[test]
    fn a_micro_step_without_its_task_and_rows_without_a_title_are_reported() {
        let import = read("title,depth\nOrphan,1\n,0\nFine,0\nStep,1\nToo deep,3\n", &ctx()).unwrap();
        let titles: Vec<&str> = import.rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["Fine", "Step"]);
        let lines: Vec<usize> = import.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 6]);
    }

    #[test]
    fn todoist_exports_become_tasks_with_micro_steps() {
        let text = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT\n\
                    section,Errands,,,,,,,,,,\n\
                    task,Buy milk @shopping,From the corner shop,4,1,Ann (1),,tomorrow,en,Europe/Paris,15,minute\n\
                    task,Check the price,,1,2,Ann (1),,,en,Europe/Paris,,\n\
                    task,Water plants,,1,1,Ann (1),,every day,en,Europe/Paris,,\n\
                    note,Remember the bags,,,,,,,,,,\n\
                    task,Mystery date,,1,1,,,someday maybe,en,,,\n";
        let import = read(text, &ctx()).unwrap();
        assert_eq!(import.format, Format::Todoist);
        let milk = &import.rows[0];
        assert_eq!(milk.title, "Buy milk");
        assert_eq!(milk.tags, ["shopping"]);
        assert_eq!(milk.priority, Some(1), "Todoist's 4 is p1");
        assert_eq!(milk.do_at.as_deref(), Some("2030-01-16"));
        assert_eq!(milk.estimate_minutes, Some(15));
        assert_eq!(import.rows[1].depth, 1);
        assert!(import.rows[2].notes.contains("every day"));
        assert_eq!(import.skipped.len(), 2, "the section and the note");
        assert_eq!(import.notes.len(), 2, "the repeating date and the unreadable one");
        assert_eq!(import.rows[3].do_at, None);
    }

    #[test]
    fn files_that_are_not_task_lists_get_a_clear_message() {
        assert!(read("", &ctx()).unwrap_err().contains("empty"));
        assert!(read("name,email\nx,y\n", &ctx()).unwrap_err().contains("columns"));
    }
}
