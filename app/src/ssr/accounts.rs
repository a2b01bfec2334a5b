//! Accounts in storage: registration, sign-in checks, profiles and sessions' users.

use calento::{ClockFormat, DisplayName, EmailAddress, FieldError, Password, TimeZoneName, Username, WeekStart};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use sqlx::Row;

use super::audit::{self, Origin, event};
use super::{Db, LoginLimits, calendars, login_limits, new_id, now_ms, passwords, registration, unexpected};
use crate::AppError;
use crate::models::{RegistrationMode, UserProfile};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub username: String,
    pub name: String,
    pub time_zone: String,
    pub week_start: String,
    pub clock: String,
    pub is_admin: i64,
    pub created_at: i64,
    pub email_verified_at: Option<i64>,
    pub disabled_at: Option<i64>,
}

const USER_COLUMNS: &str =
    "id, email, username, name, time_zone, week_start, clock, is_admin, created_at, email_verified_at, disabled_at";

/// The user's zone (UTC when the stored name is no longer known).
pub fn user_zone(user: &UserRow) -> Tz {
    user.time_zone.parse().unwrap_or(Tz::UTC)
}

/// The user's wall clock now.
pub fn local_now(user: &UserRow) -> NaiveDateTime {
    Utc::now().with_timezone(&user_zone(user)).naive_local()
}

pub fn today(user: &UserRow) -> NaiveDate {
    local_now(user).date()
}

impl UserRow {
    pub fn profile(&self) -> UserProfile {
        UserProfile {
            id: self.id.clone(),
            email: self.email.clone(),
            username: self.username.clone(),
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            week_start: WeekStart::parse(&self.week_start).unwrap_or_default(),
            clock: ClockFormat::parse(&self.clock).unwrap_or_default(),
            is_admin: self.is_admin == 1,
            email_verified: self.email_verified_at.is_some(),
        }
    }
}

/// What a registration form or the admin command submits, before validation.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: String,
    /// Empty means "derive one from the email".
    pub username: String,
    pub time_zone: String,
    /// The invite link's secret, when registration is by invitation.
    pub invite: String,
    /// Set by the admin command: registration mode does not apply.
    pub by_operator: bool,
}

/// Validates every field at once, so a form shows all its problems together.
fn validate(
    form: &Registration,
) -> Result<(EmailAddress, Password, DisplayName, Option<Username>, TimeZoneName), AppError> {
    let email = EmailAddress::parse(&form.email);
    let password = Password::parse(&form.password);
    let name = DisplayName::parse(&form.name);
    let username = if form.username.trim().is_empty() { Ok(None) } else { Username::parse(&form.username).map(Some) };
    let time_zone = if form.time_zone.trim().is_empty() {
        Ok(TimeZoneName::default())
    } else {
        TimeZoneName::parse(&form.time_zone)
    };
    match (email, password, name, username, time_zone) {
        (Ok(e), Ok(p), Ok(n), Ok(u), Ok(z)) => Ok((e, p, n, u, z)),
        (e, p, n, u, z) => {
            Err(AppError::fields([e.err(), p.err(), n.err(), u.err(), z.err()].into_iter().flatten().collect()))
        }
    }
}

fn email_taken() -> AppError {
    AppError::field(FieldError::new("email", "An account with this email already exists. Log in instead."))
}

fn username_taken(name: &str) -> AppError {
    AppError::field(FieldError::new(
        "username",
        format!("The username \u{201c}{name}\u{201d} is taken; choose another."),
    ))
}

async fn exists(db: &Db, sql: &'static str, value: &str) -> Result<bool, AppError> {
    let row = sqlx::query(sql).bind(value).fetch_one(db.read()).await?;
    Ok(row.try_get::<i64, _>(0).unwrap_or(0) == 1)
}

const EMAIL_EXISTS: &str = "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE email = $1) THEN 1 ELSE 0 END";
const USERNAME_EXISTS: &str = "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE username = $1) THEN 1 ELSE 0 END";

/// What a registration did: a new account, or none because the address has one already.
#[derive(Debug)]
pub enum SignUp {
    /// A new account (the instance's first becomes its administrator).
    Created(UserRow),
    /// The address belongs to this account; nothing was created or changed.
    AddressInUse(UserRow),
}

