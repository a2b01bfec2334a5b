use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::*;
use crate::availability::{RuleInput, ScheduleInput};

const BERLIN: Tz = Tz::Europe__Berlin;

/// A Berlin wall time ("2025-01-14 10:00"; the week of Monday 13 January 2025) as UTC ms.
fn at(text: &str) -> i64 {
    let wall = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time");
    BERLIN.from_local_datetime(&wall).earliest().expect("exists").timestamp_millis()
}

fn wall(ms: i64) -> String {
    BERLIN.timestamp_millis_opt(ms).single().expect("instant").format("%a %H:%M").to_string()
}

fn weekdays(start: &str, end: &str) -> Schedule {
    let rules = (1..=5).map(|weekday| RuleInput { weekday, start: start.into(), end: end.into() }).collect();
    Schedule::from_input(&ScheduleInput { timezone: "Europe/Berlin".into(), rules, overrides: vec![] })
        .expect("valid schedule")
}

fn task(id: &str, minutes: u32) -> PlanTask {
    PlanTask {
        id: id.into(),
        title: format!("Task {id}"),
        estimate_minutes: minutes,
        due_ms: None,
        energy: Energy::Medium,
        priority: 2,
        not_before_ms: None,
    }
}

fn due(mut t: PlanTask, when: &str) -> PlanTask {
    t.due_ms = Some(at(when));
    t
}

fn energy(mut t: PlanTask, energy: Energy) -> PlanTask {
    t.energy = energy;
    t
}

/// Mon 13 – Sat 18 January 2025, now on Monday at midnight, working hours Mon–Fri 09–17.
fn week(tasks: Vec<PlanTask>) -> PlanInput {
    PlanInput {
        working_hours: weekdays("09:00", "17:00"),
        settings: PlanSettings::default(),
        busy: vec![],
        tasks,
        now_ms: at("2025-01-13 00:00"),
        from_ms: at("2025-01-13 00:00"),
        to_ms: at("2025-01-18 00:00"),
    }
}

/// Each block as "task Ddd HH:MM–HH:MM", in plan order.
fn blocks(plan: &Plan) -> Vec<String> {
    plan.placements.iter().map(|p| format!("{} {}–{}", p.task_id, wall(p.start_ms), &wall(p.end_ms)[4..])).collect()
}

fn reasons(plan: &Plan) -> Vec<String> {
    plan.placements.iter().map(|p| p.reason.clone()).collect()
}

fn unplaced(plan: &Plan) -> Vec<(String, String)> {
    plan.unplaced.iter().map(|u| (u.task_id.clone(), u.reason.clone())).collect()
}

#[test]
fn a_short_task_goes_into_the_earliest_free_time_and_says_so() {
    let plan = plan(&week(vec![task("a", 60)]));
    assert_eq!(blocks(&plan), ["a Mon 09:00–10:00"]);
    assert_eq!(reasons(&plan), ["Mon 13 Jan 09:00: no deadline, earliest free time"]);
    assert!(plan.unplaced.is_empty());
}

#[test]
fn busy_time_is_never_double_booked() {
    let mut input = week(vec![task("a", 60), task("b", 60)]);
    input.busy = vec![Interval::new(at("2025-01-13 09:00"), at("2025-01-13 10:30"))];
    let plan = plan(&input);
    assert_eq!(blocks(&plan), ["a Mon 10:30–11:30", "b Mon 11:30–12:30"]);
}

#[test]
fn blocks_start_on_the_quarter_hour_after_a_meeting_that_ends_at_an_odd_time() {
    let mut input = week(vec![task("a", 30)]);
    input.busy = vec![Interval::new(at("2025-01-13 08:00"), at("2025-01-13 10:07"))];
    assert_eq!(blocks(&plan(&input)), ["a Mon 10:15–10:45"]);
}

