//! `cutover demo` and `cutover [DB]`: the sample database, the wizard, and the overview shown
//! where there is no terminal.

use crate::cli::{note, out, outln};
use cutover::engine::shown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use cutover::engine::create_demo;

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
    let db = create_demo(&dir)?;
    outln(format!("Built the demo point-of-sale database: {}\n", shown(&db)))?;
    let code = open(&db, None, Default::default())?;
    outln(format!("\nThe demo database stays in {}", dir.display()))?;
    Ok(code)
}

/// Opens the wizard on `db` when a person is at a terminal; otherwise prints the overview.
pub fn open(db: &Path, script: Option<PathBuf>, side: cutover::engine::AppSide) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        note("(no terminal: showing the overview instead of the wizard)");
        return overview(db);
    }
    cutover::engine::check_file(db)?;
    let app = cutover::tui::run(db.to_path_buf(), script, side).wrap_err("running the wizard")?;
    let farewell = app.farewell();
    for line in &farewell.lines {
        outln(line)?;
    }
    Ok(if farewell.unverified { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Shows what the wizard's first screens will: preflight and audit.
pub fn overview(db: &Path) -> Result<ExitCode> {
    let args = TenantArgs { column: cutover::engine::DEFAULT_COLUMN.to_string(), tenant: None, exclude: Vec::new() };
    let (pre, report) = preflight_and_audit(db, args)?;
    out(render_preflight(&pre))?;
    outln("")?;
    out(render_audit(&report))?;
    outln(format!(
        "\nRun `cutover {0}` in a terminal for the wizard, or `cutover dry-run {0} --tenant <value>`.",
        shell_quote(db)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Lists the SQLite files in the current folder to pick from.
pub fn list_here() -> Result<ExitCode> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(".").wrap_err("reading the current folder")?.flatten() {
        let path = entry.path();
        if cutover::engine::check_file(&path).is_ok() {
            found.push(path);
        }
    }
    found.sort();
    if found.is_empty() {
        outln("No SQLite database in this folder. Give a path (cutover pos.db) or try `cutover demo`.")?;
        return Ok(ExitCode::SUCCESS);
    }
    outln("SQLite databases here:")?;
    for (i, p) in found.iter().enumerate() {
        outln(format!("  {}  {}", i + 1, p.display()))?;
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        outln("Open one with: cutover <file>")?;
        return Ok(ExitCode::SUCCESS);
    }
    out("Open which one? Type its number and Enter (just Enter to leave): ")?;
    use std::io::Write;
    std::io::stdout().flush().wrap_err("writing to the terminal")?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).wrap_err("reading the answer")?;
    match answer.trim().parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| found.get(i)) {
        Some(db) => open(db, None, Default::default()),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn shell_quote(path: &Path) -> String {
    cutover::engine::shell_quote(path)
}
