//! The engine stays free of terminal and command-line code, so it can be used and tested
//! without a terminal (and other faces can be put on it later).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

const FORBIDDEN: [&str; 4] = ["ratatui", "crossterm", "clap", "color_eyre"];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn engine_imports_no_terminal_or_cli_crate() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine"), &mut files);
    assert!(files.len() >= 10, "found only {} engine files", files.len());
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for crate_name in FORBIDDEN {
                let used = code.contains(&format!("{crate_name}::")) || code.contains(&format!("use {crate_name}"));
                assert!(!used, "{}:{}: the engine must not use {crate_name}: {line}", file.display(), n + 1);
            }
        }
    }
}

#[test]
fn every_source_file_says_what_it_owns() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} must open with a //! line", file.display());
    }
}
