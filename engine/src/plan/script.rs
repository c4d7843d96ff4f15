//! Loading a hand-written `.sql` migration: split into statements by SQLite's own tokenizer,
//! each with its line; refusing what would fight the engine's transaction; flagging what
//! destroys data; reading `-- expect:` assertions.

use std::ffi::CString;

use crate::error::{Error, Result};
use crate::guard;
use crate::plan::PlannedStatement;
use crate::plan::lexer::{self, Word};
use crate::refusal::BadArgument;

/// A script's statements, ready to become a plan.
#[derive(Debug, Clone)]
pub struct LoadedScript {
    /// The statements to run, the transaction wrapper removed.
    pub statements: Vec<PlannedStatement>,
    /// Things the technician should know (a wrapper was replaced, …).
    pub notices: Vec<String>,
}

/// One complete statement cut from the script, with the comments that preceded it.
struct Piece {
    sql: String,
    line: usize,
    leading: String,
}

/// Parses a script (already LF-normalised). Refuses, with the statement's line, anything that
/// would take the transaction away from the engine.
///
/// Scripts are accepted in the shapes people and generators write them: one BEGIN … COMMIT
/// around the whole script is replaced by cutover's own transaction, and the
/// `PRAGMA foreign_keys=OFF` before it and `=ON` after it (SQLite's documented 12-step
/// procedure) are left out, because that is how cutover always runs a plan. A
/// `PRAGMA foreign_key_check` inside runs, and fails the run on any violation.
pub fn load(text: &str) -> Result<LoadedScript> {
    load_as(text, false)
}

/// [`load`] for one file of an application's migrations folder: its runner runs each file in
/// a transaction, where SQLite ignores `PRAGMA foreign_keys`, so the switches are left out
/// wherever they stand (Prisma's table redefinitions switch them off and on mid-file).
pub fn load_migration(text: &str) -> Result<LoadedScript> {
    load_as(text, true)
}

fn load_as(text: &str, migration: bool) -> Result<LoadedScript> {
    if text.contains('\0') {
        return Err(Error::InvalidArgument(BadArgument::ScriptNul));
    }
    let (pieces, trailing) = split(text)?;
    let mut statements: Vec<PlannedStatement> = Vec::with_capacity(pieces.len());
    let mut kinds: Vec<Kind> = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        attach_expectations(&piece.leading, statements.last_mut(), piece.line)?;
        let words = lexer::words(&piece.sql);
        let kind = kind_of(&words, &piece.sql);
        statements.push(PlannedStatement {
            destructive: destructive(&words),
            sql: piece.sql.clone(),
            line: piece.line,
            expect: None,
            table: None,
            foreign_key_check: kind == Kind::ForeignKeyCheck,
            file: None,
            ledger_row: false,
        });
        kinds.push(kind);
    }
    attach_expectations(&trailing, statements.last_mut(), text.lines().count())?;

    let mut notices = Vec::new();
    // The connection settings before the work and after it: not part of the transaction.
    let lead = kinds.iter().take_while(|k| k.is_setting()).count();
    let trail = kinds[lead..].iter().rev().take_while(|k| k.is_setting()).count();
    let core = lead..kinds.len() - trail;
    let has_wrapper = core.len() >= 2 && kinds[core.start] == Kind::Begin && kinds[core.end - 1] == Kind::Commit;
    let wrapper = if has_wrapper { [core.start, core.end - 1] } else { [usize::MAX; 2] };
    let left_out = |i: usize, k: Kind| {
        (i < lead && k == Kind::ForeignKeys(false))
            || (i >= core.end && k == Kind::ForeignKeys(true))
            || (migration && matches!(k, Kind::ForeignKeys(_)))
    };
    for (i, k) in kinds.iter().enumerate() {
        if wrapper.contains(&i) || left_out(i, *k) {
            continue;
        }
        if let Some(why) = k.refusal() {
            let s = &statements[i];
            return Err(Error::ScriptRefused { line: s.line, statement: first_line(&s.sql), why: why.to_string() });
        }
    }
    let switches: Vec<String> = (0..kinds.len())
        .filter(|&i| left_out(i, kinds[i]))
        .map(|i| format!("{} (line {})", first_line(&statements[i].sql).trim_end_matches(';'), statements[i].line))
        .collect();
    if !switches.is_empty() {
        notices.push(format!(
            "left out {}: cutover always runs a plan with foreign keys off and checks them in the verification (foreign_key_check), which is what these ask for",
            switches.join(" and ")
        ));
    }
    if has_wrapper {
        notices.push(format!(
            "the script's own BEGIN (line {}) and COMMIT (line {}) were replaced: cutover runs the whole script in one transaction it controls",
            statements[wrapper[0]].line, statements[wrapper[1]].line
        ));
    }
    for s in statements.iter().filter(|s| s.foreign_key_check) {
        notices.push(format!(
            "the script's {} (line {}) runs inside the transaction: any violation the script makes stops the run, and nothing changes (one the file had before is carried, and shown)",
            first_line(&s.sql).trim_end_matches(';'),
            s.line
        ));
    }
    // An `-- expect:` after a statement that is taken out would check nothing.
    if let Some(s) = statements
        .iter()
        .enumerate()
        .find(|(i, s)| (wrapper.contains(i) || left_out(*i, kinds[*i])) && s.expect.is_some())
        .map(|(_, s)| s)
    {
        return Err(Error::ScriptRefused {
            line: s.line,
            statement: format!("-- expect: {}", s.expect.as_deref().unwrap_or("")),
            why: format!(
                "an `-- expect:` line must follow the SELECT it checks; this one follows `{}`, which cutover takes out",
                first_line(&s.sql)
            ),
        });
    }
    // One inside a statement is not read at all: say so rather than skip it.
    if let Some(s) = statements
        .iter()
        .find(|s| lexer::comments(&s.sql).iter().any(|c| c.trim_start().starts_with("expect:")))
    {
        return Err(Error::ScriptRefused {
            line: s.line,
            statement: first_line(&s.sql),
            why: "an `-- expect:` line inside a statement is not read: put it after the statement's `;`".into(),
        });
    }
    let statements: Vec<PlannedStatement> = statements
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !wrapper.contains(i) && !left_out(*i, kinds[*i]))
        .map(|(_, s)| s)
        .collect();
    if statements.is_empty() {
        return Err(Error::InvalidArgument(BadArgument::ScriptEmpty));
    }
    for s in statements.iter().filter(|s| s.expect.is_some()) {
        if !returns_rows(&lexer::words(&s.sql)) {
            return Err(Error::ScriptRefused {
                line: s.line,
                statement: first_line(&s.sql),
                why: "an `-- expect:` line must follow a SELECT, whose first value it checks".into(),
            });
        }
    }
    Ok(LoadedScript { statements, notices })
}

