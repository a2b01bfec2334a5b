//! Pages that may be kept a few seconds and served again to anyone (the server's page
//! cache, `server::page_cache`, does the keeping). A page says so while it renders, with
//! whose data it shows, so a change of that person's data (the change feed) drops it.

/// The response header a page sets to be kept; the page cache removes it before any
/// response leaves the server. Its value is the id of the user whose data the page shows,
/// or empty when it shows nobody's (the log-in page).
pub const HEADER: &str = "x-calento-page-cache";

/// Marks the page being rendered as the same for every anonymous visitor asking for the
/// same address in the same language, until `owner`'s data changes.
pub fn allow(owner: Option<&str>) {
    if let (Some(response), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(owner.unwrap_or_default()),
    ) {
        response.insert_header(http::HeaderName::from_static(HEADER), value);
    }
}
