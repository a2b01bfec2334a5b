//! Times `Series::instances` on the benchmark cases (`benches/cases`) with a plain
//! `Instant` loop and prints one JSON line per case: the case as data (so the peer can build
//! the same rule), the instances found, and the median time of one expansion.
//!
//! Used by `scripts/bench-recurrence`, which times python-dateutil on the same lines and
//! prints the ratio. Build it in release: `cargo run --release -p calento --example
//! bench_recurrence [-- SECONDS_PER_CASE]`.

#![allow(clippy::expect_used)]

#[path = "../benches/cases/mod.rs"]
mod cases;

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;

const LIMIT: usize = 1_000;

/// The median of `batches` timings of one expansion, each batch sized to about
/// `budget / batches`.
fn median_ns(run: &mut dyn FnMut() -> usize, budget: Duration, batches: u32) -> f64 {
    // Size a batch from a short calibration run.
    let mut per_batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..per_batch {
            black_box(run());
        }
        if start.elapsed() >= budget / (batches * 4) || per_batch >= 1 << 30 {
            break;
        }
        per_batch *= 2;
    }
    per_batch = (per_batch * 4).max(1);
    let mut times: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                black_box(run());
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let budget = Duration::from_secs_f64(seconds);
    for case in cases::all() {
        let series = case.series();
        let (from, to) = case.window();
        let found = series.instances(from, to, LIMIT).expect("expands");
        let starts: Vec<String> = found.iter().map(|i| i.start.to_string()).collect();
        let ns = median_ns(
            &mut || black_box(&series).instances(black_box(from), black_box(to), LIMIT).expect("expands").len(),
            budget,
            15,
        );
        let line = json!({
            "name": case.name,
            "zone": case.zone.name(),
            "start": case.start,
            "rrule": case.rrule,
            "exdates": case.exdates,
            "from": case.from,
            "to": case.to,
            "starts": starts,
            "ns": ns,
        });
        println!("{line}");
    }
}
