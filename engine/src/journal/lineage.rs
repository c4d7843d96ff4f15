//! Every state the journal saw the file in — each backup's bytes, each execute's result — by
//! its SHA-256 and schema digest, and which executes each state carries, directly or beneath
//! later ones. Two states with the same SHA-256 are the same bytes, so a backup is tied to the
//! executes in it by its hash, never by what the journal last said; a state reached through
//! writes cutover did not see is *presumed* to carry what the state before it carried, and says
//! so (`certain` false). What the file holds now is read against these states (see
//! `status::present`); the journal stays history.

use std::path::PathBuf;

use super::records::{ExecuteRecord, PassedDryRun};
use super::{Entry, Event};
use crate::backup_ref::BackupRef;
use crate::plan::{Plan, PlanSource};

/// One state of the file the journal recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The file's SHA-256 then; `None` for an execute's result whose WAL could not be folded in.
    pub sha256: Option<String>,
    /// The digest of its schema, when recorded.
    pub schema: Option<String>,
    /// The executes whose change the state holds, oldest first (indexes into
    /// [`Lineage::executes`]).
    pub carries: Vec<usize>,
    /// Other bytes of the same rows and schema: a commit cut off on top of this state, which
    /// SQLite rolled back, leaves pages it never journalled as they were written.
    pub aliases: Vec<String>,
    /// Executes that may be in the state or not: it was reached through writes cutover did
    /// not see, from states that differ in them and that its schema cannot tell apart.
    pub unsure: Vec<usize>,
    /// Every step to this state was matched by hash; otherwise `carries` is presumed from the
    /// state the file was last seen in, through writes cutover did not see.
    pub certain: bool,
    /// How the state came to be recorded.
    pub origin: Origin,
    /// When (RFC 3339, local time).
    pub at: String,
}

/// How a state was recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A backup was made of it.
    Backup(PathBuf),
    /// An execute left it (index into [`Lineage::executes`]).
    Result(usize),
}

/// The recorded states a file's schema matches, when its bytes match none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BySchema {
    /// The state it was most likely written on: the one last seen when its schema is the
    /// same, else the newest with that schema.
    pub from: usize,
    /// `from` is the state the journal last saw.
    pub last: bool,
    /// The executes every state with that schema carries, oldest first: in the file as far
    /// as its schema tells.
    pub common: Vec<usize>,
    /// The executes some of those states carry and some do not (a script that changes rows
    /// only leaves the schema as it found it): whether they are in the file cannot be told.
    pub unsure: Vec<usize>,
}

/// What a plan did, as far as what a file carries goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The tenant column and its index.
    Tenant,
    /// A script.
    Script,
    /// The inverse of a tenant plan.
    Undo,
    /// The isolation fix.
    Rebuild,
    /// The application's own migrations.
    Migrations,
    /// The journal holds no rehearsal of it.
    Unknown,
}

/// An execute, with what it ran on and what it left.
#[derive(Debug, Clone)]
pub struct Executed {
    /// As the journal records it.
    pub record: ExecuteRecord,
    /// When it started (RFC 3339, local time).
    pub at: String,
    /// Its statements' identity ([`crate::plan::fingerprint::of`]), when known.
    pub fingerprint: Option<String>,
    /// Their likeness ([`crate::plan::fingerprint::like`]), when the journal holds its plan.
    pub likeness: Option<String>,
    /// What kind of plan it ran.
    pub kind: Kind,
    /// For an undo, the plan it took back.
    pub undoes: Option<String>,
    /// The technician asked for it although its statements were applied before.
    pub again: bool,
    /// The state it ran on (index into [`Lineage::states`]).
    pub from: usize,
    /// The state it left, once committed.
    pub result: Option<usize>,
    /// Its newest verification passed (`None`: none recorded).
    pub verified: Option<bool>,
}

impl Executed {
    /// Whether its change may be in a file: it committed, or it reached its COMMIT and its end
    /// was never recorded.
    pub fn may_have_committed(&self) -> bool {
        self.record.committed || (!self.record.rolled_back && (self.record.committing || !self.record.marks_commit))
    }
}

/// The states and executes of one database's journal.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// Every state, in the order first recorded.
    pub states: Vec<Recorded>,
    /// Every execute, oldest first.
    pub executes: Vec<Executed>,
    /// The state the journal last saw the file in.
    pub last: Option<usize>,
    /// The last thing that set `last` was a finished rollback.
    pub last_was_rollback: bool,
}

