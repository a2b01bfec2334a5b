//! Tasks and focus over the API: micro-steps, quick capture, focus sessions that live on the
//! server, planning into free time, XP and streaks, on both databases.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, Reply, spawn_app, spawn_app_with};

on_both_backends!(
    micro_steps_nest_seven_levels_and_roll_progress_up,
    a_brain_dump_is_previewed_then_saved_one_task_per_line,
    a_focus_session_lives_on_the_server,
    planning_places_tasks_around_events_and_applying_puts_blocks_on_the_calendar,
    finishing_earns_xp_once_and_a_repeating_task_comes_back_with_its_steps,
    bad_task_input_is_refused_field_by_field_and_changes_nothing,
    rewards_are_bought_with_points,
    templates_exports_and_imports_keep_micro_steps,
    what_to_do_now_and_statistics_follow_energy_and_focus,
    micro_steps_come_from_a_language_model_when_configured_else_from_rules,
    notes_and_descriptions_stay_text_in_editors_the_server_draws,
    a_long_task_list_comes_a_page_at_a_time_in_the_lists_order,
    the_smart_order_puts_what_is_urgent_first_and_dates_read_as_words,
);

fn created(reply: &Reply) -> Value {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

fn ok(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// The titles of a task list the API answered, in its order.
fn titles_of(list: &Value) -> Vec<String> {
    list.as_array().expect("tasks").iter().map(|t| t["title"].as_str().expect("title").to_owned()).collect()
}

/// The titles of the task rows a page drew, in its order.
fn rows_of(html: &str) -> Vec<String> {
    html.split("data-testid=\"task\" data-title=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

fn fields(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 422, "{}", reply.body);
    reply.json()["fields"].as_array().expect("fields").iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect()
}

/// Today in Paris, where the test users live.
fn paris_today() -> NaiveDate {
    Utc::now().with_timezone(&calento::TimeZoneName::parse("Europe/Paris").unwrap().tz()).date_naive()
}

fn next_monday() -> NaiveDate {
    let mut day = paris_today() + Duration::days(1);
    while day.weekday() != Weekday::Mon {
        day += Duration::days(1);
    }
    day
}

async fn micro_steps_nest_seven_levels_and_roll_progress_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "steps@example.org").await;
    let task = created(
        &app.api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({
                "title": "Clean the kitchen",
                "steps": [
                    {"title": "Clear the table"},
                    {"title": "Dishes", "steps": [{"title": "Fill the sink"}, {"title": "Wash"}, {"title": "Dry"}]},
                ],
            })),
        )
        .await,
    );
    assert_eq!(task["progress"], json!({"done": 0, "total": 4}), "leaves count, not the parent");
    let dishes = &task["steps"][1];
    assert_eq!(dishes["depth"], 1);
    assert_eq!(dishes["steps"][2]["title"], "Dry");
    let wash = dishes["steps"][1]["id"].as_str().unwrap();
    let done = ok(&app.api("PATCH", &format!("/api/v1/tasks/{wash}"), &token, Some(json!({"status": "done"}))).await);
    assert_eq!(done["status"], "done");
    let task_id = task["id"].as_str().unwrap();
    let task = ok(&app.api("GET", &format!("/api/v1/tasks/{task_id}"), &token, None).await);
    assert_eq!(task["progress"], json!({"done": 1, "total": 4}));

    // Reorder: "Dry" first among the dishes steps.
    let dry = task["steps"][1]["steps"][2]["id"].as_str().unwrap();
    ok(&app.api("PATCH", &format!("/api/v1/tasks/{dry}"), &token, Some(json!({"position": 0}))).await);
    let task = ok(&app.api("GET", &format!("/api/v1/tasks/{task_id}"), &token, None).await);
    let order: Vec<&str> =
        task["steps"][1]["steps"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(order, ["Dry", "Fill the sink", "Wash"]);

    // Seven levels below the task are allowed, an eighth is refused with a clear message.
    let mut parent = task_id.to_owned();
    for level in 1..=7 {
        let step = created(
            &app.api(
                "POST",
                &format!("/api/v1/tasks/{parent}/steps"),
                &token,
                Some(json!({"title": format!("L{level}")})),
            )
            .await,
        );
        assert_eq!(step["depth"], level);
        parent = step["id"].as_str().unwrap().to_owned();
    }
    let too_deep =
        app.api("POST", &format!("/api/v1/tasks/{parent}/steps"), &token, Some(json!({"title": "L8"}))).await;
    assert_eq!(fields(&too_deep), ["parent_id"]);
    assert!(too_deep.json()["message"].as_str().unwrap().contains("7 levels"), "{}", too_deep.body);
    let nested = (0..8).fold(json!([]), |inner, n| json!([{"title": format!("n{n}"), "steps": inner}]));
    let refused = app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Deep", "steps": nested}))).await;
    assert_eq!(fields(&refused), ["steps"]);
    let all = ok(&app.api("GET", "/api/v1/tasks", &token, None).await);
    assert_eq!(all.as_array().unwrap().len(), 1, "the refused task was not created");
}

