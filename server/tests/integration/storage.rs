//! The storage contract: every query of the storage layer, run against SQLite and
//! PostgreSQL alike (sqlx's `Any` checks nothing at compile time, so this suite does).

use app::AppError;
use app::ssr::accounts::{self, ProfileUpdate, Registration};
use app::ssr::login_limits::{self, LoginLimits};
use app::ssr::session_store::DbSessionStore;
use app::ssr::{Backend as DbBackend, Db, now_ms, tokens};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

use crate::on_both_backends;
use crate::support::{Backend, fresh_database};

on_both_backends!(
    migrations_apply_once_and_again_on_restart,
    the_first_account_is_the_administrator,
    accounts_round_trip_through_storage,
    sessions_are_stored_loaded_updated_and_expire,
    tokens_are_stored_hashed_listed_and_revoked,
    login_failures_count_per_account_and_address_within_the_window,
    concurrent_registrations_of_one_email_create_one_account,
    a_lease_is_held_by_one_process_at_a_time,
);

async fn open(backend: Backend) -> Db {
    let url = fresh_database(backend).await;
    let db = Db::connect(&url, 5).await.expect("connect and migrate");
    let expected = match backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
    };
    assert_eq!(db.backend(), expected);
    db
}

fn here() -> app::ssr::audit::Origin {
    app::ssr::audit::Origin::new("127.0.0.1", "tests")
}

fn registration(email: &str) -> Registration {
    Registration {
        email: email.into(),
        password: "correct horse battery".into(),
        name: "Test Person".into(),
        username: String::new(),
        time_zone: "Asia/Tokyo".into(),
        ..Default::default()
    }
}

async fn migrations_apply_once_and_again_on_restart(backend: Backend) {
    let url = fresh_database(backend).await;
    let db = Db::connect(&url, 2).await.expect("first start");
    accounts::register(&db, &registration("keep@example.org")).await.expect("register");
    db.close().await;
    let again = Db::connect(&url, 2).await.expect("second start applies nothing new");
    let email = calento::EmailAddress::parse("keep@example.org").expect("email");
    assert!(accounts::find_by_email(&again, &email).await.expect("query").is_some(), "data survives a restart");
    again.ping().await.expect("ping");
}

async fn the_first_account_is_the_administrator(backend: Backend) {
    let db = open(backend).await;
    let first = accounts::register(&db, &registration("first@example.org")).await.expect("first");
    let second = accounts::register(&db, &registration("second@example.org")).await.expect("second");
    assert_eq!(first.is_admin, 1);
    assert_eq!(second.is_admin, 0);
}

async fn accounts_round_trip_through_storage(backend: Backend) {
    let db = open(backend).await;
    let user = accounts::register(&db, &registration("Round.Trip@Example.org")).await.expect("register");
    assert_eq!(user.email, "round.trip@example.org");
    assert_eq!(user.username, "round-trip");
    assert_eq!(user.time_zone, "Asia/Tokyo");
    assert!(user.created_at > 0 && user.created_at <= now_ms());
    let found = accounts::find_by_id(&db, &user.id).await.expect("query").expect("found");
    assert_eq!(found.profile(), user.profile());
    assert!(accounts::find_by_id(&db, "missing").await.expect("query").is_none());

    let update = ProfileUpdate {
        name: "Renamed".into(),
        username: "renamed".into(),
        time_zone: "Australia/Sydney".into(),
        week_start: "saturday".into(),
        clock: "12h".into(),
    };
    let updated = accounts::update_profile(&db, &user.id, &update).await.expect("update");
    assert_eq!(
        (updated.name.as_str(), updated.username.as_str(), updated.time_zone.as_str()),
        ("Renamed", "renamed", "Australia/Sydney")
    );
    assert_eq!(accounts::update_profile(&db, "missing", &update).await.expect_err("no such user"), AppError::NotFound);

    let other = accounts::register(&db, &registration("other@example.org")).await.expect("other");
    let clash = ProfileUpdate { username: "renamed".into(), ..update };
    let err = accounts::update_profile(&db, &other.id, &clash).await.expect_err("taken");
    assert!(err.field_message("username").is_some(), "{err:?}");

    let limits = LoginLimits::default();
    let signed_in =
        accounts::authenticate(&db, &limits, " ROUND.TRIP@example.org", "correct horse battery", &here()).await;
    assert_eq!(signed_in.expect("right password").id, user.id);
    assert!(accounts::authenticate(&db, &limits, "round.trip@example.org", "wrong", &here()).await.is_err());
}

