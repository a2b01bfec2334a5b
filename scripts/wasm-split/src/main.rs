//! `calento-wasm-split INPUT.wasm OUT_DIR ID`
//!
//! Splits the hydrate bundle (linked with `--emit-relocs`) at its `#[lazy]` split
//! points, the way `cargo leptos --split` does, with every file name carrying the build
//! id so that `/pkg/` can be cached forever and one build never loads another's chunks:
//!
//! - `OUT_DIR/calento_main.wasm`: the main module, for `wasm-bindgen --keep-lld-exports`
//!   (published as `calento.ID.js` and `calento.ID.wasm`);
//! - `OUT_DIR/__wasm_split.ID.js`: the loader the main module imports;
//! - `OUT_DIR/{split_NAME,chunk_N}.ID.wasm`: the lazily loaded modules;
//! - `OUT_DIR/__wasm_split_manifest.ID.json`: for each split point, the modules to
//!   preload (Leptos' `HydrationScripts` reads it to preload a page's chunks).

use std::path::Path;
use std::process::ExitCode;

/// Code shared by more pages than this goes to the main module instead of a chunk of its
/// own (a patch of ours to the splitter: vendor/README.md). Unlimited, the splitter made a
/// chunk for every set of pages sharing some code: 376 modules, median 541 bytes, up to
/// 182 of them for one page, each a request (on a slow phone network the requests, not
/// the bytes, set the time to interactive). docs/BENCHMARKS.md has the figures.
const SHARED_CHUNK_LIMIT: usize = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, id] = args.as_slice() else {
        eprintln!("usage: calento-wasm-split INPUT.wasm OUT_DIR ID");
        return ExitCode::from(2);
    };
    match split(Path::new(input), Path::new(out_dir), id) {
        Ok(count) => {
            eprintln!("calento-wasm-split: {count} lazily loaded modules");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("calento-wasm-split: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &Path, out_dir: &Path, id: &str) -> Result<usize, Box<dyn std::error::Error>> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("the build id must be letters and digits, not {id:?}").into());
    }
    let wasm = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    std::fs::create_dir_all(out_dir)?;
    let main_out = out_dir.join("calento_main.wasm");
    let main_module = format!("./calento.{id}.js");
    let loader = format!("__wasm_split.{id}.js");
    let link_name = format!("./{loader}");
    let result = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&wasm);
        options.output_dir = out_dir;
        options.main_out_path = &main_out;
        options.main_module = &main_module;
        options.link_name = &link_name;
        options.shared_chunk_limit = SHARED_CHUNK_LIMIT;
        options
    })?;

    // Give every split module the build id, in its file name and where the loader and
    // the manifest name it.
    let loader_path = out_dir.join(&loader);
    let mut loader_js = std::fs::read_to_string(&loader_path)?;
    let mut renamed = std::collections::HashMap::new();
    for path in &result.split_modules {
        let stem = path.file_stem().and_then(|s| s.to_str()).ok_or("a split module without a name")?.to_owned();
        let with_id = format!("{stem}.{id}");
        let old_ref = format!("\"./{stem}.wasm\"");
        if !loader_js.contains(&old_ref) {
            return Err(format!("the loader does not name {stem}.wasm").into());
        }
        loader_js = loader_js.replace(&old_ref, &format!("\"./{with_id}.wasm\""));
        std::fs::rename(path, out_dir.join(format!("{with_id}.wasm")))?;
        renamed.insert(stem, with_id);
    }
    std::fs::write(&loader_path, loader_js)?;
    let manifest: std::collections::BTreeMap<&String, Vec<&String>> = result
        .prefetch_map
        .iter()
        .map(|(split, modules)| (split, modules.iter().map(|m| renamed.get(m).unwrap_or(m)).collect()))
        .collect();
    std::fs::write(out_dir.join(format!("__wasm_split_manifest.{id}.json")), serde_json::to_string(&manifest)?)?;
    Ok(renamed.len())
}