async fn a_brain_dump_is_previewed_then_saved_one_task_per_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "dump@example.org").await;
    let text = "Dentist on 12 march 3pm ~30m !1 #health @Errands\n\n  Call mum\nWrite report for 1h high energy\n)(*&^%$ ~~ !!";
    let preview = ok(&app.api("POST", "/api/v1/capture", &token, Some(json!({"text": text, "preview": true}))).await);
    let items = preview["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "one item per non-empty line");
    assert_eq!(items[0]["title"], "Dentist");
    let do_at = items[0]["do_at"].as_str().unwrap();
    assert!(do_at.ends_with("-03-12T15:00:00+01:00"), "Paris wall time with its offset: {do_at}");
    assert_eq!(items[0]["estimate_minutes"], 30);
    assert_eq!(items[0]["priority"], 1);
    assert_eq!(items[0]["tags"], json!(["health"]));
    assert_eq!(items[0]["zone"].as_str().map(str::to_lowercase).as_deref(), Some("errands"));
    assert_eq!(items[1]["title"], "Call mum");
    assert_eq!(items[2]["energy"], "high");
    assert_eq!(items[2]["estimate_minutes"], 60);
    assert!(!items[3]["title"].as_str().unwrap().is_empty(), "nothing is lost from an unparseable line");
    assert_eq!(preview["tasks"], json!([]));
    assert_eq!(ok(&app.api("GET", "/api/v1/tasks", &token, None).await), json!([]), "a preview saves nothing");

    let saved =
        created(&app.api("POST", "/api/v1/capture", &token, Some(json!({"text": text, "preview": false}))).await);
    assert_eq!(saved["tasks"].as_array().unwrap().len(), 4);
    let all = ok(&app.api("GET", "/api/v1/tasks?sort=created", &token, None).await);
    assert_eq!(all.as_array().unwrap().len(), 4);
    let dentist = all.as_array().unwrap().iter().find(|t| t["title"] == "Dentist").unwrap();
    assert_eq!(dentist["zone"]["name"].as_str().map(str::to_lowercase).as_deref(), Some("errands"));
    assert_eq!(dentist["priority"], 1);
    let zones = ok(&app.api("GET", "/api/v1/zones", &token, None).await);
    assert_eq!(zones.as_array().unwrap().len(), 1);
    let by_zone = ok(&app.api("GET", "/api/v1/tasks?zone=errands", &token, None).await);
    assert_eq!(by_zone.as_array().unwrap().len(), 1, "zones match whatever the case");
    let by_tag = ok(&app.api("GET", "/api/v1/tasks?tag=%23health", &token, None).await);
    assert_eq!(by_tag.as_array().unwrap().len(), 1);
    let upcoming = ok(&app.api("GET", "/api/v1/tasks?view=upcoming", &token, None).await);
    assert!(upcoming.as_array().unwrap().iter().any(|t| t["title"] == "Dentist"));
    let empty = app.api("POST", "/api/v1/capture", &token, Some(json!({"text": "\n \n", "preview": false}))).await;
    assert_eq!(ok(&empty)["items"], json!([]));
    let too_many = "x\n".repeat(501);
    let refused = app.api("POST", "/api/v1/capture", &token, Some(json!({"text": too_many, "preview": false}))).await;
    assert_eq!(fields(&refused), ["text"]);
}

async fn a_focus_session_lives_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "focus@example.org").await;
    let task = created(&app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Write"}))).await);
    let task_id = task["id"].as_str().unwrap();
    assert_eq!(app.api("GET", "/api/v1/focus-sessions/current", &token, None).await.status, 404);
    let session = created(&app.api("POST", "/api/v1/focus-sessions", &token, Some(json!({"task_id": task_id}))).await);
    assert_eq!(session["kind"], "focus", "the first session is a focus period");
    assert_eq!(session["state"], "running");
    assert_eq!(session["planned_seconds"], 25 * 60);
    assert_eq!(session["task_title"], "Write");
    let id = session["id"].as_str().unwrap();
    let again = app.api("POST", "/api/v1/focus-sessions", &token, None).await;
    assert_eq!(again.status, 409, "one session at a time: {}", again.body);

    // Another device (the same token) sees the same running timer.
    let current = ok(&app.api("GET", "/api/v1/focus-sessions/current", &token, None).await);
    assert_eq!(current["id"], session["id"]);
    assert!(current["remaining_seconds"].as_i64().unwrap() <= 25 * 60);

    let paused = ok(&app.api("POST", &format!("/api/v1/focus-sessions/{id}/pause"), &token, None).await);
    assert_eq!(paused["state"], "paused");
    assert_eq!(app.api("POST", &format!("/api/v1/focus-sessions/{id}/pause"), &token, None).await.status, 409);
    let noted = created(
        &app.api(
            "POST",
            &format!("/api/v1/focus-sessions/{id}/distractions"),
            &token,
            Some(json!({"note": "checked the news"})),
        )
        .await,
    );
    assert_eq!(noted["note"], "checked the news");
    let resumed = ok(&app.api("POST", &format!("/api/v1/focus-sessions/{id}/resume"), &token, None).await);
    assert_eq!(resumed["state"], "running");
    assert_eq!(resumed["distractions"][0]["note"], "checked the news");
    let done = ok(&app.api("POST", &format!("/api/v1/focus-sessions/{id}/complete"), &token, None).await);
    assert_eq!(done["state"], "completed");
    assert_eq!(done["next_kind"], "short_break");
    assert_eq!(app.api("POST", &format!("/api/v1/focus-sessions/{id}/abandon"), &token, None).await.status, 409);
    assert_eq!(app.api("POST", &format!("/api/v1/focus-sessions/{id}/explode"), &token, None).await.status, 404);
    assert_eq!(app.api("GET", "/api/v1/focus-sessions/current", &token, None).await.status, 404);

    // The next start without a kind is the break the cycle calls for.
    let next = created(&app.api("POST", "/api/v1/focus-sessions", &token, None).await);
    assert_eq!(next["kind"], "short_break");
    assert_eq!(next["planned_seconds"], 5 * 60);
    let history = ok(&app.api("GET", "/api/v1/focus-sessions", &token, None).await);
    assert_eq!(history.as_array().unwrap().len(), 2);
    let bad = app.api("POST", "/api/v1/focus-sessions", &token, Some(json!({"kind": "nap", "minutes": 999}))).await;
    assert_eq!(bad.status, 422, "{}", bad.body);

    // Someone else cannot see or stop it.
    let other = user_with_token(&app, "other@example.org").await;
    let next_id = next["id"].as_str().unwrap();
    assert_eq!(app.api("GET", &format!("/api/v1/focus-sessions/{next_id}"), &other, None).await.status, 404);
    assert_eq!(app.api("POST", &format!("/api/v1/focus-sessions/{next_id}/abandon"), &other, None).await.status, 404);

    let energy = created(&app.api("POST", "/api/v1/energy", &token, Some(json!({"level": 4, "check_in": true}))).await);
    assert_eq!(energy["level"], 4);
    assert_eq!(fields(&app.api("POST", "/api/v1/energy", &token, Some(json!({"level": 9}))).await), ["level"]);
    let logged = ok(&app.api("GET", "/api/v1/energy", &token, None).await);
    assert_eq!(logged.as_array().unwrap().len(), 1);
}

