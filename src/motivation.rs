//! Motivation that never punishes: experience points and levels, a daily streak that
//! forgives missed days with freeze days, achievements with progress, and a companion that
//! grows with the best streak (so it never shrinks).
//!
//! # Rules
//!
//! - **XP.** A micro-step done is worth [`XP_STEP`], a task done [`XP_TASK`], a completed focus
//!   session one point per focused minute. Undoing a step keeps what it earned; doing it again
//!   earns nothing more (the server records one award per thing).
//! - **Levels.** Level `n` starts at `50·n·(n−1)` XP: level 2 at 100, 3 at 300, 4 at 600…
//! - **Streak.** A day counts when something earned XP on it (the user's local day). The
//!   streak is the number of such days in the current run. A missed day in the middle of a run
//!   spends a freeze day instead of ending the run; with no freeze left, the run ends. Today
//!   never breaks a streak (the day is not over). A run starts with [`StreakRules::initial_freezes`]
//!   freeze days and earns one more every [`StreakRules::earn_every`] counted days, holding at
//!   most [`StreakRules::max_freezes`].

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

pub const XP_STEP: i64 = 5;
pub const XP_TASK: i64 = 20;

/// XP for a completed focus session of this many whole minutes.
pub fn focus_xp(minutes: i64) -> i64 {
    minutes.clamp(0, 240)
}

/// A level and how far into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Level {
    pub level: u32,
    /// XP earned since this level began.
    pub into_level: i64,
    /// XP this level takes in all (to reach the next one).
    pub level_size: i64,
}

fn level_start(level: u32) -> i64 {
    let n = i64::from(level);
    50 * n * (n - 1)
}

pub fn level(xp: i64) -> Level {
    let xp = xp.max(0);
    let mut level = 1u32;
    while level < 10_000 && level_start(level + 1) <= xp {
        level += 1;
    }
    Level { level, into_level: xp - level_start(level), level_size: level_start(level + 1) - level_start(level) }
}

/// How forgiving the streak is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakRules {
    pub initial_freezes: u32,
    pub earn_every: u32,
    pub max_freezes: u32,
}

impl Default for StreakRules {
    fn default() -> Self {
        Self { initial_freezes: 1, earn_every: 7, max_freezes: 3 }
    }
}

/// The streak as of today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Streak {
    /// Counted days in the current run.
    pub current: u32,
    pub longest: u32,
    /// Freeze days left to spend.
    pub freezes: u32,
    /// Missed days a freeze covered in the current run.
    pub frozen_days: Vec<NaiveDate>,
    pub active_today: bool,
}

/// Walks from the first active day to `today`. Days after `today` are ignored.
pub fn streak(active_days: &BTreeSet<NaiveDate>, today: NaiveDate, rules: &StreakRules) -> Streak {
    let mut out = Streak { current: 0, longest: 0, freezes: 0, frozen_days: Vec::new(), active_today: false };
    let Some(first) = active_days.iter().next().copied() else {
        return out;
    };
    if first > today {
        return out;
    }
    let every = rules.earn_every.max(1);
    let mut day = first;
    while day <= today {
        if active_days.contains(&day) {
            if out.current == 0 {
                out.freezes = rules.initial_freezes.min(rules.max_freezes);
                out.frozen_days.clear();
            }
            out.current += 1;
            if out.current.is_multiple_of(every) {
                out.freezes = (out.freezes + 1).min(rules.max_freezes);
            }
            out.longest = out.longest.max(out.current);
        } else if day < today && out.current > 0 {
            if out.freezes > 0 {
                out.freezes -= 1;
                out.frozen_days.push(day);
            } else {
                out.current = 0;
                out.freezes = 0;
                out.frozen_days.clear();
            }
        }
        day += Duration::days(1);
    }
    out.active_today = active_days.contains(&today);
    out
}

/// What the achievements are measured on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub steps_done: i64,
    pub tasks_done: i64,
    pub focus_sessions: i64,
    pub focus_minutes: i64,
    pub longest_streak: i64,
    pub tasks_planned: i64,
}

/// One achievement and how close it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Achievement {
    pub id: String,
    pub title: String,
    pub description: String,
    pub progress: i64,
    pub goal: i64,
    pub earned: bool,
}

pub fn achievements(tally: &Tally) -> Vec<Achievement> {
    let list: [(&str, &str, &str, i64, i64); 9] = [
        ("first-step", "First step", "Finish one micro-step.", tally.steps_done, 1),
        ("step-by-step", "Step by step", "Finish 50 micro-steps.", tally.steps_done, 50),
        ("done", "Done!", "Finish a task.", tally.tasks_done, 1),
        ("finisher", "Finisher", "Finish 25 tasks.", tally.tasks_done, 25),
        ("first-focus", "In the zone", "Complete a focus session.", tally.focus_sessions, 1),
        ("focus-hours", "Deep work", "Focus for 10 hours in all.", tally.focus_minutes, 600),
        ("three-days", "Warming up", "Reach a 3-day streak.", tally.longest_streak, 3),
        ("week-streak", "A whole week", "Reach a 7-day streak.", tally.longest_streak, 7),
        ("planner", "Planner", "Place 10 tasks on your calendar.", tally.tasks_planned, 10),
    ];
    list.into_iter()
        .map(|(id, title, description, progress, goal)| Achievement {
            id: id.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            progress: progress.clamp(0, goal),
            goal,
            earned: progress >= goal,
        })
        .collect()
}

