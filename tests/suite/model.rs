//! The history model: random sequences of what happens to a shop's database — executes (the
//! tenant plan, a price script, the same script with other whitespace, comments and quoting,
//! with `--again`), rollbacks, undos, the isolation fix, a verify, the shop writing or changing
//! its schema, a backup or a kept `.migrated-…` file copied back by hand, a cutover run killed
//! at a random moment — and,
//! after every step, every claim cutover makes about the present checked against what the file
//! really holds, read by the test on a copy of its own. No script's effect is ever in the file
//! twice unless `--again` asked for it.
//!
//! The engine is driven in-process as the command line drives it; kills use the real binary.
//! `CUTOVER_MODEL_SEED` replays a run and `CUTOVER_MODEL_CASES` sets how many sequences run
//! (200 of up to 12 steps); a failure prints the seed and the shrunk sequence, which then
//! becomes a named test in `honest_present.rs`.
//!
//! Linux only: its 2,400-odd steps under Wine would take most of CI's budget, and the engine
//! code it drives is the same on both; the named cases run under Wine too.
#![cfg(unix)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cutover::engine::{
    AlreadyDone, Cancel, Error, FixRequest, PlanRequest, Refusal, RollbackAsked, Run, Session, StandingState,
    TenantChoice,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use rusqlite::Connection;

use crate::common::state::sha;

const SHOP: &str = "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT); INSERT INTO tenants VALUES ('acme', 'Acme');
    CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT, price INTEGER NOT NULL);
    INSERT INTO products (sku, name, price) VALUES ('A1', 'bolt', 100), ('B2', 'nut', 50), ('C3', 'washer', 20);
    CREATE TABLE audit_log (id INTEGER PRIMARY KEY, what TEXT);
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO customers (name) VALUES ('Ann'), ('Bob');
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), cents INTEGER);
    INSERT INTO orders (customer_id, cents) VALUES (1, 150);";

/// The price script, in texts that differ only in whitespace, comments and quoting.
const SCRIPTS: [&str; 4] = [
    "UPDATE \"products\" SET [price] = `price` + 10 WHERE \"price\" > 0;\nINSERT INTO \"audit_log\" (what) VALUES ('prices raised');\n",
    "UPDATE products SET price = price + 10 WHERE price > 0;\nINSERT INTO audit_log (what) VALUES ('prices raised');\n",
    "-- raise every price by ten\nupdate products   set price=price+10 where price>0;\n\ninsert into audit_log(what) values ('prices raised');\n\n",
    "UPDATE products SET price = price + 10 WHERE price > 0; /* and say so */ INSERT INTO audit_log (what) VALUES ('prices raised')",
];

#[derive(Debug, Clone, Copy)]
enum Killed {
    Tenant,
    Script,
    Rollback,
}

#[derive(Debug, Clone)]
enum Step {
    Tenant,
    Script(usize),
    ScriptAgain,
    Rollback,
    RollbackDiscarding,
    Undo,
    Fix,
    Verify,
    ShopWrites,
    ShopChangesSchema,
    CopyBackupBack(usize),
    CopyMigratedBack(usize),
    Kill(Killed, u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Tenant),
        4 => (0..SCRIPTS.len()).prop_map(Step::Script),
        1 => Just(Step::ScriptAgain),
        3 => Just(Step::Rollback),
        1 => Just(Step::RollbackDiscarding),
        2 => Just(Step::Undo),
        1 => Just(Step::Fix),
        1 => Just(Step::Verify),
        3 => Just(Step::ShopWrites),
        1 => Just(Step::ShopChangesSchema),
        2 => (0..4usize).prop_map(Step::CopyBackupBack),
        2 => (0..4usize).prop_map(Step::CopyMigratedBack),
        2 => (prop_oneof![Just(Killed::Tenant), Just(Killed::Script), Just(Killed::Rollback)], 0..600u64)
            .prop_map(|(k, ms)| Step::Kill(k, ms)),
    ]
}

/// What the file really holds, read on a copy (SQLite's own recovery of a hot journal or WAL
/// happens there, never on the shop's file).
#[derive(Debug, Clone, PartialEq)]
struct Truth {
    tenant: bool,
    raises: i64,
    logged: i64,
    fixed: bool,
}

fn truth(db: &Path) -> Truth {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("copy.db");
    fs::copy(db, &copy).unwrap();
    for suffix in ["-wal", "-journal"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        if side.exists() {
            fs::copy(&side, format!("{}{suffix}", copy.display())).unwrap();
        }
    }
    let conn = Connection::open(&copy).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    Truth {
        tenant: count("SELECT count(*) FROM pragma_table_info('products') WHERE name = 'tenant_id'") == 1,
        raises: (count("SELECT price FROM products WHERE sku = 'A1'") - 100) / 10,
        logged: count("SELECT count(*) FROM audit_log"),
        fixed: count(
            "SELECT count(*) FROM pragma_index_list('products') AS l, pragma_index_info(l.name) AS i WHERE l.\"unique\" AND i.name = 'tenant_id'",
        ) > 0,
    }
}

