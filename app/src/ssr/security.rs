//! Account security: email verification, password reset and change, change of email,
//! browser sessions (list, revoke one, sign out everywhere) and re-authentication.
//!
//! Links sent by email carry single-use, expiring secrets stored only as hashes:
//! verification 48 hours, reset 1 hour, change of address 24 hours.

use calento::{EmailAddress, FieldError, Password};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::audit::{self, Origin, event};
use super::changes::{self, Write};
use super::mail::{self, EmailDraft};
use super::tokens::{generate_with, hash, well_formed};
use super::{Db, accounts, grants, millis_to_utc, new_id, now_ms, passwords, rate_limit, tokens, unexpected};
use crate::AppError;
use crate::models::SessionInfo;

pub const VERIFY: &str = "verify";
pub const RESET: &str = "reset";
pub const CHANGE_EMAIL: &str = "change_email";
const LINK_PREFIX: &str = "cel_";
const VERIFY_SECS: i64 = 48 * 3600;
const RESET_SECS: i64 = 3600;
const CHANGE_SECS: i64 = 24 * 3600;
/// A user without a password re-authenticates by signing in again: that long ago at most.
pub const FRESH_SIGN_IN_SECS: i64 = 10 * 60;

fn ttl(purpose: &str) -> i64 {
    match purpose {
        RESET => RESET_SECS,
        CHANGE_EMAIL => CHANGE_SECS,
        _ => VERIFY_SECS,
    }
}

/// Makes a link secret for `purpose`; earlier unused ones of the same purpose stop working.
async fn issue_link(tx: &mut Write, user_id: &str, purpose: &str, new_email: Option<&str>) -> Result<String, AppError> {
    let now = now_ms();
    sqlx::query("UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let secret = generate_with(LINK_PREFIX);
    sqlx::query(
        "INSERT INTO email_tokens (id, user_id, purpose, token_hash, new_email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(purpose)
    .bind(hash(&secret))
    .bind(new_email)
    .bind(now)
    .bind(now + ttl(purpose) * 1000)
    .execute(&mut **tx)
    .await?;
    Ok(secret)
}

/// Spends a link secret: its account and (for a change of address) the new address.
/// Unknown, spent, expired or of another purpose: `None`, and nothing changes.
async fn spend_link(tx: &mut Write, secret: &str, purpose: &str) -> Result<Option<(String, Option<String>)>, AppError> {
    if !well_formed(secret.trim(), LINK_PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at = $3
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
         RETURNING user_id, new_email",
    )
    .bind(hash(secret.trim()))
    .bind(purpose)
    .bind(now_ms())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.try_get::<String, _>(0).unwrap_or_default(), r.try_get::<Option<String>, _>(1).ok().flatten())))
}

/// An email about the account to its owner: a greeting, what happened or what to do, an
/// optional link, and a closing line; as text and as HTML.
#[allow(clippy::too_many_arguments)]
fn account_email(
    user_id: &str,
    to: &str,
    name: &str,
    kind: &str,
    subject: &str,
    lead: &str,
    url: Option<&str>,
    tail: &str,
) -> EmailDraft {
    let safe = crate::components::escape_html;
    let (text_link, html_link) = match url {
        Some(url) => (format!("{url}\n\n"), format!("<p><a href=\"{}\">{}</a></p>", safe(url), safe(url))),
        None => (String::new(), String::new()),
    };
    EmailDraft {
        user_id: user_id.to_owned(),
        booking_id: None,
        kind: kind.to_owned(),
        to_address: to.to_owned(),
        to_name: name.to_owned(),
        subject: subject.to_owned(),
        text_body: format!("Hello {name},\n\n{lead}\n\n{text_link}{tail}\n"),
        html_body: format!("<p>Hello {},</p><p>{}</p>{html_link}<p>{}</p>", safe(name), safe(lead), safe(tail)),
        ics: None,
        unsubscribe_url: None,
    }
}

/// One kind of email carrying a link: where it points and what it says.
struct LinkMail {
    purpose: &'static str,
    /// The page the link opens (`?token=` follows).
    page: &'static str,
    kind: &'static str,
    subject: &'static str,
    lead: &'static str,
    tail: &'static str,
}

/// Makes a link secret and queues its email to `to`, in one transaction.
async fn send_link(
    db: &Db,
    public_url: &str,
    user: &accounts::UserRow,
    to: &str,
    new_email: Option<&str>,
    mail: &LinkMail,
) -> Result<(), AppError> {
    let mut tx = changes::begin_unowned(db).await?;
    let secret = issue_link(&mut tx, &user.id, mail.purpose, new_email).await?;
    let url = format!("{public_url}{}?token={secret}", mail.page);
    let draft = account_email(&user.id, to, &user.name, mail.kind, mail.subject, mail.lead, Some(&url), mail.tail);
    mail::queue(&mut tx, &draft).await?;
    tx.commit().await?;
    Ok(())
}

