//! Notifications: which kinds exist, which channel each may use, a person's preferences,
//! quiet hours, and when a reminder of an occurrence falls due. Pure: storage and sending
//! are the server's.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::recurrence::local_to_utc;

/// What a notification is about. Its name is what preferences and unsubscribe links use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// An event's reminder (per occurrence of a series).
    EventReminder,
    /// A task's do-time arrived.
    TaskDue,
    /// A focus session or a break ended.
    FocusEnd,
    /// A booking was made, cancelled, rescheduled, or waits for approval.
    Booking,
    /// The morning email: today's events, bookings, top tasks and focus plan.
    DailyAgenda,
    /// The weekly email: what got done, focus minutes, streak.
    WeeklyReview,
}

/// How a notification reaches a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    /// Web Push to each device that subscribed.
    Push,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl NotifyKind {
    pub const ALL: [NotifyKind; 6] = [
        NotifyKind::EventReminder,
        NotifyKind::TaskDue,
        NotifyKind::FocusEnd,
        NotifyKind::Booking,
        NotifyKind::DailyAgenda,
        NotifyKind::WeeklyReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventReminder => "event_reminder",
            Self::TaskDue => "task_due",
            Self::FocusEnd => "focus_end",
            Self::Booking => "booking",
            Self::DailyAgenda => "daily_agenda",
            Self::WeeklyReview => "weekly_review",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// As the settings page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::EventReminder => "Event reminders",
            Self::TaskDue => "A task's do-time arrives",
            Self::FocusEnd => "A focus session or break ends",
            Self::Booking => "Bookings: new, cancelled, rescheduled, waiting for approval",
            Self::DailyAgenda => "Daily agenda",
            Self::WeeklyReview => "Weekly review",
        }
    }

    /// Whether this kind can go by `channel`: the digests are emails, a timer's end is of
    /// the moment (an email about it would come too late to matter).
    pub fn offers(self, channel: Channel) -> bool {
        !matches!(
            (self, channel),
            (Self::DailyAgenda | Self::WeeklyReview, Channel::Push) | (Self::FocusEnd, Channel::Email)
        )
    }

    /// A digest waits for quiet hours to end; anything else is of its moment and is not
    /// sent at all inside them (unless marked urgent).
    pub fn is_digest(self) -> bool {
        matches!(self, Self::DailyAgenda | Self::WeeklyReview)
    }

    /// What a new account gets: reminders everywhere, the moment-of kinds by push, digests
    /// by email (sent only once their time is chosen).
    pub fn default_choice(self) -> KindChoice {
        match self {
            Self::EventReminder => KindChoice { email: true, push: true, urgent: false },
            Self::TaskDue | Self::FocusEnd | Self::Booking => KindChoice { email: false, push: true, urgent: false },
            Self::DailyAgenda | Self::WeeklyReview => KindChoice { email: true, push: false, urgent: false },
        }
    }
}

/// One kind's channels, and whether it breaks through quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindChoice {
    pub email: bool,
    pub push: bool,
    #[serde(default)]
    pub urgent: bool,
}

impl KindChoice {
    pub fn wants(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email,
            Channel::Push => self.push,
        }
    }
}

/// Minutes after local midnight, 0..1440.
pub type DayMinute = u16;

/// A person's notification preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preferences {
    /// Per kind; a kind missing here has its [`NotifyKind::default_choice`].
    pub kinds: std::collections::BTreeMap<NotifyKind, KindChoice>,
    /// Quiet from `quiet_start` to `quiet_end` (wrapping midnight when start > end).
    pub quiet_start: Option<DayMinute>,
    pub quiet_end: Option<DayMinute>,
    /// When an all-day event's whole-day reminders go off ("1 day before at 09:00").
    pub all_day_at: DayMinute,
    /// When the daily agenda goes out; `None`: never.
    pub agenda_at: Option<DayMinute>,
    /// Send the agenda on a day with nothing in it too.
    pub agenda_when_empty: bool,
    /// The weekday of the weekly review (0 Monday … 6 Sunday); `None`: never.
    pub review_day: Option<u8>,
    pub review_at: DayMinute,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            kinds: Default::default(),
            quiet_start: None,
            quiet_end: None,
            all_day_at: 9 * 60,
            agenda_at: None,
            agenda_when_empty: false,
            review_day: None,
            review_at: 17 * 60,
        }
    }
}

