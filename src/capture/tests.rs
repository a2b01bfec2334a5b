use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use proptest::prelude::*;

use super::*;

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

fn t(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time")
}

fn day(text: &str) -> Option<When> {
    Some(When::Date(d(text)))
}

fn at(text: &str) -> Option<When> {
    Some(When::DateTime(t(text)))
}

/// Tuesday 15 January 2030, 10:30, weeks from Monday.
fn ctx() -> CaptureContext {
    CaptureContext { now: t("2030-01-15 10:30"), week_start: Weekday::Mon }
}

fn ctx_at(now: &str, week_start: Weekday) -> CaptureContext {
    CaptureContext { now: t(now), week_start }
}

/// A plain task: only a title.
fn task(title: &str) -> Captured {
    Captured {
        title: title.into(),
        do_at: None,
        due: None,
        estimate_minutes: None,
        priority: None,
        tags: vec![],
        zone: None,
        energy: None,
    }
}

fn on(title: &str, when: Option<When>) -> Captured {
    Captured { do_at: when, ..task(title) }
}

fn due(title: &str, when: Option<When>) -> Captured {
    Captured { due: when, ..task(title) }
}

fn takes(title: &str, minutes: u32) -> Captured {
    Captured { estimate_minutes: Some(minutes), ..task(title) }
}

fn prio(title: &str, priority: u8) -> Captured {
    Captured { priority: Some(priority), ..task(title) }
}

fn energy(title: &str, energy: Energy) -> Captured {
    Captured { energy: Some(energy), ..task(title) }
}

