//! The hydrate bundle is linked with its relocations (`--emit-relocs`): the splitter
//! (scripts/wasm-split, as `cargo leptos --split` does) needs them to cut the module at
//! the `#[lazy]` points into chunks loaded when a page is first opened.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg-cdylib=--emit-relocs");
    }
}
