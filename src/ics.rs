//! iCalendar (RFC 5545) content lines.
//!
//! This module owns the text layer of `.ics` files: unfolding physical lines into content lines, parsing them into a
//! tree of [`Component`]s holding [`Property`]s, helpers for the value types Calento needs (dates, date-times,
//! durations, UTC offsets, TEXT escapes) and writing a tree back out with folding.
//!
//! The parser imports files uploaded by users, so it is written for hostile input: it never panics, its time and
//! memory are linear in the input size, everything it keeps is bounded by [`Limits`], and whatever it skips is
//! reported as a [`Problem`] with the line number it came from.
//!
//! Parameter values use RFC 6868 caret encoding (`^n` newline, `^'` double quote, `^^` caret) both when parsing and
//! when writing, so any parameter value without a carriage return survives a write/parse round trip.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

const MIB: usize = 1024 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Physical lines written by [`write`] are at most this many octets long, not counting the CRLF.
pub const FOLD_OCTETS: usize = 75;
/// `Limits::max_depth` is never taken above this, so dropping or comparing a parsed tree cannot exhaust the stack.
pub const MAX_DEPTH_CAP: usize = 256;
/// How much of a hostile name or value is quoted back in a message.
const PREVIEW_CHARS: usize = 40;

// ---------------------------------------------------------------------------------------------------------------
// Data model
// ---------------------------------------------------------------------------------------------------------------

/// Limits that keep hostile files bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes (default 20 MiB).
    pub max_bytes: usize,
    /// Longest accepted content line after unfolding, in bytes (default 256 KiB); longer ones are skipped.
    pub max_line_bytes: usize,
    /// Deepest accepted nesting of components, VCALENDAR being depth 1 (default 8, never more than
    /// [`MAX_DEPTH_CAP`]).
    pub max_depth: usize,
    /// Most properties kept in the whole file (default 2 000 000).
    pub max_properties: usize,
    /// Most properties kept in one component (default 10 000); any beyond are skipped and reported once, so one
    /// hostile component cannot hold the file's whole budget in memory.
    pub max_component_properties: usize,
    /// Most parameter values kept in the whole file, each value of a list counting as one (default 2 000 000).
    /// Parameters are cheap to write and costly to hold, so they have a budget of their own.
    pub max_param_values: usize,
    /// Most problems listed one by one (default 1 000); any beyond are summed up in one last problem.
    pub max_problems: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * MIB,
            max_line_bytes: 256 * 1024,
            max_depth: 8,
            max_properties: 2_000_000,
            max_component_properties: 10_000,
            max_param_values: 2_000_000,
            max_problems: 1_000,
        }
    }
}

/// A component (`BEGIN:NAME` … `END:NAME`) with its properties and sub-components, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Upper-cased, e.g. `"VEVENT"`.
    pub name: String,
    pub properties: Vec<Property>,
    pub components: Vec<Component>,
    /// 1-based physical line of the `BEGIN`; 0 for components built in code.
    pub line: usize,
}

impl Component {
    /// An empty component; the name is upper-cased.
    pub fn new(name: &str) -> Self {
        Self { name: name.to_ascii_uppercase(), properties: Vec::new(), components: Vec::new(), line: 0 }
    }

    /// The first property with that name (case-insensitive).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// All properties with that name (case-insensitive), in file order.
    pub fn properties_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> {
        self.properties.iter().filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// All direct sub-components with that name (case-insensitive), in file order.
    pub fn components_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components.iter().filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    /// Appends a property.
    pub fn push(&mut self, property: Property) -> &mut Self {
        self.properties.push(property);
        self
    }

    /// Appends a sub-component.
    pub fn push_component(&mut self, component: Component) -> &mut Self {
        self.components.push(component);
        self
    }

    /// Builder form of [`Component::push`].
    pub fn with_property(mut self, property: Property) -> Self {
        self.properties.push(property);
        self
    }

    /// Builder form of [`Component::push_component`].
    pub fn with_component(mut self, component: Component) -> Self {
        self.components.push(component);
        self
    }
}

/// One content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Upper-cased, e.g. `"DTSTART"`.
    pub name: String,
    pub params: Vec<Param>,
    /// The raw value as in the file, not unescaped (see [`Property::text`] and [`Property::values`]).
    pub value: String,
    /// 1-based physical line where the (folded) content line starts; 0 for properties built in code.
    pub line: usize,
}

impl Property {
    /// A property with a raw value (escape TEXT values with [`escape_text`] or use [`Property::new_text`]).
    /// The name is upper-cased.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_ascii_uppercase(), params: Vec::new(), value: value.into(), line: 0 }
    }

    /// A property holding a TEXT value, escaped with [`escape_text`].
    pub fn new_text(name: &str, text: &str) -> Self {
        Self::new(name, escape_text(text))
    }

    /// Adds a parameter with one value.
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.push(Param::new(name, [value]));
        self
    }

    /// Adds a parameter with a list of values (written comma-separated).
    pub fn with_param_values(mut self, name: &str, values: &[&str]) -> Self {
        self.params.push(Param::new(name, values.iter().copied()));
        self
    }

    /// The first value of the first parameter with that name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }

    /// The value as TEXT, unescaped: `\\` `\;` `\,` `\n` `\N`; an unknown escape keeps the escaped character.
    pub fn text(&self) -> String {
        unescape_text(&self.value)
    }

    /// The raw value split on commas that are not escaped with a backslash (for EXDATE/RDATE/CATEGORIES lists).
    /// The pieces are raw (not unescaped); an empty value gives no pieces.
    pub fn values(&self) -> Vec<&str> {
        split_unescaped_commas(&self.value)
    }
}

/// A property parameter with its values, unquoted and RFC 6868-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Upper-cased, e.g. `"TZID"`.
    pub name: String,
    pub values: Vec<String>,
}

impl Param {
    /// A parameter; the name is upper-cased.
    pub fn new<I, S>(name: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { name: name.to_ascii_uppercase(), values: values.into_iter().map(Into::into).collect() }
    }
}

/// A line that was skipped, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The result of [`parse`]: the top-level components and the lines that were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Top-level components, normally VCALENDARs. Empty when the input had none (the caller reports "no calendar").
    pub components: Vec<Component>,
    pub problems: Vec<Problem>,
}

/// Why a whole file was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsError {
    /// 1-based line, or 0 when the error is about the file as a whole (its size).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for IcsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 { f.write_str(&self.message) } else { write!(f, "line {}: {}", self.line, self.message) }
    }
}

impl std::error::Error for IcsError {}

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

/// Parses an iCalendar stream into its component tree.
///
/// Lines that cannot be understood (invalid UTF-8, too long, no colon, bad names or parameters, properties outside
/// any component) are skipped and listed in [`Parsed::problems`]. Structural errors (mismatched or missing `END`,
/// nesting too deep, too many properties, input too large) reject the whole file with an [`IcsError`].
pub fn parse(input: &[u8], limits: &Limits) -> Result<Parsed, IcsError> {
    parse_each(input, limits, |_, child| Some(child))
}

/// Parses like [`parse`], handing each finished child of a top-level component (a VEVENT of a VCALENDAR, say) to
/// `take` with its parent as built so far: `take` keeps it in the parent by returning it, or consumes it by
/// returning `None`, so a caller that turns components into its own values as they end never holds the whole tree.
pub fn parse_each(
    input: &[u8],
    limits: &Limits,
    mut take: impl FnMut(&Component, Component) -> Option<Component>,
) -> Result<Parsed, IcsError> {
    if input.len() > limits.max_bytes {
        return Err(IcsError {
            line: 0,
            message: format!(
                "the file is {} bytes ({} MiB), larger than the limit of {} MiB",
                input.len(),
                mib(input.len()),
                mib(limits.max_bytes)
            ),
        });
    }
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let mut builder = Builder::new(limits, &mut take);
    // The content line being unfolded. Unfolded text is copied into `joined` only when a line is actually folded, and
    // never beyond `max_line_bytes`.
    let mut pending: Option<Pending<'_>> = None;
    let mut joined: Vec<u8> = Vec::new();
    for (line, bytes) in PhysicalLines::new(input) {
        match bytes.first() {
            None => {} // Empty lines are ignored (and do not end a folded line).
            Some(b' ' | b'\t') => {
                let piece = bytes.get(1..).unwrap_or_default();
                match pending.as_mut() {
                    Some(p) => p.extend(piece, &mut joined, limits.max_line_bytes),
                    None => {
                        builder.problem(line, "continuation line (starting with a space or tab) has no line before it")
                    }
                }
            }
            Some(_) => {
                if let Some(p) = pending.take() {
                    builder.content_line(&p, &joined)?;
                }
                joined.clear();
                pending = Some(Pending::new(line, bytes));
            }
        }
    }
    if let Some(p) = pending.take() {
        builder.content_line(&p, &joined)?;
    }
    builder.finish()
}

