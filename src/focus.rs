//! Focus sessions (Pomodoro): the timer's rules. The timer lives on the server as a few
//! instants, so a reload or another device computes the same remaining time from them.
//!
//! # Rules
//!
//! - A session is a focus period, a short break or a long break, planned for a number of
//!   minutes. It is `running`, `paused`, `completed` or `abandoned`.
//! - Elapsed time is `now − started − time spent paused`; remaining is planned − elapsed,
//!   never below zero. A running session whose time is up is completed at the instant it ran
//!   out ([`FocusTimer::settle`]), whether or not anyone was looking.
//! - Pause only a running session, resume only a paused one; complete or abandon a running or
//!   paused one. A finished session cannot change again.
//! - After the `cycles`-th focus period in a row comes a long break, after the others a short
//!   break, and after any break a focus period ([`next_kind`]).

use serde::{Deserialize, Serialize};

/// What a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FocusKind {
    Focus,
    ShortBreak,
    LongBreak,
}

impl FocusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Focus => "focus",
            Self::ShortBreak => "short_break",
            Self::LongBreak => "long_break",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "focus" => Some(Self::Focus),
            "short_break" => Some(Self::ShortBreak),
            "long_break" => Some(Self::LongBreak),
            _ => None,
        }
    }

    /// How a person calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Focus => "Focus",
            Self::ShortBreak => "Short break",
            Self::LongBreak => "Long break",
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FocusState {
    Running,
    Paused,
    Completed,
    Abandoned,
}

impl FocusState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "running" => Some(Self::Running),
            "paused" => Some(Self::Paused),
            "completed" => Some(Self::Completed),
            "abandoned" => Some(Self::Abandoned),
            _ => None,
        }
    }

    /// Running or paused: the one session a person can have going at a time.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }
}

/// The lengths of a Pomodoro cycle, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct FocusSettings {
    pub focus_minutes: u32,
    pub short_break_minutes: u32,
    pub long_break_minutes: u32,
    /// Focus periods before a long break.
    pub cycles: u32,
}

impl Default for FocusSettings {
    fn default() -> Self {
        Self { focus_minutes: 25, short_break_minutes: 5, long_break_minutes: 15, cycles: 4 }
    }
}

/// The longest session, in minutes (4 hours).
pub const MAX_SESSION_MINUTES: u32 = 240;

impl FocusSettings {
    /// The planned minutes of a session of this kind.
    pub fn minutes(&self, kind: FocusKind) -> u32 {
        match kind {
            FocusKind::Focus => self.focus_minutes,
            FocusKind::ShortBreak => self.short_break_minutes,
            FocusKind::LongBreak => self.long_break_minutes,
        }
    }