impl Lineage {
    /// Builds the lineage of a whole journal.
    pub fn of(entries: &[Entry]) -> Lineage {
        let mut dry_runs = Vec::new();
        let mut lineage = Lineage::default();
        for e in entries {
            if let Event::DryRun { ok: true, plan, source_sha256, result_sha256: Some(r), before: Some(b), warned, .. } =
                &e.event
            {
                dry_runs.push(PassedDryRun {
                    plan: (**plan).clone(),
                    source_sha256: source_sha256.clone(),
                    result_sha256: r.clone(),
                    before: (**b).clone(),
                    warned: warned.clone(),
                });
            }
            lineage.take(e, &dry_runs);
        }
        lineage
    }

    /// Folds one more entry in; `dry_runs` are the passed rehearsals so far.
    pub fn take(&mut self, entry: &Entry, dry_runs: &[PassedDryRun]) {
        match &entry.event {
            Event::Backup { path, sha256, schema_sha256, .. } => {
                let at = self.observe(sha256, schema_sha256.clone(), Origin::Backup(path.clone()), &entry.at);
                self.last = Some(at);
                self.last_was_rollback = false;
            }
            Event::ExecuteStarted { plan_sha256, backup_path, backup_sha256, marks_commit, fingerprint, again } => {
                let from = self.observe(backup_sha256, None, Origin::Backup(backup_path.clone()), &entry.at);
                let rehearsal = dry_runs
                    .iter()
                    .rev()
                    .find(|d| d.plan.sha256 == *plan_sha256 && d.source_sha256 == *backup_sha256)
                    .or_else(|| dry_runs.iter().rev().find(|d| d.plan.sha256 == *plan_sha256));
                let plan = rehearsal.map(|d| &d.plan);
                if let (Some(state), Some(d)) = (self.states.get_mut(from), rehearsal) {
                    // The rehearsal read the schema of these very bytes.
                    if state.schema.is_none() && d.source_sha256 == *backup_sha256 {
                        state.schema = Some(crate::verify::snapshot::schema_digest(&d.before.schema));
                    }
                }
                self.executes.push(Executed {
                    record: ExecuteRecord {
                        plan_sha256: plan_sha256.clone(),
                        backup: BackupRef::new(backup_path.clone(), backup_sha256.clone()),
                        committed: false,
                        result_sha256: None,
                        schema_sha256: None,
                        rolled_back: false,
                        marks_commit: *marks_commit,
                        committing: false,
                    },
                    at: entry.at.clone(),
                    fingerprint: fingerprint.clone().or_else(|| plan.map(|p| crate::plan::fingerprint::of(&p.statements))),
                    likeness: plan.map(|p| crate::plan::fingerprint::like(&p.statements)),
                    kind: plan.map_or(Kind::Unknown, kind),
                    undoes: plan.and_then(Plan::undo).map(|u| u.undoes.clone()),
                    again: *again,
                    from,
                    result: None,
                    verified: None,
                });
                self.last = Some(from);
                self.last_was_rollback = false;
            }
            Event::ExecuteCommitting { .. } => {
                if let Some(x) = self.executes.last_mut() {
                    x.record.committing = true;
                }
            }
            Event::ExecuteCommitted { result_sha256, schema_sha256, .. } => {
                let Some(index) = self.executes.len().checked_sub(1) else { return };
                let from = self.executes[index].from;
                let mut carries = self.states[from].carries.clone();
                let mut unsure = self.states[from].unsure.clone();
                let executed = &self.executes[index];
                match (executed.kind, &executed.undoes) {
                    (Kind::Undo, Some(undone)) => {
                        // The undo takes back the newest carried execute of that plan.
                        let of_plan = |c: &usize| self.executes[*c].record.plan_sha256 == *undone;
                        if let Some(p) = carries.iter().rposition(of_plan) {
                            carries.remove(p);
                        }
                        unsure.retain(|c| !of_plan(c));
                    }
                    _ => carries.push(index),
                }
                let state = Recorded {
                    sha256: result_sha256.clone(),
                    schema: schema_sha256.clone(),
                    carries,
                    aliases: Vec::new(),
                    unsure,
                    certain: self.states[from].certain,
                    origin: Origin::Result(index),
                    at: entry.at.clone(),
                };
                // The same bytes reached again are the same state: its newest making counts.
                let at = match result_sha256.as_ref().and_then(|s| self.by_sha(s)) {
                    Some(i) => {
                        self.states[i] = state;
                        i
                    }
                    None => {
                        self.states.push(state);
                        self.states.len() - 1
                    }
                };
                let x = &mut self.executes[index];
                x.record.committed = true;
                x.record.result_sha256 = result_sha256.clone();
                x.record.schema_sha256 = schema_sha256.clone();
                x.result = Some(at);
                self.last = Some(at);
                self.last_was_rollback = false;
            }
            Event::ExecuteRolledBack { file_sha256, .. } => {
                let Some(x) = self.executes.last_mut() else { return };
                x.record.rolled_back = true;
                let from = x.from;
                if let Some(sha) = file_sha256.as_ref().filter(|s| self.by_sha(s).is_none()) {
                    self.states[from].aliases.push(sha.clone());
                }
            }
            Event::Verified { plan_sha256, ok, .. } => {
                if let Some(x) =
                    self.executes.iter_mut().rev().find(|x| x.record.committed && x.record.plan_sha256 == *plan_sha256)
                {
                    x.verified = Some(*ok);
                }
            }
            Event::RolledBack { backup_path, sha256, .. } => {
                let at = self.observe(sha256, None, Origin::Backup(backup_path.clone()), &entry.at);
                self.last = Some(at);
                self.last_was_rollback = true;
            }
            Event::DryRun { .. } | Event::RollbackStarted { .. } | Event::RollbackUndone { .. } | Event::Recovered { .. } => {}
        }
    }

