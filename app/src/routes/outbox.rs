//! Settings → Outbox: the emails Calento sent or would send for this account. Without an
//! SMTP server (`CALENTO_SMTP_URL`) nothing is sent and every email waits here as
//! "pending", so a new instance shows what its bookings would tell people.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{RequireUser, SettingsNav};
use crate::models::OutboxEmail;
use crate::server::outbox::list_outbox;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let emails = Resource::new(|| (), |_| list_outbox());
    view! {
        <Title text="Outbox" />
        // Resources are made above, outside the sign-in guard's Suspense (stable hydration).
        <RequireUser>
            <section class="card">
                <h1>"Outbox"</h1>
                <SettingsNav />
                <p>
                    "Emails about your bookings, to you and to the people who book you. They are sent when the "
                    "server has an SMTP server (" <code>"CALENTO_SMTP_URL"</code> "); until then they wait here as "
                    "“pending”."
                </p>
                <Transition fallback=|| view! { <p class="loading">"Loading emails…"</p> }>
                    {move || Suspend::new(async move {
                        emails
                            .await
                            .map(|list| {
                                if list.is_empty() {
                                    return view! { <p class="empty" data-testid="no-emails">"No emails yet."</p> }
                                        .into_any();
                                }
                                view! {
                                    <table class="tokens outbox" data-testid="outbox">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"To"</th>
                                                <th scope="col">"Subject"</th>
                                                <th scope="col">"Status"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{list.into_iter().map(|email| view! { <EmailRow email /> }).collect_view()}</tbody>
                                    </table>
                                }
                                    .into_any()
                            })
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
}

#[component]
fn EmailRow(email: OutboxEmail) -> impl IntoView {
    let to = if email.to_name.is_empty() {
        email.to_address.clone()
    } else {
        format!("{} <{}>", email.to_name, email.to_address)
    };
    let status = match (email.status.as_str(), &email.sent_at) {
        ("sent", Some(at)) => format!("Sent {}", at.format("%Y-%m-%d %H:%M UTC")),
        ("sent", None) => "Sent".to_owned(),
        ("failed", _) => "Failed".to_owned(),
        _ => {
            let at = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            match (email.attempts, &email.next_try) {
                (0, Some(next)) if *next > email.created_at + chrono::Duration::minutes(1) => {
                    format!("Pending · to be sent {}", at(next))
                }
                (0, _) => "Pending · not tried yet".to_owned(),
                (tries, Some(next)) => format!(
                    "Pending · tried {}, next try {}",
                    crate::components::count(tries, "time", "times"),
                    at(next)
                ),
                (tries, None) => format!("Pending · tried {}", crate::components::count(tries, "time", "times")),
            }
        }
    };
    let invitation = email.has_invitation.then_some(" · with invitation (.ics)");
    view! {
        <tr data-status=email.status.clone()>
            <td>{email.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
            <td>{to}</td>
            <td>
                <details>
                    <summary>{email.subject}</summary>
                    <p class="empty">{email.kind} {invitation}</p>
                    <pre class="email-body">{email.text_body}</pre>
                </details>
            </td>
            <td>
                {status}
                {email.error.map(|error| view! { <p class="form-error">{error}</p> })}
            </td>
        </tr>
    }
}
