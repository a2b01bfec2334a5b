//! The task auto-scheduler ("plan my week"): places tasks with estimates into free working
//! time before their deadlines. Pure, deterministic and explainable: the same input always
//! gives the same plan, and every placement and every task left out says why in plain words.
//!
//! Instants are UTC milliseconds (`i64`); intervals are half-open `[start, end)`. Dates and
//! times in reasons are wall times in the working-hours schedule's zone.
//!
//! # Rules
//!
//! - **Free time** is the working hours ([`Schedule::available`], in the schedule's zone)
//!   within `[max(from, now), to)`, minus `busy` (events, bookings; merged first), minus the
//!   blocks this plan has already placed together with `gap_min` minutes either side of each.
//!   A block never overlaps busy time, another block or the gap around one (no double booking);
//!   touching busy time is fine. At most
//!   [`MAX_SPAN_DAYS`](crate::availability::MAX_SPAN_DAYS) (732) days from the window's start
//!   are looked at; a longer window is cut.
//! - **Grid.** Every block starts on the `granularity_min` grid in local wall time, counted
//!   from local midnight (with 15: :00, :15, :30, :45). A block's length is a whole number of
//!   grid steps, except a task's last block, which takes the remainder of the estimate.
//! - **Order.** Tasks are placed one at a time: earliest deadline first (no deadline last),
//!   then priority (1 highest … 4; values outside are read as the nearest of 1 and 4), then the
//!   larger estimate, then the id (then title, `not_before`, energy, so even duplicate ids
//!   give one order). The order of `tasks` in the input does not matter.
//! - **Deadlines.** Every block of a task ends by its `due_ms` and starts at or after its
//!   `not_before_ms`. A due time at or before `now` is "deadline already passed".
//! - **Splitting.** A task is placed in blocks ("chunks") of `min_chunk_min` to
//!   `max_chunk_min` minutes. A task shorter than `min_chunk_min` is one block of its own
//!   length; otherwise no block is shorter than `min_chunk_min`. Chunks of one task are kept
//!   `gap_min` apart like any two blocks.
//! - **All or nothing.** A task whose blocks do not all fit before its deadline (or the end of
//!   the window) gets no blocks at all and is listed in [`Plan::unplaced`] with the reason, such
//!   as "not enough free time before the deadline (needs 6 h before Wed 15 Jan 17:00, 3 h 30
//!   free)". Every input task is either fully placed or listed in `unplaced`, exactly once.
//! - **Energy.** With peak hours set, a high-energy task takes free time inside the peak hours
//!   first and a low-energy task free time outside them first, each earliest first; medium
//!   tasks (and everyone when no peak hours are set) simply take the earliest free time. When
//!   the preference cannot place the whole task, it is placed earliest first instead:
//!   preference never makes a task miss its deadline. Peak ranges are local minutes of the
//!   day, every day; a range whose end is before its start runs over midnight (22:00–02:00).
//! - **Reasons.** Each placement reads like "Tue 14 Jan 10:00: due Wed 15 Jan 17:00, high
//!   energy in peak hours, part 2 of 3". Unplaced reasons: "no estimate", "estimate over 24 h
//!   (split it into smaller tasks)", "deadline already passed", "no working hours in the
//!   window", "starts after the window", "not enough free time before the deadline (needs X
//!   before D, Y free)" / "not enough free time in the window (needs X, Y free)". Y counts
//!   only free pieces a block fits in (at least `min_chunk_min`, or the whole task when it is
//!   shorter); smaller gaps are named apart ("…, 1 h free, plus 40 min in gaps under 30 min").
//!   In the rare case the minutes are there but no allowed split fits them: "free time before
//!   the deadline (…) is in pieces that blocks of 30 min–2 h do not fit".
//! - **Bad input** never panics or loops. Estimates are capped at [`MAX_ESTIMATE_MIN`] (24 h):
//!   a longer one is left unplaced rather than cut. Settings are clamped: granularity 1–1440
//!   (0 means the default 15), `max_chunk_min` between the granularity and 1440,
//!   `min_chunk_min` between 1 and half of `max_chunk_min` (so any long task can be split),
//!   `gap_min` at most 1440. `from ≥ to`, a window in the past or an empty schedule places
//!   nothing ("no working hours in the window"). Busy intervals that are empty or inverted
//!   are ignored. Ten thousand tasks take tens of milliseconds (docs/BENCHMARKS.md).
//! - **Cost.** Free time is a sorted map of disjoint intervals that placements carve from
//!   (`O(log n)` a block). Each task walks the free intervals between its earliest start and
//!   its deadline once or twice, so a plan costs about `O(busy log busy + tasks × free
//!   intervals in reach)`; a task with no free time in reach costs `O(log n)`.

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BTreeMap;

