//! `calento-server`: serves Calento, or runs an admin command.

use std::process::ExitCode;
use std::time::Duration;

use server::admin::{self, Command};
use server::config::Config;

/// The allocator (see server/Cargo.toml): jemalloc, which gives freed memory back to the
/// system within seconds.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match admin::parse_args(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("calento-server: {message}\n\n{}", admin::USAGE);
            return ExitCode::from(2);
        }
    };
    if command == Command::Help {
        println!("{}", admin::USAGE);
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("calento-server: {error}");
            return ExitCode::from(2);
        }
    };
    if let Command::Health { url } = &command {
        // Asks the running server; opens no database (it may be the database that is down).
        let base = url.clone().unwrap_or_else(|| format!("http://{}", config.addr));
        return match admin::health(&base).await {
            Ok(body) => {
                println!("{body}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("calento-server: {message}");
                ExitCode::FAILURE
            }
        };
    }
    server::init_tracing(&config);
    if let Command::Restore { from, force } = &command {
        // Into the schema the backup was taken from, then migrated: not `open_state`.
        return match server::backup::restore(&config.database_url, from, *force).await {
            Ok(restored) => {
                println!(
                    "restored {} tables, {} rows into {} (schema {})",
                    restored.tables,
                    restored.rows,
                    app::ssr::db::redact(&config.database_url),
                    restored.schema
                );
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("calento-server: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let state = match server::open_state(&config).await {
        Ok(state) => state,
        Err(error) => {
            eprintln!("calento-server: {error} (DATABASE_URL={})", app::ssr::db::redact(&config.database_url));
            return ExitCode::FAILURE;
        }
    };
    if command == Command::Serve
        && let Err(message) = server::check_secrets(&config, &state.db).await
    {
        eprintln!("calento-server: {message}");
        state.db.close().await;
        return ExitCode::from(2);
    }
    if command != Command::Serve {
        let result = admin::run(&state.db, command, &mut std::io::stdin().lock()).await;
        state.db.close().await;
        return match result {
            Ok(output) => {
                println!("{output}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("calento-server: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("calento-server: cannot listen on {} (CALENTO_ADDR): {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| config.addr.to_string());
    server::spawn_upkeep(state.clone());
    server::subscriptions::spawn(
        state.db.clone(),
        server::subscriptions::Poller::new(config.outbound(), config.max_import_bytes),
    );
    let worker = server::spawn_jobs(state.db.clone(), &config);
    if worker.is_none() {
        tracing::info!("CALENTO_SMTP_URL is not set: emails are kept in the outbox, not sent");
    }
    let app = server::router(state.clone(), &config);
    tracing::debug!(database = %app::ssr::db::redact(&config.database_url), "Calento is running at http://{address}");
    println!("Calento is running at http://{address}");
    match server::serve_with_jobs(listener, app, state, Duration::from_secs(config.shutdown_grace_secs), worker).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("calento-server: {error}");
            ExitCode::FAILURE
        }
    }
}