/// Splits input into physical lines at CRLF, LF or a lone CR, numbering them from 1.
struct PhysicalLines<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> PhysicalLines<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { rest: input, line: 0 }
    }
}

impl<'a> Iterator for PhysicalLines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        self.line = self.line.saturating_add(1);
        let (content, after) = match self.rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            None => (self.rest, &[][..]),
            Some(end) => {
                let (content, tail) = self.rest.split_at_checked(end).unwrap_or((self.rest, &[]));
                let ending = if tail.starts_with(b"\r\n") { 2 } else { 1 };
                (content, tail.get(ending..).unwrap_or_default())
            }
        };
        self.rest = after;
        Some((self.line, content))
    }
}

/// A content line being unfolded.
struct Pending<'a> {
    line: usize,
    first: &'a [u8],
    /// Length after unfolding so far (saturating).
    len: usize,
    /// Whether continuation lines were appended into the shared `joined` buffer.
    folded: bool,
}

impl<'a> Pending<'a> {
    fn new(line: usize, first: &'a [u8]) -> Self {
        Self { line, first, len: first.len(), folded: false }
    }

    fn extend(&mut self, piece: &[u8], joined: &mut Vec<u8>, max_line_bytes: usize) {
        self.len = self.len.saturating_add(piece.len());
        if self.len > max_line_bytes {
            // Too long: it will be skipped, so stop copying (and drop what was copied).
            joined.clear();
            return;
        }
        if !self.folded {
            joined.extend_from_slice(self.first);
            self.folded = true;
        }
        joined.extend_from_slice(piece);
    }

    fn bytes<'b>(&'b self, joined: &'b [u8]) -> &'b [u8] {
        if self.folded { joined } else { self.first }
    }
}

/// What a finished child of a top-level component goes through (see [`parse_each`]).
type Take<'t> = &'t mut dyn FnMut(&Component, Component) -> Option<Component>;

/// Builds the component tree from content lines.
struct Builder<'l> {
    limits: &'l Limits,
    take: Take<'l>,
    stack: Vec<Component>,
    /// The line of the last component reported as having too many properties (reported once each).
    crowded: usize,
    done: Vec<Component>,
    problems: Vec<Problem>,
    unlisted_problems: usize,
    first_unlisted_line: usize,
    properties: usize,
    param_values: usize,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits, take: Take<'l>) -> Self {
        Self {
            limits,
            take,
            stack: Vec::new(),
            crowded: 0,
            done: Vec::new(),
            problems: Vec::new(),
            unlisted_problems: 0,
            first_unlisted_line: 0,
            properties: 0,
            param_values: 0,
        }
    }

    fn problem(&mut self, line: usize, message: impl Into<String>) {
        if self.problems.len() < self.limits.max_problems {
            self.problems.push(Problem { line, message: message.into() });
        } else {
            if self.unlisted_problems == 0 {
                self.first_unlisted_line = line;
            }
            self.unlisted_problems = self.unlisted_problems.saturating_add(1);
        }
    }

    fn content_line(&mut self, pending: &Pending<'_>, joined: &[u8]) -> Result<(), IcsError> {
        let line = pending.line;
        if pending.len > self.limits.max_line_bytes {
            self.problem(
                line,
                format!(
                    "line is {} bytes long after unfolding, more than the limit of {} bytes; skipped",
                    pending.len, self.limits.max_line_bytes
                ),
            );
            return Ok(());
        }
        let Ok(text) = std::str::from_utf8(pending.bytes(joined)) else {
            self.problem(line, "not valid UTF-8");
            return Ok(());
        };
        match parse_content_line(text, line) {
            Ok(property) => self.property(property),
            Err(message) => {
                self.problem(line, message);
                Ok(())
            }
        }
    }

    fn property(&mut self, property: Property) -> Result<(), IcsError> {
        let line = property.line;
        match property.name.as_str() {
            "BEGIN" => {
                let name = property.value.trim_matches(is_blank);
                if name.is_empty() || !name.chars().all(is_name_char) {
                    self.problem(line, format!("BEGIN has an invalid component name {}; skipped", preview(name)));
                    return Ok(());
                }
                let name = name.to_ascii_uppercase();
                let max_depth = self.limits.max_depth.min(MAX_DEPTH_CAP);
                if self.stack.len() >= max_depth {
                    return Err(IcsError {
                        line,
                        message: format!("BEGIN:{} nests components more than {max_depth} deep", preview(&name)),
                    });
                }
                self.stack.push(Component { name, properties: Vec::new(), components: Vec::new(), line });
                Ok(())
            }
            "END" => {
                let name = property.value.trim_matches(is_blank).to_ascii_uppercase();
                let Some(open) = self.stack.pop() else {
                    return Err(IcsError { line, message: format!("END:{} has no matching BEGIN", preview(&name)) });
                };
                if open.name != name {
                    return Err(IcsError {
                        line,
                        message: format!(
                            "END:{} does not match BEGIN:{} on line {}",
                            preview(&name),
                            preview(&open.name),
                            open.line
                        ),
                    });
                }
                let depth = self.stack.len();
                match self.stack.last_mut() {
                    Some(parent) if depth == 1 => {
                        if let Some(kept) = (self.take)(parent, open) {
                            parent.components.push(kept);
                        }
                    }
                    Some(parent) => parent.components.push(open),
                    None => self.done.push(open),
                }
                Ok(())
            }
            _ => {
                let Some(current) = self.stack.last_mut() else {
                    let message = format!("property {} is outside any component; skipped", preview(&property.name));
                    self.problem(line, message);
                    return Ok(());
                };
                if self.properties >= self.limits.max_properties {
                    return Err(IcsError {
                        line,
                        message: format!("the file has more than {} properties", self.limits.max_properties),
                    });
                }
                self.properties = self.properties.saturating_add(1);
                let values = property.params.iter().fold(0usize, |n, p| n.saturating_add(p.values.len()));
                self.param_values = self.param_values.saturating_add(values);
                if self.param_values > self.limits.max_param_values {
                    return Err(IcsError {
                        line,
                        message: format!("the file has more than {} parameter values", self.limits.max_param_values),
                    });
                }
                if current.properties.len() >= self.limits.max_component_properties {
                    if self.crowded != current.line {
                        let (name, begun) = (current.name.clone(), current.line);
                        self.crowded = begun;
                        let max = self.limits.max_component_properties;
                        self.problem(
                            line,
                            format!(
                                "{} on line {begun} has more than {max} properties; the rest are skipped",
                                preview(&name)
                            ),
                        );
                    }
                    return Ok(());
                }
                current.properties.push(property);
                Ok(())
            }
        }
    }

    fn finish(mut self) -> Result<Parsed, IcsError> {
        if let Some(open) = self.stack.last() {
            return Err(IcsError {
                line: open.line,
                message: format!("BEGIN:{} on line {} has no END", preview(&open.name), open.line),
            });
        }
        if self.unlisted_problems > 0 {
            self.problems.push(Problem {
                line: self.first_unlisted_line,
                message: format!("{} more problems from here on are not listed", self.unlisted_problems),
            });
        }
        Ok(Parsed { components: self.done, problems: self.problems })
    }
}

/// Parses one unfolded content line. The error is the message of a [`Problem`].
fn parse_content_line(text: &str, line: usize) -> Result<Property, String> {
    let (name, mut rest) = split_name(text);
    if name.is_empty() {
        return Err(if text.contains(':') {
            format!("invalid property name before {}", preview(text))
        } else {
            no_colon()
        });
    }
    let mut params = Vec::new();
    loop {
        let mut chars = rest.chars();
        match chars.next() {
            Some(':') => {
                return Ok(Property {
                    name: name.to_ascii_uppercase(),
                    params,
                    value: chars.as_str().to_owned(),
                    line,
                });
            }
            Some(';') => {
                let (param, after) = parse_param(chars.as_str())?;
                params.push(param);
                rest = after;
            }
            None => return Err(no_colon()),
            Some(c) => {
                return Err(if rest.contains(':') {
                    format!("invalid character {c:?} in property name {}", preview(name))
                } else {
                    no_colon()
                });
            }
        }
    }
}