#[test]
fn a_table_of_typed_lines_reads_as_a_person_means_them() {
    let cases: Vec<(&str, Captured)> = vec![
        // Plain titles stay exactly as typed.
        ("Buy milk", task("Buy milk")),
        ("  Buy   oat   milk  ", task("Buy oat milk")),
        ("Invite 2 people", task("Invite 2 people")),
        ("Plan trip for 2", task("Plan trip for 2")),
        ("urgent: fix the boiler", task("urgent: fix the boiler")),
        ("Log in", task("Log in")),
        ("Meet at the station", task("Meet at the station")),
        ("Buy sun cream", task("Buy sun cream")),
        ("Email p5 group", task("Email p5 group")),
        ("Fix 31 feb bug", task("Fix 31 feb bug")),
        ("12 march 2020 retrospective", task("12 march 2020 retrospective")),
        ("Read about #", task("Read about #")),
        ("Reply to bob@example.org", task("Reply to bob@example.org")),
        // Dates.
        ("Pay rent today", on("Pay rent", day("2030-01-15"))),
        ("Watch film tonight", on("Watch film", at("2030-01-15 20:00"))),
        ("Watch film tonight 10pm", on("Watch film", at("2030-01-15 22:00"))),
        ("Call mum tomorrow", on("Call mum", day("2030-01-16"))),
        ("Email Bob tmr", on("Email Bob", day("2030-01-16"))),
        ("Email Bob TMRW", on("Email Bob", day("2030-01-16"))),
        ("Review PR friday", on("Review PR", day("2030-01-18"))),
        ("Review PR Fri.", on("Review PR", day("2030-01-18"))),
        ("Review PR tue", on("Review PR", day("2030-01-22"))),
        ("Review PR next fri", on("Review PR", day("2030-01-25"))),
        ("Review PR this fri", on("Review PR", day("2030-01-18"))),
        ("Brunch on sat", on("Brunch", day("2030-01-19"))),
        ("Clean garage this weekend", on("Clean garage", day("2030-01-19"))),
        ("Clean garage next weekend", on("Clean garage", day("2030-01-26"))),
        ("Plan sprint next week", on("Plan sprint", day("2030-01-21"))),
        ("Budget next month", on("Budget", day("2030-02-01"))),
        ("Water plants in 2 days", on("Water plants", day("2030-01-17"))),
        ("Dentist in 3 weeks", on("Dentist", day("2030-02-05"))),
        ("Renew passport in 1 month", on("Renew passport", day("2030-02-15"))),
        ("Renew passport in a month", on("Renew passport", day("2030-02-15"))),
        ("Call back in 2 hours", on("Call back", at("2030-01-15 12:30"))),
        ("Check the oven in 45 min", on("Check the oven", at("2030-01-15 11:15"))),
        ("Stretch in an hour", on("Stretch", at("2030-01-15 11:30"))),
        ("Stretch in 1h30m", on("Stretch", at("2030-01-15 12:00"))),
        ("Party on 12 march", on("Party", day("2030-03-12"))),
        ("Party 12 March", on("Party", day("2030-03-12"))),
        ("Party march 12", on("Party", day("2030-03-12"))),
        ("Party 12th mar", on("Party", day("2030-03-12"))),
        ("Conference 12 mar 2031", on("Conference", day("2031-03-12"))),
        ("Conference march 12, 2031", on("Conference", day("2031-03-12"))),
        ("Deploy 2030-01-20", on("Deploy", day("2030-01-20"))),
        // A date without a year that has passed this year is next year's.
        ("New year plans 10 jan", on("New year plans", day("2031-01-10"))),
        ("Leap party 29 feb", on("Leap party", day("2032-02-29"))),
        // Times.
        ("Standup 3pm", on("Standup", at("2030-01-15 15:00"))),
        ("Standup 3:30pm", on("Standup", at("2030-01-15 15:30"))),
        ("Standup 3 pm", on("Standup", at("2030-01-15 15:00"))),
        ("Standup 15:00", on("Standup", at("2030-01-15 15:00"))),
        ("3pm call the bank", on("call the bank", at("2030-01-15 15:00"))),
        ("Gym at 9", on("Gym", at("2030-01-16 09:00"))),
        ("Gym at 9am tomorrow", on("Gym", at("2030-01-16 09:00"))),
        ("Gym tomorrow at 7", on("Gym", at("2030-01-16 07:00"))),
        ("Lunch with Ana noon", on("Lunch with Ana", at("2030-01-15 12:00"))),
        ("Backup midnight", on("Backup", at("2030-01-16 00:00"))),
        ("Run morning", on("Run", at("2030-01-16 09:00"))),
        ("Run friday morning", on("Run", at("2030-01-18 09:00"))),
        ("Read afternoon", on("Read", at("2030-01-15 14:00"))),
        ("Call dad this evening", on("Call dad", at("2030-01-15 19:00"))),
        ("Dinner at 8pm on friday", on("Dinner", at("2030-01-18 20:00"))),
        ("Book table for 2 at 8pm", on("Book table for 2", at("2030-01-15 20:00"))),
        ("Ship v2.0 on mar 3rd", on("Ship v2.0", day("2030-03-03"))),
        ("Train 5am-6am", task("Train 5am-6am")),
        ("Plan 2030-13-45", task("Plan 2030-13-45")),
        ("Submit by 5pm", due("Submit", at("2030-01-15 17:00"))),
        ("tomorrow ring the vet 12pm", on("ring the vet", at("2030-01-16 12:00"))),
        // Deadlines.
        ("Report by friday", due("Report", day("2030-01-18"))),
        ("Taxes due tomorrow 5pm", due("Taxes", at("2030-01-16 17:00"))),
        ("Essay due 12 march", due("Essay", day("2030-03-12"))),
        ("Book flights before monday", due("Book flights", day("2030-01-21"))),
        ("Grant deadline 2030-01-31", due("Grant", day("2030-01-31"))),
        ("Stand by me", task("Stand by me")),
        (
            "Prep demo friday by monday",
            Captured { do_at: day("2030-01-18"), due: day("2030-01-21"), ..task("Prep demo") },
        ),
        // Estimates.
        ("Slides ~2h", takes("Slides", 120)),
        ("Slides ~45", takes("Slides", 45)),
        ("Walk for 1h", takes("Walk", 60)),
        ("Read for 45 min", takes("Read", 45)),
        ("Essay 1h30m", takes("Essay", 90)),
        ("Essay 2h 15m", takes("Essay", 135)),
        ("Essay 1.5h", takes("Essay", 90)),
        ("Workshop prep 90 min", takes("Workshop prep", 90)),
        ("Garden 2 hours", takes("Garden", 120)),
        ("Marathon training ~30h", takes("Marathon training", 1440)),
        // Priority.
        ("Fix bug !1", prio("Fix bug", 1)),
        ("Fix bug p3", prio("Fix bug", 3)),
        ("Fix bug !!!", prio("Fix bug", 1)),
        ("Fix bug !!", prio("Fix bug", 2)),
        ("Fix bug !4 p1", prio("Fix bug p1", 4)),
        // Tags and zones.
        (
            "Sort photos #home #Deep-Work #home",
            Captured { tags: vec!["home".into(), "deep-work".into()], ..task("Sort photos") },
        ),
        ("Meeting @work @home", Captured { zone: Some("work".into()), ..task("Meeting @home") }),
        ("Buy milk at @shop", Captured { zone: Some("shop".into()), ..task("Buy milk") }),
        // Energy.
        ("Filing low energy", energy("Filing", Energy::Low)),
        ("Filing medium energy", energy("Filing", Energy::Medium)),
        ("Taxes energy:high", energy("Taxes", Energy::High)),
        ("Inbox zero ⚡", energy("Inbox zero", Energy::High)),
        ("Run low-energy", energy("Run", Energy::Low)),
        ("High tide walk", task("High tide walk")),
        // Everything at once.
        (
            "Call mum tomorrow 3pm ~30m !2 #family @home low energy",
            Captured {
                title: "Call mum".into(),
                do_at: at("2030-01-16 15:00"),
                due: None,
                estimate_minutes: Some(30),
                priority: Some(2),
                tags: vec!["family".into()],
                zone: Some("home".into()),
                energy: Some(Energy::Low),
            },
        ),
        (
            "Write grant proposal by 2030-02-01 next mon for 2h p1 #work #writing @office high energy",
            Captured {
                title: "Write grant proposal".into(),
                do_at: day("2030-01-21"),
                due: day("2030-02-01"),
                estimate_minutes: Some(120),
                priority: Some(1),
                tags: vec!["work".into(), "writing".into()],
                zone: Some("office".into()),
                energy: Some(Energy::High),
            },
        ),
        // When everything is recognised, the line is the title.
        ("tomorrow", on("tomorrow", day("2030-01-16"))),
        ("#errand !1", Captured { tags: vec!["errand".into()], ..prio("#errand !1", 1) }),
        // The first date wins; a second stays in the title.
        ("Move call from monday to tuesday", on("Move call from to tuesday", day("2030-01-21"))),
    ];
    assert!(cases.len() >= 40);
    for (line, expected) in &cases {
        assert_eq!(&parse_line(line, &ctx()), expected, "line: {line:?}");
    }
}

