//! Property tests of the planner: whatever the schedule, busy time, tasks and settings, the plan
//! keeps its promises (no overlaps, inside free working hours, deadlines, all or nothing,
//! determinism).

use std::collections::BTreeMap;

use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;
use crate::availability::{Range, clamp_span};

const ZONES: [Tz; 6] = [
    Tz::Europe__Berlin,
    Tz::America__New_York,
    Tz::Australia__Lord_Howe,
    Tz::Asia__Kathmandu,
    Tz::UTC,
    Tz::America__Santiago,
];

/// 2024-03-04 00:00Z: the following weeks hold the spring-forward of New York and Lord Howe's
/// and Santiago's autumn changes.
const BASE: i64 = 1_709_510_400_000;
const HOUR: i64 = 3_600_000;

fn range() -> impl Strategy<Value = Range> {
    (0u16..1400, 15u16..600).prop_map(|(start, len)| Range::new(start, (start + len).min(1440)))
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (0..ZONES.len(), prop::collection::vec(prop::collection::vec(range(), 0..3), 7)).prop_map(|(zone, days)| {
        let mut weekly: [Vec<Range>; 7] = Default::default();
        for (day, ranges) in days.into_iter().enumerate() {
            weekly[day] = crate::availability::normalize_ranges(&ranges);
        }
        Schedule { zone: ZONES[zone], weekly, overrides: BTreeMap::new() }
    })
}

fn energy() -> impl Strategy<Value = Energy> {
    prop_oneof![Just(Energy::Low), Just(Energy::Medium), Just(Energy::High)]
}

fn tasks() -> impl Strategy<Value = Vec<PlanTask>> {
    prop::collection::vec(
        (
            prop_oneof![8 => 0u32..600, 1 => 0u32..2000],
            prop::option::of(-48 * HOUR..400 * HOUR),
            prop::option::of(-48 * HOUR..400 * HOUR),
            energy(),
            0u8..6,
        ),
        0..14,
    )
    .prop_map(|list| {
        list.into_iter()
            .enumerate()
            .map(|(i, (estimate, due, not_before, energy, priority))| PlanTask {
                id: format!("t{i}"),
                title: format!("Task {}", i % 3),
                estimate_minutes: estimate,
                due_ms: due.map(|d| BASE + d),
                energy,
                priority,
                not_before_ms: not_before.map(|n| BASE + n),
            })
            .collect()
    })
}

fn settings() -> impl Strategy<Value = PlanSettings> {
    (
        prop::sample::select(vec![0u32, 1, 5, 10, 15, 30, 60, 45]),
        0u32..150,
        0u32..300,
        prop::collection::vec((0u16..1440, 0u16..1440), 0..3),
        prop_oneof![Just(0u32), 0u32..60],
    )
        .prop_map(|(granularity_min, min_chunk_min, max_chunk_min, peak, gap_min)| PlanSettings {
            granularity_min,
            min_chunk_min,
            max_chunk_min,
            peak,
            gap_min,
        })
}

fn busy() -> impl Strategy<Value = Vec<Interval>> {
    prop::collection::vec((-24 * HOUR..400 * HOUR, 0..6 * HOUR), 0..25)
        .prop_map(|list| list.into_iter().map(|(start, len)| Interval::new(BASE + start, BASE + start + len)).collect())
}

fn input() -> impl Strategy<Value = PlanInput> {
    (schedule(), settings(), busy(), tasks(), -24 * HOUR..72 * HOUR, -24 * HOUR..48 * HOUR, 0..400 * HOUR).prop_map(
        |(working_hours, settings, busy, tasks, now, from, len)| PlanInput {
            working_hours,
            settings,
            busy,
            tasks,
            now_ms: BASE + now,
            from_ms: BASE + from,
            to_ms: BASE + from + len - 24 * HOUR,
        },
    )
}

fn check(input: &PlanInput, plan: &Plan) -> Result<(), TestCaseError> {
    let cut = Cut::new(&input.settings);
    let mut blocks: Vec<&Placement> = plan.placements.iter().collect();
    blocks.sort_by_key(|p| (p.start_ms, p.end_ms));
    for pair in blocks.windows(2) {
        prop_assert!(
            pair[1].start_ms - pair[0].end_ms >= cut.gap,
            "blocks overlap or break the gap: {:?} {:?}",
            pair[0],
            pair[1]
        );
    }
    let busy = merge_busy(input.busy.clone());
    let hours = match clamp_span(input.from_ms.max(input.now_ms), input.to_ms) {
        Some((from, to)) => input.working_hours.available(from, to),
        None => Vec::new(),
    };
    for p in &plan.placements {
        prop_assert!(p.start_ms < p.end_ms);
        prop_assert!(p.end_ms - p.start_ms <= cut.max, "block longer than the maximum: {p:?}");
        prop_assert!(!busy.iter().any(|b| b.start < p.end_ms && p.start_ms < b.end), "double booked: {p:?}");
        prop_assert!(
            hours.iter().any(|h| h.start <= p.start_ms && p.end_ms <= h.end),
            "outside working hours or the window: {p:?}"
        );
        prop_assert!(!p.reason.is_empty());
        // Whole-hour offset changes only: then every start is on the local grid.
        let zone = input.working_hours.zone;
        if [Tz::Europe__Berlin, Tz::America__New_York, Tz::UTC].contains(&zone) && (60 * MINUTE_MS) % cut.grid == 0 {
            let wall = p.start_ms + crate::availability::offset_ms(zone, p.start_ms);
            prop_assert_eq!(wall.rem_euclid(cut.grid), 0, "block off the local grid: {:?}", p);
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for task in &input.tasks {
        let mine: Vec<&Placement> = plan.placements.iter().filter(|p| p.task_id == task.id).collect();
        let out = plan.unplaced.iter().filter(|u| u.task_id == task.id).count();
        *seen.entry(task.id.as_str()).or_default() += 1;
        if mine.is_empty() {
            prop_assert_eq!(out, 1, "task {} neither placed nor listed once", task.id);
            continue;
        }
        prop_assert_eq!(out, 0, "task {} both placed and unplaced", task.id);
        let total: i64 = mine.iter().map(|p| p.end_ms - p.start_ms).sum();
        prop_assert_eq!(total, i64::from(task.estimate_minutes) * MINUTE_MS, "task {} not fully placed", task.id);
        for p in &mine {
            prop_assert!(task.due_ms.is_none_or(|due| p.end_ms <= due), "after the deadline: {p:?}");
            prop_assert!(task.not_before_ms.is_none_or(|nb| p.start_ms >= nb), "too early: {p:?}");
            let len = p.end_ms - p.start_ms;
            prop_assert!(len >= cut.min.min(total), "block shorter than the minimum: {p:?}");
        }
    }
    prop_assert_eq!(
        plan.unplaced.len() + seen.keys().filter(|id| plan.placements.iter().any(|p| p.task_id == **id)).count(),
        input.tasks.len()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_plan_keeps_its_promises(input in input()) {
        let plan = plan(&input);
        check(&input, &plan)?;
    }

    #[test]
    fn the_same_input_in_any_task_order_gives_the_same_plan(input in input(), seed in any::<u64>()) {
        let first = plan(&input);
        prop_assert_eq!(&plan(&input), &first);
        let mut shuffled = input.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.tasks.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.tasks.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(&plan(&shuffled), &first);
    }
}