use chrono::DateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::availability::{
    DAY_MS, Interval, MINUTE_MS, Range, Schedule, at_or_after, clamp_ms, clamp_span, merge_busy, offset_ms,
};

/// The longest estimate one task may have: 24 hours.
pub const MAX_ESTIMATE_MIN: u32 = 24 * 60;

/// How demanding a task is; high-energy work goes to peak hours, low-energy work outside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Energy {
    Low,
    Medium,
    High,
}

/// One task to place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTask {
    pub id: String,
    pub title: String,
    pub estimate_minutes: u32,
    /// The instant every block of the task must end by.
    #[serde(default)]
    pub due_ms: Option<i64>,
    pub energy: Energy,
    /// 1 highest … 4 lowest.
    pub priority: u8,
    /// No block starts before this instant.
    #[serde(default)]
    pub not_before_ms: Option<i64>,
}

/// How blocks are cut and where they go. All minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanSettings {
    /// Blocks start on this grid in local wall time (default 15).
    pub granularity_min: u32,
    /// The shortest block of a split task (default 30).
    pub min_chunk_min: u32,
    /// The longest block (default 120).
    pub max_chunk_min: u32,
    /// The user's peak hours: local minutes-of-day ranges `(start, end)`, every day.
    pub peak: Vec<(u16, u16)>,
    /// Minutes kept free before and after every placed block (default 0).
    pub gap_min: u32,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self { granularity_min: 15, min_chunk_min: 30, max_chunk_min: 120, peak: Vec::new(), gap_min: 0 }
    }
}

/// Everything a plan is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    /// Serialised as a [`crate::availability::ScheduleInput`].
    #[serde(with = "schedule_serde")]
    pub working_hours: Schedule,
    #[serde(default)]
    pub settings: PlanSettings,
    #[serde(default)]
    pub busy: Vec<Interval>,
    #[serde(default)]
    pub tasks: Vec<PlanTask>,
    pub now_ms: i64,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One block of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub task_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub reason: String,
}

/// A task that got no blocks, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unplaced {
    pub task_id: String,
    pub reason: String,
}

/// The plan: blocks sorted by start (then end, then task id), and the tasks left out in the
/// order they were considered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub placements: Vec<Placement>,
    pub unplaced: Vec<Unplaced>,
}

mod schedule_serde {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::availability::{Schedule, ScheduleInput};

    pub fn serialize<S: Serializer>(schedule: &Schedule, serializer: S) -> Result<S::Ok, S::Error> {
        schedule.to_input().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Schedule, D::Error> {
        let input = ScheduleInput::deserialize(deserializer)?;
        Schedule::from_input(&input)
            .map_err(|errors| D::Error::custom(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))
    }
}

/// Settings clamped to sane values, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Cut {
    grid: i64,
    min: i64,
    max: i64,
    gap: i64,
}

impl Cut {
    fn new(s: &PlanSettings) -> Self {
        let grid = if s.granularity_min == 0 { 15 } else { s.granularity_min.min(1440) };
        let max = s.max_chunk_min.clamp(grid, 1440);
        let min = s.min_chunk_min.clamp(1, (max / 2).max(1));
        let gap = s.gap_min.min(1440);
        let ms = |m: u32| i64::from(m) * MINUTE_MS;
        Self { grid: ms(grid), min: ms(min), max: ms(max), gap: ms(gap) }
    }

