//! The state machine on its own: hand-made reports stand in for the engine's, so every rule of
//! what Enter, Esc, r and q do is checked without a database, a file or a thread.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use super::*;
use crate::engine::BackupRef;
use crate::engine::PreflightReport;
use crate::engine::Snapshot;
use crate::engine::{BackupReport, BackupTimings};
use crate::engine::{DryRunReport, DryRunTimings};
use crate::engine::{Plan, PlanSource, PlannedStatement};
use crate::engine::{Planned, Rehearsed};
use crate::engine::{Scope, Verification};
use crate::tui::dialogs::Modal;
use crate::tui::mode::DialogKind;
use crate::tui::worker::{Job, JobKind};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn app() -> App {
    App::new(PathBuf::from("/shop/pos.db"), Some(PathBuf::from("/shop/change.sql")), Theme::new(false))
}

fn preflight(in_use: bool) -> PreflightReport {
    PreflightReport {
        path: "/shop/pos.db".into(),
        file_size: 4096,
        wal_size: 0,
        page_size: 4096,
        page_count: 1,
        journal_mode: "wal".into(),
        sqlite_version: "3".into(),
        quick_check: "ok".into(),
        free_disk: 1 << 30,
        needed_disk: 1 << 20,
        enough_disk: true,
        holders: Vec::new(),
        locked_by: in_use.then_some(0),
        unseen: Vec::new(),
        blind: None,
        restore_blocker: None,
        recovered: None,
    }
}

fn backup() -> BackupReport {
    BackupReport {
        database: "/shop/pos.db".into(),
        path: "/shop/pos.db.backup-1".into(),
        bytes: 4096,
        sha256: "b".repeat(64),
        source_sha256: "b".repeat(64),
        verdict: "MATCH",
        quick_check: "ok".into(),
        journal_mode: "wal".into(),
        checkpointed: true,
        created_at: "now".into(),
        seconds: 0.1,
        timings_s: BackupTimings::default(),
    }
}

fn planned(statements: usize) -> Planned {
    let statement = |i: usize| PlannedStatement {
        sql: format!("UPDATE t SET v = {i};"),
        line: i + 1,
        destructive: None,
        expect: None,
        table: None,
        foreign_key_check: false,
        file: None,
        ledger_row: false,
    };
    let text = (0..statements).map(|i| statement(i).sql).collect::<Vec<_>>().join("\n");
    let plan = Plan::new(
        PlanSource::Script { path: "/shop/change.sql".into() },
        (0..statements).map(statement).collect(),
        Vec::new(),
        text,
    );
    Planned { plan, audit: None }
}

fn verification(ok: bool) -> Verification {
    Verification { scope: Scope::Full, checks: Vec::new(), ok, seconds: 0.0 }
}

fn rehearsed(plan: &Plan, ok: bool) -> Rehearsed {
    let backup = BackupRef::from(&backup());
    let dry = DryRunReport {
        ok,
        plan_sha256: plan.sha256.clone(),
        backup: backup.clone(),
        result_sha256: "r".repeat(64),
        statements: Vec::new(),
        verification: verification(ok),
        before: Snapshot {
            tables: Vec::new(),
            schema: Vec::new(),
            fk_violations: Vec::new(),
            broken_triggers: Vec::new(),
            fk_unchecked: Vec::new(),
        },
        kept_copy: None,
        timings_s: DryRunTimings::default(),
        seconds: 0.0,
    };
    Rehearsed { backup, backup_seconds: None, dry, reports: Vec::new() }
}

/// An app on the dry-run screen with a passed rehearsal of a one-statement script.
fn rehearsed_app() -> App {
    let mut a = app();
    a.prepared.preflight = Some(preflight(false));
    a.prepared.backup = Some(backup());
    let p = planned(1);
    a.prepared.rehearsed = Some(rehearsed(&p.plan, true));
    a.prepared.planned = Some(p);
    a.view.step = Step::DryRun;
    a
}