/// Cuts the script into complete statements with SQLite's `sqlite3_complete`, the tokenizer
/// the sqlite3 shell uses: a `;` inside a string, a comment or a trigger body does not end a
/// statement. Returns the pieces and the text after the last one.
/// Every complete statement of `text` with its line, as SQLite's tokenizer cuts them, and the
/// first word of each (upper case): nothing refused, nothing taken out — a runner's view.
pub fn statements(text: &str) -> Result<Vec<(String, usize, String)>> {
    let (pieces, _) = split(text)?;
    Ok(pieces
        .into_iter()
        .map(|p| {
            let first = lexer::words(&p.sql).into_iter().next().map(|w| w.text).unwrap_or_default();
            (p.sql, p.line, first)
        })
        .collect())
}

fn split(text: &str) -> Result<(Vec<Piece>, String)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut line_at_start = 1;
    for (i, _) in text.match_indices(';') {
        let candidate = &text[start..=i];
        if !is_complete(candidate)? {
            continue;
        }
        let first = lexer::first_token_offset(candidate);
        let leading = candidate[..first].to_string();
        let line = line_at_start + leading.matches('\n').count();
        let sql = candidate[first..].trim_end().to_string();
        if sql != ";" {
            pieces.push(Piece { sql, line, leading });
        }
        line_at_start += candidate.matches('\n').count();
        start = i + 1;
    }
    let rest = &text[start..];
    let first = lexer::first_token_offset(rest);
    if first < rest.len() {
        // A last statement without its semicolon still runs, as in the sqlite3 shell; the
        // comments after it (an `-- expect:`) are not part of it.
        let leading = rest[..first].to_string();
        let line = line_at_start + leading.matches('\n').count();
        let body = &rest[first..];
        let end = lexer::code_end(body);
        pieces.push(Piece { sql: body[..end].to_string(), line, leading });
        return Ok((pieces, body[end..].to_string()));
    }
    Ok((pieces, rest.to_string()))
}