/// Creates an account and says plainly when its address is taken: for the operator's
/// `calento-server user create`. People registering on the page go through [`sign_up`],
/// whose answer does not tell.
pub async fn register(db: &Db, form: &Registration) -> Result<UserRow, AppError> {
    match sign_up(db, form).await? {
        SignUp::Created(user) => Ok(user),
        SignUp::AddressInUse(_) => Err(email_taken()),
    }
}

/// Creates an account unless its address has one already. The same checks run in the
/// same order either way (the registration mode, the invite, a chosen username) and the
/// password is hashed either way, so neither the answer nor its timing tells whether the
/// address is registered (docs/SECURITY.md, "Registration does not reveal accounts").
pub async fn sign_up(db: &Db, form: &Registration) -> Result<SignUp, AppError> {
    let (email, password, name, chosen, time_zone) = validate(form)?;
    // The first account can always be made (it becomes the administrator).
    let mode = if form.by_operator || !any_user(db).await? {
        RegistrationMode::Open
    } else {
        registration::registration_mode(db).await?
    };
    let invite = match mode {
        RegistrationMode::Open => None,
        RegistrationMode::Closed => {
            return Err(AppError::forbidden(
                "Registration is closed on this instance. Ask its administrator for an account.",
            ));
        }
        RegistrationMode::InviteOnly => Some(registration::spend_invite(db, &form.invite, email.as_str()).await?),
    };
    let result = match passwords::hash(&password).await {
        Ok(password_hash) => create_unless_taken(db, &email, &password_hash, &name, chosen.as_ref(), &time_zone).await,
        Err(error) => Err(error),
    };
    if let Some(invite_id) = &invite {
        match &result {
            Ok(SignUp::Created(user)) => registration::invite_used_by(db, invite_id, &user.id).await?,
            // Spent all the same: trying it again must answer as after a new account.
            Ok(SignUp::AddressInUse(_)) => {}
            Err(_) => registration::unspend_invite(db, invite_id).await?,
        }
    }
    result
}

async fn create_unless_taken(
    db: &Db,
    email: &EmailAddress,
    password_hash: &str,
    name: &DisplayName,
    chosen: Option<&Username>,
    time_zone: &TimeZoneName,
) -> Result<SignUp, AppError> {
    if let Some(owner) = find_by_email(db, email).await? {
        // A taken username is refused as it would be for a new address.
        if let Some(chosen) = chosen
            && exists(db, USERNAME_EXISTS, chosen.as_str()).await?
        {
            return Err(username_taken(chosen.as_str()));
        }
        return Ok(SignUp::AddressInUse(owner));
    }
    match insert_user(db, email, password_hash, name, chosen, time_zone).await {
        Ok(user) => Ok(SignUp::Created(user)),
        // Lost a race with another registration of the same address.
        Err(error) if error.field_message("email").is_some() => {
            find_by_email(db, email).await?.map(SignUp::AddressInUse).ok_or(error)
        }
        Err(error) => Err(error),
    }
}

async fn any_user(db: &Db) -> Result<bool, AppError> {
    let row =
        sqlx::query("SELECT CASE WHEN EXISTS (SELECT 1 FROM users) THEN 1 ELSE 0 END").fetch_one(db.read()).await?;
    Ok(row.try_get::<i64, _>(0).unwrap_or(0) == 1)
}

