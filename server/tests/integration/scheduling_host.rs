//! The host's scheduling pages' server functions, called with the flat form fields the
//! pages post (repeated `name[]` fields included), hydrated and as plain forms.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, Browser, TestApp, spawn_app};

on_both_backends!(
    schedules_are_edited_with_flat_form_fields,
    booking_links_are_saved_from_their_form_fields,
    hosts_list_cancel_approve_decline_and_move_bookings,
);

async fn signed_in<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let browser = app.browser();
    let reply = browser.register(email, "Host").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    browser
}

fn ok(reply: &crate::support::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn error_fields(reply: &crate::support::Reply) -> Vec<String> {
    assert_eq!(reply.status, 422, "{}", reply.body);
    reply.json()["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn schedules_are_edited_with_flat_form_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = signed_in(&app, "grid@example.org").await;
    let created = ok(&browser.call("create_schedule", &[("name", ""), ("timezone", "America/New_York")]).await);
    assert_eq!(created["name"], "Working hours", "an empty name takes the usual one");
    assert_eq!(created["timezone"], "America/New_York");
    assert_eq!(created["is_default"], true, "the first schedule is the default");
    let id = created["id"].as_str().expect("id").to_owned();

    // Monday split in two, Wednesday switched on without hours, Tuesday's ranges ignored
    // because the day is off, an empty row skipped, an end of 00:00 meaning midnight.
    let saved = ok(&browser
        .call(
            "save_schedule",
            &[
                ("id", &id),
                ("name", "Split days"),
                ("timezone", "Europe/Paris"),
                ("day_on[]", "1"),
                ("day_on[]", "3"),
                ("day_on[]", "5"),
                ("weekday[]", "1"),
                ("start[]", "09:00"),
                ("end[]", "12:00"),
                ("weekday[]", "1"),
                ("start[]", "13:00"),
                ("end[]", "17:00"),
                ("weekday[]", "1"),
                ("start[]", ""),
                ("end[]", ""),
                ("weekday[]", "2"),
                ("start[]", "08:00"),
                ("end[]", "10:00"),
                ("weekday[]", "5"),
                ("start[]", "20:00"),
                ("end[]", "00:00"),
            ],
        )
        .await);
    assert_eq!(saved["name"], "Split days");
    assert_eq!(saved["timezone"], "Europe/Paris");
    let rules: Vec<(u64, String, String)> = saved["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["weekday"].as_u64().unwrap_or(0),
                r["start"].as_str().unwrap_or_default().to_owned(),
                r["end"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [(1, "09:00", "12:00"), (1, "13:00", "17:00"), (3, "09:00", "17:00"), (5, "20:00", "24:00")]
        .map(|(d, s, e)| (d, s.to_owned(), e.to_owned()));
    assert_eq!(rules, expected);

    // A bad range is reported beside its day.
    let bad = browser
        .call(
            "save_schedule",
            &[
                ("id", &id),
                ("name", "Split days"),
                ("timezone", "Mars/Olympus"),
                ("day_on[]", "2"),
                ("weekday[]", "2"),
                ("start[]", "12:00"),
                ("end[]", "10:00"),
            ],
        )
        .await;
    let fields = error_fields(&bad);
    assert!(fields.contains(&"day2".to_owned()) && fields.contains(&"timezone".to_owned()), "{fields:?}");

    // Overrides: unavailable all day, other hours, replaced, removed.
    let off = ok(&browser.call("add_override", &[("id", &id), ("date", "2030-01-15"), ("hours", "off")]).await);
    assert_eq!(off["overrides"], json!([{"date": "2030-01-15", "ranges": []}]));
    let hours = ok(&browser
        .call(
            "add_override",
            &[
                ("id", &id),
                ("date", "2030-01-15"),
                ("hours", "hours"),
                ("start[]", "10:00"),
                ("end[]", "12:00"),
                ("start[]", ""),
                ("end[]", ""),
            ],
        )
        .await);
    assert_eq!(hours["overrides"], json!([{"date": "2030-01-15", "ranges": [{"start": "10:00", "end": "12:00"}]}]));
    let missing = browser.call("add_override", &[("id", &id), ("date", ""), ("hours", "off")]).await;
    assert_eq!(error_fields(&missing), ["override_date"]);
    let empty = browser.call("add_override", &[("id", &id), ("date", "2030-01-16"), ("hours", "hours")]).await;
    assert_eq!(error_fields(&empty), ["override_hours"]);
    let removed = ok(&browser.call("remove_override", &[("id", &id), ("date", "2030-01-15")]).await);
    assert_eq!(removed["overrides"], json!([]));

    // As a plain form: success goes back to the page, an error too, keeping its query.
    let page = format!("/availability?schedule={id}");
    let done = browser
        .submit("add_override", &page, &[("id", &id), ("date", "2030-02-01"), ("hours", "off"), ("back", &page)])
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.header("location"), Some(page.as_str()));
    let failed = browser.submit("add_override", &page, &[("id", &id), ("date", "someday"), ("back", &page)]).await;
    assert_eq!(failed.status, 303);
    let location = failed.header("location").expect("back to the page").to_owned();
    assert!(location.starts_with(&format!("{page}&err=")), "{location}");
    let shown = browser.get(&location).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Choose a date."), "the page shows the error beside the field");
    assert!(shown.body.contains("2030-02-01"), "the page shows the override added");

    // A second schedule becomes the default; the first can then be deleted.
    let second = ok(&browser.call("create_schedule", &[("name", "Evenings"), ("timezone", "UTC")]).await);
    let second_id = second["id"].as_str().expect("id").to_owned();
    assert_eq!(second["is_default"], false);
    ok(&browser.call("set_default_schedule", &[("id", &second_id)]).await);
    ok(&browser.call("delete_schedule", &[("id", &id)]).await);
    let list = ok(&browser.call("list_schedules", &[]).await);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["is_default"], true);

    // Another person's schedule is not found.
    let stranger = signed_in(&app, "stranger@example.org").await;
    let reply = stranger.call("save_schedule", &[("id", &second_id), ("name", "Mine"), ("timezone", "UTC")]).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}

/// Every field of the link form, as the page posts it.
fn link_form<'a>(title: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("title", title),
        ("slug", ""),
        ("description", "Let us talk."),
        ("durations", "30, 60"),
        ("location_kind", "video"),
        ("location_value", "https://meet.example.org/host"),
        ("schedule_id", ""),
        ("slot_interval", "15"),
        ("buffer_before", "5"),
        ("buffer_after", "10"),
        ("notice_value", "2"),
        ("notice_unit", "hours"),
        ("window", "rolling"),
        ("booking_window_days", "30"),
        ("window_start", ""),
        ("window_end", ""),
        ("max_per_day", "3"),
        ("max_per_week", ""),
        ("max_minutes_per_day", ""),
        ("max_minutes_per_week", "600"),
        ("q_id[]", ""),
        ("q_label[]", "Company"),
        ("q_kind[]", "short"),
        ("q_required[]", "yes"),
        ("q_id[]", ""),
        ("q_label[]", "What about?"),
        ("q_kind[]", "long"),
        ("q_required[]", "no"),
        ("q_id[]", ""),
        ("q_label[]", ""),
        ("q_kind[]", "short"),
        ("q_required[]", "no"),
        ("active", "on"),
        ("cutoff_value", "1"),
        ("cutoff_unit", "days"),
        ("reminder_hours", ""),
    ];
    for (key, value) in extra {
        fields.retain(|(k, _)| k != key);
        fields.push((key, value));
    }
    fields
}

