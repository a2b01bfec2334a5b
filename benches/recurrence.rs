//! Criterion benchmarks of the recurrence engine: how a far window costs against a near one,
//! and a month of instances for typical rules. Figures and how to read them:
//! docs/BENCHMARKS.md, "Recurrence engine".
//!
//! `cargo bench -p calento --bench recurrence` (add `-- --quick` for a short run).

#![allow(clippy::expect_used)]

mod cases;

use std::hint::black_box;

use cases::{Case, DAILY_FAR, DAILY_NEAR, TYPICAL};
use criterion::{Criterion, criterion_group, criterion_main};

/// Generous: every case here has at most 31 instances in its window.
const LIMIT: usize = 1_000;

fn expand(c: &mut Criterion, group: &str, list: &[&Case]) {
    let mut group = c.benchmark_group(group);
    for case in list {
        let series = case.series();
        let (from, to) = case.window();
        let found = series.instances(from, to, LIMIT).expect("expands");
        assert!(!found.is_empty(), "{}: no instance in the window", case.name);
        group.bench_function(case.name, |b| {
            b.iter(|| black_box(&series).instances(black_box(from), black_box(to), LIMIT).expect("expands"))
        });
    }
    group.finish();
}

fn far_window(c: &mut Criterion) {
    expand(c, "daily_window", &[&DAILY_NEAR, &DAILY_FAR]);
}

fn typical_month(c: &mut Criterion) {
    let list: Vec<&Case> = TYPICAL.iter().collect();
    expand(c, "month_of", &list);
}

criterion_group!(benches, far_window, typical_month);
criterion_main!(benches);
