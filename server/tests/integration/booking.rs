//! Scheduling over HTTP on both databases: availability schedules, booking links, the
//! public slots and booking endpoints (exactly once under a 50-way race), cancelling and
//! rescheduling, secret links, rate limits and free/busy.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, TestApp, spawn_app, spawn_app_with};

on_both_backends!(
    schedules_are_checked_stored_normalised_and_kept_while_links_use_them,
    booking_links_are_created_checked_changed_and_private_to_their_host,
    slots_follow_the_schedule_overrides_and_every_kind_of_busy_time,
    slots_keep_their_local_time_across_daylight_saving_changes,
    a_slot_is_booked_once_and_the_host_sees_the_booking_and_its_event,
    fifty_invitees_racing_for_one_slot_get_exactly_one_booking,
    retries_with_the_same_idempotency_key_make_one_booking,
    invitees_cancel_and_reschedule_with_their_secret_link_and_hosts_with_the_api,
    bookings_needing_approval_wait_and_can_be_approved_or_declined,
    secret_and_disabled_links_are_not_found_by_strangers,
    day_limits_and_buffers_close_slots_around_bookings,
    freebusy_merges_events_and_bookings,
    the_bookings_list_is_paged_with_its_total,
    public_pages_describe_themselves_and_private_pages_are_not_indexed,
    invitee_pages_load_their_small_module_not_the_apps_bundle,
    a_refused_form_comes_back_with_what_the_invitee_typed_once,
    a_public_page_is_kept_for_everyone_until_the_host_changes_something,
    a_kept_page_is_compressed_once_at_the_best_ratio,
);

/// A host with a token, their username, a New York schedule (weekdays 09:00–12:00) and a
/// 30-minute link `intro`.
pub(crate) struct Host {
    pub token: String,
    pub username: String,
    pub schedule: String,
}

pub(crate) async fn host(app: &TestApp, email: &str) -> Host {
    let token = user_with_token(app, email).await;
    let me = app.api("GET", "/api/v1/me", &token, None).await.json();
    let username = me["username"].as_str().expect("username").to_owned();
    let reply = app
        .api(
            "POST",
            "/api/v1/availability/schedules",
            &token,
            Some(json!({
                "name": "Mornings",
                "timezone": "America/New_York",
                "rules": (1..=5).map(|d| json!({"weekday": d, "start": "09:00", "end": "12:00"})).collect::<Vec<_>>(),
            })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let schedule = reply.json()["id"].as_str().expect("id").to_owned();
    Host { token, username, schedule }
}

pub(crate) async fn link(app: &TestApp, host: &Host, body: Value) -> Value {
    let mut body = body;
    if body.get("schedule_id").is_none() {
        body["schedule_id"] = json!(host.schedule);
    }
    let reply = app.api("POST", "/api/v1/booking-links", &host.token, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

async fn slots(app: &TestApp, host: &Host, slug: &str, from: &str, to: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/v1/public/{}/{slug}/slots?from={from}&to={to}", host.username)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().expect("array").iter().map(|s| s.as_str().expect("text").to_owned()).collect()
}

pub(crate) async fn book(
    app: &TestApp,
    host: &Host,
    slug: &str,
    body: Value,
    key: Option<&str>,
) -> crate::support::Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let path = format!("/api/v1/public/{}/{slug}/bookings", host.username);
    app.send("POST", &path, &headers, body.to_string().into_bytes()).await
}

pub(crate) fn invitee(start: &str) -> Value {
    json!({"start": start, "name": "Ada Lovelace", "email": "ada@example.org", "timezone": "Europe/London"})
}

fn day(date: &str, times: &[&str]) -> Vec<String> {
    times.iter().map(|t| format!("{date}T{t}:00Z")).collect()
}

async fn schedules_are_checked_stored_normalised_and_kept_while_links_use_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "schedules@example.org").await;
    // Overlapping ranges are merged; the first schedule is the default.
    let reply = app
        .api(
            "POST",
            "/api/v1/availability/schedules",
            &host.token,
            Some(json!({"name": "Split", "timezone": "Europe/Paris", "rules": [
                {"weekday": 1, "start": "13:00", "end": "17:00"},
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "11:00", "end": "14:00"}
            ], "overrides": [{"date": "2030-12-25", "ranges": []}]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let split = reply.json();
    assert_eq!(split["rules"], json!([{"weekday": 1, "start": "09:00", "end": "17:00"}]));
    assert_eq!(split["is_default"], json!(false));
    let id = split["id"].as_str().expect("id");
    // Bad input: every field named, nothing stored.
    let reply = app
        .api(
            "POST",
            "/api/v1/availability/schedules",
            &host.token,
            Some(json!({"name": "", "timezone": "Mars/Base", "rules": [
                {"weekday": 8, "start": "09:00", "end": "10:00"}, {"weekday": 2, "start": "11:00", "end": "10:00"}
            ], "overrides": [{"date": "2030-02-30", "ranges": []}]})),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let fields: Vec<String> = reply.json()["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    for expected in ["name", "timezone"] {
        assert!(fields.iter().any(|f| f == expected), "{expected} in {fields:?}");
    }
    assert!(fields.iter().any(|f| f.starts_with("rules")), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("overrides")), "{fields:?}");
    let list = app.api("GET", "/api/v1/availability/schedules", &host.token, None).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    // PATCH changes what is given.
    let reply = app
        .api("PATCH", &format!("/api/v1/availability/schedules/{id}"), &host.token, Some(json!({"name": "Renamed"})))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["name"], "Renamed");
    assert_eq!(reply.json()["timezone"], "Europe/Paris");
    // A schedule a link uses cannot be deleted; an unused one can.
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30], "schedule_id": id})).await;
    let reply = app.api("DELETE", &format!("/api/v1/availability/schedules/{id}"), &host.token, None).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let reply =
        app.api("DELETE", &format!("/api/v1/availability/schedules/{}", host.schedule), &host.token, None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let left = app.api("GET", "/api/v1/availability/schedules", &host.token, None).await.json();
    assert_eq!(left[0]["id"], json!(id));
    assert_eq!(left[0]["is_default"], json!(true));
    // Someone else's schedule is not found.
    let other = user_with_token(&app, "other-schedules@example.org").await;
    let reply = app.api("GET", &format!("/api/v1/availability/schedules/{id}"), &other, None).await;
    assert_eq!(reply.status, 404);
}