impl Preferences {
    pub fn choice(&self, kind: NotifyKind) -> KindChoice {
        self.kinds.get(&kind).copied().unwrap_or_else(|| kind.default_choice())
    }

    /// Whether `kind` goes by `channel` (offered and chosen).
    pub fn wants(&self, kind: NotifyKind, channel: Channel) -> bool {
        kind.offers(channel) && self.choice(kind).wants(channel)
    }

    /// Whether `minute` (local) is inside the quiet hours.
    pub fn is_quiet(&self, minute: DayMinute) -> bool {
        match (self.quiet_start, self.quiet_end) {
            (Some(start), Some(end)) if start < end => (start..end).contains(&minute),
            (Some(start), Some(end)) if start > end => minute >= start || minute < end,
            _ => false,
        }
    }

    /// Whether a notification of `kind` at local `minute` is held back by quiet hours.
    pub fn holds(&self, kind: NotifyKind, minute: DayMinute) -> bool {
        !self.choice(kind).urgent && self.is_quiet(minute)
    }

    /// The first local instant at or after `local` outside the quiet hours (where a digest
    /// waits to).
    pub fn after_quiet(&self, local: NaiveDateTime) -> NaiveDateTime {
        let (Some(_), Some(end)) = (self.quiet_start, self.quiet_end) else { return local };
        if !self.is_quiet(minute_of(local)) {
            return local;
        }
        let end_time = clock(end);
        let today = local.date().and_time(end_time);
        if today > local { today } else { today + Duration::days(1) }
    }
}

/// The local minute of the day of `local`.
pub fn minute_of(local: NaiveDateTime) -> DayMinute {
    use chrono::Timelike;
    (local.hour() * 60 + local.minute()) as DayMinute
}

/// `minute` as a time of day.
pub fn clock(minute: DayMinute) -> NaiveTime {
    let minute = u32::from(minute.min(24 * 60 - 1));
    NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN)
}

/// A time of day as typed (`07:30`, `7:30 am`, `19h`) as a minute of the day.
pub fn parse_clock(text: &str) -> Option<DayMinute> {
    let time = crate::clock::parse_time_of_day(text)?;
    Some(minute_of(NaiveDate::MIN.and_time(time)))
}

/// `minute` as `HH:MM`.
pub fn clock_text(minute: DayMinute) -> String {
    clock(minute).format("%H:%M").to_string()
}

/// An occurrence as reminders see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A timed start, as a UTC instant in milliseconds.
    At(i64),
    /// A floating start: the same wall time in whatever zone the person is in.
    Floating(NaiveDateTime),
    /// An all-day occurrence's first day.
    AllDay(NaiveDate),
}

/// When the reminder `minutes` before an occurrence starting at `start` goes off, as UTC
/// milliseconds, for a person in `tz`. For an all-day occurrence a reminder of whole days
/// goes off at `all_day_at` local time that many days before (Google's "1 day before at
/// 09:00"); any other length counts back from the local midnight the day starts at
/// (Apple's `TRIGGER:-PT15H` is 09:00 the day before).
pub fn reminder_at(start: Start, minutes: u32, tz: Tz, all_day_at: DayMinute) -> i64 {
    let before = Duration::minutes(i64::from(minutes));
    match start {
        Start::At(ms) => ms - before.num_milliseconds(),
        Start::Floating(local) => local_to_utc(tz, local - before).and_utc().timestamp_millis(),
        Start::AllDay(day) => {
            let local = if minutes.is_multiple_of(24 * 60) {
                (day - Duration::days(i64::from(minutes / (24 * 60)))).and_time(clock(all_day_at))
            } else {
                day.and_time(NaiveTime::MIN) - before
            };
            local_to_utc(tz, local).and_utc().timestamp_millis()
        }
    }
}

/// How long after its moment a reminder is still worth sending (a server that was down for
/// longer skips it rather than reminding of what already began long ago).
pub const REMINDER_GRACE_MS: i64 = 15 * 60_000;