fn is_complete(sql: &str) -> Result<bool> {
    let c = CString::new(sql).map_err(|_| Error::InvalidArgument(BadArgument::ScriptNul))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; sqlite3_complete
    // only reads it and needs no connection.
    let complete = unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) };
    Ok(complete != 0)
}

/// Reads `-- expect: <value>` lines from the comments after a statement.
fn attach_expectations(comments: &str, previous: Option<&mut PlannedStatement>, line: usize) -> Result<()> {
    let expected: Vec<&str> = comments
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--"))
        .filter_map(|l| l.trim_start().strip_prefix("expect:"))
        .map(str::trim)
        .collect();
    let Some(value) = expected.last() else { return Ok(()) };
    match previous {
        Some(s) => {
            s.expect = Some((*value).to_string());
            Ok(())
        }
        None => Err(Error::ScriptRefused {
            line,
            statement: format!("-- expect: {value}"),
            why: "an `-- expect:` line must follow the SELECT it checks".into(),
        }),
    }
}

/// What a statement is to the transaction cutover runs the script in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Work: runs as written.
    Plain,
    Begin,
    Commit,
    /// `PRAGMA foreign_keys = ON/OFF`.
    ForeignKeys(bool),
    /// `PRAGMA legacy_alter_table = …`: a setting of the connection, allowed anywhere.
    LegacyAlterTable,
    /// `PRAGMA foreign_key_check`: runs, and any violation fails it.
    ForeignKeyCheck,
    /// Refused wherever it stands, with why.
    Refused(&'static str),
}

impl Kind {
    /// A setting of the connection, which may stand before the script's BEGIN or after its
    /// COMMIT without being part of the work.
    fn is_setting(self) -> bool {
        matches!(self, Kind::ForeignKeys(_) | Kind::LegacyAlterTable)
    }

    /// Why it cannot run inside cutover's transaction (wrappers and surrounding switches are
    /// taken out before this is asked).
    fn refusal(self) -> Option<&'static str> {
        match self {
            Kind::Begin | Kind::Commit => Some(
                "cutover runs the script in one transaction of its own; remove the script's BEGIN/COMMIT (a single pair around the whole script is accepted)",
            ),
            Kind::ForeignKeys(true) => Some(
                "cutover runs the script with foreign keys off, in one transaction, where SQLite ignores this pragma: the checks and cascades it asks for would not happen. Remove it (a PRAGMA foreign_keys=ON after the script's COMMIT is accepted); the verification's foreign_key_check fails any violation the script leaves",
            ),
            Kind::Refused(why) => Some(why),
            Kind::Plain | Kind::ForeignKeys(false) | Kind::LegacyAlterTable | Kind::ForeignKeyCheck => None,
        }
    }
}

fn kind_of(words: &[Word], sql: &str) -> Kind {
    let Some(first) = words.first() else { return Kind::Plain };
    match first.text.as_str() {
        "BEGIN" => Kind::Begin,
        "COMMIT" | "END" => Kind::Commit,
        "ROLLBACK" => Kind::Refused("a ROLLBACK would end cutover's transaction half way"),
        "SAVEPOINT" | "RELEASE" => {
            Kind::Refused("savepoints would interfere with cutover's transaction; remove SAVEPOINT/RELEASE")
        }
        "VACUUM" => Kind::Refused("VACUUM cannot run inside a transaction and rewrites the whole file; run it separately"),
        "ATTACH" | "DETACH" => Kind::Refused("a migration must not reach other database files (ATTACH/DETACH)"),
        // SQLite's own parser names the pragma, however it is quoted.
        "PRAGMA" => {
            if let Some(why) = guard::pragma_refusal(sql) {
                return Kind::Refused(why);
            }
            match guard::pragma_of(sql) {
                Some((name, value)) => match (name.as_str(), value.as_deref()) {
                    ("foreign_keys", Some(v)) => Kind::ForeignKeys(sqlite_boolean(v)),
                    ("legacy_alter_table", Some(_)) => Kind::LegacyAlterTable,
                    ("foreign_key_check", _) => Kind::ForeignKeyCheck,
                    _ => Kind::Plain,
                },
                None => Kind::Plain,
            }
        }
        _ => Kind::Plain,
    }
}

/// A pragma's boolean as SQLite reads it: a number is true unless 0; `on`, `yes`, `true`,
/// `full` and `extra` are true; anything else is false.
fn sqlite_boolean(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '\'' || c == '"').to_ascii_lowercase();
    let digits: String =
        v.trim_start_matches(['+', '-']).chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        return !digits.trim_start_matches('0').is_empty();
    }
    matches!(v.as_str(), "on" | "yes" | "true" | "full" | "extra")
}

