//! The email outbox: every email is first a row in `emails`, written with a `send_email`
//! job in the transaction of its cause ([`queue`]), so a crash never loses a message nor
//! sends one whose cause was rolled back.
//!
//! When SMTP is configured (`CALENTO_SMTP_URL`) the server registers the `send_email`
//! handler ([`register`]): it sends the message with lettre and marks the row `sent`; a
//! retry of a row already `sent` sends nothing, and a job that runs out of attempts marks
//! its email `failed`. Without SMTP no handler claims those jobs, so emails stay `pending`
//! and the outbox page (`/settings/outbox`) shows what would have been sent.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::changes::Write;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::jobs::{self, Handlers};
use super::{Db, millis_to_utc, new_id, now_ms};
use crate::AppError;
use crate::models::OutboxEmail;

/// The job kind that delivers an email; its payload is `{"email_id": "…"}`.
pub const SEND_EMAIL: &str = "send_email";
pub const DEFAULT_FROM: &str = "Calento <calento@localhost>";
/// One SMTP conversation (connect, send, quit) must finish within this.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Most emails the outbox lists.
const OUTBOX_LIMIT: i64 = 200;

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// An email to queue. `user_id` is the account it belongs to (the host, for booking
/// emails to invitees too): its outbox lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDraft {
    pub user_id: String,
    pub booking_id: Option<String>,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// A whole VCALENDAR with `METHOD:REQUEST` or `METHOD:CANCEL`, sent as an invitation.
    pub ics: Option<String>,
    /// The one-click unsubscribe address (RFC 8058), for emails a person chose to get.
    pub unsubscribe_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailRow {
    pub id: String,
    pub user_id: String,
    pub booking_id: Option<String>,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub ics: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, booking_id, kind, to_address, to_name, subject, text_body, html_body, ics, \
     unsubscribe_url, status, error, created_at, sent_at";

impl EmailRow {
    pub fn outbox(&self) -> OutboxEmail {
        OutboxEmail {
            id: self.id.clone(),
            booking_id: self.booking_id.clone(),
            kind: self.kind.clone(),
            to_address: self.to_address.clone(),
            to_name: self.to_name.clone(),
            subject: self.subject.clone(),
            status: self.status.clone(),
            error: self.error.clone(),
            text_body: self.text_body.clone(),
            has_invitation: self.ics.is_some(),
            created_at: millis_to_utc(self.created_at),
            sent_at: self.sent_at.map(millis_to_utc),
            attempts: 0,
            next_try: None,
        }
    }
}

/// Queues an email to send now: the `emails` row (pending) and its `send_email` job, in
/// the caller's write (its commit wakes the workers). Returns the email's id.
pub async fn queue(tx: &mut Write, draft: &EmailDraft) -> Result<String, AppError> {
    queue_at(tx, draft, now_ms()).await
}

/// [`queue`], sent at `send_at_ms` or later (reminders).
pub async fn queue_at(tx: &mut Write, draft: &EmailDraft, send_at_ms: i64) -> Result<String, AppError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO emails (id, user_id, booking_id, kind, to_address, to_name, subject, text_body, html_body, ics, \
         unsubscribe_url, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12)",
    )
    .bind(&id)
    .bind(&draft.user_id)
    .bind(&draft.booking_id)
    .bind(&draft.kind)
    .bind(&draft.to_address)
    .bind(&draft.to_name)
    .bind(&draft.subject)
    .bind(&draft.text_body)
    .bind(&draft.html_body)
    .bind(&draft.ics)
    .bind(&draft.unsubscribe_url)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    jobs::enqueue(tx, SEND_EMAIL, &serde_json::json!({ "email_id": id }), send_at_ms).await?;
    Ok(id)
}

/// Deletes the emails of a booking of that kind not sent yet (a reminder of a cancelled
/// booking); their jobs then find nothing to send. Returns how many.
pub async fn discard_pending(tx: &mut Write, booking_id: &str, kind: &str) -> Result<u64, AppError> {
    let result = sqlx::query("DELETE FROM emails WHERE booking_id = $1 AND kind = $2 AND status = 'pending'")
        .bind(booking_id)
        .bind(kind)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected())
}

pub async fn find(db: &Db, id: &str) -> Result<Option<EmailRow>, AppError> {
    sqlx::query_as::<_, EmailRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM emails WHERE id = $1")))
        .bind(id)
        .fetch_optional(db.read())
        .await
        .map_err(AppError::from)
}

