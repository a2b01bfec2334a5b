#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The layers a newcomer can see: storage and services (`src/ssr`) never use the server
//! functions (`src/server`) or the pages (`src/routes`), the shared models use neither, and
//! the storage modules import each other without a circle (`ssr/mod.rs`, the composition
//! root, is the one place that names them all). Read from the source files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn sources(folder: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder);
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("source");
            // Unit tests may reach anywhere; comments may name anything.
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, code);
        }
    }
    out
}

#[test]
fn storage_and_models_never_use_the_layers_above_them() {
    for (folder, forbidden) in
        [("ssr", ["crate::server", "crate::routes"]), ("models", ["crate::server", "crate::ssr"])]
    {
        for (name, code) in sources(folder) {
            for word in forbidden {
                assert!(!code.contains(word), "src/{folder}/{name}.rs uses {word}");
            }
        }
    }
}

#[test]
fn storage_modules_import_each_other_without_a_circle() {
    let modules = sources("ssr");
    let names: BTreeSet<String> = modules.keys().filter(|n| *n != "mod").cloned().collect();
    let uses = |code: &str, other: &str| {
        code.contains(&format!("super::{other}::"))
            || code.contains(&format!("super::{other};"))
            || code.split("use super::{").skip(1).any(|list| {
                list.split('}').next().unwrap_or_default().split(',').any(|item| {
                    let item = item.trim();
                    item == other || item.starts_with(&format!("{other}::")) || item.starts_with(&format!("{other} "))
                })
            })
    };
    let graph: BTreeMap<&str, Vec<&str>> = names
        .iter()
        .map(|name| {
            let code = &modules[name];
            (name.as_str(), names.iter().filter(|o| *o != name && uses(code, o)).map(String::as_str).collect())
        })
        .collect();
    // Depth-first search for a back edge, reporting the circle it closes.
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| *n == node) {
            panic!("storage modules import each other in a circle: {} -> {node}", path[at..].join(" -> "));
        }
        path.push(node);
        for next in &graph[node] {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for name in graph.keys() {
        visit(name, &graph, &mut Vec::new(), &mut done);
    }
    assert!(graph["planning"].contains(&"changes"), "the check sees imports: {graph:?}");
}
