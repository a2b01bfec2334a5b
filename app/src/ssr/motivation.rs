//! The user's task settings (focus lengths, peak hours, motivation switches) and what
//! motivation counts: XP awards, the streak's days, achievements and rewards.

use std::collections::BTreeSet;

use super::changes::{self, Kind, Op, Write};
use calento::FieldError;
use calento::focus::FocusSettings;
use calento::motivation::{self as rules, StreakRules, Tally};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use super::accounts::{UserRow, today, user_zone};
use super::{Db, new_id, now_ms, unexpected};
use crate::AppError;
use crate::models::{MotivationSwitches, ProgressInfo, RewardInfo};

/// One range of peak hours, `HH:MM` to `HH:MM` in the user's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeakRange {
    pub start: String,
    pub end: String,
}

/// Everything the task side keeps per user, as one JSON document in `users.task_settings`.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskSettings {
    pub focus: FocusSettings,
    pub motivation: MotivationSwitches,
    /// When the user does their best work (high-energy tasks go here).
    pub peak_hours: Vec<PeakRange>,
    /// Whether time blocks count as busy on booking links.
    pub blocks_busy: bool,
    /// The calendar time blocks go to (made on first use).
    pub blocks_calendar_id: Option<String>,
    pub min_chunk_minutes: u32,
    pub max_chunk_minutes: u32,
    /// Whether the new-account onboarding was done (or skipped).
    pub onboarded: bool,
    /// A short sound when a focus session or break ends.
    pub sound: bool,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            focus: FocusSettings::default(),
            motivation: MotivationSwitches::default(),
            peak_hours: vec![PeakRange { start: "09:00".into(), end: "12:00".into() }],
            blocks_busy: true,
            blocks_calendar_id: None,
            min_chunk_minutes: 30,
            max_chunk_minutes: 120,
            onboarded: false,
            sound: true,
        }
    }
}

impl TaskSettings {
    /// Peak hours as minutes of the day.
    pub fn peak_minutes(&self) -> Vec<(u16, u16)> {
        let minutes = |text: &str| {
            chrono::NaiveTime::parse_from_str(text, "%H:%M")
                .ok()
                .map(|t| (chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t)) as u16)
        };
        self.peak_hours.iter().filter_map(|r| Some((minutes(&r.start)?, minutes(&r.end)?))).collect()
    }

    pub fn validate(&self) -> Result<(), AppError> {
        let mut errors = self.focus.validate().err().unwrap_or_default();
        if self.peak_minutes().len() != self.peak_hours.len() {
            errors.push(FieldError::new("peak_hours", "Write peak hours as HH:MM to HH:MM."));
        }
        if !(5..=480).contains(&self.min_chunk_minutes) || !(15..=1440).contains(&self.max_chunk_minutes) {
            errors.push(FieldError::new("min_chunk_minutes", "Blocks are 5 min to 8 h (shortest) and up to 24 h."));
        }
        if errors.is_empty() { Ok(()) } else { Err(AppError::fields(errors)) }
    }
}

