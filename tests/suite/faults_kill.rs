//! kill -9 of `execute`, `rollback` and `backup` at seeded random moments of their run. After
//! every kill the database opens, passes integrity_check, has exactly the before or the after
//! schema with every original value intact, no backup that does not match its recorded hash is
//! offered, and the next cutover run says correctly where things stand and finishes the job.
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::shop::kill_after;
use crate::common::state::{self, Rng};
use crate::common::{HOSTILE_SCHEMA, Journal, make_db};

const BIG_TABLE: &str = "CREATE TABLE journal_lines (id INTEGER PRIMARY KEY, account TEXT, memo TEXT, cents INTEGER);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
    INSERT INTO journal_lines (account, memo, cents) SELECT printf('ACC-%04d', i % 977), printf('entry %d', i), i * 37 FROM n;";

fn cutover(args: &[&str], db: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).arg(db).env_remove("RUST_BACKTRACE").output().unwrap()
}

fn timed(args: &[&str], db: &Path) -> Duration {
    let started = Instant::now();
    let out = cutover(args, db);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    started.elapsed()
}

struct Fixture {
    template: PathBuf,
    before_schema: std::collections::BTreeMap<(String, String), String>,
    after_schema: std::collections::BTreeMap<(String, String), String>,
    columns: std::collections::BTreeMap<String, Vec<String>>,
    content: std::collections::BTreeMap<String, String>,
    original: String,
}

fn fixture(dir: &Path, journal: Journal) -> Fixture {
    let template = make_db(dir, "template.db", journal, &format!("{HOSTILE_SCHEMA}\n{BIG_TABLE}"));
    let columns = state::plain_tables(&template);
    let reference = dir.join("reference.db");
    std::fs::copy(&template, &reference).unwrap();
    timed(&["execute", "--tenant", "acme", "--yes"], &reference);
    Fixture {
        before_schema: state::schema(&template),
        after_schema: state::schema(&reference),
        content: state::content(&template, &columns),
        original: state::sha(&template),
        columns,
        template,
    }
}

fn fresh(f: &Fixture, dir: &Path, trial: usize) -> PathBuf {
    let trial_dir = dir.join(format!("trial-{trial}"));
    std::fs::create_dir(&trial_dir).unwrap();
    let db = trial_dir.join("pos.db");
    std::fs::copy(&f.template, &db).unwrap();
    db
}

/// What every trial must leave: a healthy database in exactly one of the two states, all
/// original values, and backups that are what the journal says.
fn check_invariants(f: &Fixture, db: &Path, what: &str) -> bool {
    assert_eq!(state::integrity(db), "ok", "{what}: integrity_check");
    let schema = state::schema(db);
    let migrated = schema == f.after_schema;
    assert!(migrated || schema == f.before_schema, "{what}: the schema is neither the before nor the after state");
    assert_eq!(state::content(db, &f.columns), f.content, "{what}: an original value changed");
    for (path, sha) in state::recorded_backups(db) {
        assert_eq!(state::sha(&path), sha, "{what}: a recorded backup does not match its hash");
    }
    for path in state::visible_backups(db) {
        assert_eq!(
            state::sha(&path),
            f.original,
            "{what}: {} looks like a backup but is not the original",
            path.display()
        );
    }
    migrated
}

#[test]
fn kill_nine_at_random_moments() {
    let seed = state::seed();
    let mut rng = Rng(seed);
    let mut trials = 0;
    let mut finished_first = 0;
    for journal in [Journal::Rollback, Journal::Wal] {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture(dir.path(), journal);

        // execute
        let probe = fresh(&f, dir.path(), 1000);
        let full = timed(&["execute", "--tenant", "acme", "--yes"], &probe);
        for _ in 0..10 {
            trials += 1;
            let db = fresh(&f, dir.path(), trials);
            let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 11 / 10));
            finished_first += kill_after(&["execute", "--tenant", "acme", "--yes"], &db, delay) as usize;
            let what = format!("{journal:?} execute killed after {delay:?} (seed {seed})");
            let migrated = check_invariants(&f, &db, &what);
            // The next run tells where things stand.
            let verify = cutover(&["verify", "--json"], &db);
            if migrated {
                assert!(
                    verify.status.success(),
                    "{what}: a migrated database must verify: {}",
                    String::from_utf8_lossy(&verify.stdout)
                );
            } else {
                assert!(!verify.status.success(), "{what}: an unchanged database must not pass as migrated");
            }
            // And finishing the job works from there.
            let again = cutover(&["execute", "--tenant", "acme", "--yes"], &db);
            assert!(again.status.success(), "{what}: execute again: {}", String::from_utf8_lossy(&again.stderr));
            assert!(check_invariants(&f, &db, &what), "{what}: execute again must migrate");
        }

        // rollback
        let probe = fresh(&f, dir.path(), 2000);
        timed(&["execute", "--tenant", "acme", "--yes"], &probe);
        let full = timed(&["rollback", "--yes"], &probe);
        for _ in 0..8 {
            trials += 1;
            let db = fresh(&f, dir.path(), trials);
            timed(&["execute", "--tenant", "acme", "--yes"], &db);
            let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 11 / 10));
            finished_first += kill_after(&["rollback", "--yes"], &db, delay) as usize;
            let what = format!("{journal:?} rollback killed after {delay:?} (seed {seed})");
            check_invariants(&f, &db, &what);
            let again = cutover(&["rollback", "--yes"], &db);
            assert!(again.status.success(), "{what}: rollback again: {}", String::from_utf8_lossy(&again.stderr));
            assert_eq!(state::sha(&db), f.original, "{what}: rollback again restores the original bytes");
        }

        // backup
        let probe = fresh(&f, dir.path(), 3000);
        let full = timed(&["backup"], &probe);
        for _ in 0..8 {
            trials += 1;
            let db = fresh(&f, dir.path(), trials);
            let delay = Duration::from_micros(rng.below(full.as_micros() as u64 * 11 / 10));
            finished_first += kill_after(&["backup"], &db, delay) as usize;
            let what = format!("{journal:?} backup killed after {delay:?} (seed {seed})");
            assert_eq!(state::sha(&db), f.original, "{what}: a backup never changes the database");
            check_invariants(&f, &db, &what);
        }
    }
    state::report(&format!(
        "kill -9: {trials} trials run (seed {seed}), {} killed mid-run, {finished_first} had finished first",
        trials - finished_first
    ));
}
