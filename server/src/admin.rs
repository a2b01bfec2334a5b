//! Admin commands for scripts and invite-only instances:
//! `user create --email E --name N` (password on stdin) and `token create --email E --name N
//! [--scopes S]`.

use std::io::BufRead;

use app::ssr::accounts::{self, Registration};
use app::ssr::{Db, tokens};

pub const USAGE: &str = "\
Usage:
  calento-server                      serve Calento (see README for settings)
  calento-server user create --email E --name N [--username U] [--time-zone Z]
                                      create an account; the password is read from stdin
  calento-server user make-admin --email E
                                      make an account an administrator of the instance
  calento-server token create --email E --name N [--scopes S]
                                      create a personal access token and print it; S is a
                                      list such as \"calendar:read,tasks:write\" (default:
                                      every area, not account) or \"all\" for every scope
                                      including account
  calento-server jobs list [--status queued|running|done|dead]
                                      list background jobs (emails, reminders), newest first
  calento-server jobs retry ID        queue a dead job again
  calento-server backup [--to PATH]   write a consistent backup of the whole instance while it
                                      runs: PATH is a folder (default: this one) or the
                                      archive's file name; on SQLite also a checked copy
  calento-server restore PATH [--force]
                                      restore a backup into the database DATABASE_URL names
                                      (SQLite or PostgreSQL, either way); refuses a database
                                      that holds accounts unless --force (which replaces it)
  calento-server health [--url URL]   ask the server on CALENTO_ADDR (or URL) whether it is
                                      ready: exit 0 when it is, 1 when not (a container's
                                      HEALTHCHECK; no curl needed)
  calento-server --help               show this help";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Help,
    CreateUser {
        email: String,
        name: String,
        username: String,
        time_zone: String,
    },
    MakeAdmin {
        email: String,
    },
    CreateToken {
        email: String,
        name: String,
        scopes: calento::scope::Scopes,
    },
    ListJobs {
        status: Option<String>,
    },
    RetryJob {
        id: String,
    },
    /// A backup of the instance into a folder or file (`backup::backup`).
    Backup {
        to: std::path::PathBuf,
    },
    /// A restore of a backup into DATABASE_URL's database (`backup::restore`).
    Restore {
        from: std::path::PathBuf,
        force: bool,
    },
    /// Asks a running server's `/health/ready` (the address, or CALENTO_ADDR's).
    Health {
        url: Option<String>,
    },
}

pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let flags = |rest: &[&str], allowed: &[&str]| -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        let mut iter = rest.iter();
        while let Some(flag) = iter.next() {
            if !allowed.contains(flag) {
                return Err(format!("unknown option {flag}"));
            }
            let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
            out.push(((*flag).to_owned(), (*value).to_owned()));
        }
        Ok(out)
    };
    let get = |pairs: &[(String, String)], flag: &str| pairs.iter().find(|(f, _)| f == flag).map(|(_, v)| v.clone());
    match words.as_slice() {
        [] | ["serve"] => Ok(Command::Serve),
        ["--help" | "-h" | "help"] => Ok(Command::Help),
        ["health", rest @ ..] => {
            let pairs = flags(rest, &["--url"])?;
            Ok(Command::Health { url: get(&pairs, "--url") })
        }
        ["backup", rest @ ..] => {
            let pairs = flags(rest, &["--to"])?;
            Ok(Command::Backup { to: get(&pairs, "--to").unwrap_or_else(|| ".".to_owned()).into() })
        }
        ["restore", rest @ ..] => {
            let force = rest.contains(&"--force");
            match rest.iter().filter(|w| **w != "--force").collect::<Vec<_>>().as_slice() {
                [path] if !path.starts_with("--") => Ok(Command::Restore { from: (**path).into(), force }),
                [] => Err("restore needs the backup's path".to_owned()),
                other => Err(format!(
                    "restore takes one path and --force, not {}",
                    other.iter().map(|w| **w).collect::<Vec<_>>().join(" ")
                )),
            }
        }
        ["user", "create", rest @ ..] => {
            let pairs = flags(rest, &["--email", "--name", "--username", "--time-zone"])?;
            Ok(Command::CreateUser {
                email: get(&pairs, "--email").ok_or("--email is required")?,
                name: get(&pairs, "--name").ok_or("--name is required")?,
                username: get(&pairs, "--username").unwrap_or_default(),
                time_zone: get(&pairs, "--time-zone").unwrap_or_default(),
            })
        }
        ["token", "create", rest @ ..] => {
            let pairs = flags(rest, &["--email", "--name", "--scopes"])?;
            let scopes = match get(&pairs, "--scopes").as_deref().map(str::trim) {
                None => calento::scope::Scopes::all(),
                // On the operator's machine, "all" means everything, the account included.
                Some("all" | "*") => calento::scope::Scopes::everything(),
                Some(text) => calento::scope::Scopes::parse(text).map_err(|e| format!("--scopes: {}", e.message))?,
            };
            Ok(Command::CreateToken {
                email: get(&pairs, "--email").ok_or("--email is required")?,
                name: get(&pairs, "--name").ok_or("--name is required")?,
                scopes,
            })
        }
        ["user", "make-admin", rest @ ..] => {
            let pairs = flags(rest, &["--email"])?;
            Ok(Command::MakeAdmin { email: get(&pairs, "--email").ok_or("--email is required")? })
        }
        ["jobs", "list", rest @ ..] => {
            let pairs = flags(rest, &["--status"])?;
            Ok(Command::ListJobs { status: get(&pairs, "--status") })
        }
        ["jobs", "retry", id] => Ok(Command::RetryJob { id: (*id).to_owned() }),
        _ => Err(format!("unknown command: {}", words.join(" "))),
    }
}

/// Runs an admin command; returns what to print on success.
pub async fn run(db: &Db, command: Command, stdin: &mut dyn BufRead) -> Result<String, String> {
    match command {
        Command::CreateUser { email, name, username, time_zone } => {
            let mut password = String::new();
            stdin.read_line(&mut password).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let form =
                Registration { email, password, name, username, time_zone, invite: String::new(), by_operator: true };
            let user = accounts::register(db, &form).await.map_err(describe)?;
            Ok(format!("created user {} ({}), username {}", user.email, user.id, user.username))
        }
        Command::MakeAdmin { email } => {
            app::ssr::instance::make_admin_by_email(db, &email).await.map_err(|e| match e {
                app::AppError::NotFound => format!("no user with email {email}"),
                other => describe(other),
            })?;
            app::ssr::audit::record(
                db,
                None,
                None,
                app::ssr::audit::event::ADMIN_MADE_ADMIN,
                &format!("{email} (by the admin command)"),
                &app::ssr::audit::Origin::system(),
            )
            .await;
            Ok(format!("{email} is now an administrator"))
        }
        Command::CreateToken { email, name, scopes } => {
            let email = calento::EmailAddress::parse(&email).map_err(|e| e.to_string())?;
            let user = accounts::find_by_email(db, &email)
                .await
                .map_err(describe)?
                .ok_or_else(|| format!("no user with email {email}"))?;
            let created = tokens::create_scoped(db, &user.id, &name, scopes).await.map_err(describe)?;
            Ok(created.token)
        }
        Command::ListJobs { status } => {
            let jobs = app::ssr::jobs::list_jobs(db, status.as_deref()).await.map_err(describe)?;
            let mut out = format!("{} job(s)", jobs.len());
            for job in jobs {
                let when = app::ssr::millis_to_utc(job.run_at).format("%Y-%m-%d %H:%M:%S UTC");
                out.push_str(&format!(
                    "\n{}  {:<8} {:<12} attempts {}/{}  run at {when}{}",
                    job.id,
                    job.status,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    job.last_error.map(|e| format!("  last error: {e}")).unwrap_or_default()
                ));
            }
            Ok(out)
        }
        Command::RetryJob { id } => {
            app::ssr::jobs::retry_dead(db, &id).await.map_err(|e| match e {
                app::AppError::NotFound => format!("no dead job {id}"),
                other => describe(other),
            })?;
            Ok(format!("job {id} is queued again"))
        }
        Command::Backup { to } => crate::backup::backup(db, &to).await.map(|written| written.to_string()),
        // `health` is answered before any database is opened, `restore` opens its own
        // (main.rs).
        Command::Serve | Command::Help | Command::Health { .. } | Command::Restore { .. } => Ok(USAGE.to_owned()),
    }
}