/// Why a statement destroys data, if it does.
fn destructive(words: &[Word]) -> Option<String> {
    let top: Vec<&str> = words.iter().filter(|w| w.depth == 0).map(|w| w.text.as_str()).collect();
    let first = top.iter().position(|w| !matches!(*w, "WITH" | "RECURSIVE"))?;
    let verb_at = top.iter().position(|w| matches!(*w, "DELETE" | "UPDATE" | "DROP" | "ALTER" | "INSERT" | "REPLACE"));
    match top.get(first).copied() {
        // A trigger's body (its UPDATE, DELETE …) is not run by creating it.
        Some("CREATE") => None,
        Some("DROP") => Some(
            format!("DROP {} removes it and everything in it", top.get(first + 1).copied().unwrap_or(""))
                .trim()
                .to_string(),
        ),
        Some("ALTER") if top.windows(2).any(|w| w == ["DROP", "COLUMN"]) || top.contains(&"DROP") => {
            Some("ALTER TABLE … DROP COLUMN deletes that column's data".into())
        }
        _ => match verb_at.map(|i| top[i]) {
            Some("DELETE") if !top.contains(&"WHERE") => Some("DELETE without WHERE removes every row".into()),
            Some("DELETE") => Some("DELETE removes rows".into()),
            Some("UPDATE") if !top.contains(&"WHERE") => Some("UPDATE without WHERE changes every row".into()),
            _ => None,
        },
    }
}

fn returns_rows(words: &[Word]) -> bool {
    matches!(words.first().map(|w| w.text.as_str()), Some("SELECT" | "WITH" | "VALUES" | "PRAGMA"))
}