    /// Checks each length (1–240 minutes) and the cycle count (1–12).
    pub fn validate(&self) -> Result<(), Vec<crate::FieldError>> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("focus_minutes", self.focus_minutes),
            ("short_break_minutes", self.short_break_minutes),
            ("long_break_minutes", self.long_break_minutes),
        ] {
            if !(1..=MAX_SESSION_MINUTES).contains(&value) {
                errors.push(crate::FieldError::new(field, format!("Choose 1 to {MAX_SESSION_MINUTES} minutes.")));
            }
        }
        if !(1..=12).contains(&self.cycles) {
            errors.push(crate::FieldError::new("cycles", "Choose 1 to 12 focus periods before a long break."));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// What comes after a finished session of `kind`, given how many focus periods were
/// completed in a row (including this one) since the last long break.
pub fn next_kind(kind: FocusKind, focus_in_a_row: u32, settings: &FocusSettings) -> FocusKind {
    match kind {
        FocusKind::Focus
            if settings.cycles > 0 && focus_in_a_row > 0 && focus_in_a_row.is_multiple_of(settings.cycles) =>
        {
            FocusKind::LongBreak
        }
        FocusKind::Focus => FocusKind::ShortBreak,
        FocusKind::ShortBreak | FocusKind::LongBreak => FocusKind::Focus,
    }
}

/// A change to a session that its state does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError(pub &'static str);

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The timer of one session: instants in UTC milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FocusTimer {
    pub kind: FocusKind,
    pub state: FocusState,
    pub planned_ms: i64,
    pub started_ms: i64,
    /// When the current pause began (paused sessions only).
    pub paused_at_ms: Option<i64>,
    /// Time spent in earlier pauses.
    pub paused_total_ms: i64,
    /// When it was completed or abandoned.
    pub ended_ms: Option<i64>,
}

impl FocusTimer {
    /// A session started now.
    pub fn start(kind: FocusKind, minutes: u32, now_ms: i64) -> Self {
        Self {
            kind,
            state: FocusState::Running,
            planned_ms: i64::from(minutes.min(MAX_SESSION_MINUTES)) * 60_000,
            started_ms: now_ms,
            paused_at_ms: None,
            paused_total_ms: 0,
            ended_ms: None,
        }
    }

    /// Time spent in the session (pauses left out) up to `now`, or up to its end.
    pub fn elapsed_ms(&self, now_ms: i64) -> i64 {
        let until = match self.state {
            FocusState::Running => now_ms,
            FocusState::Paused => self.paused_at_ms.unwrap_or(now_ms),
            FocusState::Completed | FocusState::Abandoned => self.ended_ms.unwrap_or(now_ms),
        };
        (until - self.started_ms - self.paused_total_ms).clamp(0, self.planned_ms.max(0))
    }

    pub fn remaining_ms(&self, now_ms: i64) -> i64 {
        (self.planned_ms - self.elapsed_ms(now_ms)).max(0)
    }

    /// Completes a running session whose time ran out, at the instant it ran out. Returns
    /// whether it changed.
    pub fn settle(&mut self, now_ms: i64) -> bool {
        if self.state == FocusState::Running && self.remaining_ms(now_ms) == 0 {
            self.state = FocusState::Completed;
            self.ended_ms = Some(self.started_ms + self.paused_total_ms + self.planned_ms);
            return true;
        }
        false
    }

    pub fn pause(&mut self, now_ms: i64) -> Result<(), TransitionError> {
        self.settle(now_ms);
        match self.state {
            FocusState::Running => {
                self.state = FocusState::Paused;
                self.paused_at_ms = Some(now_ms.max(self.started_ms));
                Ok(())
            }
            FocusState::Paused => Err(TransitionError("This session is already paused.")),
            _ => Err(TransitionError("This session has ended.")),
        }
    }

    pub fn resume(&mut self, now_ms: i64) -> Result<(), TransitionError> {
        match (self.state, self.paused_at_ms) {
            (FocusState::Paused, Some(paused_at)) => {
                self.paused_total_ms += (now_ms - paused_at).max(0);
                self.paused_at_ms = None;
                self.state = FocusState::Running;
                Ok(())
            }
            (FocusState::Running, _) => Err(TransitionError("This session is already running.")),
            _ => Err(TransitionError("This session has ended.")),
        }
    }

    /// Ends the session as done (early is fine: the minutes spent count).
    pub fn complete(&mut self, now_ms: i64) -> Result<(), TransitionError> {
        self.finish(now_ms, FocusState::Completed)
    }

    /// Ends the session without counting it as done.
    pub fn abandon(&mut self, now_ms: i64) -> Result<(), TransitionError> {
        self.finish(now_ms, FocusState::Abandoned)
    }

    fn finish(&mut self, now_ms: i64, state: FocusState) -> Result<(), TransitionError> {
        if self.settle(now_ms) && state == FocusState::Completed {
            return Ok(());
        }
        match self.state {
            FocusState::Running | FocusState::Paused => {
                let end = match self.paused_at_ms.take() {
                    Some(paused_at) => {
                        self.paused_total_ms += (now_ms - paused_at).max(0);
                        now_ms
                    }
                    None => now_ms,
                };
                self.state = state;
                self.ended_ms = Some(end.max(self.started_ms));
                Ok(())
            }
            _ => Err(TransitionError("This session has ended.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn remaining_time_counts_down_and_pauses_stop_the_clock() {
        let mut timer = FocusTimer::start(FocusKind::Focus, 25, 0);
        assert_eq!(timer.remaining_ms(10 * MIN), 15 * MIN);
        timer.pause(10 * MIN).unwrap();
        assert_eq!(timer.remaining_ms(40 * MIN), 15 * MIN, "a paused timer does not run");
        timer.resume(40 * MIN).unwrap();
        assert_eq!(timer.remaining_ms(45 * MIN), 10 * MIN);
        assert_eq!(timer.elapsed_ms(45 * MIN), 15 * MIN);
    }

    #[test]
    fn a_session_whose_time_ran_out_is_completed_when_it_ran_out() {
        let mut timer = FocusTimer::start(FocusKind::Focus, 25, 0);
        timer.pause(5 * MIN).unwrap();
        timer.resume(8 * MIN).unwrap();
        assert!(timer.settle(100 * MIN));
        assert_eq!(timer.state, FocusState::Completed);
        assert_eq!(timer.ended_ms, Some(28 * MIN));
        assert_eq!(timer.elapsed_ms(200 * MIN), 25 * MIN);
        assert!(!timer.settle(200 * MIN), "settling twice changes nothing");
    }

    #[test]
    fn pausing_a_session_that_already_ran_out_completes_it_instead() {
        let mut timer = FocusTimer::start(FocusKind::ShortBreak, 5, 0);
        assert!(timer.pause(6 * MIN).is_err());
        assert_eq!(timer.state, FocusState::Completed);
    }

    #[test]
    fn finished_sessions_cannot_change() {
        let mut timer = FocusTimer::start(FocusKind::Focus, 25, 0);
        timer.abandon(3 * MIN).unwrap();
        assert_eq!(timer.elapsed_ms(10 * MIN), 3 * MIN);
        assert!(timer.resume(4 * MIN).is_err());
        assert!(timer.pause(4 * MIN).is_err());
        assert!(timer.complete(4 * MIN).is_err());
        assert!(timer.abandon(4 * MIN).is_err());
    }

    #[test]
    fn completing_a_paused_session_counts_only_the_time_before_the_pause() {
        let mut timer = FocusTimer::start(FocusKind::Focus, 25, 0);
        timer.pause(12 * MIN).unwrap();
        timer.complete(20 * MIN).unwrap();
        assert_eq!(timer.elapsed_ms(30 * MIN), 12 * MIN);
        assert_eq!(timer.state, FocusState::Completed);
    }

    #[test]
    fn resuming_twice_or_pausing_twice_is_refused() {
        let mut timer = FocusTimer::start(FocusKind::Focus, 25, 0);
        assert!(timer.resume(1).is_err());
        timer.pause(2).unwrap();
        assert!(timer.pause(3).is_err());
    }

    #[test]
    fn every_fourth_focus_period_is_followed_by_a_long_break() {
        let settings = FocusSettings::default();
        let after: Vec<FocusKind> = (1..=8).map(|n| next_kind(FocusKind::Focus, n, &settings)).collect();
        assert_eq!(after[3], FocusKind::LongBreak);
        assert_eq!(after[7], FocusKind::LongBreak);
        assert_eq!(after.iter().filter(|k| **k == FocusKind::ShortBreak).count(), 6);
        assert_eq!(next_kind(FocusKind::LongBreak, 4, &settings), FocusKind::Focus);
        assert_eq!(next_kind(FocusKind::ShortBreak, 1, &settings), FocusKind::Focus);
    }

    #[test]
    fn settings_outside_their_ranges_name_the_field() {
        let settings = FocusSettings { focus_minutes: 0, short_break_minutes: 5, long_break_minutes: 500, cycles: 0 };
        let fields: Vec<String> = settings.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["focus_minutes", "long_break_minutes", "cycles"]);
        assert!(FocusSettings::default().validate().is_ok());
    }

    #[test]
    fn clock_skew_never_makes_time_negative() {
        let timer = FocusTimer::start(FocusKind::Focus, 25, 10 * MIN);
        assert_eq!(timer.elapsed_ms(0), 0);
        assert_eq!(timer.remaining_ms(0), 25 * MIN);
    }
}