impl Truth {
    /// Whether the change of a plan of this kind (as `status` names kinds) is in the file.
    fn holds(&self, kind: &str) -> bool {
        match kind {
            "tenant" => self.tenant,
            "script" => self.raises >= 1,
            "isolation_fix" => self.fixed,
            _ => true,
        }
    }

    fn holds_nothing(&self) -> bool {
        !self.tenant && self.raises == 0 && !self.fixed
    }
}

/// What the test itself saw: the file's bytes right after cutover said it ran a plan (and
/// verified it), and the bytes of every state cutover started from or left.
#[derive(Default)]
struct Seen {
    results: HashMap<String, (String, &'static str)>,
    states: std::collections::HashSet<String>,
    again: i64,
    killed: bool,
    /// Something changed the file that cutover did not see (the shop, a hand copy, a kill):
    /// from then on what cutover cannot tell it may say it cannot.
    blind: bool,
}

enum Ran {
    AlreadyDone(Box<AlreadyDone>, &'static str),
    Refused(Box<Error>),
    Nothing,
    Executed { plan: String, kind: &'static str, ok: bool, before: String },
}

fn execute(db: &Path, request: &PlanRequest, again: bool, kind: &'static str) -> Ran {
    let session = Session::new(db).applying_again(again);
    let quiet = &mut |_| {};
    match session.already_done(request, quiet) {
        Ok(Some(done)) => return Ran::AlreadyDone(Box::new(done), kind),
        Ok(None) => {}
        Err(e) => return Ran::Refused(Box::new(e)),
    }
    let planned = match session.plan_to_execute(request, quiet) {
        Ok((_, p)) => p,
        Err(e) => return Ran::Refused(Box::new(e)),
    };
    let before = sha(db);
    match session.run(&planned, &Cancel::new(), quiet) {
        Ok(Run::Executed(_, x)) => {
            Ran::Executed { plan: planned.plan.sha256.clone(), kind, ok: x.report.verification.ok, before }
        }
        Ok(Run::NothingToDo | Run::Rehearsed(_)) => Ran::Nothing,
        Err(e) => Ran::Refused(Box::new(e)),
    }
}

fn tenant() -> PlanRequest {
    PlanRequest::Tenant(TenantChoice::new("acme"))
}

fn script(dir: &Path, variant: usize) -> PlanRequest {
    let path = dir.join(format!("raise-{variant}.sql"));
    fs::write(&path, SCRIPTS[variant]).unwrap();
    PlanRequest::Script(path)
}

/// The kept files of one kind beside the database (`backup` or `migrated`), oldest first.
fn kept(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("pos.db.{kind}-")) && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect();
    found.sort();
    found
}

fn wal_empty(db: &Path) -> bool {
    fs::metadata(format!("{}-wal", db.display())).map_or(true, |m| m.len() == 0)
}

/// Runs one sequence, checking every claim after every step.
fn run_case(steps: &[Step], wal: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::common::make_db(
        dir.path(),
        "pos.db",
        if wal { crate::common::Journal::Wal } else { crate::common::Journal::Rollback },
        SHOP,
    );
    let mut seen = Seen::default();
    for (n, step) in steps.iter().enumerate() {
        let at = format!("step {n} ({step:?})");
        let before = sha(&db);
        let killed_before = seen.killed;
        match step {
            Step::Tenant => check_ran(&db, execute(&db, &tenant(), false, "tenant"), &mut seen, &before, &at)?,
            Step::Script(v) => {
                let request = script(dir.path(), *v);
                check_ran(&db, execute(&db, &request, false, "script"), &mut seen, &before, &at)?;
            }
            Step::ScriptAgain => {
                let request = script(dir.path(), 0);
                let ran = execute(&db, &request, true, "script");
                if matches!(ran, Ran::Executed { .. }) {
                    seen.again += 1;
                }
                check_ran(&db, ran, &mut seen, &before, &at)?;
            }
            Step::Undo => {
                let session = Session::new(&db);
                if let Ok((_, planned)) = session.undo_to_execute(&mut |_| {}) {
                    check_ran(&db, run_planned(&session, &planned, "undo", &before), &mut seen, &before, &at)?;
                }
            }
            Step::Fix => {
                let session = Session::new(&db);
                if let Ok((_, _, planned)) = session.fix_to_execute(&FixRequest::new("tenant_id"), &mut |_| {}) {
                    let ran = run_planned(&session, &planned, "isolation_fix", &before);
                    check_ran(&db, ran, &mut seen, &before, &at)?;
                }
            }
            Step::Rollback | Step::RollbackDiscarding => {
                let asked =
                    RollbackAsked { discard_changes: matches!(step, Step::RollbackDiscarding), ..Default::default() };
                let session = Session::new(&db);
                if session.rollback(asked, &mut |_| {}).is_ok() {
                    seen.killed = false;
                    seen.states.insert(sha(&db));
                    // What the rollback says is in force again must be in the file.
                    if let Some(kind) = in_force(&session) {
                        prop_assert!(
                            truth(&db).holds(kind),
                            "{at}: the rollback says {kind} is in force again, but the file holds {:?}",
                            truth(&db)
                        );
                    }
                }
            }
            Step::Verify => {
                if let Ok(v) = Session::new(&db).verify(&mut |_| {})
                    && v.report.verification.ok
                    && !v.report.changed()
                {
                    let kind = in_force(&Session::new(&db)).unwrap_or("unknown");
                    prop_assert!(truth(&db).holds(kind), "{at}: verified {kind}, but the file holds {:?}", truth(&db));
                }
            }
            Step::ShopWrites => {
                seen.blind = true;
                let conn = Connection::open(&db).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                conn.execute_batch(
                    "BEGIN; INSERT INTO customers (name) VALUES ('walk-in'); INSERT INTO orders (customer_id, cents) VALUES (last_insert_rowid(), 999); COMMIT;",
                )
                .unwrap();
                drop(conn);
            }
            Step::ShopChangesSchema => {
                // The shop's own upgrade: a table no recorded state has.
                seen.blind = true;
                let conn = Connection::open(&db).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                conn.execute_batch("CREATE TABLE IF NOT EXISTS loyalty (id INTEGER PRIMARY KEY, points INT); INSERT INTO loyalty (points) VALUES (5);").unwrap();
            }
            Step::CopyBackupBack(k) | Step::CopyMigratedBack(k) => {
                let kind = if matches!(step, Step::CopyBackupBack(_)) { "backup" } else { "migrated" };
                let files = kept(dir.path(), kind);
                // A person copies the main file only; with WAL frames beside it that would be
                // their own corruption, not cutover's: not done then.
                if !files.is_empty() && wal_empty(&db) && !Path::new(&format!("{}-journal", db.display())).exists() {
                    fs::copy(&files[k % files.len()], &db).unwrap();
                    seen.blind = true;
                }
            }
            Step::Kill(what, ms) => {
                let script_path = dir.path().join("raise-0.sql");
                fs::write(&script_path, SCRIPTS[0]).unwrap();
                let args: Vec<&str> = match what {
                    Killed::Tenant => vec!["execute", "--tenant", "acme", "--yes"],
                    Killed::Script => vec!["execute", "--script", script_path.to_str().unwrap(), "--yes"],
                    Killed::Rollback => vec!["rollback", "--yes"],
                };
                crate::common::shop::kill_after(&args, &db, Duration::from_millis(*ms));
                seen.killed = true;
                seen.blind = true;
            }
        }
        check_present(&db, &seen, killed_before, &at)?;
    }
    Ok(())
}

/// Runs a planned change (an undo, the isolation fix) as `Session::run` does for the faces.
fn run_planned(session: &Session, planned: &cutover::engine::Planned, kind: &'static str, before: &str) -> Ran {
    match session.run(planned, &Cancel::new(), &mut |_| {}) {
        Ok(Run::Executed(_, x)) => Ran::Executed {
            plan: planned.plan.sha256.clone(),
            kind,
            ok: x.report.verification.ok,
            before: before.to_string(),
        },
        Ok(_) => Ran::Nothing,
        Err(e) => Ran::Refused(Box::new(e)),
    }
}

/// The kind of the execute the journal holds in force (what a rollback announces, what
/// verify checks).
fn in_force(session: &Session) -> Option<&'static str> {
    let standing = session.standing().unwrap();
    let x = standing.live_execute().filter(|x| x.committed)?;
    let executed = standing.lineage.executes.iter().rev().find(|e| e.record.plan_sha256 == x.plan_sha256);
    Some(executed.map_or("unknown", |e| kind_name(e.kind)))
}

fn kind_name(kind: cutover::engine::journal::lineage::Kind) -> &'static str {
    use cutover::engine::journal::lineage::Kind;
    match kind {
        Kind::Tenant => "tenant",
        Kind::Script => "script",
        Kind::Undo => "undo",
        Kind::Rebuild => "isolation_fix",
        Kind::Migrations => "app_migrations",
        Kind::Unknown => "unknown",
    }
}