async fn booking_links_are_saved_from_their_form_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = signed_in(&app, "links@example.org").await;
    let me = browser.get("/api/v1/me").await.json();
    let username = me["username"].as_str().expect("username").to_owned();

    let link = ok(&browser.call("save_link", &link_form("Intro call", &[])).await);
    assert_eq!(link["slug"], "intro-call");
    assert_eq!(link["url"], format!("/{username}/intro-call"));
    assert_eq!(link["durations"], json!([30, 60]));
    assert_eq!(link["location"], json!({"kind": "video", "value": "https://meet.example.org/host"}));
    assert_eq!(link["slot_interval"], 15);
    assert_eq!((link["buffer_before"].clone(), link["buffer_after"].clone()), (json!(5), json!(10)));
    assert_eq!(link["minimum_notice_minutes"], 120);
    assert_eq!(link["booking_window_days"], 30);
    assert_eq!(link["max_per_day"], 3);
    assert_eq!(link["max_per_week"], Value::Null);
    assert_eq!(link["max_minutes_per_week"], 600);
    assert_eq!(link["cancel_cutoff_minutes"], 1440);
    assert_eq!(link["reminder_hours"], Value::Null, "an empty reminder is none");
    assert_eq!((link["active"].clone(), link["secret"].clone()), (json!(true), json!(false)));
    assert_eq!(
        link["questions"],
        json!([
            {"id": "company", "label": "Company", "kind": "short", "required": true},
            {"id": "what-about", "label": "What about?", "kind": "long", "required": false}
        ])
    );
    assert!(!link["schedule_id"].as_str().unwrap_or_default().is_empty(), "a default schedule was made");
    let id = link["id"].as_str().expect("id").to_owned();

    // Edited: a date range instead of the rolling window, secret, approval, a reminder;
    // the question keeps its id.
    let edited = ok(&browser
        .call(
            "save_link",
            &link_form(
                "Intro call",
                &[
                    ("id", &id),
                    ("slug", "hello"),
                    ("window", "range"),
                    ("window_start", "2030-01-01"),
                    ("window_end", "2030-03-31"),
                    ("secret", "on"),
                    ("requires_approval", "on"),
                    ("not_same_day", "on"),
                    ("reminder_hours", "24"),
                    ("q_id[]", "company"),
                ],
            ),
        )
        .await);
    assert_eq!(edited["id"], id);
    assert_eq!(edited["booking_window_days"], Value::Null);
    assert_eq!(
        (edited["window_start"].clone(), edited["window_end"].clone()),
        (json!("2030-01-01"), json!("2030-03-31"))
    );
    assert_eq!((edited["secret"].clone(), edited["requires_approval"].clone()), (json!(true), json!(true)));
    assert_eq!(edited["not_same_day"], true);
    assert_eq!(edited["reminder_hours"], 24);
    assert!(edited["url"].as_str().unwrap_or_default().starts_with(&format!("/{username}/hello?key=")));

    // Every problem at once, under the names the form shows them by.
    let bad = browser
        .call(
            "save_link",
            &link_form(
                "",
                &[
                    ("durations", "thirty"),
                    ("buffer_before", "-5"),
                    ("window", "rolling"),
                    ("booking_window_days", ""),
                    ("notice_value", "soon"),
                ],
            ),
        )
        .await;
    let fields = error_fields(&bad);
    for field in ["durations", "buffer_before", "booking_window_days", "minimum_notice_minutes"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let bad = browser.call("save_link", &link_form("", &[("location_kind", "phone"), ("location_value", "")])).await;
    let fields = error_fields(&bad);
    for field in ["title", "location"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let taken = browser.call("save_link", &link_form("Hello", &[("slug", "hello")])).await;
    assert_eq!(error_fields(&taken), ["slug"]);

    // Off and on again, listed with the schedules, deleted.
    let off = ok(&browser.call("set_link_active", &[("id", &id), ("active", "false")]).await);
    assert_eq!(off["active"], false);
    assert_eq!(off["reminder_hours"], 24, "other settings stay");
    let data = ok(&browser.call("list_links", &[]).await);
    assert_eq!(data["username"], username.as_str());
    assert!(data["origin"].as_str().unwrap_or_default().starts_with("http://"), "{data}");
    assert_eq!(data["links"].as_array().map(Vec::len), Some(1));
    assert_eq!(data["schedules"].as_array().map(Vec::len), Some(1));
    ok(&browser.call("delete_link", &[("id", &id)]).await);
    assert_eq!(ok(&browser.call("list_links", &[]).await)["links"], json!([]));

    // A plain form posts and comes back to the list.
    let plain = browser.submit("save_link", "/booking-links", &link_form("Plain", &[])).await;
    assert_eq!(plain.status, 302, "{}", plain.body);
    assert_eq!(plain.header("location"), Some("/booking-links"));
    let page = browser.get("/booking-links").await;
    assert!(page.body.contains(&format!("/{username}/plain")), "the list shows the new link");

    // The short form: a title is enough (30 minutes, the default schedule, switched on), and
    // a plain post opens the new link's page.
    let quick = ok(&browser.call("new_link", &[("title", "Quick chat"), ("slug", ""), ("durations", "")]).await);
    assert_eq!(quick["url"], format!("/{username}/quick-chat"));
    assert_eq!(quick["durations"], json!([30]));
    assert_eq!(quick["active"], json!(true));
    assert_eq!(quick["secret"], json!(false));
    let bad = browser.call("new_link", &[("title", ""), ("durations", "thirty")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let refused = bad.json();
    let fields: Vec<&str> =
        refused["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str()).collect();
    assert!(fields.contains(&"durations"), "{}", bad.body);
    let posted = browser.submit("new_link", "/booking-links", &[("title", "Walk and talk"), ("durations", "45")]).await;
    assert_eq!(posted.status, 302, "{}", posted.body);
    let to = posted.header("location").unwrap_or_default().to_owned();
    assert!(to.starts_with("/booking-links?edit=") && to.ends_with("&created=1"), "{to}");
    let page = browser.get(&to).await;
    assert!(page.body.contains("is ready to share") && page.body.contains(&format!("/{username}/walk-and-talk")));
    let links = ok(&browser.call("list_links", &[]).await);
    assert_eq!(links["links"].as_array().map(Vec::len), Some(3), "each form made exactly one link");
}

async fn book(app: &TestApp, username: &str, slug: &str, start: &str, name: &str) -> Value {
    let body = json!({"start": start, "name": name, "email": "ivy@example.org", "timezone": "Europe/Paris",
                      "answers": {"company": "Acme"}});
    let reply = app
        .send(
            "POST",
            &format!("/api/v1/public/{username}/{slug}/bookings"),
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

fn ids(data: &Value) -> Vec<String> {
    data["bookings"]
        .as_array()
        .expect("bookings")
        .iter()
        .map(|b| b["booking"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn hosts_list_cancel_approve_decline_and_move_bookings(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = signed_in(&app, "bookings@example.org").await;
    let username = browser.get("/api/v1/me").await.json()["username"].as_str().expect("username").to_owned();
    // Working hours in Paris (the host's zone), 30 minutes.
    ok(&browser
        .call("save_link", &link_form("Chat", &[("durations", "30"), ("window", "none"), ("notice_value", "")]))
        .await);
    ok(&browser
        .call(
            "save_link",
            &link_form("Vetted", &[("durations", "30"), ("window", "none"), ("requires_approval", "on")]),
        )
        .await);

    // Monday 14 January 2030, 10:00 in Paris.
    let first = book(&app, &username, "chat", "2030-01-14T09:00:00Z", "Ivy").await;
    let first_id = first["id"].as_str().expect("id").to_owned();
    let upcoming = ok(&browser.call("list_bookings", &[("status", "upcoming")]).await);
    assert_eq!(ids(&upcoming), std::slice::from_ref(&first_id));
    assert_eq!(upcoming["time_zone"], "Europe/Paris");
    let row = &upcoming["bookings"][0];
    assert_eq!(row["when"], "Mon 14 Jan 2030, 10:00 \u{2013} 10:30");
    assert_eq!(row["local_start"], "2030-01-14T10:00");
    assert_eq!(row["booking"]["answers"][0]["value"], "Acme");

    // Moved to 14:00 in Paris, given as the host's local time.
    let moved = ok(&browser.call("reschedule_booking", &[("id", &first_id), ("start", "2030-01-14T14:00")]).await);
    assert_eq!(moved["start"], "2030-01-14T13:00:00Z");
    let night = browser.call("reschedule_booking", &[("id", &first_id), ("start", "2030-01-14T23:00")]).await;
    assert_eq!(night.status, 409, "{}", night.body);
    let garbage = browser.call("reschedule_booking", &[("id", &first_id), ("start", "tomorrow")]).await;
    assert_eq!(error_fields(&garbage), ["start"]);

    // Cancelled with a reason: gone from upcoming, listed as cancelled.
    let cancelled = ok(&browser.call("cancel_booking", &[("id", &first_id), ("reason", "Something came up")]).await);
    assert_eq!(cancelled["status"], "cancelled");
    assert!(ids(&ok(&browser.call("list_bookings", &[("status", "upcoming")]).await)).is_empty());
    let list = ok(&browser.call("list_bookings", &[("status", "cancelled")]).await);
    assert_eq!(ids(&list), std::slice::from_ref(&first_id));
    assert_eq!(list["bookings"][0]["booking"]["reason"], "Something came up");
    let again = browser.call("cancel_booking", &[("id", &first_id)]).await;
    assert_eq!(again.status, 409, "{}", again.body);

    // Waiting for approval: approved; another declined.
    let pending = book(&app, &username, "vetted", "2030-01-15T09:00:00Z", "Pat").await;
    let pending_id = pending["id"].as_str().expect("id").to_owned();
    assert_eq!(pending["status"], "pending");
    assert_eq!(
        ids(&ok(&browser.call("list_bookings", &[("status", "pending")]).await)),
        std::slice::from_ref(&pending_id)
    );
    let approved = ok(&browser.call("approve_booking", &[("id", &pending_id)]).await);
    assert_eq!(approved["status"], "confirmed");
    assert!(ids(&ok(&browser.call("list_bookings", &[("status", "pending")]).await)).is_empty());
    let other = book(&app, &username, "vetted", "2030-01-16T09:00:00Z", "Sam").await;
    let other_id = other["id"].as_str().expect("id").to_owned();
    let plain = browser
        .submit(
            "decline_booking",
            "/bookings?tab=pending",
            &[("id", &other_id), ("reason", "Fully booked"), ("back", "/bookings?tab=pending")],
        )
        .await;
    assert_eq!(plain.status, 302, "{}", plain.body);
    assert_eq!(plain.header("location"), Some("/bookings?tab=pending"));
    let list = ok(&browser.call("list_bookings", &[("status", "cancelled")]).await);
    assert!(ids(&list).contains(&other_id));

    // The page itself lists them without JavaScript.
    let page = browser.get("/bookings?tab=cancelled").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Something came up") && page.body.contains("Fully booked"), "reasons are shown");

    // Someone else's bookings are not found.
    let stranger = signed_in(&app, "nosy@example.org").await;
    let reply = stranger.call("cancel_booking", &[("id", &pending_id)]).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}
