//! Account security pages: Settings → Security (email, password, sessions, apps, the
//! audit log, export, deletion), the password-reset pages, the confirmation link page,
//! and the administrators' page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{Field, FormError, RequireUser, SettingsNav, SubmitButton, form_error};
use crate::models::{AuditEntry, RegistrationMode};
use crate::server::security::{
    AdminCreateInvite, AdminRetryJob, AdminSetRegistration, AdminUserAction, ChangeEmail, ChangePassword,
    DeleteAccount, RequestPasswordReset, ResendVerification, ResetPassword, RevokeApp, RevokeSession,
    SignOutEverywhere, UnlinkProvider, admin_audit_log, confirm_email, load_admin, load_security, my_audit_log,
};

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What an audit event is, in words.
fn describe_event(event: &str) -> &'static str {
    match event {
        "sign_in" => "Signed in",
        "sign_in_failed" => "Failed sign-in",
        "sign_out" => "Signed out",
        "registered" => "Account created",
        "sign_up_attempted" => "Someone tried to register with this address",
        "password_changed" => "Password changed",
        "password_reset_requested" => "Password reset requested",
        "password_reset" => "Password reset",
        "email_change_requested" => "Email change requested",
        "email_changed" => "Email changed",
        "email_verified" => "Email confirmed",
        "session_revoked" => "Session ended",
        "signed_out_everywhere" => "Signed out everywhere",
        "token_created" => "Token created",
        "token_revoked" => "Token revoked",
        "app_sign_in" => "App signed in",
        "token_rotated" => "App token refreshed",
        "refresh_token_reused" => "Refresh token reused: app signed out",
        "provider_linked" => "Sign-in provider linked",
        "provider_unlinked" => "Sign-in provider unlinked",
        "account_exported" => "Data exported",
        "account_deleted" => "Account deleted",
        "admin_disabled_user" => "Disabled by an administrator",
        "admin_enabled_user" => "Re-enabled by an administrator",
        "admin_made_admin" => "Made an administrator",
        "admin_removed_admin" => "Administrator rights removed",
        "admin_registration_mode" => "Registration mode changed",
        "admin_invite_created" => "Invite created",
        "admin_job_retried" => "Job retried",
        _ => "Security event",
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>, #[prop(optional)] show_account: bool) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="empty">"Nothing recorded yet."</p> }.into_any();
    }
    view! {
        <table class="audit" data-testid="audit-log">
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    {show_account.then(|| view! { <th scope="col">"Account"</th> })}
                    <th scope="col">"What"</th>
                    <th scope="col">"From"</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|entry| {
                        let what = if entry.detail.is_empty() {
                            describe_event(&entry.event).to_owned()
                        } else {
                            format!("{}: {}", describe_event(&entry.event), entry.detail)
                        };
                        let account = entry.user_email.clone().unwrap_or_else(|| "(deleted or unknown)".to_owned());
                        view! {
                            <tr data-event=entry.event.clone()>
                                <td>{when(entry.at)}</td>
                                {show_account.then(|| view! { <td>{account}</td> })}
                                <td>{what}</td>
                                <td>{format!("{} · {}", entry.ip, crate::models::short_agent(&entry.user_agent))}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let change_password = ServerAction::<ChangePassword>::new();
    let change_email = ServerAction::<ChangeEmail>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let revoke_session = ServerAction::<RevokeSession>::new();
    let revoke_app = ServerAction::<RevokeApp>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let unlink = ServerAction::<UnlinkProvider>::new();
    let unlink_error = form_error(move || unlink.value().get());
    let overview = Resource::new(
        move || {
            (
                revoke_session.version().get(),
                revoke_app.version().get(),
                change_password.version().get(),
                unlink.version().get(),
            )
        },
        |_| load_security(),
    );
    let log =
        Resource::new(move || (revoke_session.version().get(), change_password.version().get()), |_| my_audit_log());
    let password_error = form_error(move || change_password.value().get());
    let email_error = form_error(move || change_email.value().get());
    let delete_error = form_error(move || delete.value().get());
    let revoke_error = form_error(move || revoke_session.value().get());
    view! {
        <Title text="Security" />
        <RequireUser>
            <section class="card">
                <h1>"Security"</h1>
                <SettingsNav />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let data = match overview.await {
                            Ok(data) => data,
                            Err(error) => return view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        };
                        let verified = data.email_verified;
                        view! {
                            <h2>"Email"</h2>
                            <p data-testid="email-status">
                                <strong>{data.email.clone()}</strong>
                                {if verified { " · confirmed" } else { " · not confirmed yet" }}
                            </p>
                            {(!verified).then(|| view! {
                                <ActionForm action=resend attr:class="inline-form">
                                    <button type="submit">"Send the confirmation link again"</button>
                                </ActionForm>
                                <p role="status">{move || match resend.value().get() {
                                    Some(Ok(())) => "Sent. Check your inbox.".to_owned(),
                                    Some(Err(e)) => e.to_string(),
                                    None => String::new(),
                                }}</p>
                            })}
                            <ActionForm action=change_email attr:class="form" attr:novalidate=true>
                                <FormError error=email_error />
                                <Field label="New email address" name="email" kind="email" autocomplete="email" error=email_error />
                                <Field label="Current password" name="current_password" id="email-current-password" kind="password" autocomplete="current-password" error=email_error />
                                <SubmitButton label="Change email" busy_label="Sending…" pending=change_email.pending().into() />
                                <p role="status" data-testid="email-sent">{move || matches!(change_email.value().get(), Some(Ok(()))).then_some(
                                    "We sent a link to the new address. Your email changes when you open it."
                                )}</p>
                            </ActionForm>
                            <h2>"Password"</h2>
                            {(!data.has_password).then(|| view! {
                                <p class="hint">"Your account has no password yet (you sign in with a provider). Leave the current password empty to set one within ten minutes of signing in."</p>
                            })}
                            <ActionForm action=change_password attr:class="form" attr:novalidate=true>
                                <FormError error=password_error />
                                <Field label="Current password" name="current_password" id="password-current-password" kind="password" autocomplete="current-password" error=password_error />
                                <Field label="New password" name="new_password" kind="password" autocomplete="new-password" hint="At least 10 characters. Your other sessions and signed-in apps will be signed out." error=password_error />
                                <SubmitButton label="Change password" busy_label="Saving…" pending=change_password.pending().into() />
                                <p role="status" data-testid="password-saved">{move || matches!(change_password.value().get(), Some(Ok(()))).then_some("Password changed.")}</p>
                            </ActionForm>
                            <h2>"Where you are signed in"</h2>
                            <FormError error=revoke_error />
                            <table class="sessions" data-testid="sessions">
                                <thead>
                                    <tr>
                                        <th scope="col">"Device"</th>
                                        <th scope="col">"Address"</th>
                                        <th scope="col">"Signed in"</th>
                                        <th scope="col">"Last seen"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {data.sessions.into_iter().map(|session| {
                                        let label = format!("Sign out {}", session.device);
                                        view! {
                                            <tr data-current=session.current.to_string()>
                                                <td>{session.device.clone()}{session.current.then_some(" (this browser)")}</td>
                                                <td>{session.ip.clone()}</td>
                                                <td>{when(session.signed_in_at)}</td>
                                                <td>{when(session.last_seen_at)}</td>
                                                <td>{(!session.current).then(|| view! {
                                                    <ActionForm action=revoke_session attr:class="inline-form">
                                                        <input type="hidden" name="id" value=session.id.clone() />
                                                        <button type="submit" class="danger" aria-label=label>"Sign out"</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(!data.apps.is_empty()).then(|| view! {
                                <h3>"Apps"</h3>
                                <ul class="apps">
                                    {data.apps.into_iter().map(|app| view! {
                                        <li>
                                            {format!("Signed in {} · {}", when(app.created_at), app.scopes)}
                                            <ActionForm action=revoke_app attr:class="inline-form">
                                                <input type="hidden" name="id" value=app.id />
                                                <button type="submit" class="danger">"Sign out"</button>
                                            </ActionForm>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            })}
                            <h2>"Sign-in providers"</h2>
                            {if data.providers.is_empty() {
                                view! { <p class="empty">"No provider is linked."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="linked" data-testid="linked-providers">
                                        {data.providers.into_iter().map(|p| {
                                            let label = format!("Unlink {}", p.label);
                                            view! {
                                                <li>
                                                    {format!("{} · {} · linked {}", p.label, p.email, when(p.linked_at))}
                                                    <ActionForm action=unlink attr:class="inline-form">
                                                        <input type="hidden" name="id" value=p.id />
                                                        <button type="submit" class="danger" aria-label=label>"Unlink"</button>
                                                    </ActionForm>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                            <FormError error=unlink_error />
                            <p>
                                {data.available_providers.into_iter().map(|p| view! {
                                    <a class="button" rel="external" href=format!("/auth/oidc/{}/start?intent=link", p.id)>{format!("Link {}", p.label)}</a>
                                    " "
                                }).collect_view()}
                            </p>
                            <ActionForm action=everywhere attr:class="inline-form">
                                <button type="submit" class="danger" data-testid="sign-out-everywhere">"Sign out everywhere"</button>
                            </ActionForm>
                        }.into_any()
                    })}
                </Transition>
                <h2>"Recent security events"</h2>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match log.await {
                            Ok(entries) => view! { <AuditTable entries /> }.into_any(),
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
                <h2>"Your data"</h2>
                <p>
                    "Download everything in your account: one archive with your data as JSON and each calendar as an .ics file. "
                    <a href="/api/v1/account/export" download="" data-testid="export">"Download my data"</a>
                </p>
                <h2>"Delete your account"</h2>
                <p>"This deletes your account, your calendars, events, booking links, bookings (with what invitees told you), tasks and everything else, at once. It cannot be undone."</p>
                <ActionForm action=delete attr:class="form" attr:novalidate=true>
                    <FormError error=delete_error />
                    <Field label="Current password" name="current_password" id="delete-current-password" kind="password" autocomplete="current-password" error=delete_error />
                    <Field label="Type DELETE to confirm" name="confirm" error=delete_error />
                    <button type="submit" class="danger">"Delete my account"</button>
                </ActionForm>
            </section>
        </RequireUser>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let error = form_error(move || request.value().get());
    view! {
        <Title text="Forgot your password" />
        <section class="card auth-card">
            <h1>"Forgot your password?"</h1>
            <p>"Enter the email address of your account; we will send you a link to choose a new password."</p>
            <ActionForm action=request attr:class="form" attr:novalidate=true>
                <FormError error />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true error />
                <SubmitButton label="Send the link" busy_label="Sending…" pending=request.pending().into() />
                <p role="status" data-testid="reset-sent">{move || request.value().get().and_then(Result::ok)}</p>
            </ActionForm>
            <p><A href="/login">"Back to log in"</A></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let error = form_error(move || reset.value().get());
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <Title text="Choose a new password" />
        <section class="card auth-card">
            <h1>"Choose a new password"</h1>
            <ActionForm action=reset attr:class="form" attr:novalidate=true>
                <FormError error />
                <input type="hidden" name="token" value=token />
                <Field label="New password" name="password" kind="password" autocomplete="new-password" hint="At least 10 characters. Every session and token of your account will be signed out." required=true error />
                <SubmitButton label="Save the new password" busy_label="Saving…" pending=reset.pending().into() />
            </ActionForm>
            <p><A href="/forgot-password">"Ask for a new link"</A></p>
        </section>
    }
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let query = use_query_map();
    let outcome = Resource::new(move || query.read().get("token").unwrap_or_default(), confirm_email);
    view! {
        <Title text="Confirm your email" />
        <section class="card auth-card">
            <h1>"Confirm your email"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                {move || Suspend::new(async move {
                    match outcome.await {
                        Ok(message) => view! { <p role="status" data-testid="confirmed">{message}</p> }.into_any(),
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p><A href="/calendar">"Go to your calendar"</A></p>
        </section>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let act = ServerAction::<AdminUserAction>::new();
    let set_mode = ServerAction::<AdminSetRegistration>::new();
    let invite = ServerAction::<AdminCreateInvite>::new();
    let retry = ServerAction::<AdminRetryJob>::new();
    let data = Resource::new(
        move || {
            (search(), act.version().get(), set_mode.version().get(), invite.version().get(), retry.version().get())
        },
        |(q, ..)| load_admin(q),
    );
    let events = Resource::new(
        move || (query.read().get("event").unwrap_or_default(), act.version().get()),
        |(e, _)| admin_audit_log(e),
    );
    let act_error = form_error(move || act.value().get());
    let mode_error = form_error(move || set_mode.value().get());
    let invite_error = form_error(move || invite.value().get());
    let retry_error = form_error(move || retry.value().get());
    view! {
        <Title text="Administration" />
        <RequireUser>
            <section class="card">
                <h1>"Administration"</h1>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let data = match data.await {
                            Ok(data) => data,
                            Err(error) => return view! { <p class="form-error" role="alert" data-testid="admin-refused">{error.to_string()}</p> }.into_any(),
                        };
                        let mode = data.registration_mode;
                        view! {
                            <h2>"Registration"</h2>
                            <ActionForm action=set_mode attr:class="form inline">
                                <FormError error=mode_error />
                                <div class="field">
                                    <label for="field-mode">"Who may create an account"</label>
                                    <select id="field-mode" name="mode">
                                        <option value="open" selected={mode == RegistrationMode::Open}>"Anyone"</option>
                                        <option value="invite_only" selected={mode == RegistrationMode::InviteOnly}>"Only people with an invite link"</option>
                                        <option value="closed" selected={mode == RegistrationMode::Closed}>"Nobody (closed)"</option>
                                    </select>
                                </div>
                                <button type="submit">"Save"</button>
                            </ActionForm>
                            <ActionForm action=invite attr:class="form inline" attr:novalidate=true>
                                <FormError error=invite_error />
                                <Field label="Invite for (optional email)" name="email" kind="email" error=invite_error />
                                <button type="submit">"Create invite link"</button>
                            </ActionForm>
                            <p role="status" data-testid="invite-link">{move || invite.value().get().and_then(Result::ok).and_then(|i| i.link).map(|link| view! {
                                "Send this link (shown once, valid 14 days): " <code class="token">{link}</code>
                            })}</p>
                            {(!data.invites.is_empty()).then(|| view! {
                                <ul class="invites">
                                    {data.invites.into_iter().map(|i| view! {
                                        <li>{format!("{} · created {} · {}", i.email.unwrap_or_else(|| "any address".to_owned()), when(i.created_at), if i.used { "used".to_owned() } else { format!("valid until {}", when(i.expires_at)) })}</li>
                                    }).collect_view()}
                                </ul>
                            })}
                            <h2>"Accounts"</h2>
                            <form method="get" action="/admin" class="form inline" role="search">
                                <div class="field">
                                    <label for="field-q">"Search by email, username or name"</label>
                                    <input id="field-q" name="q" type="search" value=search() />
                                </div>
                                <button type="submit">"Search"</button>
                            </form>
                            <FormError error=act_error />
                            <table class="users" data-testid="users">
                                <thead>
                                    <tr>
                                        <th scope="col">"Account"</th>
                                        <th scope="col">"Since"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {data.users.into_iter().map(|u| {
                                        let status = [
                                            u.is_admin.then_some("administrator"),
                                            u.disabled.then_some("disabled"),
                                            (!u.email_verified).then_some("email not confirmed"),
                                        ].into_iter().flatten().collect::<Vec<_>>().join(", ");
                                        let toggle = if u.disabled { ("enable", "Re-enable") } else { ("disable", "Disable") };
                                        let admin_toggle = if u.is_admin { ("remove_admin", "Remove admin") } else { ("make_admin", "Make admin") };
                                        let id = u.id.clone();
                                        view! {
                                            <tr data-email=u.email.clone()>
                                                <td>{format!("{} <{}> @{}", u.name, u.email, u.username)}</td>
                                                <td>{when(u.created_at)}</td>
                                                <td>{status}</td>
                                                <td>
                                                    {[toggle, admin_toggle].into_iter().map(|(action, label)| { let id = id.clone(); view! {
                                                        <ActionForm action=act attr:class="inline-form">
                                                            <input type="hidden" name="user_id" value=id />
                                                            <input type="hidden" name="action" value=action />
                                                            <button type="submit" class:danger={action == "disable"}>{label}</button>
                                                        </ActionForm>
                                                    }}).collect_view()}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Backups"</h2>
                            <p data-testid="last-backup">{match data.last_backup {
                                None => "No scheduled backup has run (set CALENTO_BACKUP_DIR to have them).".to_owned(),
                                Some(run) if run.ok => format!(
                                    "Last backup {} UTC: {} ({} bytes).",
                                    run.finished_at.format("%Y-%m-%d %H:%M"),
                                    run.archive.unwrap_or_default(),
                                    run.bytes.unwrap_or_default()
                                ),
                                Some(run) => format!(
                                    "The last backup failed ({} UTC): {}",
                                    run.finished_at.format("%Y-%m-%d %H:%M"),
                                    run.error.unwrap_or_default()
                                ),
                            }}</p>
                            <h2>"Background jobs"</h2>
                            <p data-testid="job-counts">{format!("{} pending · {} failed, waiting to retry · {} dead", data.pending_jobs, data.failed_jobs, data.dead_jobs)}</p>
                            <FormError error=retry_error />
                            <ul class="jobs">
                                {data.problem_jobs.into_iter().map(|job| {
                                    let dead = job.status == "dead";
                                    view! {
                                        <li>
                                            {format!("{} · {} · attempts {}/{} · {}", job.kind, job.status, job.attempts, job.max_attempts, job.last_error.unwrap_or_default())}
                                            {dead.then(|| view! {
                                                <ActionForm action=retry attr:class="inline-form">
                                                    <input type="hidden" name="id" value=job.id.clone() />
                                                    <button type="submit">"Retry"</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Transition>
                <h2>"Security events"</h2>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match events.await {
                            Ok(entries) => view! { <AuditTable entries show_account=true /> }.into_any(),
                            Err(_) => ().into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}