async fn sessions_are_stored_loaded_updated_and_expire(backend: Backend) {
    let db = open(backend).await;
    let user = accounts::register(&db, &registration("sess@example.org")).await.expect("register");
    let store = DbSessionStore::new(db.clone());
    let in_an_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut record = Record { id: Id::default(), data: Default::default(), expiry_date: in_an_hour };
    record.data.insert("user_id".into(), serde_json::json!(user.id));
    store.create(&mut record).await.expect("create");
    // The row is keyed by a hash: the session id (the cookie) is not in the database.
    let keys: Vec<(String,)> = sqlx::query_as("SELECT id FROM sessions").fetch_all(db.read()).await.expect("keys");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].0, record.id.to_string());
    assert_eq!(keys[0].0, app::ssr::session_store::storage_key(&record.id.to_string()));
    let loaded = store.load(&record.id).await.expect("load").expect("present");
    assert_eq!(loaded.data, record.data);
    assert_eq!(loaded.expiry_date.unix_timestamp(), in_an_hour.unix_timestamp());

    record.data.insert("theme".into(), serde_json::json!("dark"));
    store.save(&record).await.expect("save");
    assert_eq!(store.load(&record.id).await.expect("load").expect("present").data.len(), 2);

    let mut expired = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
    };
    store.create(&mut expired).await.expect("create expired");
    assert!(store.load(&expired.id).await.expect("load").is_none(), "an expired session does not load");
    assert_eq!(store.delete_expired().await.expect("sweep"), 1);

    store.delete(&record.id).await.expect("delete");
    assert!(store.load(&record.id).await.expect("load").is_none());
    // A request of a revoked session that was in flight cannot write it back.
    store.save(&record).await.expect("save after delete");
    assert!(store.load(&record.id).await.expect("load").is_none(), "a revoked session stays revoked");
}

async fn tokens_are_stored_hashed_listed_and_revoked(backend: Backend) {
    let db = open(backend).await;
    let owner = accounts::register(&db, &registration("own@example.org")).await.expect("owner");
    let stranger = accounts::register(&db, &registration("str@example.org")).await.expect("stranger");
    let created = tokens::create(&db, &owner.id, "laptop").await.expect("create");
    let credential = tokens::authenticate(&db, &created.token).await.expect("auth").expect("valid");
    assert_eq!(credential.user_id, owner.id);
    assert_eq!(credential.scopes, calento::scope::Scopes::all());
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT token_hash FROM api_tokens").fetch_all(db.read()).await.expect("raw");
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, created.token, "only the hash is stored");
    assert_eq!(stored[0].0, tokens::hash(&created.token));

    let listed = tokens::list(&db, &owner.id).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some());
    assert!(tokens::list(&db, &stranger.id).await.expect("list").is_empty());

    assert_eq!(tokens::revoke(&db, &stranger.id, &created.info.id).await, Err(AppError::NotFound));
    tokens::revoke(&db, &owner.id, &created.info.id).await.expect("revoke");
    assert_eq!(tokens::authenticate(&db, &created.token).await.expect("auth"), None);
    assert!(tokens::list(&db, &owner.id).await.expect("list").is_empty());
    assert!(tokens::create(&db, &owner.id, "").await.is_err(), "a token needs a name");
}

