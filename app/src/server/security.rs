//! Account security from the browser: sessions, password and email changes, verification,
//! reset, the audit log, export and deletion; and the administrators' page.

use leptos::prelude::*;

use crate::AppError;
use crate::models::{AdminOverview, AuditEntry, InviteInfo, SecurityOverview};
#[cfg(feature = "ssr")]
use {
    super::request,
    crate::ssr::audit::{self, event},
    crate::ssr::{accounts, grants, identities, instance, jobs, rate_limit, registration, security, unexpected},
};

/// The session's own id, to mark it in the list and keep it on "sign out other sessions".
#[cfg(feature = "ssr")]
async fn current_session_id() -> Option<String> {
    request::session().await.ok()?.id().map(|id| id.to_string())
}

#[server(prefix = "/fn", endpoint = "load_security")]
pub async fn load_security() -> Result<SecurityOverview, AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    let current = current_session_id().await;
    Ok(SecurityOverview {
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
        has_password: accounts::password_hash(&state.db, &user.id).await?.is_some(),
        sessions: security::list_sessions(&state.db, &user.id, current.as_deref()).await?,
        apps: grants::list(&state.db, &user.id).await?,
        providers: identities::list(&state.db, &user.id, &state.sign_in_providers).await?,
        available_providers: {
            let linked = identities::list(&state.db, &user.id, &state.sign_in_providers).await?;
            state.sign_in_providers.iter().filter(|p| !linked.iter().any(|l| l.provider == p.id)).cloned().collect()
        },
    })
}

#[server(prefix = "/fn", endpoint = "revoke_session")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    security::revoke_session(&state.db, &user.id, &id).await?;
    audit::record(&state.db, Some(&user.id), None, event::SESSION_REVOKED, "", &request::origin().await).await;
    Ok(())
}

/// Ends every session of the account, this one too, and signs every app out.
#[server(prefix = "/fn", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    security::end_sessions(&state.db, &user.id, None).await?;
    grants::revoke_all(&state.db, &user.id, "signed out everywhere").await?;
    let session = request::session().await?;
    session.flush().await.map_err(|e| unexpected("ending the session", e))?;
    audit::record(&state.db, Some(&user.id), None, event::SIGNED_OUT_EVERYWHERE, "", &request::origin().await).await;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "unlink_provider")]
pub async fn unlink_provider(id: String) -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    identities::unlink(&state.db, &user.id, &id, &request::origin().await).await
}

#[server(prefix = "/fn", endpoint = "revoke_app")]
pub async fn revoke_app(id: String) -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    grants::revoke_for_user(&state.db, &user.id, &id).await?;
    audit::record(&state.db, Some(&user.id), None, event::TOKEN_REVOKED, "app sign-in", &request::origin().await).await;
    Ok(())
}

#[server(prefix = "/fn", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    let keep = current_session_id().await;
    let origin = request::origin().await;
    let signed_in_at = request::signed_in_at().await;
    security::change_password(
        &state.db,
        &user.id,
        &current_password,
        &new_password,
        signed_in_at,
        keep.as_deref(),
        &origin,
    )
    .await
}

#[server(prefix = "/fn", endpoint = "change_email")]
pub async fn change_email(email: String, current_password: String) -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    let origin = request::origin().await;
    let signed_in_at = request::signed_in_at().await;
    security::request_email_change(
        &state.db,
        &state.public_url,
        &user,
        &email,
        &current_password,
        signed_in_at,
        &origin,
    )
    .await
}

#[server(prefix = "/fn", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    rate_limit::hit(&state.db, "verify", &user.id, state.rate_limits.reset).await?;
    security::send_verification(&state.db, &state.public_url, &user).await
}

/// Opens a confirmation link (verification or change of address); says what it did.
#[server(prefix = "/fn", endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<String, AppError> {
    let state = request::state()?;
    let origin = request::origin().await;
    match security::confirm(&state.db, &token, &origin).await? {
        security::Confirmed::Verified { .. } => Ok("Your email address is confirmed.".to_owned()),
        security::Confirmed::EmailChanged { email, .. } => Ok(format!("Your email address is now {email}.")),
    }
}

/// Sends a reset link if the address has an account; the answer is the same either way.
#[server(prefix = "/fn", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<String, AppError> {
    let state = request::state()?;
    let origin = request::origin().await;
    rate_limit::hit(&state.db, "reset-ip", &origin.ip, state.rate_limits.reset).await?;
    rate_limit::hit(&state.db, "reset-account", &email.trim().to_lowercase(), state.rate_limits.reset).await?;
    security::request_reset(&state.db, &state.public_url, &email, &origin).await?;
    Ok("If an account uses that address, a link to reset its password is on its way. It works for one hour.".to_owned())
}

