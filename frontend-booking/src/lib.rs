//! The hydrate entry point of the invitees' pages: attaches their WASM to the page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::BookingApp);
}