async fn planning_places_tasks_around_events_and_applying_puts_blocks_on_the_calendar(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "plan@example.org").await;
    let monday = next_monday();
    let day = |n: i64| (monday + Duration::days(n)).format("%Y-%m-%d").to_string();
    // Monday morning is taken by a meeting.
    created(
        &app.api(
            "POST",
            "/api/v1/events",
            &token,
            Some(json!({"title": "Meeting", "start": format!("{}T09:00", day(0)), "end": format!("{}T12:00", day(0))})),
        )
        .await,
    );
    let report = created(
        &app.api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({"title": "Report", "estimate_minutes": 90, "energy": "high", "due": day(1)})),
        )
        .await,
    );
    let huge = created(
        &app.api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({"title": "Huge", "estimate_minutes": 600, "due": day(0)})),
        )
        .await,
    );
    created(&app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "No estimate"}))).await);
    let window = json!({"from": day(0), "to": day(5)});
    let plan = ok(&app.api("POST", "/api/v1/plan", &token, Some(window.clone())).await);
    let placements = plan["placements"].as_array().unwrap();
    assert!(!placements.is_empty(), "{plan}");
    for p in placements {
        assert_eq!(p["task_id"], report["id"], "only tasks that fit are placed: {plan}");
        let start = p["start"].as_str().unwrap();
        assert!(start.ends_with("+01:00") || start.ends_with("+02:00"), "{start}");
        assert!(start >= format!("{}T12:00", day(0)).as_str(), "not over the meeting: {start}");
        assert!(!p["reason"].as_str().unwrap().is_empty());
        assert_eq!(p["event_id"], Value::Null, "a preview writes nothing");
    }
    let unplaced = plan["unplaced"].as_array().unwrap();
    assert_eq!(unplaced.len(), 1, "{plan}");
    assert_eq!(unplaced[0]["task_id"], huge["id"]);
    assert!(unplaced[0]["reason"].as_str().unwrap().contains("not enough free time"), "{plan}");

    let mut body = window.clone();
    body["apply"] = json!(true);
    let applied = ok(&app.api("POST", "/api/v1/plan", &token, Some(body.clone())).await);
    let event_id = applied["placements"][0]["event_id"].as_str().expect("an event per block").to_owned();
    let event = ok(&app.api("GET", &format!("/api/v1/events/{event_id}"), &token, None).await);
    assert_eq!(event["title"], "Report");
    let calendars = ok(&app.api("GET", "/api/v1/calendars", &token, None).await);
    let blocks = calendars.as_array().unwrap().iter().find(|c| c["name"] == "Task blocks").expect("a blocks calendar");
    assert_eq!(event["calendar_id"], blocks["id"]);

    // Blocks count as busy for booking links by default.
    let busy = ok(&app
        .api("GET", &format!("/api/v1/freebusy?from={}T00:00:00Z&to={}T00:00:00Z", day(0), day(5)), &token, None)
        .await);
    assert!(busy.as_array().unwrap().len() >= 2, "meeting and block: {busy}");

    // Planning again replaces the future blocks instead of adding more.
    let again = ok(&app.api("POST", "/api/v1/plan", &token, Some(body)).await);
    assert_eq!(again["placements"].as_array().unwrap().len(), applied["placements"].as_array().unwrap().len());
    assert_eq!(app.api("GET", &format!("/api/v1/events/{event_id}"), &token, None).await.status, 404);
    let occurrences = ok(&app
        .api("GET", &format!("/api/v1/occurrences?from={}T00:00:00Z&to={}T00:00:00Z", day(0), day(5)), &token, None)
        .await);
    let on_blocks = occurrences.as_array().unwrap().iter().filter(|o| o["calendar_id"] == blocks["id"]).count();
    assert_eq!(on_blocks, applied["placements"].as_array().unwrap().len());

    // A meeting put over the block moves the block elsewhere.
    let block = &again["placements"][0];
    let (start, end) = (block["start"].as_str().unwrap().to_owned(), block["end"].as_str().unwrap().to_owned());
    created(
        &app.api(
            "POST",
            "/api/v1/events",
            &token,
            Some(json!({"title": "Surprise meeting", "start": start, "end": end})),
        )
        .await,
    );
    let moved_to = ok(&app.api("POST", "/api/v1/plan", &token, Some(window.clone())).await);
    assert!(moved_to["placements"].as_array().unwrap().iter().all(|p| p["start"] != json!(start)), "{moved_to}");
    // The meeting's write queued a re-planning job; the worker replaces the block shortly.
    let block_path = format!("/api/v1/events/{}", again["placements"][0]["event_id"].as_str().unwrap());
    let mut still = app.api("GET", &block_path, &token, None).await.status;
    for _ in 0..100 {
        if still == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        still = app.api("GET", &block_path, &token, None).await.status;
    }
    assert_eq!(still, 404, "the block under the meeting was replaced");
    // The re-planning looks from now on: when the test runs early in a week, the free time
    // it finds can be before the planned Monday, so the blocks are counted from today.
    let today = paris_today() - Duration::days(1);
    let occurrences = ok(&app
        .api("GET", &format!("/api/v1/occurrences?from={today}T00:00:00Z&to={}T00:00:00Z", day(5)), &token, None)
        .await);
    let blocks_now: Vec<&Value> =
        occurrences.as_array().unwrap().iter().filter(|o| o["calendar_id"] == blocks["id"]).collect();
    // Re-planned, not dropped: as much time as before (the free time found from now may be
    // cut in two by lunch, so the block count can differ; the minutes cannot).
    let minutes = |items: &[&Value]| -> i64 {
        items
            .iter()
            .map(|o| {
                let at = |k: &str| chrono::DateTime::parse_from_rfc3339(o[k].as_str().unwrap()).unwrap();
                (at("end") - at("start")).num_minutes()
            })
            .sum()
    };
    let planned: Vec<&Value> = applied["placements"].as_array().unwrap().iter().collect();
    assert_eq!(minutes(&blocks_now), minutes(&planned), "re-planned, not dropped: {blocks_now:?}");

    // Timeboxing by hand.
    let report_id = report["id"].as_str().unwrap();
    let block = created(
        &app.api(
            "POST",
            &format!("/api/v1/tasks/{report_id}/blocks"),
            &token,
            Some(json!({"start": format!("{}T16:00", day(3)), "end": format!("{}T17:00", day(3))})),
        )
        .await,
    );
    assert!(block["start"].as_str().unwrap().starts_with(&format!("{}T16:00:00", day(3))));
    let bad = app
        .api(
            "POST",
            &format!("/api/v1/tasks/{report_id}/blocks"),
            &token,
            Some(json!({"start": format!("{}T16:00", day(3)), "end": format!("{}T15:00", day(3))})),
        )
        .await;
    assert_eq!(fields(&bad), ["end"]);
    let bad_window = app.api("POST", "/api/v1/plan", &token, Some(json!({"from": day(3), "to": day(1)}))).await;
    assert_eq!(fields(&bad_window), ["to"]);
    let unknown = app.api("POST", "/api/v1/plan", &token, Some(json!({"task_ids": ["nope"]}))).await;
    assert_eq!(fields(&unknown), ["task_ids"]);
}