async fn booking_links_are_created_checked_changed_and_private_to_their_host(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "links@example.org").await;
    let created = link(
        &app,
        &host,
        json!({"slug": "intro", "title": "Intro call", "durations": [30, 60], "slot_interval": 15,
               "buffer_before": 5, "buffer_after": 10, "minimum_notice_minutes": 120, "booking_window_days": 30,
               "max_per_day": 4, "requires_approval": false, "secret": false,
               "location": {"kind": "video", "value": "https://meet.example.org/intro"},
               "questions": [{"label": "What about?", "kind": "long", "required": true}]}),
    )
    .await;
    assert_eq!(created["url"], json!(format!("/{}/intro", host.username)));
    assert_eq!(created["durations"], json!([30, 60]));
    assert_eq!(created["buffer_after"], json!(10));
    assert_eq!(created["questions"][0]["id"], json!("what-about"));
    let id = created["id"].as_str().expect("id");
    // The host sees the video address; a visitor of the link learns it only by booking.
    assert_eq!(created["location"], json!({"kind": "video", "value": "https://meet.example.org/intro"}));
    let public = app.get(&format!("/api/v1/public/{}/intro", host.username)).await;
    assert_eq!(public.json()["location"], json!({"kind": "video", "value": ""}), "{}", public.body);
    let page = app.get(&format!("/{}/intro", host.username)).await;
    assert!(page.body.contains("Video call") && !page.body.contains("meet.example.org"), "{}", page.body);
    // The slug is unique per host.
    let reply = app
        .api(
            "POST",
            "/api/v1/booking-links",
            &host.token,
            Some(json!({"slug": "intro", "title": "Again", "schedule_id": host.schedule})),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.json()["fields"][0]["field"], "slug");
    // Bad settings are named.
    let reply = app
        .api(
            "POST",
            "/api/v1/booking-links",
            &host.token,
            Some(json!({"slug": "Not OK!", "title": "x", "durations": [0], "schedule_id": "nope"})),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    // PATCH keeps what is not given.
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/booking-links/{id}"),
            &host.token,
            Some(json!({"title": "Intro (new)", "max_per_day": null})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let changed = reply.json();
    assert_eq!(changed["title"], "Intro (new)");
    assert_eq!(changed["max_per_day"], Value::Null);
    assert_eq!(changed["durations"], json!([30, 60]));
    // Others cannot see or change it.
    let other = user_with_token(&app, "other-links@example.org").await;
    assert_eq!(app.api("GET", &format!("/api/v1/booking-links/{id}"), &other, None).await.status, 404);
    assert_eq!(app.api("DELETE", &format!("/api/v1/booking-links/{id}"), &other, None).await.status, 404);
    assert_eq!(app.api("DELETE", &format!("/api/v1/booking-links/{id}"), &host.token, None).await.status, 204);
    assert_eq!(app.get(&format!("/api/v1/public/{}/intro", host.username)).await.status, 404);
}

async fn slots_follow_the_schedule_overrides_and_every_kind_of_busy_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "slots@example.org").await;
    // Wednesday off, Thursday 13:00–14:00 only.
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/availability/schedules/{}", host.schedule),
            &host.token,
            Some(json!({"overrides": [
                {"date": "2030-01-16", "ranges": []},
                {"date": "2030-01-17", "ranges": [{"start": "13:00", "end": "14:00"}]}
            ]})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    // A weekly busy event on Tuesdays 10:00–11:00 New York time, a free one on Monday
    // morning, a cancelled one on Friday, and a subscribed-style calendar that is not busy.
    for event in [
        json!({"title": "Weekly", "start": "2029-12-04T10:00:00", "end": "2029-12-04T11:00:00",
               "time_zone": "America/New_York", "rrule": "FREQ=WEEKLY"}),
        json!({"title": "Free", "start": "2030-01-14T09:00:00", "end": "2030-01-14T10:00:00",
               "time_zone": "America/New_York", "transparency": "free"}),
        json!({"title": "Off", "start": "2030-01-18T09:00:00", "end": "2030-01-18T12:00:00",
               "time_zone": "America/New_York", "status": "cancelled"}),
    ] {
        let reply = app.api("POST", "/api/v1/events", &host.token, Some(event)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let reply = app
        .api("POST", "/api/v1/calendars", &host.token, Some(json!({"name": "Ideas", "counts_as_busy": false})))
        .await;
    let ideas = reply.json()["id"].as_str().expect("id").to_owned();
    let reply = app
        .api(
            "POST",
            "/api/v1/events",
            &host.token,
            Some(json!({"calendar_id": ideas, "title": "Daydream", "start": "2030-01-18T09:00:00",
                        "end": "2030-01-18T12:00:00", "time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    let got = slots(&app, &host, "intro", "2030-01-14T00:00:00Z", "2030-01-19T00:00:00Z").await;
    let mut expected = Vec::new();
    let morning = ["14:00", "14:30", "15:00", "15:30", "16:00", "16:30"];
    expected.extend(day("2030-01-14", &morning));
    expected.extend(day("2030-01-15", &["14:00", "14:30", "16:00", "16:30"]));
    expected.extend(day("2030-01-17", &["18:00", "18:30"]));
    expected.extend(day("2030-01-18", &morning));
    assert_eq!(got, expected);
    // An instance of the weekly event moved away frees its old time.
    let weekly = app.api("GET", "/api/v1/events?q=Weekly", &host.token, None).await.json();
    let weekly_id = weekly["items"][0]["id"].as_str().expect("weekly id").to_owned();
    let reply = app
        .api(
            "PATCH",
            &format!("/api/v1/events/{weekly_id}?scope=this&recurrence_id=2030-01-15T15:00:00Z"),
            &host.token,
            Some(
                json!({"start": "2030-01-15T11:00:00", "end": "2030-01-15T12:00:00", "time_zone": "America/New_York"}),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = slots(&app, &host, "intro", "2030-01-15T00:00:00Z", "2030-01-16T00:00:00Z").await;
    assert_eq!(got, day("2030-01-15", &["14:00", "14:30", "15:00", "15:30"]));
    // Bad windows are refused with the field named.
    let path = format!("/api/v1/public/{}/intro/slots", host.username);
    for query in [
        "",
        "?from=2030-01-14T00:00:00Z",
        "?from=2030-01-14&to=2030-01-13",
        "?from=2030-01-01&to=2030-06-01",
        "?from=x&to=y",
    ] {
        let reply = app.get(&format!("{path}{query}")).await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
    }
    let reply = app.get(&format!("{path}?from=2030-01-14&to=2030-01-15&duration=45")).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
}

async fn slots_keep_their_local_time_across_daylight_saving_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "dst@example.org").await;
    let reply = app
        .api(
            "POST",
            "/api/v1/availability/schedules",
            &host.token,
            Some(json!({"name": "Berlin", "timezone": "Europe/Berlin", "rules":
                (1..=7).map(|d| json!({"weekday": d, "start": "09:00", "end": "10:00"})).collect::<Vec<_>>()})),
        )
        .await;
    let berlin = reply.json()["id"].as_str().expect("id").to_owned();
    link(&app, &host, json!({"slug": "hour", "title": "Hour", "durations": [60], "schedule_id": berlin})).await;
    // Clocks go forward on Sunday 31 March 2030 and back on Sunday 27 October 2030.
    let spring = slots(&app, &host, "hour", "2030-03-29T00:00:00Z", "2030-04-02T00:00:00Z").await;
    assert_eq!(
        spring,
        vec!["2030-03-29T08:00:00Z", "2030-03-30T08:00:00Z", "2030-03-31T07:00:00Z", "2030-04-01T07:00:00Z"]
    );
    let autumn = slots(&app, &host, "hour", "2030-10-26T00:00:00Z", "2030-10-28T00:00:00Z").await;
    assert_eq!(autumn, vec!["2030-10-26T07:00:00Z", "2030-10-27T08:00:00Z"]);
}

async fn a_slot_is_booked_once_and_the_host_sees_the_booking_and_its_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "book@example.org").await;
    link(
        &app,
        &host,
        json!({"slug": "intro", "title": "Intro", "durations": [30, 60],
               "questions": [{"id": "topic", "label": "Topic", "required": true}]}),
    )
    .await;
    let info = app.get(&format!("/api/v1/public/{}/intro", host.username)).await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["host_timezone"], "America/New_York");
    assert_eq!(info.json()["title"], "Intro");

    // Invalid fields: 422, every one named, nothing booked.
    let reply = book(
        &app,
        &host,
        "intro",
        json!({"start": "2030-01-14T14:00:00Z", "name": "", "email": "nope",
        "timezone": "Nowhere/Else", "duration": 45}),
        None,
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let fields: Vec<String> = reply.json()["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    for field in ["name", "email", "timezone", "duration", "answers.topic"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    // The honeypot: refused, nothing booked.
    let mut bot = invitee("2030-01-14T14:00:00Z");
    bot["answers"] = json!({"topic": "spam"});
    bot["website"] = json!("http://spam.example");
    assert_eq!(book(&app, &host, "intro", bot, None).await.status, 400);

    let mut body = invitee("2030-01-14T14:00:00Z");
    body["answers"] = json!({"topic": "Engines"});
    body["notes"] = json!("Looking forward");
    let reply = book(&app, &host, "intro", body.clone(), None).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let booking = reply.json();
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(booking["start"], "2030-01-14T14:00:00Z");
    assert_eq!(booking["end"], "2030-01-14T14:30:00Z");
    assert_eq!(booking["answers"][0]["value"], "Engines");
    assert!(booking["manage_url"].as_str().is_some_and(|u| u.starts_with("/booking/") && u.len() > 40));
    // The same slot again: 409 slot_taken; a time that was never offered: 409 too.
    let reply = book(&app, &host, "intro", body.clone(), None).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.json()["code"], "slot_taken");
    body["start"] = json!("2030-01-14T14:10:00Z");
    assert_eq!(book(&app, &host, "intro", body.clone(), None).await.status, 409);
    // A 60-minute booking cannot overlap it either.
    body["start"] = json!("2030-01-14T14:00:00Z");
    body["duration"] = json!(60);
    assert_eq!(book(&app, &host, "intro", body, None).await.status, 409);
    let left = slots(&app, &host, "intro", "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert!(!left.contains(&"2030-01-14T14:00:00Z".to_owned()));
    assert_eq!(left.len(), 5);

    // The host sees the booking and the event on their calendar.
    let list = app.api("GET", "/api/v1/bookings", &host.token, None).await.json()["items"].clone();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["email"], "ada@example.org");
    let found = app
        .api("GET", "/api/v1/occurrences?from=2030-01-14T00:00:00Z&to=2030-01-15T00:00:00Z", &host.token, None)
        .await
        .json();
    let event = found.as_array().expect("array").iter().find(|o| o["summary"] == "Intro with Ada Lovelace");
    assert_eq!(event.map(|e| e["start"].clone()), Some(json!("2030-01-14T14:00:00Z")));
    // The invitee's "add to calendar" file.
    let token = booking["manage_url"].as_str().expect("url").trim_start_matches("/booking/");
    let ics = app.get(&format!("/api/v1/public/bookings/{token}/invite.ics")).await;
    assert_eq!(ics.status, 200);
    assert!(ics.body.contains("DTSTART:20300114T140000Z"), "{}", ics.body);
}

async fn fifty_invitees_racing_for_one_slot_get_exactly_one_booking(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let host = Arc::new(host(&app, "race@example.org").await);
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = app.clone();
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"start": "2030-01-14T15:00:00Z", "name": format!("Invitee {i}"),
                              "email": format!("invitee{i}@example.org")});
            book(&app, &host, "intro", body, None).await
        }));
    }
    let mut created = 0;
    let mut taken = 0;
    for task in tasks {
        let reply = task.await.expect("task");
        match reply.status {
            201 => created += 1,
            409 => {
                assert_eq!(reply.json()["code"], "slot_taken");
                taken += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!((created, taken), (1, 49));
    let list = app.api("GET", "/api/v1/bookings", &host.token, None).await.json()["items"].clone();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let found = app
        .api("GET", "/api/v1/occurrences?from=2030-01-14T00:00:00Z&to=2030-01-15T00:00:00Z", &host.token, None)
        .await
        .json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "one calendar event: {found}");
}

async fn retries_with_the_same_idempotency_key_make_one_booking(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "idem@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let first = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), Some("retry-1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), Some("retry-1")).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(first.json()["manage_url"], again.json()["manage_url"]);
    let other = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), Some("retry-2")).await;
    assert_eq!(other.status, 409);
    let list = app.api("GET", "/api/v1/bookings", &host.token, None).await.json()["items"].clone();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

