//! `cutover status`: where a database stands, from its journal and the file, changing nothing.
//! It is what a fleet dashboard polls: exit 0 whatever the state.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;
use cutover::engine::{Session, StatusReport};
use serde::Serialize;

use crate::cli::{outln, print_json};

/// The JSON of `status`: the report, with the fields every command's JSON has.
#[derive(Serialize)]
struct Json<'a> {
    ok: bool,
    phase: &'static str,
    #[serde(flatten)]
    report: &'a StatusReport,
}

/// Prints where the database stands.
pub fn run(db: &Path, json: bool) -> Result<ExitCode> {
    let report = Session::new(db).status()?;
    if json {
        print_json(&Json { ok: true, phase: "status", report: &report })?;
    } else {
        outln(render(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &StatusReport) -> String {
    use cutover::engine::shown;
    let mut s = format!("{}\n\nState      {}\n", r.summary, r.state.words());
    if let Some(b) = &r.backup {
        let gone = if b.present { "" } else { "  (the file is gone)" };
        s.push_str(&format!("Backup     {}{gone}\n           sha256 {}\n", shown(&b.path), b.sha256));
    }
    if let Some(p) = &r.plan_sha256 {
        s.push_str(&format!("Plan       sha256 {p}\n"));
    }
    if let Some(x) = &r.result_sha256 {
        let now = match r.changed_since_execute {
            Some(false) => "  (the file is still exactly this)",
            Some(true) => "  (written to since)",
            None => "",
        };
        s.push_str(&format!("Result     sha256 {x}{now}\n"));
    }
    let covers = match r.current_sha256_covers {
        cutover::engine::Covers::File => "",
        cutover::engine::Covers::FileWithWal => "  (with its WAL's committed frames, as SQLite reads it)",
        cutover::engine::Covers::FileBesideHotJournal => "  (the main file, beside a hot journal)",
        cutover::engine::Covers::FileMidWrite => "  (the main file, while a program writes to it)",
    };
    s.push_str(&format!("Now        sha256 {}{covers}\n", r.current_sha256));
    for (n, x) in r.in_file.iter().enumerate() {
        let verified = match x.verified {
            Some(true) => ", verified",
            Some(false) => ", verification FAILED",
            None => ", not verified",
        };
        let presumed = if x.presumed { ", told by its schema" } else { "" };
        s.push_str(&format!(
            "{}plan {} ({}, executed {}{verified}{presumed})\n",
            if n == 0 { "In file    " } else { "           " },
            x.plan_sha256.get(..12).unwrap_or(&x.plan_sha256),
            x.kind,
            x.executed_at.get(..16).unwrap_or(&x.executed_at).replace('T', " ")
        ));
    }
    if let Some(v) = r.verified {
        s.push_str(&format!("Verified   {}\n", if v { "yes" } else { "FAILED" }));
    }
    if let Some(a) = &r.attention {
        s.push_str(&format!("Attention  {a}\n"));
    }
    if let Some(at) = &r.last_recorded {
        s.push_str(&format!("Recorded   {at}, in {}\n", r.journal.as_deref().map(shown).unwrap_or_default()));
    }
    s.trim_end().to_string()
}