    fn floor(&self, ms: i64) -> i64 {
        ms - ms.rem_euclid(self.grid)
    }

    /// The length of the next block of a task with `remaining` ms left, in `room` ms of free
    /// time; `None` when no allowed block fits. What is left after it is 0 or at least `min`.
    fn block(&self, remaining: i64, room: i64) -> Option<i64> {
        if remaining <= self.max && room >= remaining {
            return Some(remaining);
        }
        if remaining < 2 * self.min {
            // Can only be taken whole (at most max, or it would have been split above).
            return None;
        }
        let mut len = self.floor(room.min(self.max).min(remaining));
        if remaining - len < self.min {
            len = self.floor(remaining - self.min);
        }
        (len >= self.min && len > 0).then_some(len)
    }
}

/// The first instant at or after `utc` whose local wall time is on the grid (minutes from
/// local midnight a multiple of `grid`). Falls back to `utc` itself in odd offset changes.
fn align_up(tz: Tz, utc: i64, grid: i64) -> i64 {
    let utc = clamp_ms(utc);
    let offset = offset_ms(tz, utc);
    let local = utc + offset;
    let midnight = local.div_euclid(DAY_MS) * DAY_MS;
    let into = local - midnight;
    let mut wall =
        (midnight + into.div_euclid(grid) * grid + if into % grid == 0 { 0 } else { grid }).min(midnight + DAY_MS);
    for _ in 0..4 {
        let same = wall - offset;
        if same >= utc && offset_ms(tz, same) == offset {
            return same;
        }
        let first = at_or_after(tz, wall);
        if first >= utc {
            return first;
        }
        wall += grid;
    }
    utc
}

/// `a` minus `b`, both sorted and disjoint.
fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut j = 0;
    for iv in a {
        let mut start = iv.start;
        while j < b.len() && b[j].end <= start {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].start < iv.end {
            if b[k].start > start {
                out.push(Interval::new(start, b[k].start));
            }
            start = start.max(b[k].end);
            k += 1;
        }
        if start < iv.end {
            out.push(Interval::new(start, iv.end));
        }
    }
    out
}

/// `a` ∩ `b`, both sorted and disjoint.
fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(Interval::new(start, end));
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The peak hours within `[from, to)` on the UTC axis, sorted and merged.
fn peak_hours(tz: Tz, peak: &[(u16, u16)], from: i64, to: i64) -> Vec<Interval> {
    let mut ranges = Vec::new();
    for &(start, end) in peak {
        let (start, end) = (start.min(1440), end.min(1440));
        if start < end {
            ranges.push(Range::new(start, end));
        } else if start > end {
            ranges.push(Range::new(start, 1440));
            if end > 0 {
                ranges.push(Range::new(0, end));
            }
        }
    }
    if ranges.is_empty() {
        return Vec::new();
    }
    let ranges = crate::availability::normalize_ranges(&ranges);
    let every_day: [Vec<Range>; 7] = std::array::from_fn(|_| ranges.clone());
    Schedule { zone: tz, weekly: every_day, overrides: BTreeMap::new() }.available(from, to)
}

fn when(tz: Tz, ms: i64) -> String {
    DateTime::from_timestamp_millis(clamp_ms(ms))
        .map(|t| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string())
        .unwrap_or_default()
}

/// A duration as people say it: "45 min", "6 h", "3 h 30".
fn duration(ms: i64) -> String {
    let minutes = ms.max(0) / MINUTE_MS;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02}"),
    }
}

/// Tasks in the order they are placed.
fn order_key(t: &PlanTask) -> (i64, u8, Reverse<u32>, &str, &str, Option<i64>, Energy) {
    (
        t.due_ms.unwrap_or(i64::MAX),
        t.priority.clamp(1, 4),
        Reverse(t.estimate_minutes),
        t.id.as_str(),
        t.title.as_str(),
        t.not_before_ms,
        t.energy,
    )
}