#[test]
fn the_earliest_deadline_is_planned_first() {
    let mut urgent = due(task("z-urgent", 480), "2025-01-13 17:00");
    urgent.priority = 4;
    let mut later = due(task("a-later", 60), "2025-01-17 17:00");
    later.priority = 1;
    let plan = plan(&week(vec![later, urgent]));
    assert_eq!(blocks(&plan)[0], "z-urgent Mon 09:00–11:00");
    assert_eq!(blocks(&plan).last().map(String::as_str), Some("a-later Tue 09:00–10:00"));
}

#[test]
fn priority_then_size_then_id_break_ties_between_equal_deadlines() {
    let mut low = task("a", 60);
    low.priority = 3;
    let mut high = task("b", 30);
    high.priority = 1;
    let c = task("c", 90);
    let d = task("d", 90);
    let shorter = task("e", 45);
    let plan = plan(&week(vec![low, shorter, d, c, high]));
    assert_eq!(
        blocks(&plan),
        ["b Mon 09:00–09:30", "c Mon 09:30–11:00", "d Mon 11:00–12:30", "e Mon 12:30–13:15", "a Mon 13:15–14:15"]
    );
}

#[test]
fn a_long_task_is_split_into_parts_that_say_which_part_they_are() {
    let plan = plan(&week(vec![due(task("report", 300), "2025-01-15 17:00")]));
    assert_eq!(blocks(&plan), ["report Mon 09:00–11:00", "report Mon 11:00–13:00", "report Mon 13:00–14:00"]);
    assert_eq!(
        reasons(&plan),
        [
            "Mon 13 Jan 09:00: due Wed 15 Jan 17:00, earliest free time, part 1 of 3",
            "Mon 13 Jan 11:00: due Wed 15 Jan 17:00, earliest free time, part 2 of 3",
            "Mon 13 Jan 13:00: due Wed 15 Jan 17:00, earliest free time, part 3 of 3",
        ]
    );
}

#[test]
fn a_task_too_long_for_any_free_gap_is_split_across_the_gaps() {
    let mut input = week(vec![task("a", 90)]);
    input.settings.max_chunk_min = 240;
    input.busy = vec![
        Interval::new(at("2025-01-13 10:00"), at("2025-01-13 11:00")),
        Interval::new(at("2025-01-13 12:00"), at("2025-01-13 17:00")),
    ];
    assert_eq!(blocks(&plan(&input)), ["a Mon 09:00–10:00", "a Mon 11:00–11:30"]);
}

#[test]
fn no_part_is_shorter_than_the_minimum_unless_the_whole_task_is() {
    let mut input = week(vec![task("a", 130), task("tiny", 10)]);
    input.busy = vec![Interval::new(at("2025-01-13 11:00"), at("2025-01-13 17:00"))];
    let plan = plan(&input);
    let a: Vec<i64> =
        plan.placements.iter().filter(|p| p.task_id == "a").map(|p| (p.end_ms - p.start_ms) / MINUTE_MS).collect();
    assert_eq!(a.iter().sum::<i64>(), 130);
    assert!(a.iter().all(|m| *m >= 30), "{a:?}");
    let tiny: Vec<_> = plan.placements.iter().filter(|p| p.task_id == "tiny").collect();
    assert_eq!(tiny.len(), 1);
    assert_eq!(tiny[0].end_ms - tiny[0].start_ms, 10 * MINUTE_MS);
}

#[test]
fn a_task_that_cannot_fit_before_its_deadline_gets_nothing_and_leaves_the_time_to_others() {
    let plan = plan(&week(vec![due(task("big", 360), "2025-01-13 13:00"), task("small", 60)]));
    assert_eq!(
        unplaced(&plan),
        [(
            "big".to_owned(),
            "not enough free time before the deadline (needs 6 h before Mon 13 Jan 13:00, 4 h free)".to_owned()
        )]
    );
    assert_eq!(blocks(&plan), ["small Mon 09:00–10:00"]);
}