async fn login_failures_count_per_account_and_address_within_the_window(backend: Backend) {
    let db = open(backend).await;
    let limits = LoginLimits { per_account: 2, per_ip: 3, window_secs: 60 };
    let now = now_ms();
    assert_eq!(login_limits::blocked_for(&db, &limits, "a@x.org", "10.0.0.1", now).await.expect("check"), None);
    login_limits::record_failure(&db, "a@x.org", "10.0.0.1", now - 30_000).await.expect("record");
    assert_eq!(login_limits::blocked_for(&db, &limits, "a@x.org", "10.0.0.1", now).await.expect("check"), None);
    login_limits::record_failure(&db, "a@x.org", "10.0.0.1", now - 10_000).await.expect("record");
    // Two failures in the window: paused until the older one leaves it (30 s from now).
    assert_eq!(login_limits::blocked_for(&db, &limits, "a@x.org", "10.0.0.2", now).await.expect("check"), Some(30));
    assert_eq!(login_limits::blocked_for(&db, &limits, "b@x.org", "10.0.0.2", now).await.expect("check"), None);
    login_limits::record_failure(&db, "b@x.org", "10.0.0.1", now).await.expect("record");
    assert_eq!(
        login_limits::blocked_for(&db, &limits, "c@x.org", "10.0.0.1", now).await.expect("check"),
        Some(30),
        "address limit"
    );
    // Failures older than the window do not count.
    assert_eq!(
        login_limits::blocked_for(&db, &limits, "a@x.org", "10.0.0.2", now + 61_000).await.expect("check"),
        None
    );
    login_limits::forget_account(&db, "a@x.org").await.expect("forget");
    assert_eq!(login_limits::blocked_for(&db, &limits, "a@x.org", "10.0.0.2", now).await.expect("check"), None);
    assert_eq!(login_limits::prune(&db, &limits, now + 120_000).await.expect("prune"), 1);
}

async fn concurrent_registrations_of_one_email_create_one_account(backend: Backend) {
    let db = open(backend).await;
    let attempts = (0..8).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { accounts::register(&db, &registration("race@example.org")).await })
    });
    let results = futures_join_all(attempts).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "{results:?}");
    for failure in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(failure.field_message("email").is_some(), "{failure:?}");
    }
}

async fn futures_join_all<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task"));
    }
    out
}

/// Two connections to one database play two server processes: a lease (a sync, a
/// subscription's fetch, the upkeep) is held by one of them at a time, runs out by itself,
/// and of many racing for a free lease exactly one gets it.
async fn a_lease_is_held_by_one_process_at_a_time(backend: Backend) {
    use app::ssr::leases::{give_back_as, holder, take_as};
    use std::time::Duration;
    let url = fresh_database(backend).await;
    let one = Db::connect(&url, 5).await.expect("first process");
    let two = Db::connect(&url, 5).await.expect("second process");
    let minute = Duration::from_secs(60);
    assert!(take_as(&one, "sync:a", "p1", minute).await.expect("take"));
    assert!(!take_as(&two, "sync:a", "p2", minute).await.expect("take"), "held by the first");
    assert!(take_as(&two, "sync:b", "p2", minute).await.expect("take"), "another lease is free");
    assert!(take_as(&one, "sync:a", "p1", minute).await.expect("take"), "the holder extends it");
    give_back_as(&two, "sync:a", "p2").await.expect("give back");
    assert_eq!(holder(&one, "sync:a").await.expect("holder").as_deref(), Some("p1"), "only the holder gives it back");
    give_back_as(&one, "sync:a", "p1").await.expect("give back");
    assert!(take_as(&two, "sync:a", "p2", Duration::from_millis(1)).await.expect("take"), "free again");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(holder(&one, "sync:a").await.expect("holder"), None, "run out");
    assert!(take_as(&one, "sync:a", "p1", minute).await.expect("take"), "a lease that ran out is taken over");
    // Twenty takers at once, half on each connection: one wins.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..20 {
        let db = if i % 2 == 0 { one.clone() } else { two.clone() };
        racers.spawn(async move { take_as(&db, "upkeep", &format!("racer{i}"), minute).await.expect("take") });
    }
    let mut won = 0;
    while let Some(taken) = racers.join_next().await {
        won += usize::from(taken.expect("racer"));
    }
    assert_eq!(won, 1);
}