/// The claims an execute made, against the file.
fn check_ran(db: &Path, ran: Ran, seen: &mut Seen, before: &str, at: &str) -> Result<(), TestCaseError> {
    let now = sha(db);
    let t = truth(db);
    match ran {
        Ran::Executed { plan, kind, ok, before: started } => {
            seen.killed = false;
            seen.states.insert(started);
            seen.states.insert(now.clone());
            if ok {
                prop_assert!(kind == "undo" || t.holds(kind), "{at}: migrated and verified, but the file holds {t:?}");
                seen.results.insert(now, (plan, kind));
            }
        }
        Ran::AlreadyDone(done, kind) => {
            if !done.settled {
                prop_assert_eq!(&now, before, "{}: \"Already done\" changed the file", at);
            }
            seen.killed = false;
            if done.ok() {
                prop_assert!(t.holds(kind), "{at}: \"Already done\", but the file holds {t:?}");
                prop_assert!(t.raises >= 1 || t.tenant, "{at}: \"Already done\" on a file holding nothing: {t:?}");
                seen.results.insert(now, (done.plan_sha256.clone(), kind));
            }
        }
        Ran::Refused(e) => {
            if let Error::NotReady(Refusal::ScriptAlreadyApplied { how, alike, .. }) = &*e {
                if *alike {
                    // Statements alike (another quoting) ran: refused while their change is in.
                    prop_assert!(
                        t.raises >= 1 || seen.blind,
                        "{at}: refused as alike, but the file holds no raise: {e}"
                    );
                } else if how.contains("cannot be told") {
                    // Only where something changed the file behind cutover's back.
                    prop_assert!(seen.blind, "{at}: only cutover changed the file, yet it cannot tell: {e}");
                } else {
                    prop_assert!(t.raises >= 1, "{at}: refused as applied, but the file holds no raise: {e}");
                }
            }
        }
        Ran::Nothing => {}
    }
    prop_assert!(
        t.raises <= 1 + seen.again,
        "{at}: the script's change is in the file {} times, --again given {} times",
        t.raises,
        seen.again
    );
    prop_assert_eq!(t.raises, t.logged, "{}: each raise logged once", at);
    Ok(())
}

