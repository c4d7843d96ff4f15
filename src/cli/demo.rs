//! `cutover demo` and `cutover [DB]`: the sample database and the overview shown until the
//! wizard lands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use cutover::engine::demo;

use crate::cli::TenantArgs;
use crate::cli::audit::{preflight_and_audit, render_audit, render_preflight};

/// Builds the demo database and shows its preflight and audit.
pub fn run(dir: Option<PathBuf>) -> Result<ExitCode> {
    let dir = match dir {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("cutover-demo-")
            .tempdir()
            .wrap_err("creating a folder for the demo")?
            .keep(),
    };
    let db = demo::create(&dir)?;
    println!("Built the demo point-of-sale database: {}\n", db.display());
    overview(&db)?;
    println!("\nThe demo database stays in {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Shows what the wizard's first screens will: preflight and audit.
pub fn overview(db: &Path) -> Result<ExitCode> {
    let args =
        TenantArgs { column: cutover::engine::audit::DEFAULT_COLUMN.to_string(), tenant: None, exclude: Vec::new() };
    let (pre, report) = preflight_and_audit(db, args)?;
    print!("{}", render_preflight(&pre));
    println!();
    print!("{}", render_audit(&report));
    println!(
        "\nThe interactive wizard is coming in the next version. Until then:\n  \
         cutover audit {0}    cutover backup {0}",
        shell_quote(db)
    );
    Ok(ExitCode::SUCCESS)
}

/// Lists the SQLite files in the current folder to pick from.
pub fn list_here() -> Result<ExitCode> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(".").wrap_err("reading the current folder")?.flatten() {
        let path = entry.path();
        if cutover::engine::preflight::check_file(&path).is_ok() {
            found.push(path);
        }
    }
    found.sort();
    if found.is_empty() {
        println!("No SQLite database in this folder. Give a path (cutover pos.db) or try `cutover demo`.");
    } else {
        println!("SQLite databases here:");
        for p in &found {
            println!("  cutover {}", shell_quote(p));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