/// A security notice to the account's owner ("your password was changed"), with what to
/// do if it was not them.
fn notice_email(user_id: &str, to: &str, name: &str, kind: &str, subject: &str, what: &str) -> EmailDraft {
    let advice = "If you did not do this, reset your password at once and tell the administrator of this instance.";
    account_email(user_id, to, name, kind, subject, what, None, advice)
}

/// Queues a security notice to the account's current address, on its own.
async fn notify(db: &Db, user_id: &str, kind: &str, subject: &str, what: &str) -> Result<(), AppError> {
    let Some(user) = accounts::find_by_id(db, user_id).await? else { return Ok(()) };
    let mut tx = changes::begin_unowned(db).await?;
    mail::queue(&mut tx, &notice_email(&user.id, &user.email, &user.name, kind, subject, what)).await?;
    tx.commit().await?;
    Ok(())
}

/// Queues the "confirm your email" message for the account's current address.
pub async fn send_verification(db: &Db, public_url: &str, user: &accounts::UserRow) -> Result<(), AppError> {
    let mail = LinkMail {
        purpose: VERIFY,
        page: "/account/confirm",
        kind: "verify_email",
        subject: "Confirm your email address",
        lead: "Confirm that this address is yours by opening this link:",
        tail: "The link works once, for 48 hours. If you did not create a Calento account, ignore this email.",
    };
    send_link(db, public_url, user, &user.email, None, &mail).await
}

/// What a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Verified { user_id: String },
    EmailChanged { user_id: String, email: String },
}

/// Opens a link from a verification or change-of-address email.
pub async fn confirm(db: &Db, secret: &str, origin: &Origin) -> Result<Confirmed, AppError> {
    let invalid = || {
        AppError::bad_request(
            "This link is not valid: it was used already, it expired, or it was replaced by a newer one.",
        )
    };
    let mut tx = changes::begin_unowned(db).await?;
    let now = now_ms();
    if let Some((user_id, _)) = spend_link(&mut tx, secret, VERIFY).await? {
        accounts::mark_email_verified(&mut *tx, &user_id, now).await?;
        tx.commit().await?;
        audit::record(db, Some(&user_id), None, event::EMAIL_VERIFIED, "", origin).await;
        return Ok(Confirmed::Verified { user_id });
    }
    let Some((user_id, Some(new_email))) = spend_link(&mut tx, secret, CHANGE_EMAIL).await? else {
        return Err(invalid());
    };
    let old: Option<(String, String)> =
        sqlx::query_as("SELECT email, name FROM users WHERE id = $1").bind(&user_id).fetch_optional(&mut *tx).await?;
    let Some((old_email, name)) = old else { return Err(invalid()) };
    let changed = sqlx::query("UPDATE users SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1")
        .bind(&user_id)
        .bind(&new_email)
        .bind(now)
        .execute(&mut *tx)
        .await;
    match changed {
        Ok(_) => {}
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            return Err(AppError::Conflict { message: "Another account uses that address now.".to_owned() });
        }
        Err(e) => return Err(unexpected("changing an email", e)),
    }
    // The old address hears about it, in case this was not its owner's doing.
    let notice = notice_email(
        &user_id,
        &old_email,
        &name,
        "email_changed",
        "Your Calento email address was changed",
        &format!("The email address of your Calento account is now {new_email}."),
    );
    mail::queue(&mut tx, &notice).await?;
    tx.commit().await?;
    audit::record(db, Some(&user_id), None, event::EMAIL_CHANGED, &format!("from {old_email} to {new_email}"), origin)
        .await;
    Ok(Confirmed::EmailChanged { user_id, email: new_email })
}

/// Whether the user just proved it is them: the password, or for an account without one,
/// a sign-in at most ten minutes old (`signed_in_at`, from the session).
pub async fn reauthenticate(db: &Db, user_id: &str, password: &str, signed_in_at: Option<i64>) -> Result<(), AppError> {
    let stored = accounts::password_hash(db, user_id).await?;
    match stored {
        Some(stored) => {
            if passwords::verify(password, Some(stored)).await {
                Ok(())
            } else {
                Err(AppError::field(FieldError::new("current_password", "That is not your current password.")))
            }
        }
        None => {
            if signed_in_at.is_some_and(|at| now_ms() - at <= FRESH_SIGN_IN_SECS * 1000) {
                Ok(())
            } else {
                Err(AppError::field(FieldError::new(
                    "current_password",
                    "Sign in again to confirm it is you, then repeat this within ten minutes.",
                )))
            }
        }
    }
}

