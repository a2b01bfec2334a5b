//! Criterion benchmark of the quick-capture parser: a brain dump of 1,000 lines in a realistic
//! mix (plain titles, dates, times, deadlines, estimates, tags, zones, priorities, energy).
//! Figures: docs/BENCHMARKS.md, "Capture parser".
//!
//! `cargo bench -p calento --bench capture` (add `-- --quick` for a short run).

#![allow(clippy::expect_used)]

use std::hint::black_box;

use calento::capture::{CaptureContext, parse_lines};
use chrono::{NaiveDate, Weekday};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Twenty kinds of line a person types, from plain to busy.
const MIX: [&str; 20] = [
    "Buy milk",
    "Call mum tomorrow 3pm ~30m !2 #family @home low energy",
    "Report by friday",
    "Standup 9:30am",
    "Review the quarterly numbers with Ana next fri #work",
    "Water plants in 2 days",
    "Dentist on 12 march at 10am",
    "Write grant proposal by 2030-02-01 for 2h p1 #work #writing @office high energy",
    "Pick up parcel at the post office",
    "Gym tonight",
    "Read chapter 4 for 45 min #reading",
    "Clean garage this weekend ~2h",
    "Taxes due 31 jan !!!",
    "Plan sprint next week @work",
    "Email Bob about the invoice tmrw morning",
    "Renew passport in 1 month",
    "Think about the garden layout and what to plant in spring",
    "Lunch with Sam noon @cafe",
    "Inbox zero ⚡ 1h30m",
    "Fix the leaking tap before monday #home p3",
];

fn dump() -> String {
    (0..1000).map(|i| format!("{} {}\n", MIX[i % MIX.len()], i / MIX.len())).collect()
}

fn bench(c: &mut Criterion) {
    let text = dump();
    let ctx = CaptureContext {
        now: NaiveDate::from_ymd_opt(2030, 1, 15).expect("date").and_hms_opt(10, 30, 0).expect("time"),
        week_start: Weekday::Mon,
    };
    assert_eq!(parse_lines(&text, &ctx).len(), 500, "parse_lines reads at most 500 lines a call");
    let halves: Vec<String> = {
        let lines: Vec<&str> = text.lines().collect();
        lines.chunks(500).map(|chunk| chunk.join("\n")).collect()
    };
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000_mixed_lines", |b| {
        b.iter(|| {
            let mut n = 0;
            for half in &halves {
                n += parse_lines(black_box(half), black_box(&ctx)).len();
            }
            assert_eq!(n, 1000);
            n
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
