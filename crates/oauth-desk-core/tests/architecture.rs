//! The shape rules of the core, checked from its source:
//! - the module graph (who names whom through `crate::`, `super::` or a child module) has no
//!   cycle, so each rule sits in one place;
//! - only the provider modules and profile editing match on the provider kind.
//!
//! `cargo test -p oauth-desk-core --test architecture -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/wire/mod.rs` → `wire`, `src/providers/salesforce.rs` → `providers::salesforce`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|p| *p != "mod" && *p != "lib").collect();
    if parts.is_empty() {
        "crate".into()
    } else {
        parts.join("::")
    }
}

/// The code without its unit tests (`#[cfg(test)] mod tests { ... }` at the end of a file)
/// and without comments.
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The paths that follow `prefix` (`crate::`, `super::`), brace groups expanded:
/// `crate::{a, b::{c, d}}` gives `a`, `b::c`, `b::d`.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    fn expand(text: &str) -> Vec<String> {
        let text = text.trim();
        let Some(open) = text.find('{') else { return vec![text.to_string()] };
        let head = &text[..open];
        let inner = &text[open + 1..text.rfind('}').unwrap_or(text.len())];
        let (mut depth, mut start, mut items) = (0, 0, Vec::new());
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        items.into_iter().filter(|i| !i.trim().is_empty()).flat_map(|i| expand(i).into_iter().map(|p| format!("{head}{p}"))).collect()
    }
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        // A path: identifiers, `::`, and balanced braces.
        let mut depth = 0;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    _ => {}
                }
                depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{' || c == '}')
            })
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        out.extend(expand(&rest[..end]).into_iter().map(|p| p.split(" as ").next().unwrap_or("").trim().to_string()));
    }
    out
}

/// `pub use module::{Item, ...}` at the crate root: the module each re-exported name lives in.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines().filter(|l| l.starts_with("pub use ")) {
        for path in paths_after(&line.replacen("pub use ", "pub use crate::", 1), "crate::") {
            if let Some((module, item)) = path.rsplit_once("::") {
                out.insert(item.to_string(), module.to_string());
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, String> =
        files.iter().map(|f| (module_of(&src, f), production_code(&std::fs::read_to_string(f).unwrap()))).collect();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let roots = reexports(&modules["crate"]);
    // The most specific module a path names: `providers::salesforce::X` → `providers::salesforce`;
    // a name the crate root re-exports (`crate::Session`) → the module that defines it.
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| known.contains(m))
            .or_else(|| roots.get(parts.first()?.to_owned()).cloned())
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &modules {
        let edges = g.entry(module.clone()).or_default();
        for path in paths_after(code, "crate::") {
            if let Some(target) = resolve(&path) {
                edges.insert(target);
            }
        }
        let parent = module.rsplit_once("::").map(|(p, _)| p.to_string()).unwrap_or_else(|| "crate".into());
        for path in paths_after(code, "super::") {
            let full = if parent == "crate" { path.to_string() } else { format!("{parent}::{path}") };
            edges.insert(resolve(&full).unwrap_or_else(|| parent.clone()));
        }
        // A child module named by its short path (`salesforce::Salesforce` inside `providers`).
        for child in known.iter().filter(|k| k.rsplit_once("::").map(|(p, _)| p) == Some(module.as_str())) {
            let short = child.rsplit("::").next().unwrap();
            if !paths_after(code, &format!("{short}::")).is_empty() {
                edges.insert(child.clone());
            }
        }
        edges.remove(module);
        edges.remove("crate");
    }
    g.remove("crate");
    g
}

fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(n: &str, g: &BTreeMap<String, BTreeSet<String>>, stack: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    for (m, edges) in &g {
        println!("{m:<22} -> {}", edges.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    assert!(g.contains_key("session") && g.contains_key("providers::salesforce"), "the graph was read: {:?}", g.keys());
    assert!(g["providers::salesforce"].contains("session"), "edges are read (the Salesforce API runs over a session)");
    assert!(!g["session"].iter().any(|m| m.starts_with("providers")), "the session never names a provider module: {:?}", g["session"]);
    if let Some(cycle) = find_cycle(&g) {
        panic!("the core's modules import each other in a circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn paths_are_read_with_their_brace_groups() {
    let code = "use crate::{generic, salesforce::{A, b::C}, wechat as wx};\nlet x = crate::session::Session::new();";
    assert_eq!(paths_after(code, "crate::"), ["generic", "salesforce::A", "salesforce::b::C", "wechat", "session::Session::new"]);
}

#[test]
fn the_cycle_check_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(find_cycle(&g), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}

/// Matching on the provider kind belongs to the provider modules and to profile editing.
#[test]
fn only_provider_modules_and_profile_editing_match_on_the_kind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let allowed = [
        "crates/oauth-desk-core/src/providers/",
        "crates/oauth-desk-core/src/profile.rs",
        "crates/oauth-desk-cli/src/profile_args.rs",
        "src-tauri/src/sandbox.rs",
    ];
    let patterns = ["Provider::Salesforce", "Provider::Wechat", "Provider::Oauth2", "ProviderKind::", ".is_wechat()"];
    let mut offenders = Vec::new();
    for dir in ["crates/oauth-desk-core/src", "crates/oauth-desk-cli/src", "src-tauri/src"] {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        for f in files {
            let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            if allowed.iter().any(|a| rel.starts_with(a)) {
                continue;
            }
            let code = production_code(&std::fs::read_to_string(&f).unwrap());
            for p in patterns {
                if code.contains(p) {
                    offenders.push(format!("{rel}: {p}"));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "provider-kind matches outside the provider modules:\n{}", offenders.join("\n"));
}