#[test]
fn every_part_ends_by_the_deadline() {
    let mut input = week(vec![due(task("a", 60), "2025-01-14 09:30")]);
    input.busy = vec![Interval::new(at("2025-01-13 09:00"), at("2025-01-13 17:00"))];
    let plan = plan(&input);
    assert!(plan.placements.is_empty());
    assert_eq!(
        unplaced(&plan)[0].1,
        "not enough free time before the deadline (needs 1 h before Tue 14 Jan 09:30, 30 min free)"
    );
}

#[test]
fn a_task_waits_until_it_may_start() {
    let mut t = task("a", 60);
    t.not_before_ms = Some(at("2025-01-14 13:10"));
    assert_eq!(blocks(&plan(&week(vec![t]))), ["a Tue 13:15–14:15"]);
}

#[test]
fn nothing_is_planned_before_now() {
    let mut input = week(vec![task("a", 60)]);
    input.now_ms = at("2025-01-15 12:01");
    assert_eq!(blocks(&plan(&input)), ["a Wed 12:15–13:15"]);
}

#[test]
fn high_energy_work_goes_to_peak_hours_and_low_energy_work_stays_out_of_them() {
    let mut input = week(vec![
        energy(due(task("deep", 60), "2025-01-15 17:00"), Energy::High),
        energy(task("email", 60), Energy::Low),
        task("misc", 60),
    ]);
    input.settings.peak = vec![(9 * 60, 11 * 60)];
    input.now_ms = at("2025-01-14 08:00");
    let plan = plan(&input);
    assert_eq!(blocks(&plan), ["deep Tue 09:00–10:00", "misc Tue 10:00–11:00", "email Tue 11:00–12:00"]);
    assert_eq!(
        reasons(&plan),
        [
            "Tue 14 Jan 09:00: due Wed 15 Jan 17:00, high energy in peak hours",
            "Tue 14 Jan 10:00: no deadline, earliest free time",
            "Tue 14 Jan 11:00: no deadline, low energy outside peak hours",
        ]
    );
}

#[test]
fn high_energy_work_waits_for_peak_hours_later_in_the_week() {
    let mut input = week(vec![energy(task("deep", 60), Energy::High)]);
    input.settings.peak = vec![(14 * 60, 16 * 60)];
    input.busy = vec![Interval::new(at("2025-01-13 14:00"), at("2025-01-13 16:00"))];
    assert_eq!(blocks(&plan(&input)), ["deep Tue 14:00–15:00"]);
}

#[test]
fn preference_for_peak_hours_never_makes_a_task_miss_its_deadline() {
    let mut input = week(vec![energy(due(task("deep", 60), "2025-01-13 11:00"), Energy::High)]);
    input.settings.peak = vec![(14 * 60, 16 * 60)];
    let plan = plan(&input);
    assert_eq!(blocks(&plan), ["deep Mon 09:00–10:00"]);
    assert_eq!(reasons(&plan), ["Mon 13 Jan 09:00: due Mon 13 Jan 11:00, high energy, no peak hours free in time"]);
}

#[test]
fn peak_hours_may_run_over_midnight() {
    let mut input = week(vec![energy(task("night", 60), Energy::High)]);
    input.working_hours = Schedule::from_input(&ScheduleInput {
        timezone: "Europe/Berlin".into(),
        rules: (1..=7).map(|weekday| RuleInput { weekday, start: "00:00".into(), end: "24:00".into() }).collect(),
        overrides: vec![],
    })
    .expect("schedule");
    input.settings.peak = vec![(22 * 60, 2 * 60)];
    input.now_ms = at("2025-01-13 03:00");
    assert_eq!(blocks(&plan(&input)), ["night Mon 22:00–23:00"]);
}

#[test]
fn the_gap_is_kept_free_between_blocks_and_parts() {
    let mut input = week(vec![task("a", 60), task("b", 60), task("long", 180)]);
    input.settings.gap_min = 15;
    input.settings.max_chunk_min = 90;
    let plan = plan(&input);
    assert_eq!(
        blocks(&plan),
        ["long Mon 09:00–10:30", "long Mon 10:45–12:15", "a Mon 12:30–13:30", "b Mon 13:45–14:45"]
    );
}