/// Whether a reminder going off at `at_ms` is due at `now_ms`: not before its moment, and not
/// later than [`REMINDER_GRACE_MS`] after it.
pub fn is_due(at_ms: i64, now_ms: i64) -> bool {
    at_ms <= now_ms && now_ms - at_ms <= REMINDER_GRACE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").expect("time")
    }

    fn ms(tz: Tz, local: &str) -> i64 {
        local_to_utc(tz, at(local)).and_utc().timestamp_millis()
    }

    #[test]
    fn timed_reminders_count_back_in_real_time() {
        let start = at("2026-03-29T10:00").and_utc().timestamp_millis();
        assert_eq!(reminder_at(Start::At(start), 30, chrono_tz::UTC, 540), start - 30 * 60_000);
    }

    #[test]
    fn floating_and_all_day_reminders_follow_the_wall_clock_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        // Clocks go forward at 02:00 on 29 March 2026: a day before 10:00 is 10:00 on the
        // 28th (CET), 23 hours of real time earlier.
        let floating = Start::Floating(at("2026-03-29T10:00"));
        assert_eq!(reminder_at(floating, 24 * 60, berlin, 540), ms(berlin, "2026-03-28T10:00"));
        let all_day = Start::AllDay(NaiveDate::from_ymd_opt(2026, 3, 29).expect("date"));
        assert_eq!(reminder_at(all_day, 24 * 60, berlin, 540), ms(berlin, "2026-03-28T09:00"));
        assert_eq!(reminder_at(all_day, 0, berlin, 8 * 60 + 30), ms(berlin, "2026-03-29T08:30"));
        // Apple's "-PT15H": 09:00 the day before.
        assert_eq!(reminder_at(all_day, 15 * 60, berlin, 540), ms(berlin, "2026-03-28T09:00"));
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_urgent_kinds_break_through() {
        let mut prefs = Preferences { quiet_start: Some(22 * 60), quiet_end: Some(7 * 60), ..Default::default() };
        assert!(prefs.is_quiet(23 * 60) && prefs.is_quiet(0) && prefs.is_quiet(6 * 60 + 59));
        assert!(!prefs.is_quiet(7 * 60) && !prefs.is_quiet(21 * 60 + 59));
        assert!(prefs.holds(NotifyKind::EventReminder, 23 * 60));
        prefs.kinds.insert(NotifyKind::EventReminder, KindChoice { email: true, push: true, urgent: true });
        assert!(!prefs.holds(NotifyKind::EventReminder, 23 * 60));
        assert_eq!(prefs.after_quiet(at("2026-01-01T23:30")), at("2026-01-02T07:00"));
        assert_eq!(prefs.after_quiet(at("2026-01-02T03:00")), at("2026-01-02T07:00"));
        assert_eq!(prefs.after_quiet(at("2026-01-02T12:00")), at("2026-01-02T12:00"));
        let day = Preferences { quiet_start: Some(12 * 60), quiet_end: Some(13 * 60), ..Default::default() };
        assert!(day.is_quiet(12 * 60 + 30) && !day.is_quiet(13 * 60) && !day.is_quiet(11 * 60));
        assert!(!Preferences::default().is_quiet(3 * 60));
    }

    #[test]
    fn kinds_offer_only_their_channels() {
        let prefs = Preferences::default();
        assert!(prefs.wants(NotifyKind::EventReminder, Channel::Email));
        assert!(!prefs.wants(NotifyKind::FocusEnd, Channel::Email));
        assert!(!prefs.wants(NotifyKind::DailyAgenda, Channel::Push));
        for kind in NotifyKind::ALL {
            assert_eq!(NotifyKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(parse_clock("07:30"), Some(450));
        assert_eq!(parse_clock("7:30 pm"), Some(19 * 60 + 30));
        assert_eq!(parse_clock("7:5x"), None);
        assert_eq!(clock_text(450), "07:30");
    }

    #[test]
    fn reminders_are_due_from_their_moment_for_a_grace_period() {
        assert!(!is_due(1_000, 999));
        assert!(is_due(1_000, 1_000));
        assert!(is_due(1_000, 1_000 + REMINDER_GRACE_MS));
        assert!(!is_due(1_000, 1_001 + REMINDER_GRACE_MS));
    }
}