async fn finishing_earns_xp_once_and_a_repeating_task_comes_back_with_its_steps(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "xp@example.org").await;
    let today = paris_today();
    let task = created(
        &app.api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({
                "title": "Water plants",
                "do_at": today.format("%Y-%m-%d").to_string(),
                "rrule": "FREQ=DAILY",
                "steps": [{"title": "Fill the can"}],
            })),
        )
        .await,
    );
    let id = task["id"].as_str().unwrap();
    let step = task["steps"][0]["id"].as_str().unwrap();
    let start = ok(&app.api("GET", "/api/v1/progress", &token, None).await);
    assert_eq!((start["xp"].as_i64(), start["streak"]["current"].as_i64()), (Some(0), Some(0)));
    assert_eq!(start["companion"]["name"], "Seed");

    ok(&app.api("PATCH", &format!("/api/v1/tasks/{step}"), &token, Some(json!({"status": "done"}))).await);
    ok(&app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "done"}))).await);
    let progress = ok(&app.api("GET", "/api/v1/progress", &token, None).await);
    assert_eq!(progress["xp"], 25, "a step (5) and a task (20)");
    assert_eq!(progress["streak"]["current"], 1);
    assert_eq!(progress["streak"]["active_today"], true);
    assert_eq!(progress["companion"]["name"], "Sprout");
    let first_step = progress["achievements"].as_array().unwrap().iter().find(|a| a["id"] == "first-step").unwrap();
    assert_eq!(first_step["earned"], true);

    // Undo and redo: nothing taken away, nothing earned twice.
    ok(&app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "todo"}))).await);
    ok(&app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "done"}))).await);
    assert_eq!(ok(&app.api("GET", "/api/v1/progress", &token, None).await)["xp"], 25);

    let open = ok(&app.api("GET", "/api/v1/tasks", &token, None).await);
    let next = open.as_array().unwrap().iter().find(|t| t["title"] == "Water plants").expect("the next one");
    assert_ne!(next["id"], task["id"]);
    assert_eq!(next["do_at"], (today + Duration::days(1)).format("%Y-%m-%d").to_string());
    assert_eq!(next["rrule"], "FREQ=DAILY");
    assert_eq!(next["steps"][0]["title"], "Fill the can");
    assert_eq!(next["steps"][0]["status"], "todo");
    assert_eq!(open.as_array().unwrap().len(), 1, "redoing the old one made no second copy");
    let done = ok(&app.api("GET", "/api/v1/tasks?view=done", &token, None).await);
    assert_eq!(done[0]["id"], task["id"]);
}