#[test]
fn blocks_never_overlap_each_other() {
    let tasks = (0..40).map(|i| task(&format!("t{i:02}"), 20 + (i * 37) % 200)).collect();
    let mut input = week(tasks);
    input.busy = (0..5)
        .map(|d| Interval::new(at("2025-01-13 12:00") + d * DAY_MS, at("2025-01-13 13:00") + d * DAY_MS))
        .collect();
    let plan = plan(&input);
    let mut all: Vec<(i64, i64)> = plan.placements.iter().map(|p| (p.start_ms, p.end_ms)).collect();
    all.extend(input.busy.iter().map(|b| (b.start, b.end)));
    all.sort_unstable();
    assert!(all.windows(2).all(|w| w[0].1 <= w[1].0));
}

#[test]
fn unplaced_tasks_say_plainly_why() {
    let mut input = week(vec![
        task("zero", 0),
        task("huge", 25 * 60),
        due(task("late", 60), "2025-01-12 17:00"),
        due(task("now", 60), "2025-01-13 00:00"),
    ]);
    let mut after = task("after", 60);
    after.not_before_ms = Some(at("2025-01-20 09:00"));
    input.tasks.push(after);
    let plan = plan(&input);
    let mut got = unplaced(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            ("after".to_owned(), "starts after the window".to_owned()),
            ("huge".to_owned(), "estimate over 24 h (split it into smaller tasks)".to_owned()),
            ("late".to_owned(), "deadline already passed".to_owned()),
            ("now".to_owned(), "deadline already passed".to_owned()),
            ("zero".to_owned(), "no estimate".to_owned()),
        ]
    );
    assert!(plan.placements.is_empty());
}

#[test]
fn a_task_without_deadline_that_does_not_fit_the_window_says_so() {
    let plan = plan(&week(vec![task("a", 24 * 60), task("b", 24 * 60)]));
    assert_eq!(blocks(&plan).len(), 12);
    assert_eq!(
        unplaced(&plan),
        [("b".to_owned(), "not enough free time in the window (needs 24 h, 16 h free)".to_owned())]
    );
}

#[test]
fn an_empty_schedule_or_an_empty_window_plans_nothing() {
    let mut empty = week(vec![task("a", 60)]);
    empty.working_hours.weekly = Default::default();
    let mut backwards = week(vec![task("a", 60)]);
    backwards.to_ms = backwards.from_ms;
    let mut past = week(vec![task("a", 60)]);
    past.now_ms = past.to_ms + DAY_MS;
    for input in [empty, backwards, past] {
        let plan = plan(&input);
        assert!(plan.placements.is_empty());
        assert_eq!(unplaced(&plan), [("a".to_owned(), "no working hours in the window".to_owned())]);
    }
}

#[test]
fn the_plan_does_not_depend_on_the_order_of_the_tasks() {
    let tasks: Vec<PlanTask> = (0..30)
        .map(|i| {
            let mut t = task(&format!("t{}", i % 7), 15 + (i * 53) % 300);
            t.priority = (i % 5) as u8;
            t.energy = [Energy::Low, Energy::Medium, Energy::High][i as usize % 3];
            if i % 4 == 0 {
                t.due_ms = Some(at("2025-01-15 12:00") + i64::from(i) * 3_600_000);
            }
            t
        })
        .collect();
    let mut input = week(tasks);
    input.settings.peak = vec![(600, 720)];
    let first = plan(&input);
    input.tasks.reverse();
    assert_eq!(plan(&input), first);
    input.tasks.rotate_left(11);
    assert_eq!(plan(&input), first);
}

#[test]
fn blocks_start_on_the_local_grid_across_the_spring_forward_night() {
    let mut input = week(vec![task("a", 60)]);
    input.working_hours = Schedule::from_input(&ScheduleInput {
        timezone: "Europe/Berlin".into(),
        rules: vec![RuleInput { weekday: 7, start: "01:00".into(), end: "05:00".into() }],
        overrides: vec![],
    })
    .expect("schedule");
    input.from_ms = at("2025-03-30 00:00");
    input.now_ms = at("2025-03-30 01:50");
    input.to_ms = at("2025-03-31 00:00");
    let plan = plan(&input);
    // 01:50 → the next quarter hour, 02:00, does not exist: it is 03:00 CEST.
    assert_eq!(blocks(&plan), ["a Sun 03:00–04:00"]);
}