#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    let state = request::state()?;
    let origin = request::origin().await;
    security::reset_password(&state.db, &token, &password, &origin).await?;
    leptos_axum::redirect("/login?reset=1");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "my_audit_log")]
pub async fn my_audit_log() -> Result<Vec<AuditEntry>, AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    audit::list_for_user(&state.db, &user.id).await
}

/// Deletes the account and everything in it, after the password (or a fresh sign-in).
#[server(prefix = "/fn", endpoint = "delete_account")]
pub async fn delete_account(current_password: String, confirm: String) -> Result<(), AppError> {
    let state = request::state()?;
    let user = request::require_user().await?;
    if confirm.trim() != "DELETE" {
        return Err(AppError::field(calento::FieldError::new("confirm", "Type DELETE to confirm.")));
    }
    let signed_in_at = request::signed_in_at().await;
    security::reauthenticate(&state.db, &user.id, &current_password, signed_in_at).await?;
    crate::ssr::export::delete_account(&state.db, &user.id, &request::origin().await).await?;
    if let Ok(session) = request::session().await {
        let _ = session.flush().await;
    }
    leptos_axum::redirect("/login?deleted=1");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "load_admin")]
pub async fn load_admin(#[server(default)] query: String) -> Result<AdminOverview, AppError> {
    let state = request::state()?;
    request::require_admin().await?;
    let all = jobs::list_jobs(&state.db, None).await?;
    let waiting = |j: &&jobs::JobRow| j.status == jobs::QUEUED;
    let problem_jobs = all
        .iter()
        .filter(|j| j.status == jobs::DEAD || (j.status == jobs::QUEUED && j.attempts > 0))
        .take(100)
        .map(|j| crate::models::AdminJob {
            id: j.id.clone(),
            kind: j.kind.clone(),
            status: j.status.clone(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            updated_at: crate::ssr::millis_to_utc(j.updated_at),
        })
        .collect();
    Ok(AdminOverview {
        registration_mode: registration::registration_mode(&state.db).await?,
        users: instance::search_users(&state.db, &query).await?,
        invites: registration::list_invites(&state.db).await?,
        pending_jobs: all.iter().filter(waiting).filter(|j| j.attempts == 0).count(),
        failed_jobs: all.iter().filter(waiting).filter(|j| j.attempts > 0).count(),
        dead_jobs: all.iter().filter(|j| j.status == jobs::DEAD).count(),
        problem_jobs,
        last_backup: instance::last_backup(&state.db).await?,
    })
}

#[server(prefix = "/fn", endpoint = "admin_user_action")]
pub async fn admin_user_action(user_id: String, action: String) -> Result<(), AppError> {
    let state = request::state()?;
    let admin = request::require_admin().await?;
    let action = instance::UserAction::parse(&action).ok_or_else(|| AppError::bad_request("Unknown action."))?;
    instance::act_on_user(&state.db, &admin.id, &user_id, action, &request::origin().await).await
}

#[server(prefix = "/fn", endpoint = "admin_set_registration")]
pub async fn admin_set_registration(mode: String) -> Result<(), AppError> {
    let state = request::state()?;
    let admin = request::require_admin().await?;
    let mode = crate::models::RegistrationMode::parse(&mode)
        .ok_or_else(|| AppError::bad_request("Registration is open, invite_only or closed."))?;
    registration::set_registration_mode(&state.db, mode, &admin.id, &request::origin().await).await
}

#[server(prefix = "/fn", endpoint = "admin_create_invite")]
pub async fn admin_create_invite(#[server(default)] email: String) -> Result<InviteInfo, AppError> {
    let state = request::state()?;
    let admin = request::require_admin().await?;
    let mut invite = registration::create_invite(&state.db, &admin.id, Some(&email), &request::origin().await).await?;
    invite.link = invite.link.map(|path| format!("{}{path}", state.public_url));
    Ok(invite)
}

#[server(prefix = "/fn", endpoint = "admin_retry_job")]
pub async fn admin_retry_job(id: String) -> Result<(), AppError> {
    let state = request::state()?;
    let admin = request::require_admin().await?;
    jobs::retry_dead(&state.db, &id).await?;
    audit::record(&state.db, Some(&admin.id), Some(&admin.id), event::ADMIN_JOB_RETRIED, &id, &request::origin().await)
        .await;
    Ok(())
}

#[server(prefix = "/fn", endpoint = "admin_audit_log")]
pub async fn admin_audit_log(#[server(default)] event_name: String) -> Result<Vec<AuditEntry>, AppError> {
    let state = request::state()?;
    request::require_admin().await?;
    let filter = event_name.trim();
    audit::list_all(&state.db, (!filter.is_empty()).then_some(filter)).await
}