/// Creates an account for someone signing in with a provider: no password (an empty
/// hash, which no password matches), the address confirmed when the provider says so.
/// The registration mode applies as for a form (an invite when invite-only).
pub async fn register_external(
    db: &Db,
    email: &str,
    name: Option<&str>,
    email_verified: bool,
    invite: Option<&str>,
) -> Result<UserRow, AppError> {
    let email = EmailAddress::parse(email)?;
    if exists(db, EMAIL_EXISTS, email.as_str()).await? {
        return Err(email_taken());
    }
    let fallback = email.as_str().split('@').next().unwrap_or("New user").to_owned();
    let name = DisplayName::parse(name.unwrap_or(&fallback)).or_else(|_| DisplayName::parse(&fallback))?;
    let mode = if any_user(db).await? { registration::registration_mode(db).await? } else { RegistrationMode::Open };
    let invite_id = match mode {
        RegistrationMode::Open => None,
        RegistrationMode::Closed => {
            return Err(AppError::forbidden(
                "Registration is closed on this instance. Ask its administrator for an account.",
            ));
        }
        RegistrationMode::InviteOnly => {
            Some(registration::spend_invite(db, invite.unwrap_or(""), email.as_str()).await?)
        }
    };
    let result = insert_user(db, &email, "", &name, None, &TimeZoneName::default()).await;
    if let Some(invite_id) = &invite_id {
        match &result {
            Ok(user) => registration::invite_used_by(db, invite_id, &user.id).await?,
            Err(_) => registration::unspend_invite(db, invite_id).await?,
        }
    }
    let user = result?;
    if email_verified {
        mark_email_verified(db.write(), &user.id, now_ms()).await?;
    }
    find_by_id(db, &user.id).await?.ok_or(AppError::Unexpected)
}

async fn insert_user(
    db: &Db,
    email: &EmailAddress,
    password_hash: &str,
    name: &DisplayName,
    chosen: Option<&Username>,
    time_zone: &TimeZoneName,
) -> Result<UserRow, AppError> {
    let suggested = Username::suggest_from_email(email);
    // A chosen username must be free; a derived one gets a number until it is.
    for attempt in 1..=50u32 {
        let username = match (chosen, attempt) {
            (Some(chosen), _) => (*chosen).clone(),
            (None, 1) => suggested.clone(),
            (None, n) => suggested.with_suffix(n),
        };
        if exists(db, USERNAME_EXISTS, username.as_str()).await? {
            if chosen.is_some() {
                return Err(username_taken(username.as_str()));
            }
            continue;
        }
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, username, name, password_hash, time_zone, week_start, clock, is_admin, created_at, updated_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END, $9, $9, $9)",
        )
        .bind(new_id())
        .bind(email.as_str())
        .bind(username.as_str())
        .bind(name.as_str())
        .bind(password_hash)
        .bind(time_zone.as_str())
        .bind(WeekStart::default().as_str())
        .bind(ClockFormat::default().as_str())
        .bind(now)
        .execute(db.write())
        .await;
        match inserted {
            Ok(_) => {
                let user = find_by_email(db, email).await?.ok_or(AppError::Unexpected)?;
                calendars::create_default(db, &user.id, &user.time_zone, now).await?;
                return Ok(user);
            }
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                // Lost a race with another registration: find out which field collided.
                if exists(db, EMAIL_EXISTS, email.as_str()).await? {
                    return Err(email_taken());
                }
                if chosen.is_some() {
                    return Err(username_taken(username.as_str()));
                }
            }
            Err(e) => return Err(unexpected("inserting a user", e)),
        }
    }
    Err(AppError::field(FieldError::new("username", "Choose a username for your account.")))
}

pub async fn find_by_email(db: &Db, email: &EmailAddress) -> Result<Option<UserRow>, AppError> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")))
        .bind(email.as_str())
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// The account an email or username names (both are stored lower-cased; `login` must be).
pub async fn find_by_login(db: &Db, login: &str) -> Result<Option<UserRow>, AppError> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1 OR username = $1 LIMIT 1"
    )))
    .bind(login)
    .fetch_optional(db.read())
    .await
    .map_err(AppError::from)
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<UserRow>, AppError> {
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// Notes that the account's address is confirmed (once: a later proof keeps the first time).
pub async fn mark_email_verified<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    user_id: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(executor)
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// The stored password hash; `None` for an account that signs in only with a provider.
pub async fn password_hash(db: &Db, user_id: &str) -> Result<Option<String>, AppError> {
    Ok(sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.read())
        .await?
        .and_then(|row| row.try_get::<String, _>(0).ok())
        .filter(|hash| !hash.is_empty()))
}