fn key(a: &mut App, code: KeyCode) -> Vec<Effect> {
    a.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn started(effects: &[Effect]) -> Vec<JobKind> {
    effects.iter().filter_map(|e| if let Effect::Start(job, _) = e { Some(job.kind()) } else { None }).collect()
}

#[test]
fn the_key_bar_names_exactly_what_enter_then_does() {
    let mut a = app();
    a.prepared.preflight = Some(preflight(true));
    assert_eq!(a.next(), Some(Next::Recheck));
    assert_eq!(a.mode().next, Some("re-check"));
    assert_eq!(started(&key(&mut a, KeyCode::Enter)), [JobKind::Preflight], "Enter re-checks, as the bar says");

    a.job = None;
    a.prepared.preflight = Some(preflight(false));
    assert_eq!(a.mode().next, Some("back up"));
    assert!(started(&key(&mut a, KeyCode::Enter)).is_empty());
    assert_eq!(a.view.step, Step::Backup);
    assert_eq!(a.mode().next, Some("make backup"));
    assert_eq!(started(&key(&mut a, KeyCode::Enter)), [JobKind::Backup]);
}

#[test]
fn enter_does_nothing_while_a_job_runs_and_the_bar_does_not_offer_it() {
    let mut a = app();
    a.prepared.preflight = Some(preflight(false));
    let _ = a.start();
    assert!(a.job.is_some());
    assert_eq!(a.next(), None);
    assert_eq!(a.mode().next, None);
    assert!(key(&mut a, KeyCode::Enter).is_empty());
}

#[test]
fn a_failed_dry_run_locks_execute_and_a_plan_change_undoes_a_passed_one() {
    let mut a = rehearsed_app();
    assert_eq!(a.next(), Some(Next::ToExecute));
    a.prepared.rehearsed.as_mut().unwrap().dry.ok = false;
    assert_eq!(a.next(), None, "a failed rehearsal offers nothing");
    assert!(key(&mut a, KeyCode::Enter).is_empty());

    let mut a = rehearsed_app();
    a.prepared.planned = Some(planned(2));
    assert!(a.rehearsal().is_none(), "a dry run unlocks only the plan it rehearsed");
    a.view.step = Step::Execute;
    assert_eq!(a.next(), None);
}

#[test]
fn execute_starts_only_after_the_exact_word_is_typed() {
    let mut a = rehearsed_app();
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert_eq!(a.view.step, Step::Execute);
    assert!(matches!(a.view.modal, Some(Modal::TypeToExecute { .. })));
    assert_eq!(a.mode().dialog, Some(DialogKind::Typed));
    for c in "wrong".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    assert!(key(&mut a, KeyCode::Enter).is_empty(), "a wrong word executes nothing");
    assert!(a.view.notice.as_deref().is_some_and(|n| n.contains("pos.db")));
    for _ in 0.."wrong".len() {
        key(&mut a, KeyCode::Backspace);
    }
    for c in "pos.db".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(started(&effects), [JobKind::Execute]);
    let Some(Effect::Start(Job::Execute { rehearsed, .. }, _)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(rehearsed.backup, BackupRef::from(&backup()), "production runs from this session's backup");
}

#[test]
fn execute_refuses_a_rehearsal_from_another_backup() {
    let mut a = rehearsed_app();
    a.prepared.rehearsed.as_mut().unwrap().backup = BackupRef::new("/elsewhere/old.backup", "o".repeat(64));
    key(&mut a, KeyCode::Enter);
    for c in "pos.db".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    assert!(started(&key(&mut a, KeyCode::Enter)).is_empty());
    assert!(a.view.notice.as_deref().is_some_and(|n| n.contains("backup")));
}

#[test]
fn esc_never_goes_back_past_a_change_to_production() {
    let mut a = rehearsed_app();
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.view.step, Step::Plan, "before the execute, Esc goes back a step");
    let mut a = rehearsed_app();
    a.view.step = Step::Verify;
    a.results.verification = Some(verification(true));
    assert!(!a.mode().can_step_back);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.view.step, Step::Verify);
}

#[test]
fn r_asks_before_rolling_back_and_n_or_esc_keeps_the_database() {
    let mut a = rehearsed_app();
    a.view.step = Step::Verify;
    a.results.verification = Some(verification(false));
    assert!(!a.mode().can_roll_back, "no backup to restore yet");
    a.results.rollback_target = Some(BackupRef::from(&backup()));
    assert!(a.mode().can_roll_back);
    // The y/N names the backup the engine will restore, asked of it, not the wizard's memory.
    let engine_says = BackupRef::new("/shop/pos.db.backup-0", "e".repeat(64));
    let told = |a: &mut App| {
        assert_eq!(started(&key(a, KeyCode::Char('r'))), [JobKind::RollbackTarget]);
        a.handle(Event::Job(crate::tui::worker::JobMessage::Done(
            JobKind::RollbackTarget,
            Ok(crate::tui::worker::Outcome::RollbackTarget(Box::new(engine_says.clone()))),
        )));
    };
    told(&mut a);
    assert_eq!(a.view.modal, Some(Modal::ConfirmRollback { backup: engine_says.clone() }));
    assert!(key(&mut a, KeyCode::Esc).is_empty());
    assert!(a.view.modal.is_none(), "Esc answers no");
    told(&mut a);
    assert!(key(&mut a, KeyCode::Char('q')).is_empty() && !a.quit, "q does not pass a question");
    assert_eq!(started(&key(&mut a, KeyCode::Char('y'))), [JobKind::Rollback]);
}

