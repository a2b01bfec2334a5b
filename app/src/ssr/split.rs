//! The chunks of the page being rendered, preloaded from the document's head.
//!
//! Each page of the app is a lazily loaded route (`lazy_pages!` in `lib.rs`): in the
//! browser its code is a chunk of its own, which hydration has to wait for. Leptos lists
//! a page's chunks in the head only when the page's code ran before it read its list, a
//! race it loses on some renders (the chunks are then fetched one after another once the
//! main module has started), so the page asks for its own preloads while it renders.

use leptos::prelude::*;
use leptos_meta::Link;

/// Preloads the chunks of the lazy route `route` (its type's name) from the split
/// manifest `HydrationScripts` read, and takes Leptos' own list over, so nothing is
/// listed twice. Does nothing when the build has no manifest (`cargo leptos watch`
/// without `--split`, or the unit tests).
pub fn preload_page_chunks(route: &str) {
    if let Some(prefetches) = use_context::<leptos::PrefetchLazyFn>()
        && let Some(mut listed) = prefetches.0.try_write_value()
    {
        listed.clear();
    }
    let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else { return };
    // The split point `#[lazy_route]` makes is named `__{route in snake case}_view_{hash}`.
    let prefix = format!("__{}_view_", snake_case(route));
    let Some((pkg, modules, loader)) = manifest
        .0
        .try_with_value(|(pkg, splits, loader)| {
            splits
                .iter()
                .find(|(name, _)| name.starts_with(&prefix))
                .map(|(_, modules)| (pkg.clone(), modules.clone(), loader.clone()))
        })
        .flatten()
    else {
        return;
    };
    for module in modules {
        let _ = view! {
            <Link rel="preload" href=format!("{pkg}/{module}.wasm") as_="fetch" type_="application/wasm" crossorigin="anonymous" />
        }
        .to_html();
    }
    let _ = view! { <Link rel="modulepreload" href=format!("{pkg}/{loader}") crossorigin="anonymous" /> }.to_html();
}

/// `TaskSettingsRoute` → `task_settings_route`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn route_names_become_the_split_points_names() {
        assert_eq!(snake_case("TaskSettingsRoute"), "task_settings_route");
        assert_eq!(snake_case("HomeRoute"), "home_route");
    }
}
