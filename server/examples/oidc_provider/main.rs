//! A local OpenID Connect provider for the end-to-end tests (scripts/e2e starts it):
//! `cargo run --example oidc_provider -- PORT CLIENT_ID CLIENT_SECRET`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod provider;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args.first().and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
    let client_id = args.get(1).cloned().unwrap_or_else(|| "calento-e2e".to_owned());
    let secret = args.get(2).cloned().unwrap_or_default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let provider = provider::Provider::serve(listener, &client_id, &secret).await;
    println!("{}", provider.issuer());
    std::future::pending::<()>().await;
}