/// A user's emails, newest first (the latest 200).
pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<OutboxEmail>, AppError> {
    let rows = sqlx::query_as::<_, EmailRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM emails WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    )))
    .bind(user_id)
    .bind(OUTBOX_LIMIT)
    .fetch_all(db.read())
    .await?;
    let mut list: Vec<OutboxEmail> = rows.iter().map(EmailRow::outbox).collect();
    // A pending email's job: how often it was tried, and when it is tried next.
    let pending: Vec<String> = list
        .iter()
        .filter(|e| e.status == PENDING)
        .map(|e| serde_json::json!({ "email_id": e.id }).to_string())
        .collect();
    if !pending.is_empty() {
        let params = (2..pending.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT payload, attempts, run_at FROM jobs WHERE kind = $1 AND status IN ('queued', 'running') \
             AND payload IN ({params})"
        );
        let mut query = sqlx::query_as::<_, (String, i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(SEND_EMAIL);
        for payload in &pending {
            query = query.bind(payload.clone());
        }
        for (payload, attempts, run_at) in query.fetch_all(db.read()).await? {
            let id = serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| v["email_id"].as_str().map(str::to_owned));
            if let Some(email) = list.iter_mut().find(|e| Some(&e.id) == id.as_ref()) {
                email.attempts = attempts;
                email.next_try = Some(millis_to_utc(run_at));
            }
        }
    }
    Ok(list)
}

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

/// An SMTP server to send through and the sender's address. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    /// `url`: `smtp://host:port` (plain), `smtp://host:port?tls=starttls` (STARTTLS
    /// required; also `tls=required` or `tls=opportunistic`), `smtps://user:pass@host:465`
    /// (TLS from the start). User and password are percent-encoded in the URL. `from`:
    /// `Name <address>` or `address`. The error names what is wrong, without the password.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let (scheme, _) = url.split_once("://").ok_or("expected smtp://… or smtps://…")?;
        if scheme != "smtp" && scheme != "smtps" {
            return Err(format!("expected smtp://… or smtps://…, got {scheme}://"));
        }
        let url = url.replace("tls=starttls", "tls=required");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| format!("not a usable SMTP URL: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = Mailbox::from_str(from.trim()).map_err(|e| format!("not an email address ({e}): {from:?}"))?;
        Ok(Self { transport: Arc::new(transport), from })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// The message for a stored email: text and HTML as alternatives, and an invitation
    /// as a `text/calendar; method=…` alternative (what mail clients show as an invite)
    /// and as an `invite.ics` attachment.
    pub fn message(&self, email: &EmailRow) -> Result<Message, String> {
        let to_address = email.to_address.parse().map_err(|e| format!("bad recipient {:?}: {e}", email.to_address))?;
        let to_name = email.to_name.trim();
        let to = Mailbox::new((!to_name.is_empty()).then(|| to_name.to_owned()), to_address);
        let domain = self.from.email.domain().to_owned();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .date_now()
            // Stable, so a retried send is recognised as the same message.
            .message_id(Some(format!("<{}@{}>", email.id.to_lowercase(), domain)));
        if let Some(url) = &email.unsubscribe_url {
            // RFC 2369 and RFC 8058: mail clients show "Unsubscribe" and POST
            // `List-Unsubscribe=One-Click` to the address without asking the person again.
            let header =
                |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
            builder = builder
                .raw_header(header("List-Unsubscribe", format!("<{url}>")))
                .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()));
        }
        let alternatives = MultiPart::alternative()
            .singlepart(SinglePart::plain(email.text_body.clone()))
            .singlepart(SinglePart::html(email.html_body.clone()));
        let body = match &email.ics {
            None => alternatives,
            Some(ics) => {
                let method = ics_method(ics).unwrap_or("REQUEST");
                let calendar = ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))
                    .map_err(|e| format!("content type: {e}"))?;
                let file_name = if method == "CANCEL" { "cancel.ics" } else { "invite.ics" };
                let file = ContentType::parse(&format!("application/ics; name=\"{file_name}\""))
                    .map_err(|e| format!("content type: {e}"))?;
                MultiPart::mixed()
                    .multipart(alternatives.singlepart(SinglePart::builder().header(calendar).body(ics.clone())))
                    .singlepart(Attachment::new(file_name.to_owned()).body(ics.clone(), file))
            }
        };
        builder.multipart(body).map_err(|e| format!("cannot build the message: {e}"))
    }

    pub async fn send(&self, email: &EmailRow) -> Result<(), String> {
        let message = self.message(email)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }
}

