#![recursion_limit = "256"]
//! The hydrate entry point: attaches the WASM build of `app` to the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are lazily loaded routes (their code comes in chunks, app/src/lib.rs
    // `lazy_pages!`), so hydration waits for the page's chunk before it walks the page.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let Some(body) = leptos::prelude::document().body() else { return };
    leptos::task::spawn_local(async move {
        let app = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        app.forget();
        // Mark the page once the WASM has taken it over, so people's tools and the
        // end-to-end tests can tell a hydrated page from a static one.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
