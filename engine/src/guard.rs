//! What a plan's statements may not do to the transaction the engine runs them in, enforced by
//! SQLite itself: its authorizer sees every statement as SQLite parsed it, whatever the
//! spelling (`PRAGMA "journal_mode" = OFF`, `[locking_mode]`, a schema prefix), so no quoting
//! gets past it. The script loader asks the same question up front, so `plan` refuses early.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// Why an action would undo what the engine's transaction promises, if it would.
pub fn refusal(action: &AuthAction<'_>) -> Option<&'static str> {
    match action {
        AuthAction::Pragma { pragma_name, pragma_value: Some(_) } => {
            let name = pragma_name.to_ascii_lowercase();
            match name.as_str() {
                "journal_mode" => Some(
                    "a migration must not change the journal mode: without its journal the transaction could not be rolled back; change it separately",
                ),
                "locking_mode" => Some(
                    "a migration must not change the locking mode: cutover holds the database exclusively until the result is hashed, so no write can pass for the migration's",
                ),
                "synchronous" => Some(
                    "a migration must not change `synchronous`: the commit must reach the disk before cutover says it did",
                ),
                _ => None,
            }
        }
        AuthAction::Transaction { .. } => {
            Some("a migration must not control the transaction: cutover runs the whole plan in one transaction")
        }
        AuthAction::Savepoint { .. } => {
            Some("savepoints would interfere with cutover's transaction; remove SAVEPOINT/RELEASE")
        }
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => {
            Some("a migration must not reach other database files (ATTACH/DETACH)")
        }
        _ => None,
    }
}

/// The first refusal SQLite's authorizer met, kept for the error message.
#[derive(Debug, Clone, Default)]
pub struct Refused(Arc<Mutex<Option<&'static str>>>);

impl Refused {
    /// Why the last statement was refused, if it was.
    pub fn take(&self) -> Option<&'static str> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }
}

/// Installs the guard on `conn`: every statement prepared from now on is refused by SQLite
/// when it would do what [`refusal`] names.
pub fn install(conn: &mut Connection) -> rusqlite::Result<Refused> {
    let refused = Refused::default();
    let seen = refused.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| match refusal(&ctx.action) {
        Some(why) => {
            if let Ok(mut r) = seen.0.lock() {
                r.get_or_insert(why);
            }
            Authorization::Deny
        }
        None => Authorization::Allow,
    }))?;
    Ok(refused)
}

/// Takes the guard off `conn` (the engine's own COMMIT must pass).
pub fn remove(conn: &mut Connection) {
    let _ = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
}

/// Why a PRAGMA statement would be refused when it runs, asked of SQLite's own parser on a
/// scratch in-memory database (nothing runs: the guard denies before anything happens).
pub fn pragma_refusal(sql: &str) -> Option<&'static str> {
    let mut conn = Connection::open_in_memory().ok()?;
    let refused = install(&mut conn).ok()?;
    let _ = conn.prepare(sql);
    refused.take()
}

/// A pragma's name and the value it sets, if any.
pub type PragmaCall = (String, Option<String>);

/// The pragma a statement runs, as SQLite's parser reads it: its name in lower case and the
/// value it sets, if any (`PRAGMA "Foreign_Keys" = off` is `("foreign_keys", Some("off"))`).
/// `None` when the statement is not a pragma.
pub fn pragma_of(sql: &str) -> Option<PragmaCall> {
    let mut conn = Connection::open_in_memory().ok()?;
    let seen: Arc<Mutex<Option<PragmaCall>>> = Arc::default();
    let into = Arc::clone(&seen);
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        if let AuthAction::Pragma { pragma_name, pragma_value } = ctx.action
            && let Ok(mut s) = into.lock()
        {
            s.get_or_insert((pragma_name.to_ascii_lowercase(), pragma_value.map(str::to_string)));
        }
        // Nothing is run: the question is only what SQLite parsed.
        Authorization::Deny
    }))
    .ok()?;
    let _ = conn.prepare(sql);
    seen.lock().ok()?.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_refused_pragma_is_refused() {
        for sql in [
            "PRAGMA journal_mode = OFF",
            "PRAGMA \"journal_mode\" = OFF",
            "PRAGMA 'journal_mode'=off",
            "PRAGMA [journal_mode] = memory",
            "PRAGMA `journal_mode`(off)",
            "PRAGMA main.\"JOURNAL_MODE\" = delete",
            "pragma locking_mode = normal",
            "PRAGMA \"locking_mode\"=NORMAL",
            "PRAGMA synchronous = OFF",
        ] {
            assert!(pragma_refusal(sql).is_some(), "not refused: {sql}");
        }
    }

    #[test]
    fn reading_a_pragma_and_harmless_ones_pass() {
        for sql in
            ["PRAGMA journal_mode", "PRAGMA locking_mode", "PRAGMA foreign_keys = OFF", "PRAGMA user_version = 3"]
        {
            assert_eq!(pragma_refusal(sql), None, "refused: {sql}");
        }
    }

    #[test]
    fn a_pragma_is_read_as_sqlite_parses_it() {
        assert_eq!(pragma_of("PRAGMA \"Foreign_Keys\" = off"), Some(("foreign_keys".into(), Some("off".into()))));
        assert_eq!(pragma_of("pragma main.[foreign_key_check]('t')"), Some(("foreign_key_check".into(), Some("t".into()))));
        assert_eq!(pragma_of("PRAGMA foreign_key_check"), Some(("foreign_key_check".into(), None)));
        assert_eq!(pragma_of("SELECT 1"), None);
    }

    #[test]
    fn a_guarded_connection_refuses_the_statement_itself() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let refused = install(&mut conn).unwrap();
        assert!(conn.execute_batch("PRAGMA \"locking_mode\" = NORMAL").is_err());
        assert!(refused.take().is_some_and(|why| why.contains("locking mode")));
        assert!(conn.execute_batch("COMMIT").is_err(), "the plan cannot end the transaction");
        remove(&mut conn);
        conn.execute_batch("COMMIT").unwrap();
    }
}