#[test]
fn ten_thousand_tasks_are_planned_without_trouble() {
    let tasks: Vec<PlanTask> = (0..10_000)
        .map(|i| {
            let mut t = task(&format!("t{i}"), (i * 7919) % 1500);
            if i % 3 == 0 {
                t.due_ms = Some(at("2025-01-13 09:00") + i64::from(i) * 60_000);
            }
            t
        })
        .collect();
    let mut input = week(tasks);
    input.to_ms = input.from_ms + 365 * DAY_MS;
    let plan = plan(&input);
    let mut ids: Vec<&str> = plan.unplaced.iter().map(|u| u.task_id.as_str()).collect();
    ids.extend(plan.placements.iter().map(|p| p.task_id.as_str()));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10_000);
}

#[test]
fn settings_out_of_range_do_not_break_the_plan() {
    let mut input = week(vec![task("a", 100), task("b", 7)]);
    input.settings = PlanSettings {
        granularity_min: 0,
        min_chunk_min: 5000,
        max_chunk_min: 0,
        peak: vec![(5000, 9000), (600, 600)],
        gap_min: u32::MAX,
    };
    let plan = plan(&input);
    let mut ids: Vec<&str> = plan.placements.iter().map(|p| p.task_id.as_str()).collect();
    ids.extend(plan.unplaced.iter().map(|u| u.task_id.as_str()));
    ids.dedup();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, ["a", "b"]);
    for p in &plan.placements {
        assert!(p.end_ms > p.start_ms);
    }
}

#[test]
fn input_and_plan_travel_as_json() {
    let mut input = week(vec![energy(due(task("a", 90), "2025-01-14 17:00"), Energy::High)]);
    input.settings.peak = vec![(540, 660)];
    let json = serde_json::to_string(&input).expect("serialise");
    assert!(json.contains("\"energy\":\"high\""), "{json}");
    assert!(json.contains("\"timezone\":\"Europe/Berlin\""), "{json}");
    let back: PlanInput = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, input);
    let plan = plan(&back);
    let again: Plan = serde_json::from_str(&serde_json::to_string(&plan).expect("serialise")).expect("parse");
    assert_eq!(again, plan);
    let minimal: PlanInput = serde_json::from_str(
        r#"{"working_hours":{"timezone":"UTC"},"now_ms":0,"from_ms":0,"to_ms":1,
            "tasks":[{"id":"x","title":"X","estimate_minutes":30,"energy":"low","priority":1}]}"#,
    )
    .expect("defaults fill in");
    assert_eq!(minimal.settings, PlanSettings::default());
}

#[test]
fn free_time_in_gaps_too_short_for_a_block_is_named_apart() {
    let mut input = week(vec![task("a", 60)]);
    input.to_ms = at("2025-01-14 00:00");
    input.busy = vec![Interval::new(at("2025-01-13 09:20"), at("2025-01-13 17:00"))];
    assert_eq!(
        unplaced(&plan(&input))[0].1,
        "not enough free time in the window (needs 1 h, 0 min free, plus 20 min in gaps under 30 min)"
    );
}

#[test]
fn free_time_that_no_allowed_split_fits_is_explained() {
    let mut input = week(vec![task("a", 50)]);
    input.to_ms = at("2025-01-14 00:00");
    input.busy = vec![
        Interval::new(at("2025-01-13 09:35"), at("2025-01-13 10:00")),
        Interval::new(at("2025-01-13 10:35"), at("2025-01-13 17:00")),
    ];
    assert_eq!(
        unplaced(&plan(&input))[0].1,
        "free time in the window (needs 50 min, 1 h 10 free) is in pieces that blocks of 30 min–2 h do not fit"
    );
}
