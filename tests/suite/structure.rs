//! The shape of the code, checked: the engine is a crate without terminal or command-line
//! crates, no module imports one that imports it back, no source file grows past 500 lines, and
//! every file opens by saying what it owns.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files_under(dirs: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in dirs {
        rust_files(&Path::new(ROOT).join(d), &mut files);
    }
    files.sort();
    files
}

#[test]
fn the_engine_crate_depends_on_no_terminal_or_command_line_crate() {
    let manifest = fs::read_to_string(Path::new(ROOT).join("engine/Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line.contains("dependencies");
            continue;
        }
        if in_dependencies {
            for forbidden in ["ratatui", "crossterm", "clap", "color-eyre", "tracing-subscriber"] {
                assert!(!line.starts_with(forbidden), "the engine must not depend on {forbidden}: {line}");
            }
        }
    }
    let lib = fs::read_to_string(Path::new(ROOT).join("engine/src/lib.rs")).unwrap();
    assert!(lib.contains("#![deny(missing_docs)]"), "every public item of the engine is documented");
}

#[test]
fn no_source_file_is_over_500_lines() {
    for file in files_under(&["src", "engine/src", "tests", "benches"]) {
        let lines = fs::read_to_string(&file).unwrap().lines().count();
        assert!(lines <= 500, "{} has {lines} lines: split it by what it owns", file.display());
    }
}

#[test]
fn every_source_file_says_what_it_owns() {
    for file in files_under(&["src", "engine/src"]) {
        let text = fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} must open with a //! line", file.display());
    }
}

/// A crate's modules by path (`tui::app`), each with the file it lives in.
fn modules(src: &Path, roots: &[&str]) -> BTreeMap<Vec<String>, PathBuf> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts.len() == 1 && roots.contains(&parts[0].as_str()) {
            parts.clear();
        }
        out.insert(parts, file);
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else { return vec![tree.to_string()] };
    let (prefix, inner) = (&tree[..open], &tree[open + 1..tree.rfind('}').unwrap()]);
    let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items.iter().filter(|i| !i.trim().is_empty()).flat_map(|i| expand(i)).map(|e| format!("{prefix}{e}")).collect()
}

/// The module a path names, from module `me`: the longest prefix that is a module.
fn resolve(
    path: &str,
    me: &[String],
    crate_names: &[&str],
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let segs: Vec<String> = path
        .split("::")
        .map(|s| s.split(" as ").next().unwrap().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let (mut full, rest) = match segs.first()?.as_str() {
        s if crate_names.contains(&s) => (Vec::new(), &segs[1..]),
        "super" => {
            let mut base = me.to_vec();
            let mut rest = &segs[..];
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest)
        }
        "self" => (me.to_vec(), &segs[1..]),
        _ => return None,
    };
    full.extend(rest.iter().cloned());
    (1..=full.len()).rev().map(|n| full[..n].to_vec()).find(|p| mods.contains_key(p))
}

/// Every import between two modules of a crate, leaving out a module and its own parts.
fn imports(src: &Path, roots: &[&str], crate_names: &[&str]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mods = modules(src, roots);
    let mut edges = BTreeMap::new();
    for (me, file) in &mods {
        let code: String = fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let mut paths: Vec<String> = Vec::new();
        let mut statement: Option<String> = None;
        for line in code.lines() {
            let trimmed = line.trim_start();
            let starts =
                ["use ", "pub use ", "pub(crate) use ", "pub(super) use "].iter().find(|p| trimmed.starts_with(**p));
            if statement.is_none()
                && let Some(prefix) = starts
            {
                statement = Some(String::new());
                let body = &trimmed[prefix.len()..];
                statement.as_mut().unwrap().push_str(body);
            } else if let Some(s) = statement.as_mut() {
                s.push(' ');
                s.push_str(trimmed);
            }
            if let Some(s) = statement.as_ref().filter(|s| s.contains(';')) {
                paths.extend(expand(s.split(';').next().unwrap()));
                statement = None;
            }
        }
        for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
            if crate_names.iter().chain(["super"].iter()).any(|n| word.starts_with(&format!("{n}::"))) {
                paths.push(word.trim_end_matches(':').to_string());
            }
        }
        let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
        let to: BTreeSet<Vec<String>> =
            paths.iter().filter_map(|p| resolve(p, me, crate_names, &mods)).filter(|t| !related(t, me)).collect();
        edges.insert(me.clone(), to);
    }
    edges
}

/// A circle of imports, if there is one: each module reaches the next, the last the first.
fn a_circle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    fn visit(
        at: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            return Some(path[i..].to_vec());
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let crates: [(&str, &[&str], &[&str]); 2] =
        [("engine/src", &["lib"], &["crate"]), ("src", &["lib", "main"], &["crate", "cutover"])];
    for (src, roots, names) in crates {
        let edges = imports(&Path::new(ROOT).join(src), roots, names);
        assert!(edges.len() >= 10, "{src}: found only {} modules", edges.len());
        if let Some(circle) = a_circle(&edges) {
            let named: Vec<String> = circle.iter().map(|m| m.join("::")).collect();
            panic!("{src}: these modules import each other in a circle: {} → back", named.join(" → "));
        }
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let m = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    let mut edges = BTreeMap::new();
    edges.insert(m("a"), [m("b")].into_iter().collect());
    edges.insert(m("b"), [m("c")].into_iter().collect());
    edges.insert(m("c"), BTreeSet::new());
    assert_eq!(a_circle(&edges), None);
    edges.insert(m("c"), [m("a")].into_iter().collect());
    assert_eq!(a_circle(&edges).map(|c| c.len()), Some(3));
    assert_eq!(expand("a::{b, c::{d, e}}"), ["a::b", "a::c::d", "a::c::e"]);
}
