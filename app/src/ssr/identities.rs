//! Sign-in providers linked to accounts (OpenID Connect and OAuth): who a provider's
//! subject is here, linking after the person proved control of the account, unlinking
//! while another way in remains.

use serde::{Deserialize, Serialize};

use super::accounts::{self, UserRow};
use super::audit::{self, Origin, event};
use super::{Db, millis_to_utc, new_id, now_ms, unexpected};
use crate::AppError;
use crate::models::{LinkedProvider, ProviderInfo};

/// The session key of a provider identity waiting for its account's password: a sign-in
/// whose verified email matches an existing account links only after that account's
/// owner logs in once with the password.
pub const PENDING_LINK_KEY: &str = "oidc_link_pending";

/// A provider's identity, as verified by the sign-in flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub provider: String,
    pub label: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// What a provider sign-in leads to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Signed in to this account (it was linked before, or was just created).
    SignedIn(UserRow),
    /// Linked to the signed-in account.
    Linked(UserRow),
    /// An account has this (verified) email: its owner must log in with the password once.
    NeedsPassword { email: String },
}

fn conflict(message: impl Into<String>) -> AppError {
    AppError::Conflict { message: message.into() }
}

async fn find_user_of(db: &Db, provider: &str, subject: &str) -> Result<Option<String>, AppError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(db.read())
            .await?;
    Ok(row.map(|(id,)| id))
}

/// Links a provider identity to an account.
pub async fn link(db: &Db, user_id: &str, identity: &Identity, origin: &Origin) -> Result<(), AppError> {
    let inserted = sqlx::query(
        "INSERT INTO user_identities (id, user_id, provider, subject, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(&identity.provider)
    .bind(&identity.subject)
    .bind(identity.email.as_deref().unwrap_or(""))
    .bind(now_ms())
    .execute(db.write())
    .await;
    match inserted {
        Ok(_) => {
            let detail = format!("{} ({})", identity.label, identity.email.as_deref().unwrap_or("no email"));
            audit::record(db, Some(user_id), None, event::PROVIDER_LINKED, &detail, origin).await;
            Ok(())
        }
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            Err(conflict(format!("This {} account is already linked to another Calento account.", identity.label)))
        }
        Err(e) => Err(unexpected("linking a provider", e)),
    }
}

/// Decides what a verified provider identity does: sign in, link, ask for the password,
/// or create an account (as the registration mode allows).
pub async fn resolve(
    db: &Db,
    identity: &Identity,
    signed_in: Option<&str>,
    invite: Option<&str>,
    origin: &Origin,
) -> Result<Outcome, AppError> {
    if let Some(owner) = find_user_of(db, &identity.provider, &identity.subject).await? {
        if signed_in.is_some_and(|me| me != owner) {
            return Err(conflict(format!(
                "This {} account is already linked to another Calento account.",
                identity.label
            )));
        }
        let user = accounts::find_by_id(db, &owner).await?.ok_or(AppError::NotFound)?;
        if user.disabled_at.is_some() {
            audit::record(
                db,
                Some(&user.id),
                None,
                event::SIGN_IN_FAILED,
                &format!("{}: account disabled", identity.label),
                origin,
            )
            .await;
            return Err(AppError::forbidden(
                "This account is disabled. Ask the administrator of this instance to re-enable it.",
            ));
        }
        return Ok(if signed_in.is_some() { Outcome::Linked(user) } else { Outcome::SignedIn(user) });
    }
    if let Some(me) = signed_in {
        // Signed in and back from the provider: the person controls both.
        let user = accounts::find_by_id(db, me).await?.ok_or(AppError::Unauthorized)?;
        link(db, &user.id, identity, origin).await?;
        return Ok(Outcome::Linked(user));
    }
    let Some(email) = identity.email.as_deref().filter(|e| !e.is_empty()) else {
        return Err(AppError::bad_request(format!(
            "{} did not share an email address, so no account can be made. Allow it to share your email and try again.",
            identity.label
        )));
    };
    let existing = match calento::EmailAddress::parse(email) {
        Ok(address) => accounts::find_by_email(db, &address).await?,
        Err(_) => None,
    };
    if let Some(existing) = existing {
        if identity.email_verified {
            return Ok(Outcome::NeedsPassword { email: existing.email });
        }
        return Err(conflict(format!(
            "An account already uses {email}. Log in to it and link {} from Settings → Security.",
            identity.label
        )));
    }
    let user =
        accounts::register_external(db, email, identity.name.as_deref(), identity.email_verified, invite).await?;
    audit::record(db, Some(&user.id), None, event::REGISTERED, &format!("with {}", identity.label), origin).await;
    link(db, &user.id, identity, origin).await?;
    Ok(Outcome::SignedIn(user))
}

/// The providers linked to an account, with their labels from the instance's list.
pub async fn list(db: &Db, user_id: &str, providers: &[ProviderInfo]) -> Result<Vec<LinkedProvider>, AppError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, provider, email, created_at FROM user_identities WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db.read())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, provider, email, created_at)| LinkedProvider {
            label: providers.iter().find(|p| p.id == provider).map_or_else(|| provider.clone(), |p| p.label.clone()),
            id,
            provider,
            email,
            linked_at: millis_to_utc(created_at),
        })
        .collect())
}

/// Unlinks one of the account's providers, unless it is the last way in (no password and
/// no other provider).
pub async fn unlink(db: &Db, user_id: &str, id: &str, origin: &Origin) -> Result<(), AppError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, provider FROM user_identities WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(db.read())
        .await?;
    let Some((_, provider)) = rows.iter().find(|(row_id, _)| row_id == id) else {
        return Err(AppError::NotFound);
    };
    if rows.len() == 1 && accounts::password_hash(db, user_id).await?.is_none() {
        return Err(conflict(
            "This is your only way to sign in. Set a password (Settings → Security) before unlinking it.",
        ));
    }
    sqlx::query("DELETE FROM user_identities WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db.write())
        .await?;
    audit::record(db, Some(user_id), None, event::PROVIDER_UNLINKED, provider, origin).await;
    Ok(())
}