async fn bad_task_input_is_refused_field_by_field_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "bad@example.org").await;
    let reply = app
        .api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({"title": " ", "priority": 9, "due": "soon", "energy": "max", "estimate_minutes": 0, "rrule": "FREQ=NEVER"})),
        )
        .await;
    let mut names = fields(&reply);
    names.sort();
    assert_eq!(names, ["do_at", "due", "energy", "estimate_minutes", "priority", "rrule", "title"]);
    assert_eq!(ok(&app.api("GET", "/api/v1/tasks", &token, None).await), json!([]));
    let long = app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "x".repeat(501)}))).await;
    assert_eq!(fields(&long), ["title"]);
    let task = created(
        &app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Mine", "due": "2030-01-15T17:00"}))).await,
    );
    assert_eq!(task["due"], "2030-01-15T17:00:00+01:00");
    let id = task["id"].as_str().unwrap();
    let patch =
        app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "gone", "title": "New"}))).await;
    assert_eq!(fields(&patch), ["status"]);
    assert_eq!(ok(&app.api("GET", &format!("/api/v1/tasks/{id}"), &token, None).await)["title"], "Mine");
    let cleared = ok(&app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"due": null}))).await);
    assert_eq!(cleared["due"], Value::Null);
    let malformed = app
        .send(
            "POST",
            "/api/v1/tasks",
            &[("authorization", &format!("Bearer {token}")), ("content-type", "application/json")],
            b"{".to_vec(),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(app.api("GET", "/api/v1/tasks?view=someday", &token, None).await.status, 422);

    let other = user_with_token(&app, "stranger@example.org").await;
    assert_eq!(app.api("GET", &format!("/api/v1/tasks/{id}"), &other, None).await.status, 404);
    assert_eq!(app.api("PATCH", &format!("/api/v1/tasks/{id}"), &other, Some(json!({"title": "x"}))).await.status, 404);
    assert_eq!(app.api("DELETE", &format!("/api/v1/tasks/{id}"), &other, None).await.status, 404);
    let steal = app.api("POST", &format!("/api/v1/tasks/{id}/steps"), &other, Some(json!({"title": "x"}))).await;
    assert_eq!(steal.status, 404);
    assert_eq!(app.get("/api/v1/tasks").await.status, 401);
    assert_eq!(app.api("DELETE", &format!("/api/v1/tasks/{id}"), &token, None).await.status, 204);
    assert_eq!(app.api("GET", &format!("/api/v1/tasks/{id}"), &token, None).await.status, 404);
}