    /// The state with these bytes, when one was recorded.
    pub fn by_sha(&self, sha256: &str) -> Option<usize> {
        self.states.iter().position(|s| s.sha256.as_deref() == Some(sha256) || s.aliases.iter().any(|a| a == sha256))
    }

    /// The newest execute a state carries, with its record.
    pub fn in_force(&self, state: usize) -> Option<&Executed> {
        self.states.get(state)?.carries.last().map(|&x| &self.executes[x])
    }

    /// The states a file with this schema (and bytes no state has) may have been written on,
    /// and what that tells of the executes in it. None when no recorded state has the schema.
    pub fn by_schema(&self, schema: &str) -> Option<BySchema> {
        let like: Vec<usize> = (0..self.states.len()).filter(|&i| self.states[i].schema.as_deref() == Some(schema)).collect();
        let last = self.last.filter(|l| like.contains(l));
        let from = last.or(like.last().copied())?;
        let carried = |x: &usize| like.iter().all(|&i| self.states[i].carries.contains(x));
        let (common, unsure): (Vec<usize>, Vec<usize>) = {
            let mut all: Vec<usize> = like
                .iter()
                .flat_map(|&i| self.states[i].carries.iter().chain(&self.states[i].unsure).copied())
                .collect();
            all.sort_unstable();
            all.dedup();
            all.into_iter().partition(carried)
        };
        Some(BySchema { from, last: last.is_some(), common, unsure })
    }

    /// Whether any execute ever committed (or may have) on this database.
    pub fn any_committed(&self) -> bool {
        self.executes.iter().any(Executed::may_have_committed)
    }

    /// Records that the file was seen with these bytes: the known state, or a new one whose
    /// carried executes are presumed from the state seen before.
    fn observe(&mut self, sha256: &str, schema: Option<String>, origin: Origin, at: &str) -> usize {
        if let Some(i) = self.by_sha(sha256) {
            if self.states[i].schema.is_none() {
                self.states[i].schema = schema;
            }
            return i;
        }
        // Bytes never seen: the file moved on through writes cutover did not make. Nothing
        // cutover did can be in it when nothing was ever committed; otherwise it is presumed to
        // carry what the state with its schema (or the one seen last) carried.
        let (carries, unsure, certain) = if !self.any_committed() {
            (Vec::new(), Vec::new(), true)
        } else {
            match schema.as_deref().and_then(|s| self.by_schema(s)) {
                Some(like) => (like.common, like.unsure, false),
                // A schema no recorded state has (or none recorded): the file may have come
                // from anywhere, so any execute that may have committed may or may not be in it.
                None => {
                    let unsure = (0..self.executes.len())
                        .filter(|&x| self.executes[x].may_have_committed() && self.executes[x].kind != Kind::Undo)
                        .collect();
                    (Vec::new(), unsure, false)
                }
            }
        };
        let state = Recorded {
            sha256: Some(sha256.to_string()),
            schema,
            carries,
            aliases: Vec::new(),
            unsure,
            certain,
            origin,
            at: at.to_string(),
        };
        self.states.push(state);
        self.states.len() - 1
    }
}

fn kind(plan: &Plan) -> Kind {
    match plan.source {
        PlanSource::Tenant(_) => Kind::Tenant,
        PlanSource::Script { .. } => Kind::Script,
        PlanSource::Undo(_) => Kind::Undo,
        PlanSource::Rebuild(_) => Kind::Rebuild,
        PlanSource::Migrations(_) => Kind::Migrations,
    }
}