struct Planner {
    tz: Tz,
    cut: Cut,
    now: i64,
    window: Option<(i64, i64)>,
    has_hours: bool,
    /// Free time: start → end, disjoint, sorted.
    free: BTreeMap<i64, i64>,
    peak: Vec<Interval>,
}

impl Planner {
    /// Free time between `earliest` and `latest`, each piece starting on the grid.
    fn reachable(&self, earliest: i64, latest: i64) -> Vec<Interval> {
        let first = match self.free.range(..=earliest).next_back() {
            Some((&s, &e)) if e > earliest => s,
            _ => earliest,
        };
        let mut out = Vec::new();
        for (&s, &e) in self.free.range(first..) {
            if s >= latest {
                break;
            }
            let start = align_up(self.tz, s.max(earliest), self.cut.grid);
            let end = e.min(latest);
            if start < end {
                out.push(Interval::new(start, end));
            }
        }
        out
    }

    /// Blocks of `need` ms taken from `parts` in the order given; `None` if they don't all fit.
    fn take(&self, parts: &[Interval], need: i64) -> Option<Vec<Interval>> {
        let cut = self.cut;
        let mut left = need;
        let mut blocks: Vec<Interval> = Vec::new();
        for part in parts {
            let mut at = align_up(self.tz, part.start, cut.grid);
            while left > 0 && at < part.end {
                let Some(len) = cut.block(left, part.end - at) else { break };
                let candidate = Interval::new(at, at + len);
                if let Some(clash) =
                    blocks.iter().find(|b| candidate.start < b.end + cut.gap && b.start - cut.gap < candidate.end)
                {
                    at = align_up(self.tz, clash.end + cut.gap, cut.grid).max(at + 1);
                    continue;
                }
                blocks.push(candidate);
                left -= len;
                at = align_up(self.tz, candidate.end + cut.gap, cut.grid);
            }
            if left == 0 {
                blocks.sort_unstable();
                return Some(blocks);
            }
        }
        None
    }

    fn carve(&mut self, cut: Interval) {
        let hit: Vec<(i64, i64)> =
            self.free.range(..cut.end).rev().take_while(|(_, e)| **e > cut.start).map(|(s, e)| (*s, *e)).collect();
        for (s, e) in hit {
            self.free.remove(&s);
            if s < cut.start {
                self.free.insert(s, cut.start);
            }
            if e > cut.end {
                self.free.insert(cut.end, e);
            }
        }
    }

    fn in_peak(&self, block: Interval) -> bool {
        let i = self.peak.partition_point(|p| p.end <= block.start);
        self.peak.get(i).is_some_and(|p| p.start <= block.start && block.end <= p.end)
    }

    fn touches_peak(&self, block: Interval) -> bool {
        let i = self.peak.partition_point(|p| p.end <= block.start);
        self.peak.get(i).is_some_and(|p| p.start < block.end)
    }

