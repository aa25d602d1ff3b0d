//! The one-way flow of the code (docs/architecture.md): every top-level module of `src/` has a
//! place in one ordered list, and a module imports only modules before it. A new module, or
//! an import that points later in the flow, fails this test with the file and the import.
//!
//! Imports are read from the code (comments and `#[cfg(test)]` parts left out): `crate::x`
//! paths, `use crate::{x, y::z}` groups, and `super::` paths that leave the module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Below everything: small modules that import nothing of the flow (only leaves before them).
const LEAVES: &[&str] = &[
    "clock", "text", "timefmt", "model", "compare", "settings", "calendar", "work", "metrics",
];

/// The flow, in order: a module imports leaves and modules before it.
const FLOW: &[&str] = &[
    "fetch",
    "format",
    "normalize",
    "geo",
    "transit",
    "dedupe",
    "overrides",
    "ingest",
    "store",
    "output",
    "http",
    "web",
    "server",
];

/// On top: `config` assembles the sections the modules own, `app` wires everything together.
const TOP: &[&str] = &["config", "app"];

/// The position of a module in the whole order (leaves, flow, top).
fn rank(module: &str) -> Option<usize> {
    LEAVES
        .iter()
        .chain(FLOW)
        .chain(TOP)
        .position(|m| *m == module)
}

/// The code of a file without comments and without its `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// The top-level modules a file's code refers to. `depth` is how many `super::` lead from
/// the file's module to the crate root (1 for `src/x.rs` and `src/x/mod.rs`, 2 for
/// `src/x/y.rs`).
fn imports(code: &str, depth: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the names at the first level.
            let mut level = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => level += 1,
                    '}' if level == 0 => break,
                    '}' => level -= 1,
                    ',' if level == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        if let Some(name) = ident_at(&group[i..]) {
                            out.insert(name.to_string());
                        }
                    }
                    _ => {}
                }
            }
        } else if let Some(name) = ident_at(after) {
            out.insert(name.to_string());
        }
        rest = after;
    }
    if depth == 0 {
        return out;
    }
    let up = "super::".repeat(depth);
    let mut rest = code;
    while let Some(at) = rest.find(&up) {
        let after = &rest[at + up.len()..];
        if !after.starts_with("super::")
            && let Some(name) = ident_at(after)
        {
            out.insert(name.to_string());
        }
        rest = after;
    }
    out
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The violations in `src/`: `file: module imports later module`.
fn violations(src: &Path) -> Vec<String> {
    let mut all = Vec::new();
    files(src, &mut all);
    all.sort();
    let mut found = Vec::new();
    for path in all {
        let rel = path.strip_prefix(src).expect("under src");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let module = parts[0].clone();
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        // `super::` from `src/x.rs` or `src/x/mod.rs` is the root; from `src/x/y.rs`, `x`.
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod"));
        let Some(own) = rank(&module) else {
            found.push(format!(
                "{}: module `{module}` has no place in tests/architecture.rs (LEAVES, FLOW or TOP)",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("read file");
        for import in imports(&code(&text), depth) {
            if import == module || matches!(import.as_str(), "self" | "super") {
                continue;
            }
            let Some(theirs) = rank(&import) else {
                continue; // an item of the crate root (none today) or a macro
            };
            let leaf = own < LEAVES.len();
            let allowed = theirs < own && (!leaf || theirs < LEAVES.len());
            if !allowed {
                found.push(format!(
                    "{}: `{module}` imports `{import}`, which comes later in the flow",
                    rel.display()
                ));
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_later_in_the_flow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the flow:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_of_src_has_a_place() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut on_disk: BTreeSet<String> = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let name = name.trim_end_matches(".rs").to_string();
        if !matches!(name.as_str(), "lib" | "main") {
            on_disk.insert(name);
        }
    }
    let listed: BTreeSet<String> = LEAVES
        .iter()
        .chain(FLOW)
        .chain(TOP)
        .map(|m| m.to_string())
        .collect();
    assert_eq!(on_disk, listed, "src/ and the lists disagree");
}

#[test]
fn the_reader_sees_every_form_of_import() {
    let text = "use crate::model::Event; // crate::app in a comment\n\
        use crate::{fetch::Fetcher, format::{self, Format}, output};\n\
        fn f() { crate::store::open(); super::super::web::x(); }\n\
        #[cfg(test)]\nmod tests { use crate::server; }\n";
    let got: Vec<String> = imports(&code(text), 2).into_iter().collect();
    assert_eq!(got, ["fetch", "format", "model", "output", "store", "web"]);
    // From a `mod.rs`, one `super::` is the crate root.
    let got: Vec<String> = imports("use super::ingest::Report;", 1)
        .into_iter()
        .collect();
    assert_eq!(got, ["ingest"]);
}

#[test]
fn a_backward_import_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("fetch")).unwrap();
    std::fs::write(src.join("model.rs"), "use crate::clock;\n").unwrap();
    std::fs::write(src.join("fetch/mod.rs"), "use crate::store::Store;\n").unwrap();
    std::fs::write(src.join("store.rs"), "use crate::fetch::Fetcher;\n").unwrap();
    std::fs::write(src.join("work.rs"), "use crate::fetch::Fetcher;\n").unwrap();
    std::fs::write(src.join("gadget.rs"), "\n").unwrap();
    let found = violations(src);
    assert_eq!(
        found,
        [
            "fetch/mod.rs: `fetch` imports `store`, which comes later in the flow",
            "gadget.rs: module `gadget` has no place in tests/architecture.rs (LEAVES, FLOW or TOP)",
            "work.rs: `work` imports `fetch`, which comes later in the flow",
        ]
    );
}