#[test]
fn quitting_asks_while_work_runs_or_the_change_is_unverified() {
    let mut a = rehearsed_app();
    let _ = a.begin(Job::Verify { db: a.db.clone() });
    key(&mut a, KeyCode::Char('q'));
    assert!(matches!(a.view.modal, Some(Modal::ConfirmStop)) && !a.quit);
    let mut a = rehearsed_app();
    a.results.committed_unverified = true;
    key(&mut a, KeyCode::Char('q'));
    assert!(matches!(a.view.modal, Some(Modal::ConfirmQuit { .. })) && !a.quit);
    let effects = key(&mut a, KeyCode::Char('y'));
    assert!(a.quit && matches!(effects.as_slice(), [Effect::Quit]));
    let mut a = rehearsed_app();
    let effects = key(&mut a, KeyCode::Char('q'));
    assert!(a.quit && matches!(effects.as_slice(), [Effect::Quit]), "nothing at stake: q quits at once");
}

#[test]
fn after_a_rollback_enter_offers_nothing_more() {
    let mut a = rehearsed_app();
    a.view.step = Step::Verify;
    a.results.verification = Some(verification(true));
    assert_eq!(a.next(), Some(Next::Details));
    a.results.rolled_back = Some(crate::engine::RollbackReport {
        database: "/shop/pos.db".into(),
        backup_path: "/shop/pos.db.backup-1".into(),
        backup_sha256: "b".repeat(64),
        restored_sha256: "b".repeat(64),
        verdict: "MATCH",
        migrated_path: None,
        discarded: None,
        since: "the execute",
        note: None,
        recovered: None,
        already_restored: false,
        seconds: 0.0,
        in_force_again: None,
    });
    assert_eq!(a.next(), None);
    assert!(!a.mode().can_roll_back, "a second rollback is not offered");
}

fn failed_execute(a: &mut App, error: crate::engine::Error) -> (String, String) {
    let _ = a.begin(Job::Verify { db: a.db.clone() });
    a.handle(Event::Job(crate::tui::worker::JobMessage::Done(JobKind::Execute, Err(error))));
    match &a.view.modal {
        Some(Modal::Error { title, next, .. }) => (title.clone(), next.clone()),
        other => panic!("an error panel: {other:?}"),
    }
}

#[test]
fn an_execute_whose_change_is_on_disk_despite_an_error_is_never_called_unchanged() {
    use crate::engine::Refusal;
    let mut a = rehearsed_app();
    let committed = Refusal::CommittedDespiteError { path: a.db.clone(), reported: "disk I/O error".into() };
    let (title, next) = failed_execute(&mut a, crate::engine::Error::NotReady(committed));
    assert!(title.contains("IS committed") && !title.contains("nothing changed"), "{title}");
    assert!(next.contains("Do not run the migration again"), "{next}");
    assert!(a.migrated_unverified(), "q asks before leaving a committed, unverified change");

    let mut a = rehearsed_app();
    let neither = Refusal::NeitherBackupNorResult { path: a.db.clone(), reported: "disk I/O error".into() };
    let (title, next) = failed_execute(&mut a, crate::engine::Error::NotReady(neither));
    assert!(!title.contains("nothing changed") && title.contains("needs a look"), "{title}");
    assert!(next.contains("Do not start"), "{next}");
    assert!(!a.migrated(), "whether it committed is not known, so it is not claimed either way");
}

#[test]
fn a_committed_change_whose_reports_failed_shows_its_checks_and_is_called_verified_only_if_it_is() {
    for ok in [true, false] {
        let mut a = rehearsed_app();
        let err = crate::engine::Error::AfterCommit {
            path: a.db.clone(),
            what: "writing the execution report".into(),
            cause: "disk full".into(),
            verification: Some(Box::new(verification(ok))),
        };
        let (title, next) = failed_execute(&mut a, err);
        assert!(title.contains("IS committed"), "{title}");
        assert_eq!(title.contains("verified;"), ok, "{title}");
        assert!(next.contains("Do not run the migration again"), "{next}");
        assert_eq!(a.view.step, Step::Verify, "the dashboard shows the checks that ran");
        assert_eq!(a.results.verification.as_ref().map(|v| v.ok), Some(ok));
        assert_eq!(a.migrated_unverified(), !ok, "q asks only when the change is not verified");
    }
}