#[test]
fn an_event_line_gives_its_title_day_time_and_length_apart() {
    let ctx = ctx();
    let read = |line: &str| parse_event_line(line, &ctx);
    let tomorrow = ctx.now.date().succ_opt();
    let time = |text: &str| NaiveTime::parse_from_str(text, "%H:%M").ok();
    assert_eq!(
        read("lunch with Sam tomorrow 12:30 for 1h"),
        EventLine { title: "lunch with Sam".into(), date: tomorrow, time: time("12:30"), minutes: Some(60) }
    );
    // A time alone keeps no day: the caller places it on the day the person chose.
    assert_eq!(
        read("Dentist at 3pm"),
        EventLine { title: "Dentist".into(), date: None, time: time("15:00"), minutes: None }
    );
    assert_eq!(read("Standup 15m").minutes, Some(15));
    assert_eq!(read("Trip 12 march 2031").date, NaiveDate::from_ymd_opt(2031, 3, 12));
    // Placed: the clicked slot gives what the line leaves out.
    let (slot_start, slot_end) = (t("2030-01-18 09:00"), t("2030-01-18 09:30"));
    assert_eq!(read("Dentist at 3pm").place(slot_start, slot_end), (t("2030-01-18 15:00"), t("2030-01-18 15:30")));
    assert_eq!(
        read("lunch tomorrow for 1h").place(slot_start, slot_end),
        (t("2030-01-16 09:00"), t("2030-01-16 10:00"))
    );
    assert_eq!(
        read("Late call 23:30 for 1h").place(slot_start, slot_end),
        (t("2030-01-18 23:30"), t("2030-01-19 00:30"))
    );
    assert_eq!(read("Nothing").place(slot_start, slot_start), (slot_start, t("2030-01-18 10:00")));
    // Nothing to read: all title.
    assert_eq!(
        read("Quarterly review"),
        EventLine { title: "Quarterly review".into(), date: None, time: None, minutes: None }
    );
}

#[test]
fn a_weekday_typed_on_that_weekday_means_next_week() {
    let friday = ctx_at("2030-01-18 09:00", Weekday::Mon);
    assert_eq!(parse_line("Review fri", &friday).do_at, day("2030-01-25"));
    assert_eq!(parse_line("Review next fri", &friday).do_at, day("2030-01-25"));
    assert_eq!(parse_line("Review this fri", &friday).do_at, day("2030-01-18"));
}

#[test]
fn next_weekday_is_that_day_of_the_following_week() {
    let monday = ctx_at("2030-01-14 09:00", Weekday::Mon);
    assert_eq!(parse_line("Review fri", &monday).do_at, day("2030-01-18"));
    assert_eq!(parse_line("Review next fri", &monday).do_at, day("2030-01-25"));
    assert_eq!(parse_line("Review next week", &monday).do_at, day("2030-01-21"));
    // Weeks from Sunday: on a Saturday, next week starts tomorrow.
    let saturday = ctx_at("2030-01-19 09:00", Weekday::Sun);
    assert_eq!(parse_line("Church next sun", &saturday).do_at, day("2030-01-20"));
    assert_eq!(parse_line("Church next sat", &saturday).do_at, day("2030-01-26"));
    assert_eq!(parse_line("Plan next week", &saturday).do_at, day("2030-01-20"));
    assert_eq!(parse_line("Garden this weekend", &saturday).do_at, day("2030-01-19"));
}