/// The companion's stage, from the longest streak ever (so a lost streak never shrinks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Companion {
    pub stage: u32,
    pub name: String,
    /// Longest streak needed for the next stage (`None` at the last).
    pub next_at: Option<u32>,
}

const STAGES: [(u32, &str); 6] =
    [(0, "Seed"), (1, "Sprout"), (3, "Seedling"), (7, "Sapling"), (14, "Young tree"), (30, "Blossoming tree")];

pub fn companion(longest_streak: u32) -> Companion {
    let stage = STAGES.iter().rposition(|(from, _)| longest_streak >= *from).unwrap_or(0);
    Companion {
        stage: stage as u32,
        name: STAGES[stage].1.to_owned(),
        next_at: STAGES.get(stage + 1).map(|(from, _)| *from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2030, 1, 1).unwrap() + Duration::days(i64::from(day) - 1)
    }

    fn days(list: &[u32]) -> BTreeSet<NaiveDate> {
        list.iter().map(|n| d(*n)).collect()
    }

    #[test]
    fn levels_grow_by_a_hundred_more_each_time() {
        assert_eq!(level(0), Level { level: 1, into_level: 0, level_size: 100 });
        assert_eq!(level(99).level, 1);
        assert_eq!(level(100), Level { level: 2, into_level: 0, level_size: 200 });
        assert_eq!(level(350), Level { level: 3, into_level: 50, level_size: 300 });
        assert_eq!(level(-5).level, 1);
        assert!(level(i64::MAX).level <= 10_000);
    }

    #[test]
    fn consecutive_days_make_a_streak_and_today_does_not_break_it() {
        let s = streak(&days(&[1, 2, 3]), d(4), &StreakRules::default());
        assert_eq!((s.current, s.longest, s.active_today), (3, 3, false));
        let s = streak(&days(&[1, 2, 3, 4]), d(4), &StreakRules::default());
        assert_eq!((s.current, s.active_today), (4, true));
    }

    #[test]
    fn one_missed_day_spends_a_freeze_instead_of_ending_the_streak() {
        let s = streak(&days(&[1, 2, 4, 5]), d(5), &StreakRules::default());
        assert_eq!(s.current, 4);
        assert_eq!(s.frozen_days, vec![d(3)]);
        assert_eq!(s.freezes, 0);
    }

    #[test]
    fn with_no_freeze_left_a_missed_day_ends_the_run_but_not_the_record() {
        let s = streak(&days(&[1, 2, 4, 6, 7]), d(7), &StreakRules::default());
        assert_eq!(s.current, 2, "day 3 spent the freeze, day 5 ended the run");
        assert_eq!(s.longest, 3);
    }

    #[test]
    fn a_week_of_days_earns_another_freeze() {
        let s = streak(&days(&[1, 2, 3, 4, 5, 6, 7]), d(7), &StreakRules::default());
        assert_eq!(s.freezes, 2);
        let s = streak(&days(&[1, 2, 3, 4, 5, 6, 7, 10]), d(10), &StreakRules::default());
        assert_eq!(s.current, 8, "two missed days, two freezes");
        assert_eq!(s.frozen_days, vec![d(8), d(9)]);
    }

    #[test]
    fn no_activity_means_no_streak_and_future_days_are_ignored() {
        assert_eq!(streak(&BTreeSet::new(), d(1), &StreakRules::default()).current, 0);
        assert_eq!(streak(&days(&[5]), d(1), &StreakRules::default()).current, 0);
        let s = streak(&days(&[1, 9]), d(2), &StreakRules::default());
        assert_eq!((s.current, s.active_today), (1, false));
    }

    #[test]
    fn a_long_gap_ends_the_streak() {
        let s = streak(&days(&[1, 2, 3]), d(10), &StreakRules::default());
        assert_eq!(s.current, 0);
        assert_eq!(s.longest, 3);
    }

    #[test]
    fn achievements_report_progress_up_to_their_goal() {
        let tally = Tally { steps_done: 3, tasks_done: 1, longest_streak: 5, ..Tally::default() };
        let list = achievements(&tally);
        let first_step = list.iter().find(|a| a.id == "first-step").unwrap();
        assert!(first_step.earned);
        assert_eq!(first_step.progress, 1);
        let week = list.iter().find(|a| a.id == "week-streak").unwrap();
        assert_eq!((week.progress, week.goal, week.earned), (5, 7, false));
    }

    #[test]
    fn the_companion_grows_with_the_best_streak() {
        assert_eq!(companion(0).name, "Seed");
        assert_eq!(companion(1).stage, 1);
        assert_eq!(companion(7).name, "Sapling");
        assert_eq!(companion(7).next_at, Some(14));
        assert_eq!(companion(400).next_at, None);
    }
}
