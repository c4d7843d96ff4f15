//! `cutover backup`: a proven copy of the database, reported as text or JSON.

use crate::cli::out;
use cutover::engine::shown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::Session;
use cutover::engine::human_bytes;
use cutover::engine::{BackupOptions, BackupReport};
use serde::Serialize;

use crate::cli::print_json;
use crate::cli::progress::StderrProgress;

#[derive(Serialize)]
struct BackupOutput<'a> {
    ok: bool,
    #[serde(flatten)]
    backup: &'a BackupReport,
}

/// Makes the backup and prints both hashes; the backup runs SQLite's quick_check on the locked
/// file while copying it, and a damaged database is refused with nothing written.
pub fn run(db: &Path, dir: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let session = Session::new(db);
    let mut progress = StderrProgress::new();
    let report = progress.during(|p| session.back_up(&BackupOptions { dir }, p))?;
    if json {
        print_json(&BackupOutput { ok: true, backup: &report })?;
    } else {
        out(render(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &BackupReport) -> String {
    format!(
        "Backup     {} ({})\n\
         Source     sha256 {}  (read while copying)\n\
         Backup     sha256 {}  (re-read from disk)\n\
         Result     {} — the backup is a byte-for-byte copy\n\
         Health     quick_check {} (run on the locked file while it was copied)\n\
         Time       {:.2} s: lock {:.2}, copy and hash {:.2}, fsync {:.2}, re-read and hash {:.2}\n",
        shown(&r.path),
        human_bytes(r.bytes),
        r.source_sha256,
        r.sha256,
        r.verdict,
        r.quick_check,
        r.seconds,
        r.timings_s.lock,
        r.timings_s.copy,
        r.timings_s.sync,
        r.timings_s.verify
    )
}
