//! Link options for the server binary.
//!
//! Relative relocations are packed (`-z pack-relative-relocs`, DT_RELR): the position-
//! independent binary has about 69,000 of them, 1.6 MB as classic RELA entries that the
//! dynamic loader reads, and so keeps resident, at every start; packed they are a few KB.
//! Used when the linker accepts it (GNU ld 2.38+, lld 15+); the loader must be glibc 2.36+
//! (the linker only packs them when the C library it links against has that support).
//! docs/BENCHMARKS.md, idle memory.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if !linux_gnu {
        return;
    }
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_owned());
    let source = std::path::Path::new(&out).join("relr_probe.c");
    let binary = std::path::Path::new(&out).join("relr_probe");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return;
    }
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    let accepted = Command::new(linker)
        .arg("-Wl,-z,pack-relative-relocs")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .output()
        .is_ok_and(|o| o.status.success());
    if accepted {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
