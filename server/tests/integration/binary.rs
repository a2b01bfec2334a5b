//! The `calento-server` binary as an operator runs it: first start, admin commands,
//! configuration errors and shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_calento-server");

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("calento-bin-{}", app::ssr::new_id().to_lowercase()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn calento(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CALENTO_LOG", "warn");
    command
}

/// Starts the server on a free port; returns it with the URL it printed.
fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = calento(dir)
        .env("CALENTO_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let without_scheme = url.trim_start_matches("http://");
    let (host, path) =
        without_scheme.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((without_scheme, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n").expect("write");
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn first_start_creates_the_database_and_admin_commands_manage_accounts() {
    let dir = temp_dir();
    let mut create = calento(&dir)
        .args(["user", "create", "--email", "ops@example.org", "--name", "Ops Person"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("user create");
    create.stdin.take().expect("stdin").write_all(b"correct horse battery\n").expect("password");
    let output = create.wait_with_output().expect("finish");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created user ops@example.org"));
    assert!(dir.join("data/calento.db").exists(), "the default SQLite file under ./data");

    let token = calento(&dir)
        .args(["token", "create", "--email", "ops@example.org", "--name", "script"])
        .output()
        .expect("token");
    assert!(token.status.success());
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    assert!(token.starts_with("cal_"), "{token}");

    let duplicate = calento(&dir)
        .args(["user", "create", "--email", "ops@example.org", "--name", "Again"])
        .stdin(Stdio::piped())
        .output()
        .expect("duplicate");
    assert!(!duplicate.status.success());

    let (mut server, url) = start(&dir);
    let (status, body) = get(&format!("{url}/api/v1/me"), Some(&token));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"email\":\"ops@example.org\""));
    assert_eq!(get(&format!("{url}/health/ready"), None).0, 200);
    let status = terminate(&mut server);
    assert!(status.success(), "a clean exit on SIGTERM: {status:?}");
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let dir = temp_dir();
    for (var, value) in
        [("CALENTO_ADDR", "localhost"), ("DATABASE_URL", "mysql://x/y"), ("CALENTO_LOGIN_WINDOW_SECS", "soon")]
    {
        let output = calento(&dir).env(var, value).output().expect("run");
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
    let unknown = calento(&dir).args(["users", "list"]).output().expect("run");
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test]
async fn start_up_refuses_without_the_secret_key_once_an_account_is_connected() {
    let dir = temp_dir();
    let url = format!("sqlite://{}/calento.db", dir.display());
    // Without connected accounts, no key is needed.
    let (mut child, _) = start_with(&dir, &[("DATABASE_URL", &url)]);
    terminate(&mut child);
    // An account connects (tokens sealed under a key)…
    let created = calento(&dir)
        .env("DATABASE_URL", &url)
        .args(["user", "create", "--email", "ops@example.org", "--name", "Ops"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().expect("stdin").write_all(b"correct horse battery\n")?;
            c.wait()
        })
        .expect("user create");
    assert!(created.success());
    let db = app::ssr::Db::connect(&url, 2).await.expect("database");
    let user_id: String = sqlx::query_scalar("SELECT id FROM users").fetch_one(db.read()).await.expect("user");
    let grant = app::ssr::connections::Grant {
        provider: "google".into(),
        external_id: None,
        account: "ops@gmail.test".into(),
        refresh_secret: Some("v1.sealed".into()),
        access_secret: "v1.sealed".into(),
        access_expires_at: 0,
        scopes: "https://www.googleapis.com/auth/calendar".into(),
    };
    app::ssr::connections::save_grant(&db, &user_id, &grant).await.expect("connection");
    db.close().await;
    // …then the server will not run without the key, and says why.
    let output = calento(&dir).env("DATABASE_URL", &url).env("CALENTO_ADDR", "127.0.0.1:0").output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CALENTO_SECRET_KEY is not set"), "{stderr}");
    // With it, it runs; a key that is too short is refused as a setting.
    let (mut child, _) = start_with(&dir, &[("DATABASE_URL", &url), ("CALENTO_SECRET_KEY", crate::google::SECRET_KEY)]);
    terminate(&mut child);
    let output = calento(&dir).env("DATABASE_URL", &url).env("CALENTO_SECRET_KEY", "short").output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid CALENTO_SECRET_KEY"));
}

fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut command = calento(dir);
    command.env("CALENTO_ADDR", "127.0.0.1:0").stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

/// The uid a process runs as (`/proc/PID/status`).
fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().next()?.parse().ok())
}

/// The container's runtime contract (Dockerfile): the binary, started as a non-root user
/// from a directory holding only `site/` and a `/data`-like volume, with the environment
/// the image sets, serves; `calento-server health` exits 0 when it is ready and 1 when
/// nothing answers. (Images cannot be built on these machines; this is what they run.)
#[test]
fn the_container_contract_holds_as_a_non_root_user() {
    const NOBODY: &str = "65534";
    let dir = temp_dir();
    std::fs::create_dir_all(dir.join("site/pkg")).expect("site");
    std::fs::write(dir.join("site/favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").expect("a public file");
    std::fs::create_dir_all(dir.join("data")).expect("volume");
    let binary = dir.join("calento-server");
    std::fs::copy(BIN, &binary).expect("the binary, as the image holds it");
    let root = uid_of(std::process::id()) == Some(0);
    if root {
        let owned =
            Command::new("chown").args(["-R", &format!("{NOBODY}:{NOBODY}"), "data"]).current_dir(&dir).status();
        assert!(owned.is_ok_and(|s| s.success()), "chown the volume");
    }
    // What the image sets (but a free port instead of 0.0.0.0:3000).
    let image_env = |command: &mut Command| {
        command
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("CALENTO_LOG", "warn")
            .env("CALENTO_SITE_ROOT", dir.join("site"))
            .env("DATABASE_URL", format!("sqlite://{}/data/calento.db", dir.display()));
    };
    let as_image_user = |args: &[&str]| -> Command {
        let mut command = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        command.args(args);
        image_env(&mut command);
        command
    };
    // Nothing listens yet: not healthy.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let down = as_image_user(&["health", "--url", &format!("http://127.0.0.1:{port}")]).output().expect("health");
    assert_eq!(down.status.code(), Some(1), "{}", String::from_utf8_lossy(&down.stderr));

    let mut child = as_image_user(&[])
        .env("CALENTO_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    if root {
        assert_eq!(uid_of(child.id()), Some(65534), "runs as the image's user, not root");
    }
    // Healthy, asked at the address the server was given (as the image's HEALTHCHECK does).
    let up = as_image_user(&["health"]).env("CALENTO_ADDR", format!("0.0.0.0:{port}")).output().expect("health");
    assert_eq!(up.status.code(), Some(0), "{}", String::from_utf8_lossy(&up.stderr));
    assert!(String::from_utf8_lossy(&up.stdout).contains("\"database\":\"ok\""));
    assert!(dir.join("data/calento.db").exists(), "the database on the volume");
    let (status, body) = get(&format!("http://127.0.0.1:{port}/favicon.svg"), None);
    assert_eq!(status, 200, "{body}");
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");
    let after = as_image_user(&["health", "--url", &format!("http://127.0.0.1:{port}")]).output().expect("health");
    assert_eq!(after.status.code(), Some(1));
}

/// One HTTP/1.1 request to a server the test started: status, head and body.
async fn request(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    try_request(base, method, path, headers, body).await.unwrap_or_else(|| panic!("{method} {path}: no answer"))
}

/// An account made with the admin commands on the database at `url`, and a personal
/// access token for it (`scopes` as the command takes them, if given).
fn account(dir: &std::path::Path, url: &str, email: &str, name: &str, username: &str, scopes: Option<&str>) -> String {
    let mut create = calento(dir)
        .env("DATABASE_URL", url)
        .args(["user", "create", "--email", email, "--name", name, "--username", username])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user create");
    create.stdin.take().expect("stdin").write_all(b"correct horse battery\n").expect("password");
    assert!(create.wait().expect("created").success());
    let mut args = vec!["token", "create", "--email", email, "--name", "t"];
    if let Some(scopes) = scopes {
        args.extend(["--scopes", scopes]);
    }
    let token = calento(dir).env("DATABASE_URL", url).args(args).output().expect("token");
    String::from_utf8_lossy(&token.stdout).trim().to_owned()
}

/// Two `calento-server` processes on one PostgreSQL database, no proxy between: a session
/// made on one works on the other, a subscription both hear of is fetched once (its
/// lease), a 50-way race for one slot split across both books it once, the confirmation is
/// queued once, a rate limit holds across both, and a change made through one reaches a
/// live-update stream of the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_postgresql_share_the_work() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    if crate::support::postgres_url().is_none() {
        eprintln!("PostgreSQL run skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let url = crate::support::fresh_database(crate::support::Backend::Postgres).await;
    let dir = temp_dir();
    // A calendar feed that counts its fetches.
    let fetches = Arc::new(AtomicUsize::new(0));
    let feed = {
        let fetches = fetches.clone();
        axum::Router::new().route(
            "/team.ics",
            axum::routing::get(move || {
                let fetches = fetches.clone();
                async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:standup@team\r\n\
                     DTSTAMP:20300101T000000Z\r\nDTSTART:20300107T090000Z\r\nDTEND:20300107T091500Z\r\n\
                     SUMMARY:Team standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let feed_url = format!("http://{}/team.ics", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, feed).await;
    });

    // The account, through the admin commands on the shared database.
    let token = account(&dir, &url, "two@example.org", "Two Procs", "twoprocs", Some("all"));
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("CALENTO_OUTBOUND_ALLOW", "127.0.0.1/32"),
        // Four app sign-ins a minute from one address, across the processes.
        ("CALENTO_TOKEN_RATE_PER_MINUTE", "4"),
    ];
    let (mut one, a) = start_with(&dir, &env);
    let (mut two, b) = start_with(&dir, &env);
    let bearer = format!("Bearer {token}");
    let json = [("authorization", bearer.as_str()), ("content-type", "application/json")];

    // A session made on one process works on the other.
    let origin = a.clone();
    let (status, head, body) = request(
        &a,
        "POST",
        "/fn/login",
        &[("content-type", "application/x-www-form-urlencoded"), ("accept", "application/json"), ("origin", &origin)],
        "email=two%40example.org&password=correct+horse+battery",
    )
    .await;
    assert_eq!(status, 200, "{head}\n{body}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let (status, _, me) = request(&b, "GET", "/api/v1/me", &[("cookie", &cookie)], "").await;
    assert_eq!(status, 200, "{me}");
    assert!(me.contains("two@example.org"));

    // A subscription both processes hear of is fetched once.
    let body = format!("{{\"name\": \"Team\", \"source_url\": \"{feed_url}\"}}");
    let (status, _, made) = request(&a, "POST", "/api/v1/calendars", &json, &body).await;
    assert_eq!(status, 201, "{made}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, events) = request(&b, "GET", "/api/v1/events?q=standup", &json, "").await;
        if events.contains("Team standup") {
            break;
        }
        assert!(Instant::now() < deadline, "the feed was never fetched: {events}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched once by the two processes");

    // Fifty invitees race for one slot, half through each process: one booking.
    let (status, _, schedule) = request(
        &a,
        "POST",
        "/api/v1/availability/schedules",
        &json,
        r#"{"name": "Days", "timezone": "UTC", "rules": [{"weekday": 1, "start": "09:00", "end": "17:00"}, {"weekday": 2, "start": "09:00", "end": "17:00"}, {"weekday": 3, "start": "09:00", "end": "17:00"}, {"weekday": 4, "start": "09:00", "end": "17:00"}, {"weekday": 5, "start": "09:00", "end": "17:00"}]}"#,
    )
    .await;
    assert_eq!(status, 201, "{schedule}");
    let schedule: serde_json::Value = serde_json::from_str(&schedule).expect("json");
    let link = format!(
        r#"{{"slug": "race", "title": "Race", "durations": [30], "schedule_id": "{}"}}"#,
        schedule["id"].as_str().expect("id")
    );
    let (status, _, made) = request(&b, "POST", "/api/v1/booking-links", &json, &link).await;
    assert_eq!(status, 201, "{made}");
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..50 {
        let base = if i % 2 == 0 { a.clone() } else { b.clone() };
        racers.spawn(async move {
            let body = format!(
                r#"{{"start": "2030-01-14T10:00:00Z", "name": "Racer {i}", "email": "racer{i}@example.org", "timezone": "UTC"}}"#
            );
            let (status, _, _) = request(
                &base,
                "POST",
                "/api/v1/public/twoprocs/race/bookings",
                &[("content-type", "application/json")],
                &body,
            )
            .await;
            status
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = racers.join_next().await {
        statuses.push(status.expect("racer"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409, 429].contains(s)), "{statuses:?}");
    let (_, _, outbox) = request(&a, "GET", "/api/v1/outbox", &json, "").await;
    let outbox: serde_json::Value = serde_json::from_str(&outbox).expect("outbox");
    let mut kinds: Vec<&str> = outbox.as_array().expect("emails").iter().filter_map(|m| m["kind"].as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["booking_confirmation", "booking_notification", "booking_reminder"],
        "each email of the one booking queued once: {outbox}"
    );

    // A rate limit holds across both: four sign-ins, two through each, then 429 on both.
    let sign_in = r#"{"email": "two@example.org", "password": "correct horse battery"}"#;
    let plain = [("content-type", "application/json")];
    for base in [&a, &b, &a, &b] {
        let (status, _, body) = request(base, "POST", "/api/v1/auth/token", &plain, sign_in).await;
        assert_eq!(status, 200, "{body}");
    }
    for base in [&a, &b] {
        let (status, head, _) = request(base, "POST", "/api/v1/auth/token", &plain, sign_in).await;
        assert_eq!(status, 429, "the fifth sign-in is over the limit on either process: {head}");
    }

    // Live updates reach a client of the other process.
    let mut stream = tokio::net::TcpStream::connect(b.trim_start_matches("http://")).await.expect("connect");
    let head = format!(
        "GET /api/v1/changes/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nAccept: text/event-stream\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.expect("ask");
    let mut heard = String::new();
    let mut buffer = [0u8; 4096];
    // The stream is open once its headers came.
    while !heard.contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read(&mut stream, &mut buffer))
            .await
            .expect("the stream answers")
            .expect("read");
        assert!(n > 0, "the stream closed: {heard}");
        heard.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(heard.starts_with("HTTP/1.1 200"), "{heard}");
    let (status, _, made) = request(&a, "POST", "/api/v1/tasks", &json, r#"{"title": "Heard across"}"#).await;
    assert_eq!(status, 201, "{made}");
    let id = serde_json::from_str::<serde_json::Value>(&made).expect("json")["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !heard.contains(&id) {
        assert!(Instant::now() < deadline, "the change made on one process never reached the other's stream: {heard}");
        if let Ok(read) =
            tokio::time::timeout(Duration::from_millis(500), tokio::io::AsyncReadExt::read(&mut stream, &mut buffer))
                .await
        {
            let n = read.expect("read");
            assert!(n > 0, "the stream closed: {heard}");
            heard.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
    drop(stream);
    assert!(terminate(&mut one).success());
    assert!(terminate(&mut two).success());
}

/// Starts the server on `port` with `env` (a restart keeps the port).
fn start_on(dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Child {
    let addr = format!("127.0.0.1:{port}");
    let mut env = env.to_vec();
    env.push(("CALENTO_ADDR", &addr));
    let (child, url) = start_with(dir, &env);
    assert_eq!(url, format!("http://{addr}"));
    child
}

fn kill_hard(child: &mut Child) {
    Command::new("kill").args(["-KILL", &child.id().to_string()]).status().expect("kill -9");
    let _ = child.wait();
}

crate::on_both_backends!(killed_mid_bookings_and_mid_emails_nothing_acknowledged_is_lost);

/// `kill -9` while invitees book and while the outbox is sent, then a restart: every
/// booking that was acknowledged (201) is there, and every email owed for it is
/// delivered; emails sent twice (at-least-once delivery across a kill) are counted.
async fn killed_mid_bookings_and_mid_emails_nothing_acknowledged_is_lost(backend: crate::support::Backend) {
    let url = crate::support::fresh_database(backend).await;
    let sink = crate::mail::SmtpSink::start().await;
    let dir = temp_dir();
    let token = account(&dir, &url, "kill@example.org", "Kill Host", "killhost", None);
    let smtp = sink.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("CALENTO_SMTP_URL", smtp.as_str()),
        ("CALENTO_PUBLIC_RATE_PER_MINUTE", "100000"),
        // A killed process's jobs are taken over after 10 s, not the default minute.
        ("CALENTO_JOB_LEASE_SECS", "10"),
    ];
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_on(&dir, port, &env);
    let bearer = format!("Bearer {token}");
    let json = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    let rules: Vec<String> =
        (1..=5).map(|d| format!(r#"{{"weekday": {d}, "start": "09:00", "end": "17:00"}}"#)).collect();
    let (status, _, schedule) = request(
        &base,
        "POST",
        "/api/v1/availability/schedules",
        &json,
        &format!(r#"{{"name": "Days", "timezone": "UTC", "rules": [{}]}}"#, rules.join(",")),
    )
    .await;
    assert_eq!(status, 201, "{schedule}");
    let schedule: serde_json::Value = serde_json::from_str(&schedule).expect("json");
    let link = format!(
        r#"{{"slug": "k", "title": "Kill", "durations": [30], "schedule_id": "{}"}}"#,
        schedule["id"].as_str().expect("id")
    );
    assert_eq!(request(&base, "POST", "/api/v1/booking-links", &json, &link).await.0, 201);
    let (_, _, slots) = request(
        &base,
        "GET",
        "/api/v1/public/killhost/k/slots?from=2030-01-14T00:00:00Z&to=2030-01-19T00:00:00Z",
        &[],
        "",
    )
    .await;
    let slots: Vec<String> = serde_json::from_str(&slots).expect("slots");
    assert!(slots.len() >= 60, "{}", slots.len());

    // Sixty invitees book distinct slots, eight at a time; the server is killed once a
    // dozen have been acknowledged (their emails are being sent meanwhile).
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(usize, String)>::new()));
    let bookers = {
        let (acknowledged, base, slots) = (acknowledged.clone(), base.clone(), slots.clone());
        tokio::spawn(async move {
            let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
            let mut all = tokio::task::JoinSet::new();
            for (i, start) in slots.into_iter().take(60).enumerate() {
                let (gate, acknowledged, base) = (gate.clone(), acknowledged.clone(), base.clone());
                all.spawn(async move {
                    let _turn = gate.acquire().await;
                    let body = format!(
                        r#"{{"start": "{start}", "name": "Guest {i}", "email": "guest{i}@example.org", "timezone": "UTC"}}"#
                    );
                    let path = "/api/v1/public/killhost/k/bookings";
                    let answer = tokio::time::timeout(
                        Duration::from_secs(10),
                        try_request(&base, "POST", path, &[("content-type", "application/json")], &body),
                    )
                    .await;
                    if let Ok(Some((201, _, booked))) = answer {
                        let id = serde_json::from_str::<serde_json::Value>(&booked).expect("json")["id"]
                            .as_str()
                            .expect("id")
                            .to_owned();
                        acknowledged.lock().expect("list").push((i, id));
                    }
                });
            }
            while all.join_next().await.is_some() {}
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().expect("list").len() < 12 {
        assert!(Instant::now() < deadline, "bookings never got through");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    kill_hard(&mut server);
    bookers.await.expect("bookers");
    let acknowledged = acknowledged.lock().expect("list").clone();

    // Restarted: then killed again while it sends what it owes, and restarted again.
    let mut server = start_on(&dir, port, &env);
    let before = sink.messages().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.messages().len() == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill_hard(&mut server);
    let mut server = start_on(&dir, port, &env);

    // Every acknowledged booking is there.
    let (status, _, list) = request(&base, "GET", "/api/v1/bookings?status=all&per_page=100", &json, "").await;
    assert_eq!(status, 200, "{list}");
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    let stored: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|b| b["id"].as_str()).collect();
    for (i, id) in &acknowledged {
        assert!(stored.contains(&id.as_str()), "acknowledged booking of guest {i} is lost");
    }
    // Every email owed for them is delivered: the invitee's confirmation and the host's notice.
    let owed = |i: usize| format!("guest{i}@example.org");
    // (A job the killed process was running is taken over when its lease, no longer
    // renewed, runs out.)
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut read: std::collections::BTreeMap<std::path::PathBuf, serde_json::Value> = Default::default();
    let (messages, delivered) = loop {
        for path in sink.messages() {
            if let std::collections::btree_map::Entry::Vacant(slot) = read.entry(path) {
                let message = crate::mail::read_message(slot.key());
                slot.insert(message);
            }
        }
        let to = |who: &str, subject: &str| {
            read.values().any(|m| {
                m["X-Sink-Rcpt-To"].as_str().is_some_and(|r| r.contains(who)) && m["Subject"].as_str() == Some(subject)
            })
        };
        let missing: Vec<usize> = acknowledged
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| {
                !to(&owed(*i), "Confirmed: Kill with Kill Host")
                    || !to("kill@example.org", &format!("New booking: Kill with Guest {i}"))
            })
            .collect();
        if missing.is_empty() {
            break (read.len(), acknowledged.len());
        }
        assert!(Instant::now() < deadline, "emails never delivered for guests {missing:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let ids: Vec<String> = read.values().filter_map(|m| m["Message-ID"].as_str().map(str::to_owned)).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    let duplicates = ids.len() - unique.len();
    eprintln!(
        "kill -9 ({backend:?}): {delivered} bookings acknowledged of 60, all there; {messages} messages delivered, \
         {duplicates} of them a second copy"
    );
    // At least once, and twice at most for what was being sent at a kill (4 workers, 2 kills).
    assert!(duplicates <= 8, "{duplicates} duplicates");
    assert!(terminate(&mut server).success());
}

/// [`request`] that answers `None` when the server went away mid-request.
async fn try_request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.ok()?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok())?;
    Some((status, head.to_owned(), body.to_owned()))
}

/// `calento-server backup` against a running server and `restore` into a new database, as
/// an operator runs them: a file the restored server serves from, the accounts' tokens
/// working there, and a restore over data refused without `--force` (exit 1, one line).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_and_restore_commands_move_an_instance() {
    let dir = temp_dir();
    let url = format!("sqlite://{}/data/calento.db", dir.display());
    let token = account(&dir, &url, "ops@example.org", "Ops", "ops", None);
    let (mut server, base) = start_with(&dir, &[("DATABASE_URL", &url)]);
    let bearer = format!("Bearer {token}");
    let json = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    let made = request(&base, "POST", "/api/v1/tasks", &json, r#"{"title":"Water the plants"}"#).await;
    assert_eq!(made.0, 201, "{}", made.2);
    let output = calento(&dir).env("DATABASE_URL", &url).args(["backup", "--to", "backups/"]).output().expect("backup");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed} {}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("backup written: ") && printed.contains("integrity checked"), "{printed}");
    terminate(&mut server);
    let archive = std::fs::read_dir(dir.join("backups"))
        .expect("folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("an archive");
    // Onto itself: refused, exit 1, nothing changed.
    let refused = calento(&dir).env("DATABASE_URL", &url).arg("restore").arg(&archive).output().expect("restore");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // Into a new database (PostgreSQL when there is one: the way out of SQLite).
    let target = match crate::support::postgres_url() {
        Some(_) => crate::support::fresh_database(crate::support::Backend::Postgres).await,
        None => format!("sqlite://{}/moved/calento.db", dir.display()),
    };
    let restored = calento(&dir).env("DATABASE_URL", &target).arg("restore").arg(&archive).output().expect("restore");
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    assert!(String::from_utf8_lossy(&restored.stdout).starts_with("restored "));
    let (mut moved, base) = start_with(&dir, &[("DATABASE_URL", &target)]);
    let tasks = request(&base, "GET", "/api/v1/tasks", &json, "").await;
    assert_eq!(tasks.0, 200, "{}", tasks.2);
    assert!(tasks.2.contains("Water the plants"), "{}", tasks.2);
    terminate(&mut moved);
}
