//! Criterion benchmarks of the booking slot engine: a month of slots against 300 busy intervals,
//! and how the cost scales with busy intervals and emitted slots. Figures and how to read them:
//! docs/BENCHMARKS.md, "Slots (booking engine)".
//!
//! `cargo bench -p calento --bench slots` (add `-- --quick` for a short run).

#![allow(clippy::expect_used)]

use std::hint::black_box;

use calento::availability::{Interval, RuleInput, Schedule, ScheduleInput, SlotRules, merge_busy, slots};
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// Mon–Fri 09:00–17:00 and Saturday 10:00–14:00 in New York.
fn schedule() -> Schedule {
    let mut rules: Vec<RuleInput> =
        (1..=5).map(|weekday| RuleInput { weekday, start: "09:00".into(), end: "17:00".into() }).collect();
    rules.push(RuleInput { weekday: 6, start: "10:00".into(), end: "14:00".into() });
    Schedule::from_input(&ScheduleInput { timezone: "America/New_York".into(), rules, overrides: vec![] })
        .expect("valid schedule")
}

/// The start of 2024-03-01 in New York: the month holds the spring-forward night.
fn start() -> i64 {
    let date = NaiveDate::from_ymd_opt(2024, 3, 1).expect("date").and_hms_opt(0, 0, 0).expect("time");
    Tz::America__New_York.from_local_datetime(&date).single().expect("exists").timestamp_millis()
}

/// `n` busy intervals, ten a day from `start()` on, each 15 to 45 minutes at a random point of its
/// own 72-minute stretch of 07:00–19:00 (UTC-5 wall time): disjoint, so merging keeps all `n`.
fn busy(n: usize) -> Vec<Interval> {
    let mut seed: u64 = 0x5eed_1234;
    let mut next = |m: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % m) as i64
    };
    let base = start();
    let list: Vec<Interval> = (0..n as i64)
        .map(|i| {
            let (day, stretch) = (i / PER_DAY, i % PER_DAY);
            let minute = 7 * 60 + stretch * 72 + next(24);
            let at = base + day * DAY + minute * MINUTE;
            Interval::new(at, at + (15 + 15 * next(3)) * MINUTE)
        })
        .collect();
    let merged = merge_busy(list);
    assert_eq!(merged.len(), n);
    merged
}

/// Busy intervals a day.
const PER_DAY: i64 = 10;

fn rules() -> SlotRules {
    SlotRules { interval_min: 15, ..SlotRules::new(30) }
}

fn month(c: &mut Criterion) {
    let schedule = schedule();
    let rules = rules();
    let busy = busy(300);
    let (from, to) = (start(), start() + 31 * DAY);
    let found = slots(&schedule, &rules, &busy, &[], 0, from, to);
    assert!(found.len() > 100, "{} slots", found.len());
    eprintln!("month: {} busy intervals, {} slots", busy.len(), found.len());
    c.bench_function("slots/month_300_busy", |b| {
        b.iter(|| {
            slots(black_box(&schedule), black_box(&rules), black_box(&busy), &[], 0, black_box(from), black_box(to))
        })
    });
}

fn scaling(c: &mut Criterion) {
    let schedule = schedule();
    let rules = rules();
    let mut group = c.benchmark_group("slots/scaling");
    for n in [30usize, 300, 3000] {
        // About ten busy intervals a day, so the window and the slots grow with n.
        let days = n as i64 / PER_DAY + 1;
        let busy = busy(n);
        let (from, to) = (start(), start() + days * DAY);
        let found = slots(&schedule, &rules, &busy, &[], 0, from, to);
        eprintln!("n = {n}: {days} days, {} busy, {} slots", busy.len(), found.len());
        group.throughput(Throughput::Elements((busy.len() + found.len()) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                slots(black_box(&schedule), black_box(&rules), black_box(&busy), &[], 0, black_box(from), black_box(to))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, month, scaling);
criterion_main!(benches);