async fn rewards_are_bought_with_points(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "reward@example.org").await;
    let task = created(&app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Done thing"}))).await);
    let id = task["id"].as_str().unwrap();
    ok(&app.api("PATCH", &format!("/api/v1/tasks/{id}"), &token, Some(json!({"status": "done"}))).await);
    let coffee =
        created(&app.api("POST", "/api/v1/rewards", &token, Some(json!({"title": "Fancy coffee", "cost": 15}))).await);
    let holiday =
        created(&app.api("POST", "/api/v1/rewards", &token, Some(json!({"title": "Holiday", "cost": 5000}))).await);
    let after =
        ok(&app.api("POST", &format!("/api/v1/rewards/{}/claim", coffee["id"].as_str().unwrap()), &token, None).await);
    assert_eq!((after["xp"].as_i64(), after["points"].as_i64()), (Some(20), Some(5)), "XP stays, points are spent");
    let refused =
        app.api("POST", &format!("/api/v1/rewards/{}/claim", holiday["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(
        fields(&app.api("POST", "/api/v1/rewards", &token, Some(json!({"title": "", "cost": 0}))).await),
        ["title", "cost"]
    );
}

async fn templates_exports_and_imports_keep_micro_steps(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "data@example.org").await;
    let task = created(
        &app.api(
            "POST",
            "/api/v1/tasks",
            &token,
            Some(json!({
                "title": "Weekly review",
                "zone": "Work",
                "estimate_minutes": 30,
                "due": "2030-01-15",
                "steps": [{"title": "Inbox zero", "steps": [{"title": "Email"}]}, {"title": "Plan next week"}],
            })),
        )
        .await,
    );
    let id = task["id"].as_str().unwrap();
    let template = created(&app.api("POST", &format!("/api/v1/tasks/{id}/template"), &token, None).await);
    assert_eq!(template["is_template"], true);
    assert_eq!(template["due"], Value::Null, "a template keeps what, not when");
    assert_eq!(template["steps"][0]["steps"][0]["title"], "Email");
    let templates = ok(&app.api("GET", "/api/v1/tasks?view=templates", &token, None).await);
    assert_eq!(templates.as_array().unwrap().len(), 1);
    let open = ok(&app.api("GET", "/api/v1/tasks", &token, None).await);
    assert_eq!(open.as_array().unwrap().len(), 1, "templates are not in the open list");

    let template_id = template["id"].as_str().unwrap();
    let made = created(&app.api("POST", &format!("/api/v1/templates/{template_id}/use"), &token, None).await);
    assert_eq!(made["is_template"], false);
    assert_eq!(made["zone"]["name"], "Work");
    assert_eq!(made["progress"], json!({"done": 0, "total": 2}));
    assert_eq!(
        app.api("POST", &format!("/api/v1/templates/{id}/use"), &token, None).await.status,
        400,
        "not a template"
    );

    // Export: JSON with everything, CSV in the generic format with depths.
    let json_export = app.api("GET", "/api/v1/tasks/export.json", &token, None).await;
    assert_eq!(json_export.status, 200);
    assert!(json_export.header("content-disposition").unwrap().contains("calento-tasks.json"));
    assert_eq!(json_export.json().as_array().unwrap().len(), 3, "two tasks and the template");
    let csv = app.api("GET", "/api/v1/tasks/export.csv", &token, None).await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("title,notes,zone,tags,priority,do_at,due,estimate_minutes,energy,status,depth\r\n"));
    assert!(csv.body.contains("Email,,,,4,,,,,todo,2"), "{}", csv.body);

    // The CSV imports back into another account as the same tasks and steps.
    let other = user_with_token(&app, "data2@example.org").await;
    let auth = format!("Bearer {other}");
    let imported = app
        .send(
            "POST",
            "/api/v1/tasks/import",
            &[("authorization", &auth), ("content-type", "text/csv")],
            csv.body.clone().into_bytes(),
        )
        .await;
    let report = ok(&imported);
    assert_eq!(
        (report["format"].as_str(), report["tasks"].as_i64(), report["steps"].as_i64()),
        (Some("generic"), Some(2), Some(6))
    );
    let theirs = ok(&app.api("GET", "/api/v1/tasks?sort=created", &other, None).await);
    assert_eq!(theirs.as_array().unwrap().len(), 2);
    assert_eq!(theirs[0]["steps"][0]["steps"][0]["title"], "Email");
    let dues: Vec<&Value> = theirs.as_array().unwrap().iter().map(|t| &t["due"]).collect();
    assert!(dues.contains(&&json!("2030-01-15")) && dues.contains(&&Value::Null), "{dues:?}");

    // Todoist's export, with a report of what was skipped.
    let todoist = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n\
                   section,Home,,,,,,,,\n\
                   task,Fix the tap @home,,4,1,A,,2030-02-01,en,Europe/Paris\n\
                   task,Buy a washer,,1,2,A,,,en,Europe/Paris\n";
    let report =
        ok(&app.send("POST", "/api/v1/tasks/import", &[("authorization", &auth)], todoist.as_bytes().to_vec()).await);
    assert_eq!(
        (report["format"].as_str(), report["tasks"].as_i64(), report["steps"].as_i64()),
        (Some("todoist"), Some(1), Some(1))
    );
    assert_eq!(report["skipped"][0]["line"], 2);
    let tap = ok(&app.api("GET", "/api/v1/tasks?tag=home", &other, None).await);
    assert_eq!(tap[0]["title"], "Fix the tap");
    assert_eq!(tap[0]["priority"], 1);
    assert_eq!(tap[0]["do_at"], "2030-02-01");
    let bad =
        app.send("POST", "/api/v1/tasks/import", &[("authorization", &auth)], b"name,email\nx,y\n".to_vec()).await;
    assert_eq!(fields(&bad), ["file"]);
    let binary = app.send("POST", "/api/v1/tasks/import", &[("authorization", &auth)], vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(binary.status, 400);
}

async fn what_to_do_now_and_statistics_follow_energy_and_focus(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "now@example.org").await;
    for body in [
        json!({"title": "Hard thinking", "energy": "high", "estimate_minutes": 60}),
        json!({"title": "Easy filing", "energy": "low", "estimate_minutes": 15}),
        json!({"title": "Anything"}),
    ] {
        created(&app.api("POST", "/api/v1/tasks", &token, Some(body)).await);
    }
    let before = ok(&app.api("GET", "/api/v1/energy/now", &token, None).await);
    assert_eq!(before["energy"], Value::Null);
    assert_eq!(before["tasks"].as_array().unwrap().len(), 3, "without energy logged everything fits");
    created(&app.api("POST", "/api/v1/energy", &token, Some(json!({"level": 2}))).await);
    let tired = ok(&app.api("GET", "/api/v1/energy/now", &token, None).await);
    let titles: Vec<&str> = tired["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Easy filing") && !titles.contains(&"Hard thinking"), "{titles:?}");

    let session = created(&app.api("POST", "/api/v1/focus-sessions", &token, None).await);
    ok(&app
        .api("POST", &format!("/api/v1/focus-sessions/{}/complete", session["id"].as_str().unwrap()), &token, None)
        .await);
    let stats = ok(&app.api("GET", "/api/v1/stats?days=14", &token, None).await);
    let days = stats["days"].as_array().unwrap();
    assert_eq!(days.len(), 14);
    assert_eq!(days.last().unwrap()["date"], paris_today().format("%Y-%m-%d").to_string());
    assert_eq!(days.last().unwrap()["energy"], 2.0);
    assert_eq!(fields(&app.api("GET", "/api/v1/stats?days=3", &token, None).await), ["days"]);
}

