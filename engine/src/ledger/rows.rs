//! The ledger row each runner writes for a migration it applied, as one INSERT of the plan.
//!
//! Every value is a literal fixed when the plan is made — times included, where the runner
//! would take the clock or a column default at the moment it runs — so the rehearsal predicts
//! production's bytes exactly (MATCH) and the plan's hash covers the rows.

use chrono::{DateTime, Utc};

use super::folder::Migration;
use super::kinds::TimeForm;
use super::{Ledger, LedgerKind};
use crate::hashing::sha256_hex;
use crate::sql::{ident, literal};

/// What the rows of one plan share: when it was made, and the Flyway rank after the last.
#[derive(Debug, Clone)]
pub struct Writing {
    /// The plan's time, written as each runner writes its time.
    pub at: DateTime<Utc>,
    /// Flyway: the `installed_rank` the first row gets.
    pub next_rank: i64,
}

/// The INSERT recording `m` in `ledger`, the `i`-th row of this plan (from 0).
pub fn insert(ledger: &Ledger, m: &Migration, w: &Writing, i: usize) -> String {
    let t = ident(&ledger.table);
    let sql_time = literal(&w.at.format("%Y-%m-%d %H:%M:%S").to_string());
    match ledger.kind {
        LedgerKind::Names => {
            let shape = &ledger.shape;
            match &shape.time_column {
                Some((column, form)) => {
                    let at = match form {
                        TimeForm::Sql => sql_time,
                        TimeForm::Iso => literal(&w.at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                        TimeForm::Unix => w.at.timestamp().to_string(),
                    };
                    format!(
                        "INSERT INTO {t} ({}, {}) VALUES ({}, {at});",
                        ident(&shape.name_column),
                        ident(column),
                        literal(&m.key)
                    )
                }
                None => format!("INSERT INTO {t} ({}) VALUES ({});", ident(&shape.name_column), literal(&m.key)),
            }
        }
        // sqlx inserts -1 and, after the commit, the elapsed nanoseconds: a time cutover cannot
        // know before the rehearsal, so the row keeps sqlx's own placeholder.
        LedgerKind::Sqlx => format!(
            "INSERT INTO {t} (version, description, installed_on, success, checksum, execution_time) VALUES ({}, {}, {sql_time}, TRUE, X'{}', -1);",
            m.key,
            literal(&m.name),
            m.checksum.as_deref().unwrap_or_default()
        ),
        LedgerKind::Refinery => format!(
            "INSERT INTO {t} (version, name, applied_on, checksum) VALUES ({}, {}, {}, {});",
            m.key,
            literal(&m.name),
            literal(&w.at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            literal(m.checksum.as_deref().unwrap_or_default())
        ),
        LedgerKind::Diesel => format!("INSERT INTO {t} (version, run_on) VALUES ({}, {sql_time});", literal(&m.key)),
        LedgerKind::Goose => format!("INSERT INTO {t} (version_id, is_applied, tstamp) VALUES ({}, 1, {sql_time});", m.key),
        LedgerKind::Dbmate => format!("INSERT INTO {t} (version) VALUES ({});", literal(&m.key)),
        LedgerKind::Flyway => format!(
            "INSERT INTO {t} (installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_time, success) VALUES ({}, {}, {}, 'SQL', {}, {}, '', {}, 0, 1);",
            w.next_rank + i as i64,
            literal(&m.key),
            literal(&m.name),
            literal(&m.shown),
            m.checksum.as_deref().unwrap_or("NULL"),
            literal(&w.at.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        ),
        LedgerKind::Prisma => {
            let ms = w.at.timestamp_millis();
            format!(
                "INSERT INTO {t} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES ({}, {}, {ms}, {}, NULL, NULL, {ms}, 1);",
                literal(&uuid(&format!("{}/{}", w.at.timestamp_nanos_opt().unwrap_or_default(), m.key))),
                literal(m.checksum.as_deref().unwrap_or_default()),
                literal(&m.key)
            )
        }
    }
}

/// A version-4-shaped UUID drawn from `seed` (the plan's time and the migration), so the
/// rehearsal and production write the same one.
fn uuid(seed: &str) -> String {
    let h = sha256_hex(seed.as_bytes());
    let b = h.as_bytes();
    let part = |from: usize, to: usize| std::str::from_utf8(&b[from..to]).unwrap_or("0").to_string();
    let variant = ["8", "9", "a", "b"][usize::from(b[16] % 4)];
    format!("{}-{}-4{}-{variant}{}-{}", part(0, 8), part(8, 12), part(13, 16), part(17, 20), part(20, 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_has_the_version_4_shape() {
        let u = uuid("x");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(u, uuid("x"));
    }
}