/// What `status` says of the present, against the file.
fn check_present(db: &Path, seen: &Seen, killed_before: bool, at: &str) -> Result<(), TestCaseError> {
    let before = sha(db);
    let status = Session::new(db).status().unwrap();
    prop_assert_eq!(&sha(db), &before, "{}: status changed the file", at);
    let t = truth(db);
    if wal_empty(db) {
        prop_assert_eq!(&status.current_sha256, &before, "{}: current_sha256 is not the file's", at);
    }
    for x in &status.in_file {
        prop_assert!(t.holds(x.kind), "{at}: status says {} is in the file, but it holds {t:?}: {status:?}", x.kind);
    }
    match status.state {
        StandingState::MigratedAndVerified | StandingState::MigratedUnverified | StandingState::VerificationFailed => {
            prop_assert!(status.changed_since_execute == Some(false), "{at}: {status:?}");
            // The same statements under another text leave the same bytes: the kind must agree.
            if let Some((_, kind)) = seen.results.get(&status.current_sha256) {
                let said = status.in_file.last().map(|x| x.kind);
                prop_assert_eq!(Some(*kind), said, "{}: another plan's result: {:?}", at, status);
            }
            prop_assert!(!status.in_file.is_empty(), "{at}: migrated with nothing in the file: {status:?}");
        }
        StandingState::ChangedSinceExecute => {
            prop_assert!(!status.in_file.is_empty(), "{at}: {status:?}");
        }
        StandingState::RolledBack | StandingState::Undone => {
            prop_assert!(t.holds_nothing(), "{at}: {:?} but the file holds {t:?}", status.state);
        }
        _ => {}
    }
    // Where only cutover changed the file and it is exactly a verified result the test saw,
    // status must say so.
    if !seen.blind
        && !killed_before
        && let Some((plan, kind)) = seen.results.get(&status.current_sha256)
    {
        // An undo's result that still holds an earlier execute is that one, written to since.
        let expected = match (*kind, status.in_file.is_empty()) {
            ("undo", true) => StandingState::Undone,
            ("undo", false) => StandingState::ChangedSinceExecute,
            _ => StandingState::MigratedAndVerified,
        };
        prop_assert_eq!(status.state, expected, "{}: the file is the verified result of {}: {:?}", at, plan, status);
    }
    Ok(())
}

#[test]
fn every_claim_about_the_present_is_true_of_the_file() {
    let seed: u64 = std::env::var("CUTOVER_MODEL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261208);
    let cases: u32 = std::env::var("CUTOVER_MODEL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 400,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (proptest::collection::vec(step(), 1..=12), any::<bool>());
    let result = runner.run(&strategy, |(steps, wal)| run_case(&steps, wal));
    crate::common::state::report(&format!("history model: {cases} sequences, seed {seed}"));
    if let Err(e) = result {
        panic!("the history model failed (CUTOVER_MODEL_SEED={seed} replays it): {e}");
    }
}
