//! The inverse of a generated tenant plan: drop the indexes it created and the column it added,
//! keeping every row and every other value. It is the way back that keeps what the shop wrote
//! after the cutover, where restoring the backup would throw it away.
//!
//! Dropping the column loses nothing only while every row still carries the plan's tenant
//! value (its default): the undo checks that table by table, in its own transaction, with
//! `-- expect: 0` counts a failing rehearsal reports. What the undo must give back is each
//! table's CREATE statement as it was before the plan, taken from the snapshot the plan's own
//! rehearsal recorded; the verification holds the result to it.

use serde::{Deserialize, Serialize};

use crate::plan::{Plan, PlanSource, PlannedStatement, PlannedTable};
use crate::sql;
use crate::verify::snapshot::{SchemaObject, Snapshot};

/// What an undo removes and what it must give back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndoSpec {
    /// The SHA-256 of the plan it undoes.
    pub undoes: String,
    /// The column it drops.
    pub column: String,
    /// The value every row must still carry in that column for the drop to lose nothing.
    pub tenant: String,
    /// Table by table, what the plan added (and the undo removes).
    pub tables: Vec<PlannedTable>,
    /// The CREATE statement of each table the plan added the column to, as it was before.
    pub original: Vec<SchemaObject>,
}

impl UndoSpec {
    /// The (table, column) pairs the undo drops: the "before" state of an undo is digested
    /// without them, so it can be compared with the state after.
    pub fn dropped(&self) -> Vec<(String, String)> {
        self.tables.iter().filter(|t| t.add_column).map(|t| (t.table.clone(), self.column.clone())).collect()
    }
}

/// Why a plan has no inverse cutover can run.
pub fn no_inverse(plan: &Plan) -> Option<&'static str> {
    match &plan.source {
        PlanSource::Tenant(_) => None,
        PlanSource::Script { .. } => Some(
            "the last execute ran a script, and a script has no inverse cutover knows: restoring the backup is the only way back",
        ),
        PlanSource::Rebuild(_) => Some(
            "the last execute was an isolation rebuild, which has no undo in place: restoring the backup is the way back",
        ),
        PlanSource::Migrations(_) => Some(
            "the last execute ran the application's own migrations, which have no inverse cutover knows: restoring the backup is the way back, and takes their ledger rows back with everything else",
        ),
        PlanSource::Undo(_) => Some(
            "the last execute was itself an undo in place: to put the tenant column back and keep every row, run the tenant migration again (`cutover execute … --tenant …`); restoring the backup the undo made discards what was written since",
        ),
    }
}

/// The inverse of `plan`, given the state its rehearsal started from (`before`, the file the
/// execute ran on). `None` when the plan has no inverse (see [`no_inverse`]).
pub fn inverse(plan: &Plan, before: &Snapshot) -> Option<Plan> {
    let PlanSource::Tenant(spec) = &plan.source else { return None };
    let column = sql::ident(&spec.column);
    let value = sql::literal(&spec.tenant);
    let mut text = format!(
        "-- Undo of plan {} ({} = {value}): drops the indexes it created and the column it added.\n\
         -- Every row and every other value stays; each table is first checked to hold no other tenant.\n",
        plan.short_hash(),
        column
    );
    let mut statements = Vec::new();
    let mut push = |text: &mut String, table: &str, sql: String, expect: Option<&str>, destructive: Option<String>| {
        let line = text.matches('\n').count() + 1;
        text.push_str(&sql);
        if let Some(e) = expect {
            text.push_str(&format!(" -- expect: {e}"));
        }
        text.push('\n');
        statements.push(PlannedStatement {
            sql,
            line,
            destructive,
            expect: expect.map(str::to_string),
            table: Some(table.to_string()),
            foreign_key_check: false,
            file: None,
            ledger_row: false,
        });
    };
    for t in spec.tables.iter().rev() {
        let table = sql::ident(&t.table);
        if t.add_column {
            push(
                &mut text,
                &t.table,
                // Qualified, so a missing column is an error, never SQLite's string fallback.
                format!("SELECT count(*) FROM {table} WHERE {table}.{column} IS NOT {value};"),
                Some("0"),
                None,
            );
        }
        if let Some(index) = &t.index {
            push(&mut text, &t.table, format!("DROP INDEX {};", sql::ident(index)), None, None);
        }
        if t.add_column {
            push(
                &mut text,
                &t.table,
                format!("ALTER TABLE {table} DROP COLUMN {column};"),
                None,
                Some(format!(
                    "drops the column the cutover added; every row holds {value} there (checked by the statement before)"
                )),
            );
        }
    }
    // The row that recorded the plan as the application's migration goes with it, or the
    // application would count a change no longer there as applied.
    let records = plan.records.as_ref().map(|r| r.removed());
    if let Some(r) = &records {
        for key in &r.keys {
            let sql = format!("DELETE FROM {} WHERE {} = {};", sql::ident(&r.table), sql::ident(&r.key_column), sql::literal(key));
            push(&mut text, &r.table, sql, None, None);
        }
    }
    let original = spec
        .tables
        .iter()
        .filter(|t| t.add_column)
        .filter_map(|t| before.schema.iter().find(|o| o.kind == "table" && o.name == t.table).cloned())
        .collect();
    let undo = UndoSpec {
        undoes: plan.sha256.clone(),
        column: spec.column.clone(),
        tenant: spec.tenant.clone(),
        tables: spec.tables.clone(),
        original,
    };
    let notices = vec![format!(
        "undo in place of plan {}: the rows written since the cutover stay; the backup is not restored",
        plan.short_hash()
    )];
    let mut undo = Plan::new(PlanSource::Undo(undo), statements, notices, text);
    undo.records = records;
    Some(undo)
}
