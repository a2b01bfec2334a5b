//! The invitees' pages (a booking link, a host's links, a booking) are rendered on the
//! server and work as plain links and forms. This module adds the one thing only the
//! browser knows: its time zone. When the address names no zone and the browser's differs
//! from the one the page shows, the page is fetched again in the browser's zone and its
//! content swapped in place (the address follows), so times read as the invitee's own.
//! It holds no Leptos runtime, serde or zone data: that keeps an invitee's first visit
//! small (docs/ARCHITECTURE.md, "The invitees' pages").

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, DomParser, HtmlInputElement, Response, SupportedType, Url, Window};

#[wasm_bindgen(start)]
pub fn start() {
    let Some(window) = web_sys::window() else { return };
    let Some(document) = window.document() else { return };
    wasm_bindgen_futures::spawn_local(async move {
        // Whatever happens, the page as served stays usable.
        let _ = follow_browser_zone(&window, &document).await;
        if let Some(body) = document.body() {
            let _ = body.set_attribute("data-enhanced", "true");
        }
    });
}

/// The zone the browser runs in, from `Intl`.
fn browser_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into()).ok()?.as_string()
}

async fn follow_browser_zone(window: &Window, document: &Document) -> Result<(), JsValue> {
    let url = Url::new(&window.location().href()?)?;
    if url.search_params().has("tz") {
        return Ok(()); // The invitee chose a zone.
    }
    // The booking page's zone field holds the zone the times are shown in.
    let Some(shown) = document.get_element_by_id("invitee-tz").and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
    else {
        return Ok(());
    };
    let Some(zone) = browser_zone().filter(|zone| *zone != shown.value()) else { return Ok(()) };
    url.search_params().set("tz", &zone);
    let response: Response = JsFuture::from(window.fetch_with_str(&url.href())).await?.dyn_into()?;
    if !response.ok() {
        return Ok(());
    }
    let html = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
    if let (Some(old), Some(new)) = (document.get_element_by_id("main"), fresh.get_element_by_id("main")) {
        old.set_inner_html(&new.inner_html());
        window.history()?.replace_state_with_url(&JsValue::NULL, "", Some(&url.href()))?;
    }
    Ok(())
}