fn describe(error: app::AppError) -> String {
    match error {
        app::AppError::Invalid { fields, .. } if !fields.is_empty() => {
            fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

/// `calento-server health`: one `GET /health/ready` to the server at `base` (an `http://`
/// address; a wildcard listen address means this machine), within five seconds. `Ok` with
/// the answer's body when it is 200, else why not.
pub async fn health(base: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = base.trim().strip_prefix("http://").ok_or("health: the address must start with http://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.replacen("0.0.0.0", "127.0.0.1", 1).replacen("[::]", "[::1]", 1);
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(authority.as_str())
            .await
            .map_err(|e| format!("health: cannot reach {authority}: {e}"))?;
        let request = format!(
            "GET /health/ready HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: calento-health\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("health: {e}"))?;
        let mut answer = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut answer).await.map_err(|e| format!("health: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), ask)
        .await
        .map_err(|_| format!("health: {authority} did not answer within 5 seconds"))??;
    let status = answer.split(' ').nth(1).unwrap_or_default();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.trim()).unwrap_or_default();
    if status == "200" { Ok(body.to_owned()) } else { Err(format!("health: not ready ({status}) {body}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    use calento::scope::Scopes;

    #[test]
    fn commands_parse_with_their_options() {
        assert_eq!(parse_args(&[]), Ok(Command::Serve));
        assert_eq!(parse_args(&args("health")), Ok(Command::Health { url: None }));
        assert_eq!(
            parse_args(&args("health --url http://127.0.0.1:3000")),
            Ok(Command::Health { url: Some("http://127.0.0.1:3000".into()) })
        );
        assert!(parse_args(&args("health --port 3000")).is_err());
        assert_eq!(
            parse_args(&args("user create --email a@b.org --name Ada")),
            Ok(Command::CreateUser {
                email: "a@b.org".into(),
                name: "Ada".into(),
                username: String::new(),
                time_zone: String::new()
            })
        );
        assert_eq!(
            parse_args(&args("token create --email a@b.org --name ci")),
            Ok(Command::CreateToken { email: "a@b.org".into(), name: "ci".into(), scopes: Scopes::all() })
        );
        assert_eq!(
            parse_args(&args("token create --email a@b.org --name ci --scopes all")),
            Ok(Command::CreateToken { email: "a@b.org".into(), name: "ci".into(), scopes: Scopes::everything() })
        );
        let narrow = parse_args(&args("token create --email a@b.org --name ci --scopes calendar:read,account"));
        let expected = Scopes::parse("calendar:read account").expect("scopes");
        assert_eq!(narrow, Ok(Command::CreateToken { email: "a@b.org".into(), name: "ci".into(), scopes: expected }));
        assert!(parse_args(&args("token create --email a@b.org --name ci --scopes root")).is_err());
        assert_eq!(parse_args(&args("jobs list --status dead")), Ok(Command::ListJobs { status: Some("dead".into()) }));
        assert_eq!(parse_args(&args("jobs retry 01ABC")), Ok(Command::RetryJob { id: "01ABC".into() }));
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(parse_args(&args("user create --name Ada")), Err("--email is required".into()));
        assert_eq!(parse_args(&args("user create --email")), Err("--email needs a value".into()));
        assert!(parse_args(&args("user delete")).expect_err("unknown").contains("unknown command"));
        assert!(parse_args(&args("token create --email a@b.org --name x --admin y")).is_err());
    }
}