/// The statement's first line, for messages.
pub fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or("").trim();
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(100).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_in_strings_comments_and_triggers_do_not_split() {
        let s = load(
            "INSERT INTO t VALUES ('a;b'); -- c;d\n\
             CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE u SET n = n + 1;\n  DELETE FROM v WHERE x = 1;\nEND;\n\
             /* ; */ SELECT 1",
        )
        .unwrap();
        assert_eq!(s.statements.len(), 3);
        assert_eq!(s.statements[0].sql, "INSERT INTO t VALUES ('a;b');");
        assert!(s.statements[1].sql.starts_with("CREATE TRIGGER") && s.statements[1].sql.ends_with("END;"));
        assert_eq!(s.statements[1].line, 2);
        assert_eq!(s.statements[2].line, 6);
        assert_eq!(s.statements[1].destructive, None, "a trigger body is not run by the script");
    }

    #[test]
    fn a_single_wrapper_is_replaced_with_a_notice() {
        let s = load("BEGIN TRANSACTION;\nUPDATE t SET a = 1 WHERE b = 2;\nCOMMIT;\n").unwrap();
        assert_eq!(s.statements.len(), 1);
        assert_eq!(s.statements[0].line, 2);
        assert!(s.notices[0].contains("replaced"));
    }

    #[test]
    fn transaction_control_inside_is_refused_with_its_line() {
        for (script, line) in [
            ("UPDATE t SET a = 1 WHERE b;\nCOMMIT;\nUPDATE t SET a = 2 WHERE b;", 2),
            ("BEGIN;\nSAVEPOINT x;\nCOMMIT;", 2),
            ("SELECT 1;\n\nVACUUM;", 3),
            ("ATTACH 'x.db' AS x;", 1),
            ("PRAGMA main.journal_mode = DELETE;", 1),
            ("BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;", 1),
        ] {
            match load(script) {
                Err(Error::ScriptRefused { line: got, .. }) => assert_eq!(got, line, "{script}"),
                other => panic!("{script}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_documented_twelve_step_shape_is_accepted() {
        let s = load(
            "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nPRAGMA legacy_alter_table=ON;\nCREATE TABLE new_t(a);\n\
             INSERT INTO new_t SELECT a FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;\n\
             PRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys=ON;\n",
        )
        .unwrap();
        let lines: Vec<usize> = s.statements.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8], "the wrapper and the switches around it are left out");
        assert!(s.statements[5].foreign_key_check && !s.statements[4].foreign_key_check);
        assert!(s.notices.iter().any(|n| n.contains("foreign_keys=OFF (line 1)") && n.contains("(line 10)")));
        assert!(s.notices.iter().any(|n| n.contains("BEGIN (line 2)") && n.contains("COMMIT (line 9)")));
    }

    #[test]
    fn foreign_keys_on_where_it_would_not_take_effect_is_refused() {
        for (script, line) in [
            ("PRAGMA foreign_keys=ON;\nBEGIN;\nDELETE FROM p WHERE id = 1;\nCOMMIT;", 1),
            ("BEGIN;\nPRAGMA \"foreign_keys\" = 1;\nDELETE FROM p WHERE id = 1;\nCOMMIT;", 2),
            ("PRAGMA foreign_keys=OFF;\nBEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\nPRAGMA foreign_keys=ON;", 2),
        ] {
            match load(script) {
                Err(Error::ScriptRefused { line: got, .. }) => assert_eq!(got, line, "{script}"),
                other => panic!("{script}: expected a refusal, got {other:?}"),
            }
        }
        // Without a wrapper the switches around the work are still what cutover does.
        let s = load("PRAGMA foreign_keys = off;\nUPDATE t SET a = 1 WHERE b;\nPRAGMA foreign_keys = on;").unwrap();
        assert_eq!(s.statements.len(), 1);
        // Switching them off again inside changes nothing and runs.
        assert_eq!(load("BEGIN;\nPRAGMA foreign_keys=OFF;\nSELECT 1;\nCOMMIT;").unwrap().statements.len(), 2);
    }

    #[test]
    fn every_expect_line_is_read_or_refused() {
        let s = load("UPDATE t SET a = 1 WHERE b;\nSELECT count(*) FROM t\n-- expect: 12\n").unwrap();
        assert_eq!(s.statements[1].expect.as_deref(), Some("12"), "after a last statement with no `;`");
        assert_eq!(s.statements[1].sql, "SELECT count(*) FROM t");
        for script in [
            "BEGIN;\nSELECT count(*) FROM t;\nCOMMIT;\n-- expect: 3\n",
            "PRAGMA foreign_keys=OFF;\nBEGIN;\nSELECT 1;\nCOMMIT;\nPRAGMA foreign_keys=ON;\n-- expect: 1\n",
            "SELECT count(*)\n-- expect: 3\nFROM t;",
        ] {
            assert!(matches!(load(script), Err(Error::ScriptRefused { .. })), "{script}");
        }
    }

    #[test]
    fn foreign_keys_values_are_read_as_sqlite_reads_them() {
        for v in ["ON", "1", "2", "full", "yes", "'on'", "TRUE"] {
            assert!(sqlite_boolean(v), "{v}");
        }
        for v in ["off", "0", "no", "false", "00", "nonsense"] {
            assert!(!sqlite_boolean(v), "{v}");
        }
    }

    #[test]
    fn destructive_statements_are_flagged() {
        let s = load(
            "DROP TABLE old;\nDELETE FROM t;\nDELETE FROM t WHERE id = 1;\nUPDATE t SET a = 1;\n\
             UPDATE t SET a = (SELECT 1 WHERE 1) WHERE id = 2;\nALTER TABLE t DROP COLUMN c;\nALTER TABLE t ADD COLUMN d;",
        )
        .unwrap();
        let flags: Vec<bool> = s.statements.iter().map(|s| s.destructive.is_some()).collect();
        assert_eq!(flags, [true, true, true, true, false, true, false]);
        let trigger = load("CREATE TRIGGER tr BEFORE UPDATE OF a ON t BEGIN DELETE FROM u; END;").unwrap();
        assert_eq!(trigger.statements[0].destructive, None, "creating a trigger runs none of its body");
        assert!(s.statements[1].destructive.as_deref().unwrap().contains("every row"));
        assert!(s.statements[3].destructive.as_deref().unwrap().contains("every row"));
    }

    #[test]
    fn expectations_attach_to_the_select_before_them() {
        let s = load("UPDATE t SET a = 1 WHERE b;\nSELECT count(*) FROM t; -- expect: 3\nSELECT 'x';\n-- expect: x\n")
            .unwrap();
        assert_eq!(s.statements[1].expect.as_deref(), Some("3"));
        assert_eq!(s.statements[2].expect.as_deref(), Some("x"));
        assert!(matches!(load("UPDATE t SET a = 1 WHERE b; -- expect: 1"), Err(Error::ScriptRefused { .. })));
    }

    #[test]
    fn empty_scripts_are_refused() {
        assert!(load("  -- nothing here\n").is_err());
        assert!(load("BEGIN; COMMIT;").is_err());
    }
}
