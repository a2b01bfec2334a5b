//! The API's contract: `/api/openapi.json` describes every `/api/v1` route (its scopes,
//! bodies, answers and errors), and schemathesis, driving every operation of it with
//! generated input against a real server, finds no server error and no answer that breaks
//! the description.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::user_with_token;
use crate::on_both_backends;
use crate::support::{Backend, spawn_app};

on_both_backends!(schemathesis_finds_no_server_error_and_no_answer_off_the_description);

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => refs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_described_with_its_scope_answers_and_errors() {
    let app = spawn_app(Backend::Sqlite).await;
    let reply = app.get("/api/openapi.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for route in server::api::route_table() {
        let path = format!("/api/v1{}", route.path);
        let method = route.method.as_str().to_ascii_lowercase();
        let operation = &doc["paths"][&path][&method];
        assert!(operation.is_object(), "{method} {path} is missing from the description");
        assert!(ids.insert(operation["operationId"].as_str().expect("an operationId").to_owned()), "{path}");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} has no success answer");
        let security = operation["security"].as_array().expect("security");
        match route.guard {
            server::api::Guard::Public => assert!(security.is_empty(), "{path} is public"),
            server::api::Guard::Area(area) => {
                let scope = format!("{}:{}", area.as_str(), if method == "get" { "read" } else { "write" });
                assert_eq!(security[0]["bearer"][0], scope.as_str(), "{method} {path}");
                assert!(responses.contains_key("403"), "{method} {path}: a token without the scope");
            }
            server::api::Guard::Account => assert_eq!(security[0]["bearer"][0], "account", "{path}"),
            _ => assert!(!security.is_empty(), "{path}"),
        }
        if route.guard != server::api::Guard::Public {
            assert!(responses.contains_key("401"), "{method} {path}: no credential");
        }
        for parameter in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let listed = operation["parameters"].as_array().expect("parameters");
            assert!(listed.iter().any(|p| p["name"] == parameter && p["in"] == "path"), "{path}: {parameter}");
        }
    }
    // Nothing described that is not served.
    let served: BTreeSet<(String, String)> = server::api::route_table()
        .iter()
        .map(|r| (format!("/api/v1{}", r.path), r.method.as_str().to_ascii_lowercase()))
        .collect();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            assert!(served.contains(&(path.clone(), method.clone())), "{method} {path} is described but not served");
        }
    }
    // Every schema named is there.
    let mut named = Vec::new();
    refs(&doc, &mut named);
    assert!(named.len() > 50, "{}", named.len());
    for target in named {
        let name = target.strip_prefix("#/components/schemas/").expect("a component");
        assert!(doc["components"]["schemas"][name].is_object(), "{target} is not in the description");
    }
    // The bodies and answers are the real types': a task's fields, a booking's.
    let task = &doc["components"]["schemas"]["TaskInfo"]["properties"];
    assert!(task["title"].is_object() && task["steps"].is_object(), "{task}");
    let create = &doc["paths"]["/api/v1/tasks"]["post"];
    assert!(create["requestBody"]["content"]["application/json"]["schema"].is_object());
    assert!(create["responses"]["201"]["content"]["application/json"]["schema"].is_object());
    assert!(create["responses"]["422"].is_object(), "a refused value");
}

/// schemathesis (`scripts/python-api`) against a real server, signed in with a token of
/// every scope: every operation with generated input (the coverage phase's edge cases and
/// the fuzzing phase's random ones) and the description's links followed statefully. It
/// must find no server error and no answer off the description (status, media type, body
/// schema, headers), accept no input the description forbids, and keep refusing what
/// needs a credential without one.
///
/// One check is left out: `positive_data_acceptance`, which expects every value the
/// schema allows to be accepted. The API checks more than a schema can say (a change-feed
/// cursor must be one it gave out, a time zone must exist, a schedule's hours must not
/// overlap) and answers those with a documented `400` or `422` naming the field.
/// Revoking a token is run apart, with its own token: the main run would otherwise revoke
/// its own credential (it lists its tokens) and see only `401` from then on.
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_description(backend: Backend) {
    let python = std::env::var("CALENTO_API_PYTHON").expect("CALENTO_API_PYTHON (run scripts/python-api)");
    // Rate limits off: they are tested elsewhere, and here they would answer most of the
    // generated requests with 429 before they reached anything.
    let limits = [
        ("CALENTO_API_RATE_PER_MINUTE", "0"),
        ("CALENTO_PUBLIC_RATE_PER_MINUTE", "0"),
        ("CALENTO_TOKEN_RATE_PER_MINUTE", "0"),
    ];
    let app = crate::support::spawn_app_with(backend, &limits).await;
    let token = user_with_token(&app, "contract@example.org").await;
    let base = format!("http://{}", app.addr);
    let revoking = ["--include-operation-id", "tokens_revoke_token", "--phases", "coverage,fuzzing"];
    let all = run_schemathesis(&python, &base, &token, &["--exclude-operation-id", "tokens_revoke_token"]).await;
    let browser = app.browser();
    assert_eq!(browser.login("contract@example.org", crate::support::PASSWORD).await.status, 200);
    let spare = crate::api::token_of(&browser).await;
    let revoke = run_schemathesis(&python, &base, &spare, &revoking).await;
    let operations = server::api::route_table().len();
    for ((ok, text), selected) in [(all, operations - 1), (revoke, 1)] {
        assert!(ok, "schemathesis found problems:\n{text}");
        assert!(!text.contains("Authentication failed"), "the run lost its credential:\n{text}");
        let tested = format!("{selected} selected / {operations} total");
        assert!(text.contains(&tested), "every operation is tested ({tested}):\n{text}");
    }
}

async fn run_schemathesis(python: &str, base: &str, token: &str, only: &[&str]) -> (bool, String) {
    let mut command = std::process::Command::new(python);
    // schemathesis keeps a cache of what it found where it runs: not in the clone.
    let folder = std::env::temp_dir().join(format!("calento-schemathesis-{}", app::ssr::new_id().to_lowercase()));
    std::fs::create_dir_all(&folder).expect("folder");
    command
        .current_dir(&folder)
        .args(["-m", "schemathesis.cli", "run", &format!("{base}/api/openapi.json"), "--url", base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", "8", "--workers", "1", "--seed", "1"])
        .args(["--no-color", "--suppress-health-check", "all", "--generation-database", "none"])
        // The token is the credential; no made-up session cookies beside it.
        .args(["--generation-with-security-parameters", "false"])
        .args(only);
    let output =
        tokio::task::spawn_blocking(move || command.output().expect("run schemathesis")).await.expect("schemathesis");
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