pub async fn set_password(db: &Db, user_id: &str, password_hash: &str) -> Result<(), AppError> {
    let now = now_ms();
    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .bind(now)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

fn disabled() -> AppError {
    AppError::forbidden("This account is disabled. Ask the administrator of this instance to re-enable it.")
}

/// Checks an email and password, with limits on failed attempts per account and per
/// client address. The message never says which of the two was wrong. Each attempt goes
/// in the audit log.
pub async fn authenticate(
    db: &Db,
    limits: &LoginLimits,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<UserRow, AppError> {
    let client_ip = origin.ip.as_str();
    let wrong = || AppError::field(FieldError::new("password", "Email or password is incorrect."));
    let account_key = email.trim().to_lowercase();
    let now = now_ms();
    if let Some(retry_after_secs) = login_limits::blocked_for(db, limits, &account_key, client_ip, now).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let user = match EmailAddress::parse(email) {
        Ok(email) => find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let stored = match &user {
        Some(user) => password_hash(db, &user.id).await?,
        None => None,
    };
    if passwords::verify(password, stored).await
        && let Some(user) = user
    {
        login_limits::forget_account(db, &account_key).await?;
        if user.disabled_at.is_some() {
            audit::record(db, Some(&user.id), None, event::SIGN_IN_FAILED, "account disabled", origin).await;
            return Err(disabled());
        }
        return Ok(user);
    }
    login_limits::record_failure(db, &account_key, client_ip, now).await?;
    let detail = if user.is_some() {
        "wrong password".to_owned()
    } else {
        format!("unknown account {}", account_key.chars().take(100).collect::<String>())
    };
    audit::record(db, user.as_ref().map(|u| u.id.as_str()), None, event::SIGN_IN_FAILED, &detail, origin).await;
    Err(wrong())
}

/// True until the guided setup has been offered to the account (its first sign-in).
pub async fn needs_welcome(db: &Db, user_id: &str) -> Result<bool, AppError> {
    let at: Option<Option<i64>> = sqlx::query_scalar("SELECT welcomed_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.read())
        .await?;
    Ok(matches!(at, Some(None)))
}

/// Notes that the guided setup was offered (it is not offered again at sign-in).
pub async fn mark_welcomed(db: &Db, user_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET welcomed_at = $1 WHERE id = $2 AND welcomed_at IS NULL")
        .bind(now_ms())
        .bind(user_id)
        .execute(db.write())
        .await?;
    Ok(())
}

/// What the settings form submits.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub name: String,
    pub username: String,
    pub time_zone: String,
    pub week_start: String,
    pub clock: String,
}

pub async fn update_profile(db: &Db, user_id: &str, update: &ProfileUpdate) -> Result<UserRow, AppError> {
    let name = DisplayName::parse(&update.name);
    let username = Username::parse(&update.username);
    let time_zone = TimeZoneName::parse(&update.time_zone);
    let week_start = WeekStart::parse(&update.week_start);
    let clock = ClockFormat::parse(&update.clock);
    let (name, username, time_zone, week_start, clock) = match (name, username, time_zone, week_start, clock) {
        (Ok(n), Ok(u), Ok(z), Ok(w), Ok(c)) => (n, u, z, w, c),
        (n, u, z, w, c) => {
            return Err(AppError::fields(
                [n.err(), u.err(), z.err(), w.err(), c.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let mut write = super::changes::begin(db, user_id).await?;
    let result = sqlx::query(
        "UPDATE users SET name = $2, username = $3, time_zone = $4, week_start = $5, clock = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(user_id)
    .bind(name.as_str())
    .bind(username.as_str())
    .bind(time_zone.as_str())
    .bind(week_start.as_str())
    .bind(clock.as_str())
    .bind(now_ms())
    .execute(&mut *write)
    .await;
    match result {
        Ok(done) if done.rows_affected() == 1 => {
            write.record(super::changes::Kind::Profile, user_id, super::changes::Op::Updated, None);
            write.commit().await?;
            find_by_id(db, user_id).await?.ok_or(AppError::NotFound)
        }
        Ok(_) => Err(AppError::NotFound),
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            Err(username_taken(username.as_str()))
        }
        Err(e) => Err(unexpected("updating a profile", e)),
    }
}