/// The `METHOD` of a VCALENDAR text.
fn ics_method(ics: &str) -> Option<&'static str> {
    ics.lines().find_map(|line| match line.trim_end().strip_prefix("METHOD:")?.to_ascii_uppercase().as_str() {
        "REQUEST" => Some("REQUEST"),
        "CANCEL" => Some("CANCEL"),
        "PUBLISH" => Some("PUBLISH"),
        _ => None,
    })
}

/// Adds the `send_email` handler (and marking emails `failed` when their job dies).
pub fn register(handlers: Handlers, mailer: Mailer) -> Handlers {
    handlers
        .add(SEND_EMAIL, move |db, payload| {
            let mailer = mailer.clone();
            async move { send_job(&db, &mailer, &payload).await }
        })
        .on_dead(SEND_EMAIL, |db, payload, error| async move {
            if let Some(id) = payload.get("email_id").and_then(|v| v.as_str()) {
                let _ = mark(&db, id, FAILED, Some(&error)).await;
            }
        })
}

/// One attempt at delivering the email a job names. Idempotent: an email already sent, or
/// discarded, is not sent again.
pub async fn send_job(db: &Db, mailer: &Mailer, payload: &serde_json::Value) -> Result<(), String> {
    let id = payload.get("email_id").and_then(|v| v.as_str()).ok_or("the job names no email_id")?;
    let email = find(db, id).await.map_err(|e| e.to_string())?;
    let Some(email) = email else {
        tracing::info!(email = %id, "email discarded before sending");
        return Ok(());
    };
    if email.status == SENT {
        return Ok(());
    }
    match mailer.send(&email).await {
        Ok(()) => mark(db, id, SENT, None).await.map_err(|e| e.to_string()),
        Err(error) => {
            // Still pending (the job retries), with the reason shown in the outbox.
            let _ = mark(db, id, &email.status, Some(&error)).await;
            Err(error)
        }
    }
}

async fn mark(db: &Db, id: &str, status: &str, error: Option<&str>) -> Result<(), AppError> {
    let sent_at = (status == SENT).then(now_ms);
    sqlx::query("UPDATE emails SET status = $1, error = $2, sent_at = COALESCE($3, sent_at) WHERE id = $4")
        .bind(status)
        .bind(error)
        .bind(sent_at)
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(ics: Option<&str>) -> EmailRow {
        EmailRow {
            id: "01HZX".into(),
            user_id: "u".into(),
            booking_id: None,
            kind: "booking_confirmation".into(),
            to_address: "ana@example.org".into(),
            to_name: "Ana Müller".into(),
            subject: "Confirmed: Intro call".into(),
            text_body: "Hello\nSee you".into(),
            html_body: "<p>Hello</p>".into(),
            ics: ics.map(str::to_owned),
            unsubscribe_url: None,
            status: PENDING.into(),
            error: None,
            created_at: 0,
            sent_at: None,
        }
    }

    #[test]
    fn smtp_urls_and_senders_are_checked() {
        assert!(Mailer::new("smtp://127.0.0.1:2525", DEFAULT_FROM).is_ok());
        assert!(Mailer::new("smtps://user:pass@mail.example.org:465", "calento@example.org").is_ok());
        assert!(Mailer::new("smtp://mail.example.org:587?tls=starttls", DEFAULT_FROM).is_ok());
        assert!(Mailer::new("http://mail.example.org", DEFAULT_FROM).is_err());
        assert!(Mailer::new("smtp://mail.example.org?tls=sometimes", DEFAULT_FROM).is_err());
        assert!(Mailer::new("smtp://127.0.0.1:2525", "not an address").is_err());
        let error = Mailer::new("ftp://user:s3cret@host", DEFAULT_FROM).expect_err("scheme");
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn invitations_are_an_alternative_and_an_attachment() {
        let mailer = Mailer::new("smtp://127.0.0.1:2525", DEFAULT_FROM).expect("mailer");
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n";
        let text = String::from_utf8(mailer.message(&email(Some(ics))).expect("message").formatted()).expect("utf8");
        assert!(text.contains("multipart/mixed"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.to_lowercase().contains("text/calendar; method=cancel; charset=utf-8"), "{text}");
        assert!(text.contains("filename=\"cancel.ics\""), "{text}");
        assert!(text.contains("Message-ID: <01hzx@localhost>"), "{text}");
        let plain = String::from_utf8(mailer.message(&email(None)).expect("message").formatted()).expect("utf8");
        assert!(!plain.contains("multipart/mixed") && plain.contains("multipart/alternative"), "{plain}");
    }
}
