//! `app_check`: the shop's own program run against a copy of the rehearsal's result, with a
//! time limit, its output kept to its last lines, and production watched while it runs.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::{Check, Status};
use crate::ledger::Problem;
use crate::shown::shown;
use crate::{paths, platform};

/// How much of the program's output is kept (its end), per stream.
const KEPT: usize = 16 * 1024;

/// Runs `command` (`{db}`: a fresh copy of `copy`) and judges it: exit 0 is PASS; another
/// exit or the time running out is FAIL. Production changing while it ran stops the run: then
/// nothing may say the database was not changed.
pub fn run(db: &Path, copy: &Path, command: &str, seconds: u64) -> Result<Check, Problem> {
    let fail = |detail: String| Check::single("app_check", Status::Fail, detail);
    let dir = paths::parent_dir(db);
    let scratch = match paths::Scratch::AppCheck.create(db, &dir) {
        Ok(s) => s,
        Err(e) => return Ok(fail(format!("could not make a copy for the program in {}: {e}", shown(&dir)))),
    };
    let target = scratch.path().to_path_buf();
    let before = stamp(db);
    let result = std::fs::copy(copy, &target).map_err(|e| e.to_string()).and_then(|_| spawn(command, &target, seconds));
    let touched = stamp(db) != before;
    for side in paths::SIDE_SUFFIXES {
        let _ = std::fs::remove_file(paths::side_file(&target, side));
    }
    drop(scratch);
    if touched {
        return Err(Problem::ChangedDuringCheck { db: db.to_path_buf(), command: command.to_string() });
    }
    Ok(match result {
        Ok((Some(0), _)) => Check::single("app_check", Status::Pass, format!("`{command}` exited 0 on a copy of the result")),
        Ok((Some(code), tail)) => fail(format!("`{command}` exited {code} on a copy of the result: {tail}")),
        Ok((None, tail)) => {
            fail(format!("`{command}` did not finish within {seconds} s and was stopped with every process it started: {tail}"))
        }
        Err(e) => fail(format!("`{command}` could not run: {e}")),
    })
}

/// What changes when anything writes to the database: its length and time, its header's change
/// counter, and its WAL's length.
#[derive(Debug, PartialEq, Eq)]
struct Stamp(Option<(u64, Option<SystemTime>)>, Option<[u8; 4]>, Option<u64>);

fn stamp(db: &Path) -> Stamp {
    let meta = std::fs::metadata(db).ok().map(|m| (m.len(), m.modified().ok()));
    let counter = std::fs::File::open(db).ok().and_then(|mut f| {
        let mut header = [0u8; 28];
        f.read_exact(&mut header).ok()?;
        Some([header[24], header[25], header[26], header[27]])
    });
    let wal = std::fs::metadata(paths::side_file(db, "-wal")).ok().map(|m| m.len());
    Stamp(meta, counter, wal)
}

/// Runs `command` with `{db}` replaced by `target`, quoted for the shell; its exit code (none
/// when it ran out of time and was stopped, with what it started) and its last lines.
fn spawn(command: &str, target: &Path, seconds: u64) -> Result<(Option<i32>, String), String> {
    let line = command.replace("{db}", &platform::shell_quote(target));
    let mut child = platform::shell_command(&line)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let readers: Vec<_> = [child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>), child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>)]
        .into_iter()
        .flatten()
        .map(|stream| std::thread::spawn(move || keep_end(stream)))
        .collect();
    let started = Instant::now();
    let code = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break Some(status.code().unwrap_or(-1)),
            None if started.elapsed() > Duration::from_secs(seconds) => {
                platform::stop_tree(&mut child);
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let text: String = readers.into_iter().filter_map(|r| r.join().ok()).collect::<Vec<_>>().join("\n");
    Ok((code, last_lines(&text)))
}

/// The end of a stream, read to its end (so the program never blocks on a full pipe) but kept
/// to its last [`KEPT`] bytes.
fn keep_end(mut stream: Box<dyn Read + Send>) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * KEPT {
            kept.drain(..kept.len() - KEPT);
        }
    }
    let from = kept.len().saturating_sub(KEPT);
    String::from_utf8_lossy(&kept[from..]).into_owned()
}

/// The last five non-empty lines, each at most 200 characters (a line is also ended by `\r`).
fn last_lines(text: &str) -> String {
    let lines: Vec<String> = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| if l.chars().count() > 200 { format!("{}…", l.chars().take(200).collect::<String>()) } else { l.to_string() })
        .collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" / ");
    if tail.is_empty() { "no output".into() } else { tail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_lines_are_kept_however_long_the_output() {
        let long = format!("{}\nsecond\n\rthird\n", "x".repeat(10_000));
        let tail = last_lines(&long);
        assert!(tail.ends_with("second / third"), "{tail}");
        assert!(tail.chars().count() < 300);
        let stream: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(vec![b'y'; 1_000_000]));
        assert_eq!(keep_end(stream).len(), KEPT);
    }
}
