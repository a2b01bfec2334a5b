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
