//! Criterion benchmark of the task auto-scheduler: 200 tasks into two weeks of Mon–Fri
//! 09:00–17:00 in Berlin with 300 busy events, and 1,000 and 10,000 tasks into the same time. Figures: docs/BENCHMARKS.md, "Planner
//! (auto-scheduling)".
//!
//! `cargo bench -p calento --bench planner` (add `-- --quick` for a short run).

#![allow(clippy::expect_used)]

use std::hint::black_box;

use calento::availability::{Interval, RuleInput, Schedule, ScheduleInput, merge_busy};
use calento::planner::{Energy, PlanInput, PlanSettings, PlanTask, plan};
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn schedule() -> Schedule {
    let rules = (1..=5).map(|weekday| RuleInput { weekday, start: "09:00".into(), end: "17:00".into() }).collect();
    Schedule::from_input(&ScheduleInput { timezone: "Europe/Berlin".into(), rules, overrides: vec![] })
        .expect("valid schedule")
}

/// Monday 2025-01-13 00:00 in Berlin.
fn start() -> i64 {
    let date = NaiveDate::from_ymd_opt(2025, 1, 13).expect("date").and_hms_opt(0, 0, 0).expect("time");
    Tz::Europe__Berlin.from_local_datetime(&date).single().expect("exists").timestamp_millis()
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, m: u64) -> i64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % m) as i64
    }
}

/// 300 events over the fortnight, weekends too (about 21 a day, starting 06:00–23:00 local,
/// 15–45 minutes; some overlap, as calendars do): about half of the working hours stay free.
fn busy(rng: &mut Lcg) -> Vec<Interval> {
    (0..300)
        .map(|i| {
            let day = i % 14;
            // `start()` is local midnight and January has no offset change: minutes are wall time.
            let at = start() + day * DAY + (6 * 60 + rng.next(17 * 60)) * MINUTE;
            Interval::new(at, at + (15 + 15 * rng.next(3)) * MINUTE)
        })
        .collect()
}

/// 200 tasks: 15 minutes to 2 hours, two thirds with a deadline within the fortnight, every
/// energy and priority, a few that may not start before the second week.
fn tasks(rng: &mut Lcg, n: usize) -> Vec<PlanTask> {
    (0..n)
        .map(|i| PlanTask {
            id: format!("task-{i:03}"),
            title: format!("Task {i}"),
            estimate_minutes: (15 + 15 * rng.next(8)) as u32,
            due_ms: (i % 3 != 0).then(|| start() + (1 + rng.next(13)) * DAY + 17 * 60 * MINUTE),
            energy: [Energy::Low, Energy::Medium, Energy::High][i % 3],
            priority: (1 + rng.next(4)) as u8,
            not_before_ms: (i % 10 == 0).then(|| start() + 7 * DAY),
        })
        .collect()
}

fn input(n: usize) -> PlanInput {
    let mut rng = Lcg(0x5eed_1234);
    PlanInput {
        working_hours: schedule(),
        settings: PlanSettings { peak: vec![(9 * 60, 12 * 60)], gap_min: 5, ..PlanSettings::default() },
        busy: busy(&mut rng),
        tasks: tasks(&mut rng, n),
        now_ms: start(),
        from_ms: start(),
        to_ms: start() + 14 * DAY,
    }
}

fn fortnight(c: &mut Criterion) {
    let input = input(200);
    let result = plan(&input);
    let placed: std::collections::BTreeSet<&str> = result.placements.iter().map(|p| p.task_id.as_str()).collect();
    let hours = input.working_hours.available(input.from_ms, input.to_ms);
    let busy = merge_busy(input.busy.clone());
    let busy_in_hours: i64 =
        hours.iter().flat_map(|h| busy.iter().map(move |b| (b.end.min(h.end) - b.start.max(h.start)).max(0))).sum();
    let working: i64 = hours.iter().map(|h| h.end - h.start).sum();
    let needed: i64 = input.tasks.iter().map(|t| i64::from(t.estimate_minutes)).sum();
    let placed_min: i64 = result.placements.iter().map(|p| (p.end_ms - p.start_ms) / MINUTE).sum();
    eprintln!(
        "fortnight: {} tasks needing {} h, {} busy, {} h working, {} h free; {} tasks placed ({} h) in {} blocks, {} unplaced",
        input.tasks.len(),
        needed / 60,
        input.busy.len(),
        working / MINUTE / 60,
        (working - busy_in_hours) / MINUTE / 60,
        placed.len(),
        placed_min / 60,
        result.placements.len(),
        result.unplaced.len()
    );
    assert!(placed.len() > 20);
    c.bench_function("planner/200_tasks_2_weeks_300_busy", |b| b.iter(|| plan(black_box(&input))));
}

/// More tasks into the same fortnight: once the free time is used up, every further task is
/// one walk over what is left in its reach, so the cost grows linearly with the tasks.
fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("planner/tasks");
    group.sample_size(20);
    for n in [1_000usize, 10_000] {
        let input = input(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| b.iter(|| plan(black_box(&input))));
    }
    group.finish();
}

criterion_group!(benches, fortnight, scaling);
criterion_main!(benches);