#[test]
fn dates_roll_over_into_the_next_month_and_year() {
    let new_years_eve = ctx_at("2030-12-31 22:00", Weekday::Mon);
    assert_eq!(parse_line("Brunch tomorrow", &new_years_eve).do_at, day("2031-01-01"));
    assert_eq!(parse_line("Call 9pm", &new_years_eve).do_at, at("2031-01-01 21:00"));
    assert_eq!(parse_line("Gym 5 jan", &new_years_eve).do_at, day("2031-01-05"));
    assert_eq!(parse_line("Gym 31 dec", &new_years_eve).do_at, day("2030-12-31"));
    assert_eq!(parse_line("Taxes in 1 month", &new_years_eve).do_at, day("2031-01-31"));
    assert_eq!(parse_line("Plan next week", &new_years_eve).do_at, day("2031-01-06"));
    assert_eq!(parse_line("Fireworks in 3 hours", &new_years_eve).do_at, at("2031-01-01 01:00"));
    let end_of_january = ctx_at("2032-01-31 08:00", Weekday::Mon);
    assert_eq!(parse_line("Rent in 1 month", &end_of_january).do_at, day("2032-02-29"));
}

#[test]
fn leap_day_without_a_year_is_the_next_one_that_exists() {
    let leap_day = ctx_at("2032-02-29 08:00", Weekday::Mon);
    assert_eq!(parse_line("Party 29 feb", &leap_day).do_at, day("2032-02-29"));
    let after = ctx_at("2032-03-01 08:00", Weekday::Mon);
    assert_eq!(parse_line("Party 29 feb", &after).do_at, day("2036-02-29"));
    assert_eq!(parse_line("Party 29 feb 2033", &after), task("Party 29 feb 2033"));
}

#[test]
fn a_time_that_has_passed_today_means_tomorrow() {
    let three = ctx_at("2030-01-15 15:00", Weekday::Mon);
    assert_eq!(parse_line("Call 3pm", &three).do_at, at("2030-01-16 15:00"));
    assert_eq!(parse_line("Call 3:01pm", &three).do_at, at("2030-01-15 15:01"));
    // A date given with the time is kept as typed.
    assert_eq!(parse_line("Call today 3pm", &three).do_at, at("2030-01-15 15:00"));
    // "tonight" is today even late in the evening.
    let late = ctx_at("2030-01-15 23:00", Weekday::Mon);
    assert_eq!(parse_line("Read tonight", &late).do_at, at("2030-01-15 20:00"));
}

#[test]
fn a_brain_dump_gives_one_task_per_non_empty_line() {
    let text = "Buy milk\n\n   \nCall mum tomorrow\r\n  Taxes by friday  \n";
    let tasks = parse_lines(text, &ctx());
    let titles: Vec<&str> = tasks.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Buy milk", "Call mum", "Taxes"]);
    assert_eq!(tasks[1].do_at, day("2030-01-16"));
    assert_eq!(tasks[2].due, day("2030-01-18"));
}

#[test]
fn a_huge_dump_is_cut_to_500_lines_of_1000_characters() {
    let text: String = (0..600).map(|i| format!("task {i}\n")).collect();
    let tasks = parse_lines(&text, &ctx());
    assert_eq!(tasks.len(), MAX_LINES);
    assert_eq!(tasks[499].title, "task 499");
    let long = "é".repeat(5000);
    assert_eq!(parse_line(&long, &ctx()).title.chars().count(), MAX_LINE_CHARS);
}

#[test]
fn captured_tasks_travel_as_json() {
    let captured = parse_line("Call mum tomorrow 3pm by friday ~30m !2 #family @home low energy", &ctx());
    let json = serde_json::to_value(&captured).expect("serialise");
    assert_eq!(json["do_at"], "2030-01-16T15:00:00");
    assert_eq!(json["due"], "2030-01-18");
    assert_eq!(json["energy"], "low");
    assert_eq!(json["tags"], serde_json::json!(["family"]));
    let back: Captured = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, captured);
    let ctx_json = serde_json::to_string(&ctx()).expect("context");
    assert_eq!(serde_json::from_str::<CaptureContext>(&ctx_json).expect("context back"), ctx());
}