/// Changes the password after checking the current one; every other session and every
/// app sign-in ends (personal tokens stay: they are listed and revoked on their own).
pub async fn change_password(
    db: &Db,
    user_id: &str,
    current: &str,
    new: &str,
    signed_in_at: Option<i64>,
    keep_session: Option<&str>,
    origin: &Origin,
) -> Result<(), AppError> {
    let password = Password::parse(new)?;
    reauthenticate(db, user_id, current, signed_in_at).await?;
    let password_hash = passwords::hash(&password).await?;
    accounts::set_password(db, user_id, &password_hash).await?;
    end_sessions(db, user_id, keep_session).await?;
    grants::revoke_all(db, user_id, "password changed").await?;
    audit::record(db, Some(user_id), None, event::PASSWORD_CHANGED, "", origin).await;
    let what =
        "The password of your Calento account was changed; your other sessions and signed-in apps were signed out.";
    notify(db, user_id, "password_changed", "Your Calento password was changed", what).await?;
    Ok(())
}

/// Starts a change of address: a link goes to the new address; the change happens when
/// it is opened. The answer is the same whether or not the address is taken.
pub async fn request_email_change(
    db: &Db,
    public_url: &str,
    user: &accounts::UserRow,
    new_email: &str,
    password: &str,
    signed_in_at: Option<i64>,
    origin: &Origin,
) -> Result<(), AppError> {
    let email = EmailAddress::parse(new_email)?;
    if email.as_str() == user.email {
        return Err(AppError::field(FieldError::new("email", "That is already your address.")));
    }
    reauthenticate(db, &user.id, password, signed_in_at).await?;
    let mail = LinkMail {
        purpose: CHANGE_EMAIL,
        page: "/account/confirm",
        kind: "confirm_email_change",
        subject: "Confirm your new email address",
        lead: "Open this link to make this the email address of your Calento account:",
        tail: "The link works once, for 24 hours. If you did not ask for this, ignore this email.",
    };
    send_link(db, public_url, user, email.as_str(), Some(email.as_str()), &mail).await?;
    audit::record(db, Some(&user.id), None, event::EMAIL_CHANGE_REQUESTED, &format!("to {}", email.as_str()), origin)
        .await;
    Ok(())
}

/// Sends a reset link when the address belongs to an active account. Says nothing either
/// way: the caller answers the same, so the form does not reveal who has an account.
pub async fn request_reset(db: &Db, public_url: &str, email: &str, origin: &Origin) -> Result<(), AppError> {
    let Ok(email) = EmailAddress::parse(email) else { return Ok(()) };
    let Some(user) = accounts::find_by_email(db, &email).await? else { return Ok(()) };
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let mail = LinkMail {
        purpose: RESET,
        page: "/reset-password",
        kind: "password_reset",
        subject: "Reset your Calento password",
        lead: "Someone (hopefully you) asked to reset the password of your Calento account. Choose a new one here:",
        tail: "The link works once, for one hour. If you did not ask for this, ignore this email: your password stays as it is.",
    };
    send_link(db, public_url, &user, &user.email, None, &mail).await?;
    audit::record(db, Some(&user.id), None, event::PASSWORD_RESET_REQUESTED, "", origin).await;
    Ok(())
}

/// Emails about someone registering with an address that has an account: at most this
/// often per account, so the form cannot be used to flood an inbox.
const SIGN_UP_NOTICE_EVERY: rate_limit::Limit = rate_limit::Limit::per_hour(1);

