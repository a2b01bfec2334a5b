//! The benchmark's peer: a hand-written axum handler that returns a fixed HTML page (a page
//! as Calento rendered it: the login page, the public booking page) at every path, so
//! `scripts/bench` can compare Calento's server-side rendering with the cost of serving
//! the same bytes.
//!
//! `cargo run --release -p server --example bench_peer -- PAGE.html 127.0.0.1:3999`
// A measuring tool, not production code: a failed step ends the run with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::response::Html;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let page_path = args.next().unwrap_or_else(|| "login.html".to_owned());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3999".to_owned());
    let page: &'static str = Box::leak(std::fs::read_to_string(&page_path)?.into_boxed_str());
    let app = Router::new().fallback(get(move || async move { Html(page) }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("peer serving {page_path} at http://{addr}/");
    axum::serve(listener, app).await
}