/// Parses `NAME=value[,value…]` (after the `;`), returning the rest, which starts with `;` or `:`.
fn parse_param(text: &str) -> Result<(Param, &str), String> {
    let (name, rest) = split_name(text);
    if name.is_empty() {
        return Err(if text.contains(':') {
            format!("invalid parameter name before {}", preview(text))
        } else {
            no_colon()
        });
    }
    let Some(mut rest) = rest.strip_prefix('=') else {
        return Err(if rest.contains(':') { format!("parameter {} has no '='", preview(name)) } else { no_colon() });
    };
    let mut values = Vec::new();
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some((value, after)) = quoted.split_once('"') else {
                return Err(format!("unterminated quoted value of parameter {}", preview(name)));
            };
            values.push(decode_param_value(value));
            rest = after;
        } else {
            let Some(end) = rest.find([',', ';', ':']) else {
                return Err(no_colon());
            };
            let (value, after) = rest.split_at_checked(end).unwrap_or((rest, ""));
            values.push(decode_param_value(value));
            rest = after;
        }
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if rest.starts_with([';', ':']) {
            break;
        } else if let Some(c) = rest.chars().next() {
            return Err(format!("unexpected character {c:?} after the quoted value of parameter {}", preview(name)));
        } else {
            return Err(no_colon());
        }
    }
    Ok((Param { name: name.to_ascii_uppercase(), values }, rest))
}

fn no_colon() -> String {
    "line has no ':' between name and value; skipped".to_owned()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off a leading run of name characters (letters, digits, '-').
fn split_name(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    text.split_at_checked(end).unwrap_or((text, ""))
}

/// A short rendering of (possibly hostile) input for messages: names as they are, anything else quoted, and both
/// cut after a few dozen characters.
fn preview(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    let ellipsis = if chars.next().is_some() { "…" } else { "" };
    if !head.is_empty() && head.chars().all(is_name_char) {
        format!("{head}{ellipsis}")
    } else {
        format!("{head:?}{ellipsis}")
    }
}

fn mib(bytes: usize) -> String {
    if bytes.is_multiple_of(MIB) { (bytes / MIB).to_string() } else { format!("{:.1}", bytes as f64 / MIB as f64) }
}

/// RFC 6868: `^n` → newline, `^'` → `"`, `^^` → `^`; any other `^` is kept.
fn decode_param_value(value: &str) -> String {
    if !value.contains('^') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        let decoded = match chars.peek() {
            Some('n') => '\n',
            Some('\'') => '"',
            Some('^') => '^',
            _ => {
                out.push('^');
                continue;
            }
        };
        chars.next();
        out.push(decoded);
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// TEXT values
// ---------------------------------------------------------------------------------------------------------------

/// Escapes a TEXT value: `\` `;` `,` get a backslash, line breaks (CRLF, LF or CR) become `\n`. Inverse of
/// [`Property::text`] for text without carriage returns.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(text.len() / 8));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            _ => out.push(c),
        }
    }
    out
}

fn unescape_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(escaped) => out.push(escaped),
            None => out.push('\\'),
        }
    }
    out
}

fn split_unescaped_commas(raw: &str) -> Vec<&str> {
    if raw.is_empty() {
        return Vec::new();
    }
    let mut pieces = Vec::new();
    let mut rest = raw;
    let mut from = 0;
    loop {
        // Look for the next comma in `rest` after `from`, skipping backslash escapes.
        let bytes = rest.as_bytes();
        let mut i = from;
        let mut comma = None;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' => i = i.saturating_add(2),
                b',' => {
                    comma = Some(i);
                    break;
                }
                _ => i = i.saturating_add(1),
            }
        }
        match comma {
            Some(at) => {
                let (piece, after) = rest.split_at_checked(at).unwrap_or((rest, ""));
                pieces.push(piece);
                rest = after.get(1..).unwrap_or_default();
                from = 0;
            }
            None => {
                pieces.push(rest);
                return pieces;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

/// Writes a component tree as iCalendar text: CRLF line endings, lines folded at 75 octets without splitting a
/// UTF-8 character (continuation lines start with one space).
///
/// Names are written upper-cased with any character other than letters, digits and '-' left out. Parameter values
/// are RFC 6868-encoded and quoted when they contain `:` `;` or `,`; a parameter without values is written as
/// `NAME=` (which parses back as one empty value). Values are written raw (escape TEXT with [`escape_text`]),
/// except that line breaks, which would end the content line, are written as `\n`.
pub fn write(component: &Component) -> String {
    let mut out = String::new();
    let mut line = String::new();
    // Iterative, so that no tree, however deep, can exhaust the stack.
    let mut stack: Vec<(&Component, usize)> = vec![(component, 0)];
    begin_line(&mut out, &mut line, component);
    while let Some((current, next_child)) = stack.pop() {
        if let Some(child) = current.components.get(next_child) {
            stack.push((current, next_child.saturating_add(1)));
            stack.push((child, 0));
            begin_line(&mut out, &mut line, child);
        } else {
            line.clear();
            line.push_str("END:");
            push_name(&mut line, &current.name);
            fold_into(&mut out, &line);
        }
    }
    out
}

/// Writes `BEGIN:NAME` and the component's properties.
fn begin_line(out: &mut String, line: &mut String, component: &Component) {
    line.clear();
    line.push_str("BEGIN:");
    push_name(line, &component.name);
    fold_into(out, line);
    for property in &component.properties {
        line.clear();
        push_property(line, property);
        fold_into(out, line);
    }
}

fn push_property(line: &mut String, property: &Property) {
    push_name(line, &property.name);
    for param in &property.params {
        line.push(';');
        push_name(line, &param.name);
        line.push('=');
        for (i, value) in param.values.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_param_value(line, value);
        }
    }
    line.push(':');
    let mut chars = property.value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line.push_str("\\n");
            }
            '\n' => line.push_str("\\n"),
            _ => line.push(c),
        }
    }
}

fn push_name(line: &mut String, name: &str) {
    line.extend(name.chars().filter(|&c| is_name_char(c)).map(|c| c.to_ascii_uppercase()));
}

/// RFC 6868-encodes a parameter value and quotes it when needed.
fn push_param_value(line: &mut String, value: &str) {
    let quote = value.contains([':', ';', ',']);
    if quote {
        line.push('"');
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => line.push_str("^^"),
            '"' => line.push_str("^'"),
            '\n' => line.push_str("^n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line.push_str("^n");
            }
            _ => line.push(c),
        }
    }
    if quote {
        line.push('"');
    }
}

/// Appends one content line, folded so that no physical line exceeds [`FOLD_OCTETS`] octets.
fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = FOLD_OCTETS;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // Unreachable (no character is longer than the limit), but always make progress.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let Some((head, tail)) = rest.split_at_checked(cut) else {
            // Unreachable (`cut` is a char boundary), but never lose the text.
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        };
        out.push_str(head);
        out.push_str("\r\n ");
        rest = tail;
        limit = FOLD_OCTETS - 1; // The leading space counts.
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Dates and date-times
// ---------------------------------------------------------------------------------------------------------------

/// A DATE or DATE-TIME value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeValue {
    /// `YYYYMMDD` (all-day).
    Date(NaiveDate),
    /// `YYYYMMDDTHHMMSS`: local time, either floating or in the zone named by a TZID parameter.
    Floating(NaiveDateTime),
    /// `YYYYMMDDTHHMMSSZ`.
    Utc(NaiveDateTime),
}

impl DateTimeValue {
    /// The calendar date of the value (as written, not converted to any zone).
    pub fn date(&self) -> NaiveDate {
        match self {
            Self::Date(d) => *d,
            Self::Floating(dt) | Self::Utc(dt) => dt.date(),
        }
    }
}