/// Someone registered with the address of an existing account: its owner hears about it,
/// with a reset link in case it was them and they forgot the password (at most once an
/// hour; a disabled account hears nothing). The answer to the registration is the same as
/// for a new account, so failures here are logged, not shown.
pub async fn tell_owner_of_sign_up(db: &Db, public_url: &str, owner: &accounts::UserRow, origin: &Origin) {
    audit::record(db, Some(&owner.id), None, event::SIGN_UP_ATTEMPTED, "", origin).await;
    if owner.disabled_at.is_some() {
        return;
    }
    match rate_limit::hit(db, "sign-up-notice", &owner.id, SIGN_UP_NOTICE_EVERY).await {
        Ok(()) => {}
        Err(AppError::RateLimited { .. }) => return,
        Err(error) => {
            tracing::warn!(%error, "counting sign-up notices");
            return;
        }
    }
    let mail = LinkMail {
        purpose: RESET,
        page: "/reset-password",
        kind: "sign_up_attempt",
        subject: "Someone tried to create a Calento account with your address",
        lead: "Someone (perhaps you) tried to create a new Calento account with this email address, which \
               already has one. No account was created and nothing in yours changed. If it was you and you \
               forgot your password, choose a new one here:",
        tail: "The link works once, for one hour. If it was not you, ignore this email: your password stays as it is.",
    };
    if let Err(error) = send_link(db, public_url, owner, &owner.email, None, &mail).await {
        tracing::warn!(%error, "queueing a sign-up notice");
    }
}

/// Sets a new password from a reset link; every session, personal token and app sign-in
/// of the account ends. Returns the account's id.
pub async fn reset_password(db: &Db, secret: &str, new: &str, origin: &Origin) -> Result<String, AppError> {
    let password = Password::parse(new)?;
    let password_hash = passwords::hash(&password).await?;
    let mut tx = changes::begin_unowned(db).await?;
    let Some((user_id, _)) = spend_link(&mut tx, secret, RESET).await? else {
        return Err(AppError::bad_request(
            "This reset link is not valid: it was used already, it expired, or a newer one was sent. Ask for a new one.",
        ));
    };
    let now = now_ms();
    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1")
        .bind(&user_id)
        .bind(&password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // The reset also proves the address.
    accounts::mark_email_verified(&mut *tx, &user_id, now).await?;
    tx.commit().await?;
    end_sessions(db, &user_id, None).await?;
    tokens::revoke_all(db, &user_id).await?;
    grants::revoke_all(db, &user_id, "password reset").await?;
    audit::record(db, Some(&user_id), None, event::PASSWORD_RESET, "", origin).await;
    let what = "The password of your Calento account was reset with a link sent to this address; every session, token and signed-in app was signed out.";
    notify(db, &user_id, "password_changed", "Your Calento password was reset", what).await?;
    Ok(user_id)
}

/// The public handle of a session: a hash of its storage key (itself a hash of the id).
pub fn session_handle(storage_key: &str) -> String {
    Sha256::digest(storage_key.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Ends the user's browser sessions, all or all but `keep` (a session id).
pub async fn end_sessions(db: &Db, user_id: &str, keep: Option<&str>) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep.map(super::session_store::storage_key).unwrap_or_default())
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// The user's signed-in sessions, most recently seen first.
pub async fn list_sessions(db: &Db, user_id: &str, current: Option<&str>) -> Result<Vec<SessionInfo>, AppError> {
    let current = current.map(super::session_store::storage_key);
    let rows: Vec<(String, i64, i64, String, String)> = sqlx::query_as(
        "SELECT id, created_at, last_seen_at, user_agent, client_ip FROM sessions
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id",
    )
    .bind(user_id)
    .bind(now_ms())
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, created_at, last_seen_at, user_agent, ip)| SessionInfo {
            current: current.as_deref() == Some(id.as_str()),
            id: session_handle(&id),
            device: crate::models::short_agent(&user_agent),
            ip,
            signed_in_at: millis_to_utc(created_at),
            last_seen_at: millis_to_utc(last_seen_at.max(created_at)),
        })
        .collect())
}

/// Ends one of the user's sessions by its handle; another user's is "not found".
pub async fn revoke_session(db: &Db, user_id: &str, handle: &str) -> Result<(), AppError> {
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM sessions WHERE user_id = $1").bind(user_id).fetch_all(db.read()).await?;
    let Some((id,)) = ids.into_iter().find(|(id,)| session_handle(id) == handle) else {
        return Err(AppError::NotFound);
    };
    sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(&id)
        .bind(user_id)
        .execute(db.write())
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_from_user_agents() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(crate::models::short_agent(firefox), "Firefox on Linux");
        let chrome_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(crate::models::short_agent(chrome_mac), "Chrome on macOS");
        let safari_ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(crate::models::short_agent(safari_ios), "Safari on iOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(crate::models::short_agent(edge), "Edge on Windows");
        assert_eq!(crate::models::short_agent(""), "Unknown device");
    }

    #[test]
    fn session_handles_do_not_reveal_the_session_id() {
        let handle = session_handle("abc");
        assert_eq!(handle.len(), 24);
        assert!(!handle.contains("abc"));
        assert_eq!(handle, session_handle("abc"));
        assert_ne!(handle, session_handle("abd"));
    }
}