async fn invitees_cancel_and_reschedule_with_their_secret_link_and_hosts_with_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "manage@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let booking = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), None).await.json();
    let token = booking["manage_url"].as_str().expect("url").trim_start_matches("/booking/").to_owned();
    assert_eq!(app.get(&format!("/api/v1/public/bookings/{token}")).await.json()["id"], booking["id"]);
    assert_eq!(app.get("/api/v1/public/bookings/not-a-token").await.status, 404);

    // The invitee moves it to 15:30Z; the old time is free again, the event moved.
    let path = format!("/api/v1/public/bookings/{token}/reschedule");
    let reply = app
        .send(
            "POST",
            &path,
            &[("content-type", "application/json")],
            json!({"start": "2030-01-15T15:30:00Z"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["start"], "2030-01-15T15:30:00Z");
    let open = slots(&app, &host, "intro", "2030-01-15T00:00:00Z", "2030-01-16T00:00:00Z").await;
    assert!(open.contains(&"2030-01-15T14:00:00Z".to_owned()));
    assert!(!open.contains(&"2030-01-15T15:30:00Z".to_owned()));
    let found = app
        .api("GET", "/api/v1/occurrences?from=2030-01-15T00:00:00Z&to=2030-01-16T00:00:00Z", &host.token, None)
        .await
        .json();
    assert_eq!(found[0]["start"], "2030-01-15T15:30:00Z");

    // The host moves it back with the API, onto a free slot only.
    let id = booking["id"].as_str().expect("id");
    let other = book(&app, &host, "intro", invitee("2030-01-15T16:00:00Z"), None).await;
    assert_eq!(other.status, 201);
    let reply = app
        .api(
            "POST",
            &format!("/api/v1/bookings/{id}/reschedule"),
            &host.token,
            Some(json!({"start": "2030-01-15T16:00:00Z"})),
        )
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let reply = app
        .api(
            "POST",
            &format!("/api/v1/bookings/{id}/reschedule"),
            &host.token,
            Some(json!({"start": "2030-01-15T14:00:00Z", "reason": "A clash on my side"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "A clash on my side");

    // The invitee cancels with a reason; the slot opens; the event is gone; a second cancel is 409.
    let path = format!("/api/v1/public/bookings/{token}/cancel");
    let reply = app
        .send(
            "POST",
            &path,
            &[("content-type", "application/json")],
            json!({"reason": "Sick"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "cancelled");
    assert_eq!(reply.json()["reason"], "Sick");
    assert_eq!(app.send("POST", &path, &[], Vec::new()).await.status, 409);
    let open = slots(&app, &host, "intro", "2030-01-15T00:00:00Z", "2030-01-16T00:00:00Z").await;
    assert!(open.contains(&"2030-01-15T14:00:00Z".to_owned()));
    let cancelled =
        app.api("GET", "/api/v1/bookings?status=cancelled", &host.token, None).await.json()["items"].clone();
    assert_eq!(cancelled.as_array().map(Vec::len), Some(1));
    let found = app
        .api("GET", "/api/v1/occurrences?from=2030-01-15T00:00:00Z&to=2030-01-16T00:00:00Z", &host.token, None)
        .await
        .json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "only the other booking's event: {found}");
    // The host cancels the other one without a body.
    let other_id = other.json()["id"].as_str().expect("id").to_owned();
    let reply = app.api("POST", &format!("/api/v1/bookings/{other_id}/cancel"), &host.token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(app.api("GET", "/api/v1/bookings?status=bogus", &host.token, None).await.status, 422);

    // A cut-off: invitees cannot change a booking within it.
    let reply = app
        .api(
            "POST",
            "/api/v1/booking-links",
            &host.token,
            Some(json!({"slug": "late", "title": "Late", "durations": [30],
            "schedule_id": host.schedule, "cancel_cutoff_minutes": 43200})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let soon = chrono::Utc::now() + chrono::Duration::days(10);
    let open = slots(
        &app,
        &host,
        "late",
        &soon.format("%Y-%m-%dT00:00:00Z").to_string(),
        &(soon + chrono::Duration::days(7)).format("%Y-%m-%dT00:00:00Z").to_string(),
    )
    .await;
    let late = book(&app, &host, "late", invitee(&open[0]), None).await.json();
    let token = late["manage_url"].as_str().expect("url").trim_start_matches("/booking/").to_owned();
    let reply = app.send("POST", &format!("/api/v1/public/bookings/{token}/cancel"), &[], Vec::new()).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
}

async fn bookings_needing_approval_wait_and_can_be_approved_or_declined(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "approval@example.org").await;
    link(&app, &host, json!({"slug": "vip", "title": "VIP", "durations": [30], "requires_approval": true})).await;
    let first = book(&app, &host, "vip", invitee("2030-01-15T14:00:00Z"), None).await.json();
    assert_eq!(first["status"], "pending");
    // A pending booking holds its slot.
    assert_eq!(book(&app, &host, "vip", invitee("2030-01-15T14:00:00Z"), None).await.status, 409);
    let second = book(&app, &host, "vip", invitee("2030-01-15T15:00:00Z"), None).await.json();
    let pending = app.api("GET", "/api/v1/bookings?status=pending", &host.token, None).await.json()["items"].clone();
    assert_eq!(pending.as_array().map(Vec::len), Some(2));
    let id = first["id"].as_str().expect("id");
    let reply = app.api("POST", &format!("/api/v1/bookings/{id}/approve"), &host.token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "confirmed");
    assert_eq!(app.api("POST", &format!("/api/v1/bookings/{id}/approve"), &host.token, None).await.status, 409);
    let id = second["id"].as_str().expect("id");
    let reply = app
        .api("POST", &format!("/api/v1/bookings/{id}/decline"), &host.token, Some(json!({"reason": "Busy week"})))
        .await;
    assert_eq!(reply.json()["status"], "declined");
    let open = slots(&app, &host, "vip", "2030-01-15T00:00:00Z", "2030-01-16T00:00:00Z").await;
    assert!(open.contains(&"2030-01-15T15:00:00Z".to_owned()));
    assert!(!open.contains(&"2030-01-15T14:00:00Z".to_owned()));
}

async fn secret_and_disabled_links_are_not_found_by_strangers(backend: Backend) {
    let app = spawn_app_with(backend, &[("CALENTO_PUBLIC_RATE_PER_MINUTE", "1000")]).await;
    let host = host(&app, "secret@example.org").await;
    let secret =
        link(&app, &host, json!({"slug": "hidden", "title": "Hidden", "durations": [30], "secret": true})).await;
    let url = secret["url"].as_str().expect("url");
    let key = url.split("key=").nth(1).expect("a key in the URL");
    assert!(key.len() >= 32);
    let base = format!("/api/v1/public/{}/hidden", host.username);
    assert_eq!(app.get(&base).await.status, 404);
    assert_eq!(app.get(&format!("{base}?key=wrong")).await.status, 404);
    assert_eq!(app.get(&format!("{base}?key={key}")).await.status, 200);
    let reply = app.get(&format!("{base}/slots?from=2030-01-14&to=2030-01-15&key={key}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = book(&app, &host, "hidden", invitee("2030-01-14T14:00:00Z"), None).await;
    assert_eq!(reply.status, 404);
    let disabled = link(&app, &host, json!({"slug": "off", "title": "Off", "durations": [30], "active": false})).await;
    assert_eq!(disabled["active"], json!(false));
    assert_eq!(app.get(&format!("/api/v1/public/{}/off", host.username)).await.status, 404);
    assert_eq!(app.get("/api/v1/public/nobody-here/off").await.status, 404);
}

async fn day_limits_and_buffers_close_slots_around_bookings(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "limits@example.org").await;
    link(
        &app,
        &host,
        json!({"slug": "short", "title": "Short", "durations": [30], "buffer_after": 30, "max_per_day": 2}),
    )
    .await;
    assert_eq!(book(&app, &host, "short", invitee("2030-01-14T15:00:00Z"), None).await.status, 201);
    // A slot is offered only if it and its 30-minute buffer after stay clear of busy time:
    // 14:30 (buffer until 15:30) is closed, 14:00 (buffer until 15:00) is not.
    let open = slots(&app, &host, "short", "2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z").await;
    assert_eq!(open, day("2030-01-14", &["14:00", "15:30", "16:00", "16:30"]));
    assert_eq!(book(&app, &host, "short", invitee("2030-01-14T14:30:00Z"), None).await.status, 409);
    assert_eq!(book(&app, &host, "short", invitee("2030-01-14T16:00:00Z"), None).await.status, 201);
    // Two a day: Monday is full, Tuesday is not.
    let open = slots(&app, &host, "short", "2030-01-14T00:00:00Z", "2030-01-16T00:00:00Z").await;
    assert!(open.iter().all(|s| s.starts_with("2030-01-15")), "{open:?}");
    assert_eq!(open.len(), 6);
}

async fn freebusy_merges_events_and_bookings(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "freebusy@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let reply = app
        .api(
            "POST",
            "/api/v1/events",
            &host.token,
            Some(json!({"title": "Focus", "start": "2030-01-14T13:00:00Z", "end": "2030-01-14T14:15:00Z"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(book(&app, &host, "intro", invitee("2030-01-14T14:30:00Z"), None).await.status, 201);
    assert_eq!(book(&app, &host, "intro", invitee("2030-01-14T16:00:00Z"), None).await.status, 201);
    let reply =
        app.api("GET", "/api/v1/freebusy?from=2030-01-14T00:00:00Z&to=2030-01-15T00:00:00Z", &host.token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!([
            {"start": "2030-01-14T13:00:00Z", "end": "2030-01-14T14:15:00Z"},
            {"start": "2030-01-14T14:30:00Z", "end": "2030-01-14T15:00:00Z"},
            {"start": "2030-01-14T16:00:00Z", "end": "2030-01-14T16:30:00Z"}
        ])
    );
    assert_eq!(app.api("GET", "/api/v1/freebusy?from=2030-01-14", &host.token, None).await.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_booking_routes_are_rate_limited_per_address() {
    let app = spawn_app_with(Backend::Sqlite, &[("CALENTO_PUBLIC_RATE_PER_MINUTE", "5")]).await;
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..7 {
            out.push(app.get("/api/v1/public/nobody/nothing").await.status);
        }
        out
    };
    assert_eq!(statuses, vec![404, 404, 404, 404, 404, 429, 429]);
    let reply = app.get("/api/v1/public/nobody/nothing/slots").await;
    assert_eq!(reply.status, 429);
    let wait: u64 = reply.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After seconds");
    assert!((1..=60).contains(&wait));
    assert_eq!(reply.json()["code"], "rate_limited");
    // The signed-in API is not limited by it.
    assert_eq!(app.get("/api/v1/me").await.status, 401);
}

async fn the_bookings_list_is_paged_with_its_total(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "pages@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let starts = ["14:00", "14:30", "15:00", "15:30", "16:00", "16:30", "14:00"];
    for (i, time) in starts.iter().enumerate() {
        let day = if i < 6 { "2030-01-15" } else { "2030-01-16" };
        let booked = book(&app, &host, "intro", invitee(&format!("{day}T{time}:00Z")), None).await;
        assert_eq!(booked.status, 201, "{}", booked.body);
    }
    let page = |query: &str| {
        let app = &app;
        let token = host.token.clone();
        let path = format!("/api/v1/bookings{query}");
        async move { app.api("GET", &path, &token, None).await }
    };
    let mut seen = Vec::new();
    for number in 1..=3 {
        let reply = page(&format!("?per_page=3&page={number}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        assert_eq!(
            (body["page"].as_i64(), body["per_page"].as_i64(), body["total"].as_i64()),
            (Some(number), Some(3), Some(7))
        );
        seen.extend(
            body["items"].as_array().expect("items").iter().map(|b| b["start"].as_str().expect("start").to_owned()),
        );
    }
    assert_eq!(seen.len(), 7, "every booking once, over three pages: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "upcoming bookings come soonest first across pages");
    let beyond = page("?per_page=3&page=4").await.json();
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 7);
    let default = page("").await.json();
    assert_eq!((default["per_page"].as_i64(), default["items"].as_array().map(Vec::len)), (Some(50), Some(7)));
    for bad in ["?per_page=0", "?per_page=201", "?page=0", "?page=x"] {
        let reply = page(bad).await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.body);
    }
}

async fn public_pages_describe_themselves_and_private_pages_are_not_indexed(backend: Backend) {
    let base = "http://cal.example.org";
    let app = crate::support::spawn_app_with(backend, &[("CALENTO_PUBLIC_URL", base)]).await;
    let host = host(&app, "seo@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30], "description": "A first talk."}))
        .await;
    let secret =
        link(&app, &host, json!({"slug": "hidden", "title": "Hidden", "durations": [30], "secret": true})).await;
    let page = app.get(&format!("/{}/intro", host.username)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"<meta name="description" content="A first talk.""#), "{}", page.body);
    let canonical = format!(r#"<link href="{base}/{}/intro" rel="canonical">"#, host.username);
    assert!(page.body.contains(&canonical), "{}", page.body);
    assert!(!page.body.contains("noindex"), "a public link is for search engines");
    let listing = app.get(&format!("/{}", host.username)).await;
    assert!(listing.body.contains(r#"<meta name="description""#), "{}", listing.body);
    assert!(listing.body.contains(&format!(r#"<link href="{base}/{}" rel="canonical">"#, host.username)));
    // A secret link's address carries its key: not indexed, no canonical address.
    let url = secret["url"].as_str().expect("url");
    let hidden = app.get(url).await;
    assert_eq!(hidden.status, 200, "{}", hidden.body);
    assert!(hidden.body.contains(r#"<meta name="robots" content="noindex""#), "{}", hidden.body);
    assert!(!hidden.body.contains(r#"rel="canonical""#));
    // An invitee's own booking page and every signed-in page are not indexed.
    let booked = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), None).await.json();
    let manage = app.get(booked["manage_url"].as_str().expect("manage url")).await;
    assert!(manage.body.contains(r#"<meta name="robots" content="noindex""#), "{}", manage.body);
    let browser = app.browser();
    assert_eq!(browser.register("seo-reader@example.org", "Reader").await.status, 200);
    for path in ["/calendar", "/tasks", "/settings"] {
        let private = browser.get(path).await;
        assert_eq!(private.status, 200, "{path}");
        assert!(private.body.contains(r#"<meta name="robots" content="noindex""#), "{path}: {}", private.body);
    }
}

async fn invitee_pages_load_their_small_module_not_the_apps_bundle(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "light@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let booked = book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), None).await.json();
    let pages = [
        format!("/{}/intro?month=2030-01&date=2030-01-15", host.username),
        format!("/{}", host.username),
        booked["manage_url"].as_str().expect("manage url").to_owned(),
    ];
    for path in pages {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains(r#"import init from "/pkg/calento_booking.js""#), "{path}: {}", page.body);
        assert!(
            !page.body.contains("/pkg/calento.js") && !page.body.contains("/pkg/calento.wasm"),
            "{path}: the app's bundle is not loaded"
        );
        assert!(!page.body.contains("data-testid=\"account-name\""), "{path}: no app header");
        // Nothing is serialized for hydration (Leptos writes each resolved resource as
        // `__RESOLVED_RESOURCES=["…"` or `__RESOLVED_RESOURCES[n] = …`).
        let serialized = page.body.contains("__RESOLVED_RESOURCES[") || page.body.contains("__RESOLVED_RESOURCES=[\"");
        assert!(!serialized, "{path}: {}", page.body);
    }
    // The day's slots are written in the page's zone by the server, and each lands on the form.
    let day = app.get(&format!("/{}/intro?month=2030-01&date=2030-01-15&tz=Asia/Tokyo&clock=24", host.username)).await;
    // 09:00 in New York (23:00 in Tokyo) is booked above; 09:30 is 23:30 in Tokyo.
    assert!(day.body.contains(">23:30<"), "09:30 in New York is 23:30 in Tokyo: {}", day.body);
    assert!(day.body.contains("#your-details"));
    // The signed-in app still has its bundle, and links to public pages leave it.
    let browser = app.browser();
    assert_eq!(browser.register("light-host@example.org", "Light").await.status, 200);
    let calendar = browser.get("/calendar").await;
    assert!(calendar.body.contains("/pkg/calento.js"), "the app hydrates");
}

async fn a_refused_form_comes_back_with_what_the_invitee_typed_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let host = host(&app, "draft@example.org").await;
    let topic = json!([{"id": "topic", "label": "Topic", "required": true}]);
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30], "questions": topic})).await;
    let page = format!("/{}/intro?month=2030-01&date=2030-01-15&slot=2030-01-15T14:00:00Z", host.username);
    let invitee = app.browser();
    let fields = [
        ("username", host.username.as_str()),
        ("slug", "intro"),
        ("key", ""),
        ("start", "2030-01-15T14:00:00Z"),
        ("name", "Ada <Lovelace>"),
        ("email", "ada@example.org"),
        ("notes", "Bring the engine & notes</textarea><b id=\"pwned\">"),
        ("idempotency_key", "do-not-keep-me"),
    ];
    // The required answer is missing: sent back to the page with the message...
    let refused = invitee.submit("book_slot", &page, &fields).await;
    assert_eq!(refused.status, 303, "{}", refused.body);
    assert!(refused.header("location").is_some_and(|l| l.contains("err=")));
    let cookie = refused.header("set-cookie").unwrap_or_default().to_owned();
    assert!(!cookie.contains("do-not-keep-me"), "keys are never kept: {cookie}");
    // ...where the fields hold what was typed (escaped as text), once.
    let back = invitee.get(&format!("{page}&err=x")).await;
    assert!(back.body.contains(r#"value="Ada &lt;Lovelace&gt;""#), "{}", back.body);
    assert!(back.body.contains(r#"value="ada@example.org""#));
    // Text, never markup: what was typed cannot close the field.
    assert!(
        back.body.contains("Bring the engine &amp; notes&lt;/textarea&gt;&lt;b id=\"pwned\"&gt;</textarea>"),
        "{}",
        back.body
    );
    assert!(!back.body.contains(r#"<b id="pwned">"#));
    let again = invitee.get(&page).await;
    assert!(!again.body.contains("ada@example.org"), "shown once: {}", again.body);
    // Nothing was booked.
    let bookings = app.api("GET", "/api/v1/bookings", &host.token, None).await.json();
    assert_eq!(bookings["total"], json!(0));
    // Another visitor never sees it.
    assert!(!app.get(&page).await.body.contains("ada@example.org"));
}

/// Whether every inline script of a page is allowed by its `Content-Security-Policy`:
/// by the policy's nonce on the script, or by the script's SHA-256 among its sources.
/// With the policy's nonce, if it has one.
pub(crate) fn scripts_allowed(headers: &http::HeaderMap, body: &str) -> (bool, Option<String>) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).expect("a policy");
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    let nonce = script_src
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-").and_then(|n| n.strip_suffix('\'')))
        .map(str::to_owned);
    let mut scripts = 0;
    let mut allowed = 0;
    for part in body.split("<script").skip(1) {
        let (tag, rest) = part.split_once('>').expect("a tag");
        if tag.contains(" src=") {
            continue;
        }
        let content = rest.split("</script>").next().expect("content");
        scripts += 1;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(content.as_bytes()));
        let by_nonce = nonce.as_ref().is_some_and(|n| tag.contains(&format!("nonce=\"{n}\"")));
        if by_nonce || script_src.contains(&format!("'sha256-{hash}'")) {
            allowed += 1;
        }
    }
    (scripts > 0 && allowed == scripts, nonce)
}

async fn a_public_page_is_kept_for_everyone_until_the_host_changes_something(backend: Backend) {
    // A budget of twelve public requests a minute: views served again from the page cache
    // cost no database work and are not counted (so fourteen of them pass).
    let app = spawn_app_with(backend, &[("CALENTO_PUBLIC_RATE_PER_MINUTE", "12")]).await;
    let host = host(&app, "kept@example.org").await;
    let made = link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let path = format!("/{}/intro?month=2030-01&date=2030-01-15&clock=24", host.username);
    let first = app.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("2030-01-15T14:00:00Z"), "09:00 in New York is offered");
    // Served again and again, the page is the same, and its policy allows its scripts by
    // their hashes: a nonce is never served twice, so a kept page carries none.
    let allowed = scripts_allowed(&first.headers, &first.body);
    assert_eq!(allowed, (true, None), "{:?} {}", first.header("content-security-policy"), first.body);
    assert!(!first.body.contains("nonce="), "{}", first.body);
    for _ in 0..14 {
        let again = app.get(&path).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("content-security-policy"), first.header("content-security-policy"));
    }

    // A booking (the public API) is a change of the host's data: the slot is gone at once.
    assert_eq!(book(&app, &host, "intro", invitee("2030-01-15T14:00:00Z"), None).await.status, 201);
    let after = app.get(&path).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(!after.body.contains("value=\"2030-01-15T14:00:00Z\""), "the booked slot is not offered again");
    // So is the host renaming the link.
    let id = made["id"].as_str().expect("link id");
    let renamed =
        app.api("PATCH", &format!("/api/v1/booking-links/{id}"), &host.token, Some(json!({"title": "Renamed"}))).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let renamed_page = app.get(&path).await;
    assert!(renamed_page.body.contains("Renamed"), "{}", renamed_page.body);
    // A visitor with cookies (a session, a form's draft) always gets a page rendered for
    // them, so their views are counted until the budget is spent.
    let mut statuses = Vec::new();
    for _ in 0..14 {
        statuses.push(app.send("GET", &path, &[("cookie", "calento_form=x")], Vec::new()).await.status);
    }
    assert!(statuses.contains(&429), "rendered, so counted: {statuses:?}");
    // Refused with its status, not as a page that says 200.
    let refused = app.get(&format!("/{}/intro?month=2030-02", host.username)).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());

    // Each render loads the page once, so it counts once: three renders a minute are three pages.
    let app = spawn_app_with(backend, &[("CALENTO_PUBLIC_RATE_PER_MINUTE", "3")]).await;
    let host = self::host(&app, "once@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for month in ["2030-01", "2030-02", "2030-03", "2030-04"] {
            out.push(app.get(&format!("/{}/intro?month={month}", host.username)).await.status);
        }
        out
    };
    assert_eq!(statuses, [200, 200, 200, 429]);
}

/// A GET with `headers`: its headers and its body as sent (not decoded).
async fn raw(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let (status, headers, body) = app.open(path, headers).await;
    assert_eq!(status, 200, "{path}");
    (headers, body.collect().await.expect("body").to_bytes().to_vec())
}

async fn a_kept_page_is_compressed_once_at_the_best_ratio(backend: Backend) {
    use std::io::{Read, Write};
    let app = spawn_app(backend).await;
    let host = host(&app, "packed@example.org").await;
    link(&app, &host, json!({"slug": "intro", "title": "Intro", "durations": [30]})).await;
    let path = format!("/{}/intro?month=2030-01&date=2030-01-15&clock=24", host.username);

    // As it is (no Accept-Encoding): the text the compressed answers must decode to.
    let (headers, plain) = raw(&app, &path, &[]).await;
    assert!(headers.get("content-encoding").is_none());
    let page = String::from_utf8(plain.clone()).expect("utf-8");
    assert!(page.contains("2030-01-15T14:00:00Z"), "{page}");
    assert_eq!(scripts_allowed(&headers, &page), (true, None));
    // What the cache is to send once its copies are made: brotli at quality 11, gzip at 9.
    let best_brotli = {
        let mut out = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            mode: brotli::enc::backward_references::BrotliEncoderMode::BROTLI_MODE_TEXT,
            size_hint: plain.len(),
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &plain[..], &mut out, &params).expect("brotli");
        out
    };
    let best_gzip = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&plain).expect("gzip");
        encoder.finish().expect("gzip")
    };

    // What browsers send; a client that refuses brotli; one that takes gzip only.
    for (accept, coding, best) in [
        ("gzip, deflate, br, zstd", "br", &best_brotli),
        ("br;q=0, gzip", "gzip", &best_gzip),
        ("gzip", "gzip", &best_gzip),
    ] {
        let mut sent = Vec::new();
        // Up to ten seconds: the copy is made on a blocking thread, one page at a time in
        // the whole process (other tests' servers share it).
        for _ in 0..200 {
            let (headers, body) = raw(&app, &path, &[("accept-encoding", accept)]).await;
            assert_eq!(headers.get("content-encoding").and_then(|v| v.to_str().ok()), Some(coding), "{accept}");
            let vary = headers.get_all("vary").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
            assert!(vary.to_ascii_lowercase().contains("accept-encoding"), "{vary}");
            let mut text = String::new();
            match coding {
                "br" => brotli::Decompressor::new(&body[..], 4096).read_to_string(&mut text),
                _ => flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut text),
            }
            .unwrap_or_else(|e| panic!("{accept}: not a valid {coding} stream: {e}"));
            assert_eq!(text, page, "{accept}: the same page as sent uncompressed");
            // The first answers may be compressed on the way out while the kept copy is made.
            let done = body == *best;
            sent.push(body.len());
            if done {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(sent.last(), Some(&best.len()), "{accept}: the kept copy is sent once made: {sent:?}");
        assert!(best.len() * 4 < plain.len(), "{accept}: {} bytes for {}", best.len(), plain.len());
    }
    // A client that takes neither gets the page as it is.
    let (headers, body) = raw(&app, &path, &[("accept-encoding", "identity, br;q=0")]).await;
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(body, plain);
}