pub async fn settings(db: &Db, user_id: &str) -> Result<TaskSettings, AppError> {
    let (text,): (String,) = sqlx::query_as("SELECT task_settings FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.read())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

pub async fn save_settings(db: &Db, user_id: &str, settings: &TaskSettings) -> Result<(), AppError> {
    settings.validate()?;
    let text = serde_json::to_string(settings).map_err(|e| unexpected("writing settings", e))?;
    let mut tx = changes::begin(db, user_id).await?;
    sqlx::query("UPDATE users SET task_settings = $1 WHERE id = $2").bind(text).bind(user_id).execute(&mut *tx).await?;
    tx.record(Kind::TaskSettings, user_id, Op::Updated, None);
    tx.commit().await
}

/// Records XP for a thing done, once per thing (a second award of the same is ignored).
pub async fn award(tx: &mut Write, user: &UserRow, kind: &str, subject_id: &str, points: i64) -> Result<(), AppError> {
    award_on(tx, user, kind, subject_id, points, today(user)).await
}

pub async fn award_on(
    tx: &mut Write,
    user: &UserRow,
    kind: &str,
    subject_id: &str,
    points: i64,
    day: NaiveDate,
) -> Result<(), AppError> {
    if points <= 0 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO xp_awards (id, user_id, kind, subject_id, points, day, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id, kind, subject_id) DO NOTHING",
    )
    .bind(new_id())
    .bind(&user.id)
    .bind(kind)
    .bind(subject_id)
    .bind(points)
    .bind(day.format("%Y-%m-%d").to_string())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The day an instant falls on for this user.
pub fn local_day(user: &UserRow, ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&user_zone(user)).date_naive()
}

pub async fn progress(db: &Db, user: &UserRow) -> Result<ProgressInfo, AppError> {
    let settings = settings(db, &user.id).await?;
    let awards: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT kind, points, day FROM xp_awards WHERE user_id = $1")
            .bind(&user.id)
            .fetch_all(db.read())
            .await?;
    let today = today(user);
    let today_text = today.format("%Y-%m-%d").to_string();
    let mut tally = Tally::default();
    let mut days = BTreeSet::new();
    let (mut xp, mut xp_today) = (0i64, 0i64);
    for (kind, points, day) in &awards {
        xp += points;
        if *day == today_text {
            xp_today += points;
        }
        if let Ok(date) = NaiveDate::parse_from_str(day, "%Y-%m-%d") {
            days.insert(date);
        }
        match kind.as_str() {
            "step" => tally.steps_done += 1,
            "task" => tally.tasks_done += 1,
            "focus" => {
                tally.focus_sessions += 1;
                tally.focus_minutes += points;
            }
            _ => {}
        }
    }
    let streak = rules::streak(&days, today, &StreakRules::default());
    tally.longest_streak = i64::from(streak.longest);
    let (planned,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT task_id) FROM task_blocks WHERE user_id = $1")
        .bind(&user.id)
        .fetch_one(db.read())
        .await?;
    tally.tasks_planned = planned;
    let (spent,): (Option<i64>,) =
        sqlx::query_as("SELECT CAST(SUM(cost) AS BIGINT) FROM reward_claims WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(db.read())
            .await?;
    let rewards: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT id, title, cost FROM rewards WHERE user_id = $1 ORDER BY cost, id")
            .bind(&user.id)
            .fetch_all(db.read())
            .await?;
    Ok(ProgressInfo {
        switches: settings.motivation,
        xp,
        xp_today,
        level: rules::level(xp),
        points: xp - spent.unwrap_or(0),
        companion: rules::companion(streak.longest),
        streak,
        achievements: rules::achievements(&tally),
        rewards: rewards.into_iter().map(|(id, title, cost)| RewardInfo { id, title, cost }).collect(),
    })
}

pub async fn create_reward(db: &Db, user_id: &str, title: &str, cost: i64) -> Result<RewardInfo, AppError> {
    let mut errors = Vec::new();
    let title = calento::task::title("title", title).map_err(|e| errors.push(e)).ok();
    if !(1..=1_000_000).contains(&cost) {
        errors.push(FieldError::new("cost", "A reward costs 1 to 1,000,000 points."));
    }
    let Some(title) = title.filter(|_| errors.is_empty()) else { return Err(AppError::fields(errors)) };
    let id = new_id();
    let mut tx = changes::begin(db, user_id).await?;
    sqlx::query("INSERT INTO rewards (id, user_id, title, cost, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(user_id)
        .bind(&title)
        .bind(cost)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.record(Kind::Reward, &id, Op::Created, None);
    tx.commit().await?;
    Ok(RewardInfo { id, title, cost })
}

/// Spends points on a reward; refused (409) when there are not enough points.
pub async fn claim_reward(db: &Db, user: &UserRow, reward_id: &str) -> Result<ProgressInfo, AppError> {
    let (title, cost): (String, i64) = sqlx::query_as("SELECT title, cost FROM rewards WHERE id = $1 AND user_id = $2")
        .bind(reward_id)
        .bind(&user.id)
        .fetch_optional(db.read())
        .await?
        .ok_or(AppError::NotFound)?;
    // The write takes the user's row lock first, so claims of one user go one at a time on
    // both databases and two claims at once cannot both spend the same points.
    let mut tx = changes::begin(db, &user.id).await?;
    // The claim is written only if the points (XP minus what was spent) cover it, in one statement.
    let done = sqlx::query(
        "INSERT INTO reward_claims (id, user_id, reward_id, title, cost, at_ms)
         SELECT $1, $2, $3, $4, $5, $6
          WHERE (SELECT COALESCE(SUM(points), 0) FROM xp_awards WHERE user_id = $2)
              - (SELECT COALESCE(SUM(cost), 0) FROM reward_claims WHERE user_id = $2) >= $5",
    )
    .bind(new_id())
    .bind(&user.id)
    .bind(reward_id)
    .bind(&title)
    .bind(cost)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        tx.record(Kind::Reward, reward_id, Op::Updated, None);
    }
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict { message: format!("“{title}” costs {cost} points; keep going!") });
    }
    progress(db, user).await
}