#[test]
fn symbols_and_odd_unicode_never_break_the_parser() {
    for line in
        ["!!!!", "~", "~~", "#", "@", "⚡⚡", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ~ 🦀 #🦀", "at", "in in in", "99999999999h", "1.2.3h", "~.5h"]
    {
        let captured = parse_line(line, &ctx());
        assert!(!captured.title.is_empty(), "{line:?}");
    }
}

/// Words a user might type, recognisable or not, for dense random lines.
const VOCAB: &[&str] = &[
    "call",
    "mum",
    "today",
    "tonight",
    "tomorrow",
    "tmr",
    "fri",
    "friday",
    "sat",
    "sun",
    "next",
    "this",
    "weekend",
    "week",
    "month",
    "in",
    "2",
    "3",
    "a",
    "days",
    "weeks",
    "months",
    "on",
    "12",
    "31",
    "29",
    "feb",
    "march",
    "mar",
    "2031",
    "2020",
    "2030-01-15",
    "2029-12-31",
    "3pm",
    "3:30pm",
    "15:00",
    "at",
    "9",
    "am",
    "pm",
    "noon",
    "midnight",
    "morning",
    "evening",
    "by",
    "due",
    "before",
    "deadline",
    "~30m",
    "~",
    "for",
    "1h",
    "45",
    "min",
    "hours",
    "1h30m",
    "90",
    "!1",
    "!!",
    "!!!",
    "p2",
    "p9",
    "#home",
    "#deep-work",
    "@work",
    "@home",
    "low",
    "high",
    "energy",
    "energy:low",
    "⚡",
    "the",
    "to",
    "x",
];

fn any_ctx() -> impl Strategy<Value = CaptureContext> {
    (0i64..(200 * 365), 0u32..1440, 0usize..7).prop_map(|(days, minute, ws)| {
        let start = NaiveDate::from_ymd_opt(2000, 1, 1).expect("date").and_hms_opt(0, 0, 0).expect("time");
        CaptureContext {
            now: start + chrono::Duration::days(days) + chrono::Duration::minutes(i64::from(minute)),
            week_start: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ][ws],
        }
    })
}

fn dense_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..14).prop_map(|words| words.join(" "))
}

fn multiset_contains(all: &[&str], part: &[&str]) -> bool {
    let mut pool: Vec<&str> = all.to_vec();
    part.iter().all(|word| match pool.iter().position(|w| w == word) {
        Some(at) => {
            pool.swap_remove(at);
            true
        }
        None => false,
    })
}

proptest! {
    #[test]
    fn any_text_is_read_without_panicking(text in "\\PC{0,400}", ctx in any_ctx()) {
        let _ = parse_line(&text, &ctx);
        let _ = parse_lines(&text, &ctx);
    }

    #[test]
    fn the_same_line_reads_the_same_way_twice(line in dense_line(), ctx in any_ctx()) {
        prop_assert_eq!(parse_line(&line, &ctx), parse_line(&line, &ctx));
    }

    #[test]
    fn title_words_all_come_from_the_line(line in prop_oneof![dense_line(), "\\PC{0,200}"], ctx in any_ctx()) {
        let captured = parse_line(&line, &ctx);
        let input: Vec<&str> = line.split_whitespace().collect();
        let title: Vec<&str> = captured.title.split_whitespace().collect();
        prop_assert!(multiset_contains(&input, &title), "{:?} -> {:?}", line, captured.title);
    }

    #[test]
    fn a_line_with_nothing_to_recognise_is_all_title(
        words in prop::collection::vec("[bcfgjkqvxzBCFGJKQVXZ]{1,8}", 1..12),
        gaps in prop::collection::vec(" {1,3}", 12),
        ctx in any_ctx(),
    ) {
        let line: String = words.iter().zip(&gaps).map(|(w, g)| format!("{g}{w}")).collect();
        let captured = parse_line(&line, &ctx);
        prop_assert_eq!(captured, Captured { title: words.join(" "), ..task("") });
    }

    #[test]
    fn dates_are_never_before_today(line in dense_line(), ctx in any_ctx()) {
        let captured = parse_line(&line, &ctx);
        for when in [captured.do_at, captured.due].into_iter().flatten() {
            prop_assert!(when.date() >= ctx.now.date(), "{:?} -> {:?}", line, when);
        }
    }

    #[test]
    fn estimates_are_between_a_minute_and_a_day(line in dense_line(), ctx in any_ctx()) {
        if let Some(minutes) = parse_line(&line, &ctx).estimate_minutes {
            prop_assert!((1..=MAX_ESTIMATE_MINUTES).contains(&minutes), "{:?} -> {}", line, minutes);
        }
    }
}