/// A local stand-in for an OpenAI-compatible API: `/good/…` answers with a numbered list (and
/// remembers the request), `/broken/…` with a server error.
async fn fake_model() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>) {
    use axum::routing::post;
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>> = Default::default();
    let log = seen.clone();
    let app = axum::Router::new()
        .route(
            "/good/chat/completions",
            post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let log = log.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    log.lock().unwrap().push((auth, body));
                    axum::Json(json!({"choices": [{"message": {"role": "assistant",
                        "content": "Sure:\n1. Open the file\n2. Fix the typo\n3. Save and close"}}]}))
                }
            }),
        )
        .route("/broken/chat/completions", post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

async fn micro_steps_come_from_a_language_model_when_configured_else_from_rules(backend: Backend) {
    let (base, seen) = fake_model().await;
    let good = format!("{base}/good");
    let app = spawn_app_with(backend, &[("CALENTO_LLM_URL", &good), ("CALENTO_LLM_API_KEY", "test-key")]).await;
    let token = user_with_token(&app, "llm@example.org").await;
    let task = created(
        &app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Fix the report", "estimate_minutes": 20})))
            .await,
    );
    let id = task["id"].as_str().unwrap();
    let preview = ok(&app.api("POST", &format!("/api/v1/tasks/{id}/breakdown"), &token, None).await);
    assert_eq!(preview["source"], "model");
    let titles: Vec<&str> = preview["steps"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Open the file", "Fix the typo", "Save and close"]);
    assert_eq!(preview["task"], Value::Null, "a preview adds nothing");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0, "Bearer test-key");
        assert_eq!(seen[0].1["messages"][1]["content"], "Fix the report");
    }
    let applied =
        ok(&app.api("POST", &format!("/api/v1/tasks/{id}/breakdown"), &token, Some(json!({"apply": true}))).await);
    assert_eq!(applied["task"]["progress"], json!({"done": 0, "total": 3}));
    assert_eq!(applied["task"]["steps"][1]["estimate_minutes"], 9, "the estimate is shared out");

    // A model that fails: the rules answer, and say why.
    let broken = format!("{base}/broken");
    let app = spawn_app_with(backend, &[("CALENTO_LLM_URL", &broken)]).await;
    let token = user_with_token(&app, "llm2@example.org").await;
    let task = created(&app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Write the newsletter"}))).await);
    let id = task["id"].as_str().unwrap();
    let fallback = ok(&app.api("POST", &format!("/api/v1/tasks/{id}/breakdown"), &token, None).await);
    assert_eq!(fallback["source"], "rules");
    assert!(fallback["note"].as_str().unwrap().contains("500"), "{fallback}");
    assert_eq!(fallback["steps"][0]["title"], "Open a blank page for the newsletter");

    // No model configured: rules, no note.
    let app = spawn_app(backend).await;
    let token = user_with_token(&app, "llm3@example.org").await;
    let task = created(&app.api("POST", "/api/v1/tasks", &token, Some(json!({"title": "Wash, dry and fold"}))).await);
    let id = task["id"].as_str().unwrap();
    let rules = ok(&app.api("POST", &format!("/api/v1/tasks/{id}/breakdown"), &token, None).await);
    assert_eq!((rules["source"].as_str(), &rules["note"]), (Some("rules"), &Value::Null));
    assert_eq!(rules["steps"].as_array().unwrap().len(), 4);
}

/// Text someone wrote (or an invitee's notes on a booking's event) that holds
/// `</textarea>` stays inside its field when the server draws the editor.
async fn notes_and_descriptions_stay_text_in_editors_the_server_draws(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    assert_eq!(browser.register("textarea@example.org", "Tess").await.status, 200);
    let json = [("content-type", "application/json")];
    let hostile = "Milk & eggs</textarea><b id=\"injected\">bold</b>";
    let task = browser
        .send("POST", "/api/v1/tasks", &json, json!({"title": "Shop", "notes": hostile}).to_string().into_bytes())
        .await;
    let task = created(&task);
    let editor = browser.get(&format!("/tasks?edit={}", task["id"].as_str().expect("id"))).await;
    assert_eq!(editor.status, 200);
    assert!(
        editor.body.contains("Milk &amp; eggs&lt;/textarea&gt;&lt;b id=\"injected\"&gt;bold&lt;/b&gt;</textarea>"),
        "{}",
        editor.body
    );
    assert!(!editor.body.contains(r#"<b id="injected">"#));
    let event = json!({"title": "Call", "start": "2030-01-15T10:00:00", "end": "2030-01-15T11:00:00",
                       "time_zone": "Europe/Paris", "description": hostile});
    let event = created(&browser.send("POST", "/api/v1/events", &json, event.to_string().into_bytes()).await);
    let editor = browser.get(&format!("/calendar?date=2030-01-15&event={}", event["id"].as_str().expect("id"))).await;
    assert_eq!(editor.status, 200);
    assert!(editor.body.contains("&lt;/textarea&gt;&lt;b id=\"injected\"&gt;"), "{}", editor.body);
    assert!(!editor.body.contains(r#"<b id="injected">"#));
}

async fn a_long_task_list_comes_a_page_at_a_time_in_the_lists_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    assert_eq!(browser.register("pages@example.org", "Paige").await.status, 200);
    let json = [("content-type", "application/json")];
    // 120 open tasks with priorities 1–4 (the smart order puts priority 1 first), and a
    // step under one of them.
    let text: String = (0..120).map(|i| format!("Task {i:03} !{}\n", i % 4 + 1)).collect();
    let body = json!({"text": text, "preview": false}).to_string().into_bytes();
    assert_eq!(browser.send("POST", "/api/v1/capture", &json, body).await.status, 201);
    let order = titles_of(&ok(&browser.get("/api/v1/tasks?view=all").await));
    assert_eq!(order.len(), 120, "the API still answers the whole list");
    let first = browser.get("/tasks?view=all&sort=priority").await;
    assert_eq!(first.status, 200);
    let by_priority = titles_of(&ok(&browser.get("/api/v1/tasks?view=all&sort=priority").await));
    assert_eq!(rows_of(&first.body), by_priority[..50], "the first 50 in the list's order");
    assert!(first.body.contains("Tasks 1–50 of 120"), "{}", first.body);
    assert!(first.body.contains(r#"href="/tasks?view=all&amp;sort=priority&amp;page=2""#), "{}", first.body);
    assert!(!first.body.contains("data-testid=\"tasks-previous\""));
    let second = browser.get("/tasks?view=all&sort=priority&page=2").await;
    assert_eq!(rows_of(&second.body), by_priority[50..100]);
    // The edit link keeps the page, so the row being edited stays in view.
    assert!(second.body.contains("&amp;page=2&amp;edit="), "{}", second.body);
    let third = browser.get("/tasks?view=all&sort=priority&page=3").await;
    assert_eq!(rows_of(&third.body), by_priority[100..]);
    assert!(third.body.contains("Tasks 101–120 of 120"));
    assert!(third.body.contains("data-testid=\"tasks-previous\""));
    assert!(!third.body.contains("data-testid=\"tasks-next\""));
    // Past the end: nothing, and the way back.
    let beyond = browser.get("/tasks?view=all&page=9").await;
    assert_eq!(rows_of(&beyond.body).len(), 0);
    assert!(beyond.body.contains("the list holds 120"), "{}", beyond.body);
    // A page that is not a page number is a clear message.
    let bad = browser.get("/tasks?view=all&page=zero").await;
    assert!(bad.body.contains("The page is a whole number from 1."), "{}", bad.body);
    // A short list has no pager.
    let done = browser.get("/tasks?view=done").await;
    assert!(!done.body.contains("data-testid=\"task-pager\""));
    assert_eq!(order.len(), 120);
}

async fn the_smart_order_puts_what_is_urgent_first_and_dates_read_as_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    assert_eq!(browser.register("smart@example.org", "Smart").await.status, 200);
    let json = [("content-type", "application/json")];
    let today = paris_today();
    let day = |offset: i64| (today + Duration::days(offset)).format("%Y-%m-%d").to_string();
    let tasks = [
        json!({"title": "Plan the garden", "do_at": day(90), "priority": 4}),
        json!({"title": "Send the report", "due": day(3), "priority": 1}),
        json!({"title": "Learn the guitar", "priority": 1}),
        json!({"title": "Pay the bill", "due": day(-2), "priority": 3}),
        json!({"title": "Renew the passport", "due": day(60), "priority": 4}),
        json!({"title": "Water the plants", "do_at": day(0), "priority": 2}),
    ];
    for task in tasks {
        created(&browser.send("POST", "/api/v1/tasks", &json, task.to_string().into_bytes()).await);
    }
    let order = titles_of(&ok(&browser.get("/api/v1/tasks?view=all").await));
    // Late or by today first (by priority), then this week, then later or undated: a P1 due
    // in three days is above a task planned for three months ahead, and an undated P1 above
    // a P4 due in two months.
    assert_eq!(
        order,
        [
            "Water the plants",
            "Pay the bill",
            "Send the report",
            "Learn the guitar",
            "Renew the passport",
            "Plan the garden"
        ]
    );
    let page = browser.get("/tasks").await;
    assert_eq!(page.status, 200);
    assert_eq!(rows_of(&page.body), order, "the page shows the same order");
    assert!(page.body.contains("do today"), "{}", page.body);
    assert!(
        page.body.contains(&format!("overdue, due {}", calento_day(today - Duration::days(2), today))),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&format!("due {}", day(3))), "no ISO dates in the list");
}

/// The words a list uses for a date more than a day away (`app::models::when_label`).
fn calento_day(date: NaiveDate, today: NaiveDate) -> String {
    app::models::when_label(&date.format("%Y-%m-%d").to_string(), &today.format("%Y-%m-%d").to_string())
}