    fn place(&mut self, task: &PlanTask) -> Result<Vec<Placement>, String> {
        if task.estimate_minutes == 0 {
            return Err("no estimate".into());
        }
        if task.estimate_minutes > MAX_ESTIMATE_MIN {
            return Err("estimate over 24 h (split it into smaller tasks)".into());
        }
        if task.due_ms.is_some_and(|due| due <= self.now) {
            return Err("deadline already passed".into());
        }
        let Some((from, to)) = self.window.filter(|_| self.has_hours) else {
            return Err("no working hours in the window".into());
        };
        let earliest = from.max(task.not_before_ms.unwrap_or(i64::MIN));
        let latest = to.min(task.due_ms.unwrap_or(i64::MAX));
        if earliest >= to {
            return Err("starts after the window".into());
        }
        let need = i64::from(task.estimate_minutes) * MINUTE_MS;
        let reach = self.reachable(earliest, latest);

        let preferred = !self.peak.is_empty() && task.energy != Energy::Medium;
        let mut blocks = None;
        if preferred {
            let inside = intersect(&reach, &self.peak);
            let outside = subtract(&reach, &self.peak);
            let (first, second) = if task.energy == Energy::High { (inside, outside) } else { (outside, inside) };
            let ordered: Vec<Interval> = first.into_iter().chain(second).collect();
            blocks = self.take(&ordered, need);
        }
        if blocks.is_none() {
            blocks = self.take(&reach, need);
        }
        let Some(blocks) = blocks else {
            let shortest = self.cut.min.min(need);
            let total: i64 = reach.iter().map(|i| i.end - i.start).sum();
            let free: i64 = reach.iter().map(|i| i.end - i.start).filter(|len| *len >= shortest).sum();
            let crumbs = if total - free >= self.cut.grid {
                format!(", plus {} in gaps under {}", duration(total - free), duration(shortest))
            } else {
                String::new()
            };
            let needs = match task.due_ms.filter(|due| *due < to) {
                Some(due) => format!("before the deadline (needs {} before {}", duration(need), when(self.tz, due)),
                None => format!("in the window (needs {}", duration(need)),
            };
            return Err(if free >= need {
                format!(
                    "free time {needs}, {} free) is in pieces that blocks of {}–{} do not fit",
                    duration(free),
                    duration(self.cut.min),
                    duration(self.cut.max),
                )
            } else {
                format!("not enough free time {needs}, {} free{crumbs})", duration(free))
            });
        };

        let n = blocks.len();
        let mut out = Vec::with_capacity(n);
        for (k, block) in blocks.iter().enumerate() {
            self.carve(Interval::new(block.start - self.cut.gap, block.end + self.cut.gap));
            let mut why = vec![match task.due_ms {
                Some(due) => format!("due {}", when(self.tz, due)),
                None => "no deadline".to_owned(),
            }];
            why.push(
                match (self.peak.is_empty(), task.energy) {
                    (true, _) | (false, Energy::Medium) => "earliest free time",
                    (false, Energy::High) if self.in_peak(*block) => "high energy in peak hours",
                    (false, Energy::High) => "high energy, no peak hours free in time",
                    (false, Energy::Low) if !self.touches_peak(*block) => "low energy outside peak hours",
                    (false, Energy::Low) => "low energy, no time outside peak hours free in time",
                }
                .to_owned(),
            );
            if n > 1 {
                why.push(format!("part {} of {n}", k + 1));
            }
            out.push(Placement {
                task_id: task.id.clone(),
                start_ms: block.start,
                end_ms: block.end,
                reason: format!("{}: {}", when(self.tz, block.start), why.join(", ")),
            });
        }
        Ok(out)
    }
}

/// Plans `input.tasks` into free time; see the module documentation for the rules.
pub fn plan(input: &PlanInput) -> Plan {
    let tz = input.working_hours.zone;
    let now = clamp_ms(input.now_ms);
    let window = clamp_span(input.from_ms.max(input.now_ms), input.to_ms);
    let (free, peak, has_hours) = match window {
        Some((from, to)) => {
            let hours = input.working_hours.available(from, to);
            let busy = merge_busy(input.busy.clone());
            let free = subtract(&hours, &busy);
            (free, peak_hours(tz, &input.settings.peak, from, to), !hours.is_empty())
        }
        None => (Vec::new(), Vec::new(), false),
    };
    let mut planner = Planner {
        tz,
        cut: Cut::new(&input.settings),
        now,
        window,
        has_hours,
        free: free.into_iter().map(|i| (i.start, i.end)).collect(),
        peak,
    };

    let mut order: Vec<&PlanTask> = input.tasks.iter().collect();
    order.sort_by(|a, b| order_key(a).cmp(&order_key(b)));

    let mut out = Plan::default();
    for task in order {
        match planner.place(task) {
            Ok(blocks) => out.placements.extend(blocks),
            Err(reason) => out.unplaced.push(Unplaced { task_id: task.id.clone(), reason }),
        }
    }
    out.placements.sort_by(|a, b| (a.start_ms, a.end_ms, &a.task_id).cmp(&(b.start_ms, b.end_ms, &b.task_id)));
    out
}
