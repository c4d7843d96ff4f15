//! I/O errors injected with `strace -e inject=…` at every call position of a small run of
//! `execute`, `rollback` and `backup`: the tool stops with a clear message and a non-zero exit
//! and the database is unchanged, or, after a completed commit, fully migrated and verified.
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::state;
use crate::common::{Journal, make_db};

const SCHEMA: &str = "CREATE TABLE tenants (id TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('acme');
    CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT);
    INSERT INTO items (sku, name) VALUES ('A1', 'bolt'), ('B2', 'nut'), ('C3', 'washer');
    CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID; INSERT INTO kv VALUES ('a', 'b');";

const SYSCALLS: [&str; 9] =
    ["write", "pwrite64", "fsync", "fdatasync", "rename", "renameat", "renameat2", "linkat", "copy_file_range"];

fn strace_available() -> bool {
    let ok = Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CUTOVER_REQUIRE_FAULT_TOOLS").is_none(),
            "strace is required here (.ci/run installs it)"
        );
        state::report("I/O fault injection SKIPPED: strace is not installed (apt-get install strace)");
    }
    ok
}

fn cutover(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

/// How many times the run calls each syscall of interest.
fn count_calls(args: &[&str], db: &Path, log: &Path) -> BTreeMap<&'static str, usize> {
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(log)
        .arg(format!("--trace={}", SYSCALLS.join(",")))
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg(db)
        .output()
        .unwrap();
    assert!(status.status.success(), "reference run failed: {}", String::from_utf8_lossy(&status.stderr));
    let text = std::fs::read_to_string(log).unwrap();
    SYSCALLS
        .iter()
        .map(|s| {
            let needle = format!("{s}(");
            (*s, text.lines().filter(|l| l.split_whitespace().nth(1).is_some_and(|w| w.starts_with(&needle))).count())
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn injected(args: &[&str], db: &Path, syscall: &str, errno: &str, when: usize) -> Output {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .arg(format!("--trace={syscall}"))
        .arg(format!("--inject={syscall}:error={errno}:when={when}"))
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .arg(db)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn assert_clear_failure(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Either an error line, or the phase's own verdict (a check that could not run fails it).
    let message = stderr.lines().any(|l| l.starts_with("cutover: ")) || stdout.contains("FAILED");
    assert!(message, "{what}: no message; stdout: {stdout}; stderr: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{what}: {stderr}");
    assert!(matches!(out.status.code(), Some(1..=3)), "{what}: exit {:?}", out.status.code());
}

struct Case {
    before: String,
    after_schema: BTreeMap<(String, String), String>,
    columns: BTreeMap<String, Vec<String>>,
    content: BTreeMap<String, String>,
}

fn fresh(template: &Path, dir: &Path, n: usize) -> PathBuf {
    let d = dir.join(format!("run-{n}"));
    std::fs::create_dir(&d).unwrap();
    let db = d.join("pos.db");
    std::fs::copy(template, &db).unwrap();
    db
}

#[test]
fn io_errors_at_every_call_position() {
    if !strace_available() {
        return;
    }
    let mut runs = 0usize;
    let mut faults = 0usize;
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = crate::common::fast_tempdir();
        let template = make_db(dir.path(), "template.db", journal, SCHEMA);
        let reference = fresh(&template, dir.path(), 0);
        let exec_args = ["execute", "--tenant", "acme", "--yes"];
        let counts = count_calls(&exec_args, &reference, &dir.path().join("exec.log"));
        let case = Case {
            before: state::sha(&template),
            after_schema: state::schema(&reference),
            columns: state::plain_tables(&template),
            content: state::content(&template, &state::plain_tables(&template)),
        };

        // execute
        for (syscall, n) in &counts {
            for when in 1..=*n {
                // Writes fail alternately with EIO and ENOSPC (disk full); the rest with EIO.
                let errno = if matches!(*syscall, "write" | "pwrite64") && when % 2 == 0 { "ENOSPC" } else { "EIO" };
                {
                    runs += 1;
                    let db = fresh(&template, dir.path(), runs);
                    let out = injected(&exec_args, &db, syscall, errno, when);
                    let what = format!("{journal:?} execute, {syscall} #{when} fails with {errno}");
                    let failed = !out.status.success();
                    faults += failed as usize;
                    if failed {
                        assert_clear_failure(&out, &what);
                    }
                    assert_eq!(state::integrity(&db), "ok", "{what}");
                    assert_eq!(state::content(&db, &case.columns), case.content, "{what}: an original value changed");
                    let migrated = state::schema(&db) == case.after_schema;
                    if migrated {
                        let v = cutover(&["verify"], &db);
                        assert!(
                            v.status.success(),
                            "{what}: migrated but does not verify: {}",
                            String::from_utf8_lossy(&v.stdout)
                        );
                    } else {
                        assert!(failed, "{what}: exit 0 but not migrated");
                        assert_eq!(
                            state::sha(&db),
                            case.before,
                            "{what}: not migrated, so the bytes must be the original's"
                        );
                    }
                    for (path, sha) in state::recorded_backups(&db) {
                        assert_eq!(state::sha(&path), sha, "{what}: a recorded backup does not match");
                    }
                }
            }
        }

        // rollback, on a database migrated without faults
        let migrated_template = fresh(&template, dir.path(), 100_000);
        assert!(cutover(&exec_args, &migrated_template).status.success());
        let probe = fresh(&template, dir.path(), 100_001);
        assert!(cutover(&exec_args, &probe).status.success());
        let counts = count_calls(&["rollback", "--yes"], &probe, &dir.path().join("rb.log"));
        for (syscall, n) in &counts {
            for when in 1..=*n {
                runs += 1;
                let db = fresh(&template, dir.path(), runs);
                assert!(cutover(&exec_args, &db).status.success());
                let out = injected(&["rollback", "--yes"], &db, syscall, "EIO", when);
                let what = format!("{journal:?} rollback, {syscall} #{when} fails with EIO");
                if out.status.success() {
                    assert_eq!(state::sha(&db), case.before, "{what}: exit 0 must mean restored");
                } else {
                    faults += 1;
                    assert_clear_failure(&out, &what);
                    assert_eq!(state::integrity(&db), "ok", "{what}");
                    assert_eq!(state::content(&db, &case.columns), case.content, "{what}");
                    let again = cutover(&["rollback", "--yes"], &db);
                    assert!(
                        again.status.success(),
                        "{what}: rollback again: {}",
                        String::from_utf8_lossy(&again.stderr)
                    );
                    assert_eq!(state::sha(&db), case.before, "{what}: rollback again restores the original");
                }
            }
        }
    }
    state::report(&format!("I/O fault injection: {runs} runs, {faults} stopped by an injected fault"));
}