/// Parses digits only (no sign, no spaces); at most 9 of them.
fn ascii_number(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a DATE `YYYYMMDD`, strictly, validating the date; years outside 1..=9999 are rejected.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    if value.len() != 8 {
        return None;
    }
    let year = ascii_number(value.get(0..4)?)?;
    let month = ascii_number(value.get(4..6)?)?;
    let day = ascii_number(value.get(6..8)?)?;
    if !(1..=9999).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// Parses a DATE-TIME `YYYYMMDDTHHMMSS` (no `Z`, no zone), strictly; a leap second (60) is clamped to 59.
pub fn parse_date_time(value: &str) -> Option<NaiveDateTime> {
    if value.len() != 15 {
        return None;
    }
    let (date, time) = value.split_at_checked(8)?;
    let date = parse_date(date)?;
    let time = time.strip_prefix('T')?;
    let hour = ascii_number(time.get(0..2)?)?;
    let minute = ascii_number(time.get(2..4)?)?;
    let second = ascii_number(time.get(4..6)?)?;
    let second = if second == 60 { 59 } else { second };
    Some(date.and_time(NaiveTime::from_hms_opt(hour, minute, second)?))
}

/// Parses a DATE or DATE-TIME value. With `VALUE=DATE` only a date is accepted; otherwise a date-time with an optional
/// trailing `Z` (UTC), or, when the value is 8 characters, a date.
pub fn parse_date_or_date_time(value: &str, value_param: Option<&str>) -> Option<DateTimeValue> {
    if value_param.is_some_and(|v| v.eq_ignore_ascii_case("DATE")) {
        return parse_date(value).map(DateTimeValue::Date);
    }
    if let Some(local) = value.strip_suffix('Z') {
        return parse_date_time(local).map(DateTimeValue::Utc);
    }
    if value.len() == 8 {
        return parse_date(value).map(DateTimeValue::Date);
    }
    parse_date_time(value).map(DateTimeValue::Floating)
}

/// `YYYYMMDD`.
pub fn format_date(d: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

/// `YYYYMMDDTHHMMSS` (sub-second precision is dropped).
pub fn format_date_time(dt: NaiveDateTime) -> String {
    format!("{}T{:02}{:02}{:02}", format_date(dt.date()), dt.hour(), dt.minute(), dt.second())
}

/// The inverse of [`parse_date_or_date_time`]: `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`.
pub fn format_date_or_date_time(value: &DateTimeValue) -> String {
    match value {
        DateTimeValue::Date(d) => format_date(*d),
        DateTimeValue::Floating(dt) => format_date_time(*dt),
        DateTimeValue::Utc(dt) => format!("{}Z", format_date_time(*dt)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Durations and UTC offsets
// ---------------------------------------------------------------------------------------------------------------

/// Ten years (of 366 days) in seconds: the cap on every number in a duration.
pub const MAX_DURATION_SECONDS: i64 = 3660 * 86_400;

/// A nominal RFC 5545 DURATION: weeks and days are calendar (wall-clock) units; the rest exact.
///
/// Valid values have non-negative fields within ten years each, and either only weeks or no weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NominalDuration {
    pub negative: bool,
    pub weeks: i64,
    pub days: i64,
    /// hours * 3600 + minutes * 60 + seconds
    pub seconds: i64,
}

impl NominalDuration {
    /// Whether the duration is zero (whatever its sign).
    pub fn is_zero(&self) -> bool {
        self.weeks == 0 && self.days == 0 && self.seconds == 0
    }
}

/// Splits a leading number of at most 10 digits.
fn leading_number(text: &str) -> Option<(i64, &str)> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    if end == 0 || end > 10 {
        return None;
    }
    let (digits, rest) = text.split_at_checked(end)?;
    Some((digits.parse().ok()?, rest))
}

/// Parses `[+-]P[nW]` or `[+-]P[nD][T[nH][nM][nS]]` (at least one number; hours, minutes and seconds in that order,
/// any of them may be left out). Each number is capped at ten years' worth.
pub fn parse_duration(value: &str) -> Option<NominalDuration> {
    let (negative, rest) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let mut rest = rest.strip_prefix('P')?;
    let mut duration = NominalDuration { negative, ..NominalDuration::default() };
    let mut any = false;
    if !rest.is_empty() && !rest.starts_with('T') {
        let (n, after) = leading_number(rest)?;
        if let Some(after) = after.strip_prefix('W') {
            if !after.is_empty() || n > MAX_DURATION_SECONDS / (7 * 86_400) {
                return None;
            }
            duration.weeks = n;
            return Some(duration);
        }
        rest = after.strip_prefix('D')?;
        if n > MAX_DURATION_SECONDS / 86_400 {
            return None;
        }
        duration.days = n;
        any = true;
    }
    if let Some(mut time) = rest.strip_prefix('T') {
        const UNITS: [(char, i64); 3] = [('H', 3600), ('M', 60), ('S', 1)];
        let mut next_unit = 0;
        let mut any_time = false;
        while !time.is_empty() {
            let (n, after) = leading_number(time)?;
            let mut chars = after.chars();
            let unit = chars.next()?;
            let offset = UNITS.iter().skip(next_unit).position(|&(u, _)| u == unit)?;
            let index = next_unit.saturating_add(offset);
            let &(_, scale) = UNITS.get(index)?;
            if n > MAX_DURATION_SECONDS / scale {
                return None;
            }
            duration.seconds = duration.seconds.checked_add(n.checked_mul(scale)?)?;
            next_unit = index.saturating_add(1);
            any_time = true;
            time = chars.as_str();
        }
        if !any_time {
            return None;
        }
        any = true;
    } else if !rest.is_empty() {
        return None;
    }
    any.then_some(duration)
}

/// Formats a duration canonically: `PT1H30M`, `P1D`, `P1DT12H`, `-PT15M`, `P2W`, `PT0S`. Weeks are written as weeks
/// only when nothing else is set; otherwise they are folded into days. Negative fields are written as their
/// magnitude.
pub fn format_duration(d: NominalDuration) -> String {
    let weeks = d.weeks.unsigned_abs();
    let days = d.days.unsigned_abs();
    let seconds = d.seconds.unsigned_abs();
    let mut out = String::from(if d.negative { "-P" } else { "P" });
    if weeks != 0 && days == 0 && seconds == 0 {
        out.push_str(&format!("{weeks}W"));
        return out;
    }
    let days = weeks.saturating_mul(7).saturating_add(days);
    if days != 0 {
        out.push_str(&format!("{days}D"));
    }
    if seconds != 0 || days == 0 {
        out.push('T');
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        if h != 0 {
            out.push_str(&format!("{h}H"));
        }
        if m != 0 {
            out.push_str(&format!("{m}M"));
        }
        if s != 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// Parses a UTC-OFFSET `+HHMM[SS]` / `-HHMM[SS]` into seconds east of UTC (hours up to 23, minutes and seconds up
/// to 59; `-0000` is accepted as 0).
pub fn parse_utc_offset(value: &str) -> Option<i32> {
    let (sign, digits) = match value.strip_prefix('+') {
        Some(rest) => (1, rest),
        None => (-1, value.strip_prefix('-')?),
    };
    if digits.len() != 4 && digits.len() != 6 {
        return None;
    }
    let hours = ascii_number(digits.get(0..2)?)?;
    let minutes = ascii_number(digits.get(2..4)?)?;
    let seconds = match digits.get(4..6) {
        Some(s) if !s.is_empty() => ascii_number(s)?,
        _ => 0,
    };
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    let total = i32::try_from(hours * 3600 + minutes * 60 + seconds).ok()?;
    Some(sign * total)
}

/// Formats seconds east of UTC as `+HHMM`, or `+HHMMSS` when there are seconds (magnitude capped below 24 hours).
pub fn format_utc_offset(seconds_east: i32) -> String {
    let sign = if seconds_east < 0 { '-' } else { '+' };
    let total = seconds_east.unsigned_abs().min(24 * 3600 - 1);
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if s == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{s:02}") }
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_str(text: &str) -> Result<Parsed, IcsError> {
        parse(text.as_bytes(), &Limits::default())
    }

    fn parse_ok(text: &str) -> Parsed {
        parse_str(text).expect("parses")
    }

    fn parse_err(text: &str) -> IcsError {
        parse_str(text).expect_err("is rejected")
    }

    /// The first VEVENT of the first VCALENDAR.
    fn first_event(parsed: &Parsed) -> &Component {
        parsed.components[0].components_named("VEVENT").next().expect("has a VEVENT")
    }

    fn zero_lines(component: &mut Component) {
        component.line = 0;
        for p in &mut component.properties {
            p.line = 0;
        }
        for c in &mut component.components {
            zero_lines(c);
        }
    }

    fn event_file(event_lines: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{event_lines}END:VEVENT\r\nEND:VCALENDAR\r\n")
    }

    // --- Unfolding and line endings ---

    #[test]
    fn folded_lines_are_joined_before_parsing() {
        let parsed = parse_ok(&event_file("SUMMARY:Lunch wi\r\n th the\r\n\t team\r\nUID:1\r\n"));
        let event = first_event(&parsed);
        assert_eq!(event.property("summary").unwrap().value, "Lunch with the team");
        let uid = event.property("UID").unwrap();
        assert_eq!(uid.value, "1");
        assert_eq!(uid.line, 7, "line numbers count physical lines");
        assert!(parsed.problems.is_empty());
    }

    #[test]
    fn folding_may_split_a_multi_byte_character() {
        // "é" is C3 A9; a careless writer folded between the two bytes.
        let bytes = b"BEGIN:VCALENDAR\r\nSUMMARY:caf\xC3\r\n \xA9\r\nEND:VCALENDAR\r\n";
        let parsed = parse(bytes, &Limits::default()).unwrap();
        assert_eq!(parsed.components[0].property("SUMMARY").unwrap().value, "café");
    }

    #[test]
    fn crlf_lf_and_lone_cr_line_endings_all_work() {
        for ending in ["\r\n", "\n", "\r"] {
            let text = ["BEGIN:VCALENDAR", "X-A:1", "X-B:lo", " ng", "END:VCALENDAR", ""].join(ending);
            let parsed = parse_ok(&text);
            let calendar = &parsed.components[0];
            assert_eq!(calendar.property("X-A").unwrap().value, "1", "{ending:?}");
            assert_eq!(calendar.property("X-B").unwrap().value, "long", "{ending:?}");
            assert_eq!(calendar.property("X-B").unwrap().line, 3, "{ending:?}");
        }
        // Mixed endings in one file.
        let parsed = parse_ok("BEGIN:VCALENDAR\rX-A:1\nX-B:2\r\nEND:VCALENDAR");
        assert_eq!(parsed.components[0].properties.len(), 2);
        assert_eq!(parsed.components[0].property("X-B").unwrap().line, 3);
    }

    #[test]
    fn empty_lines_are_ignored() {
        let parsed = parse_ok("\r\n\r\nBEGIN:VCALENDAR\r\n\r\nX-A:1\r\n\r\nEND:VCALENDAR\r\n\r\n");
        assert_eq!(parsed.components.len(), 1);
        assert_eq!(parsed.components[0].property("X-A").unwrap().line, 5);
        assert!(parsed.problems.is_empty());
    }

    #[test]
    fn leading_bom_is_ignored() {
        let parsed = parse(b"\xEF\xBB\xBFBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", &Limits::default()).unwrap();
        assert_eq!(parsed.components.len(), 1);
        assert_eq!(parsed.components[0].name, "VCALENDAR");
        assert_eq!(parsed.components[0].line, 1);
    }

    #[test]
    fn empty_input_or_input_without_components_gives_no_components() {
        assert_eq!(parse(b"", &Limits::default()).unwrap(), Parsed { components: vec![], problems: vec![] });
        assert!(parse_ok("\r\n\n\r").components.is_empty());
        let parsed = parse_ok("hello world\nX-A:1\n");
        assert!(parsed.components.is_empty());
        assert_eq!(parsed.problems.len(), 2);
    }

    #[test]
    fn continuation_line_at_the_start_is_a_problem() {
        let parsed = parse_ok(" X-A:1\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
        assert_eq!(parsed.components.len(), 1);
        assert_eq!(parsed.problems[0].line, 1);
        assert!(parsed.problems[0].message.contains("continuation"));
    }

    // --- Content lines ---

    #[test]
    fn names_are_upper_cased_and_lookups_are_case_insensitive() {
        let parsed = parse_ok("begin:vcalendar\r\nx-wr-calname;x-param=Keep Case:Mine\r\nend:VCALENDAR\r\n");
        let calendar = &parsed.components[0];
        assert_eq!(calendar.name, "VCALENDAR");
        let property = calendar.property("X-Wr-CalName").unwrap();
        assert_eq!(property.name, "X-WR-CALNAME");
        assert_eq!(property.params[0].name, "X-PARAM");
        assert_eq!(property.param("x-PARAM"), Some("Keep Case"));
        assert_eq!(property.value, "Mine");
    }

    #[test]
    fn quoted_param_values_may_contain_colons_semicolons_and_commas() {
        let parsed = parse_ok(&event_file(
            "ATTENDEE;CN=\"Doe, Jane; PhD\";DIR=\"ldap://example.com:6666/o=ABC\":mailto:jane@example.com\r\n",
        ));
        let attendee = first_event(&parsed).property("ATTENDEE").unwrap();
        assert_eq!(attendee.param("CN"), Some("Doe, Jane; PhD"));
        assert_eq!(attendee.param("dir"), Some("ldap://example.com:6666/o=ABC"));
        assert_eq!(attendee.value, "mailto:jane@example.com");
    }

    #[test]
    fn value_is_everything_after_the_first_colon_outside_quotes() {
        let parsed = parse_ok(&event_file("URL;X-A=\"a:b\":https://example.com/a:b;c,d\r\nX-E:\r\n"));
        let event = first_event(&parsed);
        assert_eq!(event.property("URL").unwrap().value, "https://example.com/a:b;c,d");
        assert_eq!(event.property("X-E").unwrap().value, "");
    }

    #[test]
    fn multi_valued_params_are_split_on_commas() {
        let parsed = parse_ok(&event_file(
            "ATTENDEE;MEMBER=\"mailto:a@x\",\"mailto:b@x\";DELEGATED-TO=plain,\"quo,ted\",:mailto:c@x\r\n",
        ));
        let attendee = first_event(&parsed).property("ATTENDEE").unwrap();
        assert_eq!(attendee.params.len(), 2);
        assert_eq!(attendee.params[0].values, vec!["mailto:a@x", "mailto:b@x"]);
        assert_eq!(attendee.params[1].values, vec!["plain", "quo,ted", ""]);
        assert_eq!(attendee.param("MEMBER"), Some("mailto:a@x"));
        assert_eq!(attendee.param("ROLE"), None);
    }

    #[test]
    fn caret_escapes_in_param_values_are_decoded() {
        let parsed = parse_ok(&event_file("LOCATION;X-ADDR=\"1 Main St^nTown ^'Old^' ^^ ^x\":Home\r\n"));
        let location = first_event(&parsed).property("LOCATION").unwrap();
        assert_eq!(location.param("X-ADDR"), Some("1 Main St\nTown \"Old\" ^ ^x"));
    }

    #[test]
    fn line_without_colon_is_a_problem() {
        let parsed = parse_ok(&event_file("SUMMARY\r\nX-A;X-B=1\r\nX-C:ok\r\n"));
        assert_eq!(first_event(&parsed).properties.len(), 1);
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![4, 5]);
        assert!(parsed.problems.iter().all(|p| p.message.contains("no ':'")));
    }

    #[test]
    fn unterminated_quote_is_a_problem() {
        let parsed = parse_ok(&event_file("ATTENDEE;CN=\"Jane:mailto:jane@x\r\nX-C:ok\r\n"));
        assert_eq!(first_event(&parsed).properties.len(), 1);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 4);
        assert!(parsed.problems[0].message.contains("unterminated"), "{}", parsed.problems[0]);
    }

    #[test]
    fn bad_param_syntax_is_a_problem() {
        let bad = [
            "X-A;CN=\"Jane\"x:v",  // text after closing quote
            "X-A;CN:v",            // no '='
            "X-A;:v",              // empty param name
            "X-A;C N=1:v",         // space in param name
            "X-A;CN=1;:v",         // trailing ';'
            "X-A;CN=\"a\"\"b\":v", // two quoted strings glued together
        ];
        for line in bad {
            let parsed = parse_ok(&format!("BEGIN:VCALENDAR\r\n{line}\r\nEND:VCALENDAR\r\n"));
            assert!(parsed.components[0].properties.is_empty(), "{line}");
            assert_eq!(parsed.problems.len(), 1, "{line}");
            assert_eq!(parsed.problems[0].line, 2, "{line}");
        }
    }

    #[test]
    fn invalid_property_names_are_problems() {
        for line in ["DT START:2024", ":value", "SUM_MARY:x", "SÜMMARY:x", "X-A\"B:c"] {
            let parsed = parse_ok(&format!("BEGIN:VCALENDAR\r\n{line}\r\nEND:VCALENDAR\r\n"));
            assert!(parsed.components[0].properties.is_empty(), "{line}");
            assert_eq!(parsed.problems.len(), 1, "{line}");
            assert_eq!(parsed.problems[0].line, 2, "{line}");
        }
    }

    #[test]
    fn property_outside_any_component_is_a_problem() {
        let parsed = parse_ok("X-BEFORE:1\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nX-AFTER:2\r\n");
        assert_eq!(parsed.components.len(), 1);
        assert!(parsed.components[0].properties.is_empty());
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 4]);
        assert_eq!(parsed.problems[1].to_string(), "line 4: property X-AFTER is outside any component; skipped");
    }

    #[test]
    fn invalid_utf8_line_is_skipped_with_a_problem() {
        let input = b"BEGIN:VCALENDAR\r\nSUMMARY:bad \xFF\xFE\r\nX-OK:yes\r\nEND:VCALENDAR\r\n";
        let parsed = parse(input, &Limits::default()).unwrap();
        assert_eq!(parsed.components[0].properties.len(), 1);
        assert_eq!(parsed.components[0].property("X-OK").unwrap().value, "yes");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].to_string(), "line 2: not valid UTF-8");
    }

    #[test]
    fn ten_megabyte_single_line_is_skipped_and_the_rest_still_parses() {
        let mut input = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:".to_vec();
        input.resize(input.len() + 10 * MIB, b'x');
        input.extend_from_slice(b"\r\nSUMMARY:still here\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let parsed = parse(&input, &Limits::default()).unwrap();
        let event = first_event(&parsed);
        assert!(event.property("DESCRIPTION").is_none());
        assert_eq!(event.property("SUMMARY").unwrap().value, "still here");
        assert_eq!(event.property("SUMMARY").unwrap().line, 4);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 3);
        assert!(parsed.problems[0].message.contains("longer") || parsed.problems[0].message.contains("limit"));
    }

    #[test]
    fn ten_megabyte_folded_line_is_skipped_and_the_rest_still_parses() {
        let mut input = b"BEGIN:VCALENDAR\r\nDESCRIPTION:start".to_vec();
        let folds = 10 * MIB / 76;
        for _ in 0..folds {
            input.extend_from_slice(b"\r\n ");
            input.extend_from_slice(&[b'y'; 73]);
        }
        input.extend_from_slice(b"\r\nX-NEXT:ok\r\nEND:VCALENDAR\r\n");
        let parsed = parse(&input, &Limits::default()).unwrap();
        let calendar = &parsed.components[0];
        assert!(calendar.property("DESCRIPTION").is_none());
        assert_eq!(calendar.property("X-NEXT").unwrap().line, folds + 3);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 2);
    }

    #[test]
    fn line_exactly_at_the_limit_is_kept() {
        let limits = Limits { max_line_bytes: 10, ..Limits::default() };
        let parsed = parse(b"BEGIN:V\r\nX-A:123456\r\nX-B:1234\r\n 567\r\nEND:V\r\n", &limits).unwrap();
        assert_eq!(parsed.components[0].property("X-A").unwrap().value, "123456");
        assert!(parsed.components[0].property("X-B").is_none());
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 3);
    }

    #[test]
    fn problems_beyond_the_limit_are_summed_up() {
        let limits = Limits { max_problems: 3, ..Limits::default() };
        let input = "junk\n".repeat(10);
        let parsed = parse(input.as_bytes(), &limits).unwrap();
        assert_eq!(parsed.problems.len(), 4);
        assert_eq!(parsed.problems[3].line, 4);
        assert!(parsed.problems[3].message.starts_with("7 more problems"));
    }

    #[test]
    fn hostile_names_are_shortened_in_messages() {
        let name = "A".repeat(10_000);
        let error = parse_err(&format!("BEGIN:VCALENDAR\r\nEND:{name}\r\n"));
        assert!(error.message.len() < 200, "{}", error.message);
    }

    // --- Structure ---

    #[test]
    fn nested_components_build_a_tree() {
        let text = "BEGIN:VCALENDAR\r\nPRODID:-//x//y\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\n\
            TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nBEGIN:VALARM\r\n\
            ACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n\
            BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
        let parsed = parse_ok(text);
        assert!(parsed.problems.is_empty());
        assert_eq!(parsed.components.len(), 2);
        let calendar = &parsed.components[0];
        assert_eq!(calendar.properties.len(), 1);
        let names: Vec<&str> = calendar.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["VTIMEZONE", "VEVENT", "VEVENT"]);
        let zone = &calendar.components[0];
        assert_eq!(zone.components[0].name, "STANDARD");
        assert_eq!(zone.components[0].line, 5);
        assert_eq!(zone.components[0].property("TZOFFSETTO").unwrap().value, "+0100");
        let events: Vec<&Component> = calendar.components_named("vevent").collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].line, 9);
        assert_eq!(events[0].components[0].name, "VALARM");
        assert_eq!(events[0].components[0].line, 11);
        assert_eq!(events[1].property("UID").unwrap().value, "b");
        assert_eq!(parsed.components[1].line, 19);
    }

    #[test]
    fn properties_named_returns_all_in_order() {
        let parsed = parse_ok(&event_file("EXDATE:20240101\r\nSUMMARY:x\r\nexdate:20240102,20240103\r\n"));
        let event = first_event(&parsed);
        let values: Vec<&str> = event.properties_named("EXDATE").map(|p| p.value.as_str()).collect();
        assert_eq!(values, vec!["20240101", "20240102,20240103"]);
        assert_eq!(event.property("exdate").unwrap().value, "20240101");
    }

    #[test]
    fn mismatched_end_is_an_error_with_its_line() {
        let error = parse_err("BEGIN:VCALENDAR\r\nX-A:1\r\nBEGIN:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
        assert_eq!(error.line, 4);
        assert_eq!(error.to_string(), "line 4: END:VTODO does not match BEGIN:VEVENT on line 3");
        let error = parse_err("BEGIN:VCALENDAR\r\nX-A:1\r\nEND:VEVENT\r\n");
        assert_eq!(error.line, 3);
        assert!(error.message.contains("END:VEVENT does not match BEGIN:VCALENDAR on line 1"), "{}", error.message);
    }

    #[test]
    fn end_without_begin_is_an_error() {
        let error = parse_err("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nEND:VCALENDAR\r\n");
        assert_eq!(error.line, 3);
        assert!(error.message.contains("no matching BEGIN"));
    }

    #[test]
    fn begin_without_end_is_an_error_naming_its_line() {
        let mut text = "BEGIN:VCALENDAR\r\n".to_owned();
        for i in 0..10 {
            text.push_str(&format!("X-{i}:v\r\n"));
        }
        text.push_str("BEGIN:VEVENT\r\nUID:1\r\n");
        let error = parse_err(&text);
        assert_eq!(error.line, 12);
        assert_eq!(error.message, "BEGIN:VEVENT on line 12 has no END");
        let error = parse_err("BEGIN:VCALENDAR\r\n");
        assert_eq!(error.to_string(), "line 1: BEGIN:VCALENDAR on line 1 has no END");
    }

    #[test]
    fn begin_and_end_ignore_case_and_surrounding_blanks() {
        let parsed = parse_ok("BEGIN:VCALENDAR \r\nbegin:vevent\r\nEND: VEvent\r\nEND:vcalendar\r\n");
        assert_eq!(parsed.components[0].components[0].name, "VEVENT");
    }

    #[test]
    fn begin_with_an_invalid_component_name_is_a_problem() {
        let parsed = parse_ok("BEGIN:VCALENDAR\r\nBEGIN:\r\nBEGIN:V EVENT\r\nEND:VCALENDAR\r\n");
        assert_eq!(parsed.components.len(), 1);
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn nesting_deeper_than_max_depth_is_an_error() {
        let mut text = String::new();
        for i in 0..8 {
            text.push_str(&format!("BEGIN:X{i}\r\n"));
        }
        for i in (0..8).rev() {
            text.push_str(&format!("END:X{i}\r\n"));
        }
        assert!(parse_str(&text).is_ok(), "depth 8 is allowed");
        let text = format!("BEGIN:TOO-DEEP\r\n{text}END:TOO-DEEP\r\n");
        let error = parse_err(&text);
        assert_eq!(error.line, 9);
        assert!(error.message.contains("more than 8 deep"), "{}", error.message);
    }

    #[test]
    fn input_over_max_bytes_is_rejected_with_the_limit_in_mib() {
        let limits = Limits { max_bytes: MIB, ..Limits::default() };
        let input = vec![b'x'; MIB + 1];
        let error = parse(&input, &limits).unwrap_err();
        assert_eq!(error.line, 0);
        assert!(error.message.contains("limit of 1 MiB"), "{}", error.message);
        assert_eq!(error.to_string(), error.message);
        assert!(parse(&input[..MIB], &limits).is_ok());
        let default_message = parse(&input, &Limits { max_bytes: 10, ..Limits::default() }).unwrap_err().message;
        assert!(default_message.contains("MiB"));
    }

    #[test]
    fn more_than_max_properties_is_an_error() {
        let limits = Limits { max_properties: 3, ..Limits::default() };
        let ok = "BEGIN:VCALENDAR\r\nX-A:1\r\nX-B:2\r\nX-C:3\r\nEND:VCALENDAR\r\n";
        assert!(parse(ok.as_bytes(), &limits).is_ok());
        let too_many = "BEGIN:VCALENDAR\r\nX-A:1\r\nX-B:2\r\nX-C:3\r\nX-D:4\r\nEND:VCALENDAR\r\n";
        let error = parse(too_many.as_bytes(), &limits).unwrap_err();
        assert_eq!(error.line, 5);
        assert!(error.message.contains("more than 3 properties"));
    }

    #[test]
    fn one_crowded_component_keeps_its_first_properties_and_says_so_once() {
        let limits = Limits { max_component_properties: 2, ..Limits::default() };
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nX-A:1\r\nX-B:2\r\nX-C:3\r\nEND:VEVENT\r\n\
                    BEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let parsed = parse(text.as_bytes(), &limits).unwrap();
        let events: Vec<_> = parsed.components[0].components_named("VEVENT").collect();
        assert_eq!(events[0].properties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["UID", "X-A"]);
        assert_eq!(events[1].property("UID").map(|p| p.value.as_str()), Some("b"));
        assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
        assert_eq!(parsed.problems[0].line, 5);
        assert!(parsed.problems[0].message.contains("VEVENT on line 2 has more than 2 properties"));
    }

    #[test]
    fn parse_each_hands_over_finished_children_with_their_parent_so_far() {
        let text = "BEGIN:VCALENDAR\r\nX-WR-CALNAME:Home\r\nBEGIN:VTIMEZONE\r\nTZID:Z\r\nEND:VTIMEZONE\r\n\
                    BEGIN:VEVENT\r\nUID:a\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\n\
                    END:VCALENDAR\r\n";
        let mut seen = Vec::new();
        let parsed = parse_each(text.as_bytes(), &Limits::default(), |parent, child| {
            seen.push((parent.name.clone(), parent.properties.len(), parent.components.len(), child.name.clone()));
            // Consumes events (with their alarm), keeps the rest.
            if child.name == "VEVENT" { None } else { Some(child) }
        })
        .unwrap();
        assert_eq!(seen, [("VCALENDAR".into(), 1, 0, "VTIMEZONE".into()), ("VCALENDAR".into(), 1, 1, "VEVENT".into())]);
        let names: Vec<_> = parsed.components[0].components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["VTIMEZONE"]);
        assert_eq!(
            parsed,
            parse_each(text.as_bytes(), &Limits::default(), |_, child| (child.name != "VEVENT").then_some(child))
                .unwrap()
        );
    }

    #[test]
    fn more_than_max_param_values_is_an_error() {
        let limits = Limits { max_param_values: 4, ..Limits::default() };
        let ok = "BEGIN:V\r\nX-A;P=1,2;Q=3:v\r\nX-B;P=:v\r\nEND:V\r\n";
        assert!(parse(ok.as_bytes(), &limits).is_ok());
        let too_many = "BEGIN:V\r\nX-A;P=1,2;Q=3:v\r\nX-B;P=,:v\r\nEND:V\r\n";
        let error = parse(too_many.as_bytes(), &limits).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.message.contains("more than 4 parameter values"));
    }

    #[test]
    fn error_display_has_line_and_message() {
        let error = IcsError { line: 7, message: "boom".into() };
        assert_eq!(error.to_string(), "line 7: boom");
        let boxed: Box<dyn std::error::Error> = Box::new(error);
        assert_eq!(boxed.to_string(), "line 7: boom");
    }

    // --- TEXT values ---

    #[test]
    fn text_escapes_are_decoded() {
        let property = Property::new("DESCRIPTION", r"a\\b\;c\,d\ne\Nf\:g\xh:i\");
        assert_eq!(property.text(), "a\\b;c,d\ne\nf:gxh:i\\");
    }

    #[test]
    fn escape_text_is_the_inverse_of_text() {
        let text = "Meeting; room 3, floor \\2\\\nbring: snacks\r\nand\rmore";
        let escaped = escape_text(text);
        assert_eq!(escaped, "Meeting\\; room 3\\, floor \\\\2\\\\\\nbring: snacks\\nand\\nmore");
        assert_eq!(Property::new("X", escaped).text(), text.replace("\r\n", "\n").replace('\r', "\n"));
        assert_eq!(Property::new_text("x", "a,b").value, "a\\,b");
    }

    #[test]
    fn values_are_split_on_unescaped_commas() {
        assert_eq!(
            Property::new("EXDATE", "20240101T100000,20240102T100000").values(),
            vec!["20240101T100000", "20240102T100000"]
        );
        assert_eq!(Property::new("CATEGORIES", r"a\,b,c\\,d,").values(), vec![r"a\,b", r"c\\", "d", ""]);
        assert_eq!(Property::new("X", "é,ü\\").values(), vec!["é", "ü\\"]);
        assert!(Property::new("X", "").values().is_empty());
    }

    // --- Writing ---

    #[test]
    fn write_uses_crlf_and_quotes_param_values_that_need_it() {
        let event = Component::new("vevent")
            .with_property(
                Property::new("attendee", "mailto:jane@example.com")
                    .with_param("cn", "Doe, Jane")
                    .with_param_values("MEMBER", &["mailto:a@x", "plain"]),
            )
            .with_property(Property::new_text("SUMMARY", "Lunch; then, coffee\nmaybe"))
            .with_property(Property::new("X-Q", "").with_param("X-S", "say \"hi\"^"));
        let calendar = Component::new("VCALENDAR").with_component(event);
        let written = write(&calendar);
        assert_eq!(
            written,
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\
             ATTENDEE;CN=\"Doe, Jane\";MEMBER=\"mailto:a@x\",plain:mailto:jane@example.com\r\n\
             SUMMARY:Lunch\\; then\\, coffee\\nmaybe\r\nX-Q;X-S=say ^'hi^'^^:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let mut parsed = parse_ok(&written);
        zero_lines(&mut parsed.components[0]);
        assert_eq!(parsed.components, vec![calendar]);
    }

    #[test]
    fn write_keeps_line_breaks_in_raw_values_from_ending_the_line() {
        let calendar = Component::new("VCALENDAR").with_property(Property::new("X-RAW", "a\r\nEND:VCALENDAR\nb\rc"));
        let written = write(&calendar);
        assert_eq!(written, "BEGIN:VCALENDAR\r\nX-RAW:a\\nEND:VCALENDAR\\nb\\nc\r\nEND:VCALENDAR\r\n");
    }

    #[test]
    fn write_folds_long_utf8_text_at_75_octets_without_splitting_characters() {
        let text = "Réunion d’équipe — 日本語のテキスト 🎉🎉🎉, ".repeat(20);
        let calendar = Component::new("VCALENDAR").with_component(
            Component::new("VEVENT")
                .with_property(Property::new_text("DESCRIPTION", &text))
                .with_property(Property::new("X-LONG-PARAM", "v").with_param("X-P", &"ü;".repeat(60))),
        );
        let written = write(&calendar);
        let physical: Vec<&[u8]> = written.as_bytes().split(|&b| b == b'\n').collect();
        assert!(physical.len() > 20, "long lines were folded");
        for line in &physical {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(line.len() <= 75, "{} octets", line.len());
            assert!(std::str::from_utf8(line).is_ok(), "a physical line splits a character");
        }
        assert!(written.ends_with("END:VCALENDAR\r\n"));
        let mut parsed = parse_ok(&written);
        assert!(parsed.problems.is_empty());
        assert_eq!(first_event(&parsed).property("DESCRIPTION").unwrap().text(), text);
        zero_lines(&mut parsed.components[0]);
        assert_eq!(parsed.components, vec![calendar]);
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded() {
        let value = "x".repeat(75 - "X-A:".len());
        let written = write(&Component::new("V").with_property(Property::new("X-A", value.clone())));
        assert_eq!(written, format!("BEGIN:V\r\nX-A:{value}\r\nEND:V\r\n"));
        let written = write(&Component::new("V").with_property(Property::new("X-A", format!("{value}y"))));
        assert_eq!(written, format!("BEGIN:V\r\nX-A:{value}\r\n y\r\nEND:V\r\n"));
    }

    #[test]
    fn write_handles_deeply_nested_trees() {
        let mut component = Component::new("LEAF");
        for _ in 0..10_000 {
            component = Component::new("NODE").with_component(component);
        }
        let written = write(&component);
        assert_eq!(written.lines().count(), 2 * 10_001);
        // Drop iteratively too: the test tree is deeper than any parser output.
        let mut next = Some(component);
        while let Some(mut c) = next {
            next = c.components.pop();
        }
    }

    // --- Dates and times ---

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("20240229"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(parse_date("00010101"), NaiveDate::from_ymd_opt(1, 1, 1));
        assert_eq!(parse_date("99991231"), NaiveDate::from_ymd_opt(9999, 12, 31));
        for bad in [
            "20230229",
            "20240230",
            "20241301",
            "20240001",
            "20240100",
            "00001231",
            "2024011",
            "202401011",
            "2024-01-01",
            "+2024011",
            "2024 101",
            "",
            "２０２４０１０１",
            "20240101Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(format_date(NaiveDate::from_ymd_opt(987, 6, 5).unwrap()), "09870605");
    }

    #[test]
    fn date_times_parse_strictly_and_clamp_leap_seconds() {
        let expected = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap().and_hms_opt(8, 5, 7).unwrap();
        assert_eq!(parse_date_time("20240309T080507"), Some(expected));
        let leap = parse_date_time("20161231T235960").unwrap();
        assert_eq!(format_date_time(leap), "20161231T235959");
        for bad in [
            "20240309T080507Z",
            "20240309 080507",
            "20240309t080507",
            "20240309T240000",
            "20240309T236000",
            "20240309T235961",
            "20240309T0805",
            "20240230T000000",
            "2024030T0805070",
            "20240309T+80507",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
        assert_eq!(format_date_time(expected), "20240309T080507");
    }

    #[test]
    fn date_or_date_time_follows_value_param_and_z_suffix() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        let dt = date.and_hms_opt(9, 30, 0).unwrap();
        assert_eq!(parse_date_or_date_time("20240115", Some("DATE")), Some(DateTimeValue::Date(date)));
        assert_eq!(parse_date_or_date_time("20240115", Some("date")), Some(DateTimeValue::Date(date)));
        assert_eq!(parse_date_or_date_time("20240115T093000", Some("DATE")), None);
        assert_eq!(parse_date_or_date_time("20240115", None), Some(DateTimeValue::Date(date)));
        assert_eq!(parse_date_or_date_time("20240115T093000", None), Some(DateTimeValue::Floating(dt)));
        assert_eq!(parse_date_or_date_time("20240115T093000Z", Some("DATE-TIME")), Some(DateTimeValue::Utc(dt)));
        assert_eq!(parse_date_or_date_time("20240115Z", None), None);
        assert_eq!(parse_date_or_date_time("", None), None);
        assert_eq!(DateTimeValue::Utc(dt).date(), date);
        for value in [DateTimeValue::Date(date), DateTimeValue::Floating(dt), DateTimeValue::Utc(dt)] {
            assert_eq!(parse_date_or_date_time(&format_date_or_date_time(&value), None), Some(value));
        }
    }

    // --- Durations and offsets ---

    fn duration(negative: bool, weeks: i64, days: i64, seconds: i64) -> NominalDuration {
        NominalDuration { negative, weeks, days, seconds }
    }

    #[test]
    fn durations_parse() {
        let cases = [
            ("PT1H30M", duration(false, 0, 0, 5400)),
            ("+PT1H30M", duration(false, 0, 0, 5400)),
            ("-PT15M", duration(true, 0, 0, 900)),
            ("P1D", duration(false, 0, 1, 0)),
            ("P2W", duration(false, 2, 0, 0)),
            ("P15DT5H0M20S", duration(false, 0, 15, 5 * 3600 + 20)),
            ("PT1H5S", duration(false, 0, 0, 3605)),
            ("PT0S", duration(false, 0, 0, 0)),
            ("P0D", duration(false, 0, 0, 0)),
            ("P1DT90M", duration(false, 0, 1, 5400)),
            ("P3660D", duration(false, 0, 3660, 0)),
            ("P522W", duration(false, 522, 0, 0)),
            ("PT316224000S", duration(false, 0, 0, MAX_DURATION_SECONDS)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn invalid_durations_are_rejected() {
        for bad in [
            "",
            "P",
            "PT",
            "-P",
            "1D",
            "P1",
            "PT1",
            "P1H",
            "PT1D",
            "P1W2D",
            "P1WT1H",
            "P1DT",
            "PT1M1H",
            "PT1H1H",
            "PT1S1M",
            "P-1D",
            "P 1D",
            "p1d",
            "P1D ",
            "+-P1D",
            "--P1D",
            "P3661D",
            "P523W",
            "PT87841H",
            "PT5270401M",
            "PT316224001S",
            "P99999999999999999999D",
            "PT1.5S",
            "P１D",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_format_canonically() {
        let cases = [
            (duration(false, 0, 0, 5400), "PT1H30M"),
            (duration(false, 0, 1, 0), "P1D"),
            (duration(true, 0, 0, 900), "-PT15M"),
            (duration(false, 2, 0, 0), "P2W"),
            (duration(false, 0, 0, 0), "PT0S"),
            (duration(false, 0, 1, 43_200), "P1DT12H"),
            (duration(false, 0, 0, 3605), "PT1H5S"),
            (duration(false, 1, 2, 0), "P9D"),
            (duration(false, 0, 0, 59), "PT59S"),
        ];
        for (d, text) in cases {
            assert_eq!(format_duration(d), text);
        }
        assert!(NominalDuration::default().is_zero());
    }

    #[test]
    fn utc_offsets_parse_to_seconds_east() {
        assert_eq!(parse_utc_offset("+0100"), Some(3600));
        assert_eq!(parse_utc_offset("-0530"), Some(-19_800));
        assert_eq!(parse_utc_offset("+001015"), Some(615));
        assert_eq!(parse_utc_offset("-0000"), Some(0));
        for bad in ["0100", "+100", "+01000", "+2400", "+0160", "+010060", "+01:00", "", "+", "+-100", "+0１00"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
        assert_eq!(format_utc_offset(3600), "+0100");
        assert_eq!(format_utc_offset(-19_800), "-0530");
        assert_eq!(format_utc_offset(615), "+001015");
        assert_eq!(format_utc_offset(0), "+0000");
    }

    // --- Property tests ---

    fn token_soup() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("BEGIN"),
            Just("END"),
            Just("VEVENT"),
            Just(":"),
            Just(";"),
            Just("="),
            Just("\""),
            Just(","),
            Just("\r"),
            Just("\n"),
            Just(" "),
            Just("A"),
            Just("x"),
            Just("Q"),
            Just("z"),
        ];
        proptest::collection::vec(token, 0..400).prop_map(|tokens| tokens.concat())
    }

    fn tight_limits() -> Limits {
        Limits {
            max_bytes: 1500,
            max_line_bytes: 24,
            max_depth: 2,
            max_properties: 5,
            max_component_properties: 3,
            max_param_values: 6,
            max_problems: 4,
        }
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Z][A-Z0-9-]{0,12}".prop_filter("BEGIN and END are not property names", |n| n != "BEGIN" && n != "END")
    }

    fn param() -> impl Strategy<Value = Param> {
        (name(), proptest::collection::vec("[^\r]{0,12}", 1..4)).prop_map(|(name, values)| Param { name, values })
    }

    fn property() -> impl Strategy<Value = Property> {
        let value = prop_oneof!["[^\r\n]{0,120}", "(?s).{0,120}".prop_map(|t| escape_text(&t))];
        (name(), proptest::collection::vec(param(), 0..3), value).prop_map(|(name, params, value)| Property {
            name,
            params,
            value,
            line: 0,
        })
    }

    fn component() -> impl Strategy<Value = Component> {
        let leaf = (name(), proptest::collection::vec(property(), 0..4)).prop_map(|(name, properties)| Component {
            name,
            properties,
            components: vec![],
            line: 0,
        });
        leaf.prop_recursive(3, 16, 3, |inner| {
            (name(), proptest::collection::vec(property(), 0..4), proptest::collection::vec(inner, 0..3))
                .prop_map(|(name, properties, components)| Component { name, properties, components, line: 0 })
        })
    }

    fn valid_duration() -> impl Strategy<Value = NominalDuration> {
        prop_oneof![
            (any::<bool>(), 1..=522i64).prop_map(|(negative, weeks)| duration(negative, weeks, 0, 0)),
            (any::<bool>(), 0..=3660i64, 0..=MAX_DURATION_SECONDS)
                .prop_map(|(negative, days, seconds)| duration(negative, 0, days, seconds)),
            (any::<bool>(), 0..=3660i64, 0..=200_000i64)
                .prop_map(|(negative, days, seconds)| duration(negative, 0, days, seconds)),
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&bytes, &Limits::default());
            let _ = parse(&bytes, &tight_limits());
        }

        #[test]
        fn parse_never_panics_on_ics_like_text(text in token_soup()) {
            for limits in [Limits::default(), tight_limits()] {
                if let Ok(parsed) = parse(text.as_bytes(), &limits) {
                    prop_assert!(parsed.problems.len() <= limits.max_problems + 1);
                }
            }
        }

        #[test]
        fn write_then_parse_gives_back_the_component(component in component()) {
            let written = write(&component);
            for line in written.split("\r\n") {
                prop_assert!(line.len() <= FOLD_OCTETS);
                prop_assert!(!line.contains(['\r', '\n']));
            }
            let mut parsed = parse(written.as_bytes(), &Limits::default()).unwrap();
            prop_assert_eq!(&parsed.problems, &vec![]);
            for c in &mut parsed.components {
                zero_lines(c);
            }
            prop_assert_eq!(parsed.components, vec![component]);
        }

        #[test]
        fn text_survives_escape_write_and_parse(text in "(?s).{0,300}") {
            let calendar = Component::new("VCALENDAR").with_property(Property::new_text("DESCRIPTION", &text));
            let parsed = parse(write(&calendar).as_bytes(), &Limits::default()).unwrap();
            let property = parsed.components[0].property("DESCRIPTION").unwrap();
            prop_assert_eq!(property.text(), text.replace("\r\n", "\n").replace('\r', "\n"));
        }

        #[test]
        fn duration_round_trips_through_format(d in valid_duration()) {
            prop_assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }

        #[test]
        fn date_time_round_trips_through_format(days in 0i64..3_652_000, secs in 0u32..86_400) {
            let date = NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Days::new(days as u64);
            let dt = date.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap());
            prop_assert_eq!(parse_date(&format_date(date)), Some(date));
            prop_assert_eq!(parse_date_time(&format_date_time(dt)), Some(dt));
        }
    }
}
