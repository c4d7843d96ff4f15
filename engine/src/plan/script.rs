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
pub fn load(text: &str) -> Result<LoadedScript> {
    if text.contains('\0') {
        return Err(Error::InvalidArgument(BadArgument::ScriptNul));
    }
    let (pieces, trailing) = split(text)?;
    let mut statements: Vec<PlannedStatement> = Vec::with_capacity(pieces.len());
    let mut control: Vec<(usize, Control)> = Vec::new();
    for piece in &pieces {
        attach_expectations(&piece.leading, statements.last_mut(), piece.line)?;
        let words = lexer::words(&piece.sql);
        if let Some(c) = control_kind(&words, &piece.sql) {
            control.push((statements.len(), c));
        }
        statements.push(PlannedStatement {
            destructive: destructive(&words),
            sql: piece.sql.clone(),
            line: piece.line,
            expect: None,
            table: None,
        });
    }
    attach_expectations(&trailing, statements.last_mut(), text.lines().count())?;

    let mut notices = Vec::new();
    let last = statements.len().saturating_sub(1);
    let has_wrapper = statements.len() >= 2
        && matches!(control.first(), Some((0, Control::Begin)))
        && matches!(control.last(), Some((i, Control::Commit)) if *i == last);
    // With a wrapper, anything else is reported from inside it, not the wrapper's BEGIN.
    let inner = if has_wrapper { &control[1..control.len() - 1] } else { &control[..] };
    if let Some((i, c)) = inner.first() {
        let s = &statements[*i];
        return Err(Error::ScriptRefused { line: s.line, statement: first_line(&s.sql), why: c.why().to_string() });
    }
    if has_wrapper {
        notices.push(format!(
            "the script's own BEGIN (line {}) and COMMIT (line {}) were replaced: cutover runs the whole script in one transaction it controls",
            statements[0].line, statements[last].line
        ));
        statements.truncate(last);
        statements.remove(0);
    }
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
        // A last statement without its semicolon still runs, as in the sqlite3 shell.
        let leading = rest[..first].to_string();
        let line = line_at_start + leading.matches('\n').count();
        pieces.push(Piece { sql: rest[first..].trim_end().to_string(), line, leading });
        return Ok((pieces, String::new()));
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

#[derive(Debug, Clone, Copy)]
enum Control {
    Begin,
    Commit,
    Other(&'static str),
}

impl Control {
    fn why(self) -> &'static str {
        match self {
            Control::Begin | Control::Commit => {
                "cutover runs the script in one transaction of its own; remove the script's BEGIN/COMMIT (a single pair around the whole script is accepted)"
            }
            Control::Other(why) => why,
        }
    }
}

fn control_kind(words: &[Word], sql: &str) -> Option<Control> {
    let first = words.first()?.text.as_str();
    match first {
        "BEGIN" => Some(Control::Begin),
        "COMMIT" | "END" => Some(Control::Commit),
        "ROLLBACK" => Some(Control::Other("a ROLLBACK would end cutover's transaction half way")),
        "SAVEPOINT" | "RELEASE" => {
            Some(Control::Other("savepoints would interfere with cutover's transaction; remove SAVEPOINT/RELEASE"))
        }
        "VACUUM" => Some(Control::Other(
            "VACUUM cannot run inside a transaction and rewrites the whole file; run it separately",
        )),
        "ATTACH" | "DETACH" => Some(Control::Other("a migration must not reach other database files (ATTACH/DETACH)")),
        // SQLite's own parser names the pragma, however it is quoted.
        "PRAGMA" => guard::pragma_refusal(sql).map(Control::Other),
        _ => None,
    }
}

/// Why a statement destroys data, if it does.
fn destructive(words: &[Word]) -> Option<String> {
    let top: Vec<&str> = words.iter().filter(|w| w.depth == 0).map(|w| w.text.as_str()).collect();
    let first = top.iter().position(|w| !matches!(*w, "WITH" | "RECURSIVE"))?;
    let verb_at = top.iter().position(|w| matches!(*w, "DELETE" | "UPDATE" | "DROP" | "ALTER" | "INSERT" | "REPLACE"));
    match top.get(first).copied() {
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
    fn destructive_statements_are_flagged() {
        let s = load(
            "DROP TABLE old;\nDELETE FROM t;\nDELETE FROM t WHERE id = 1;\nUPDATE t SET a = 1;\n\
             UPDATE t SET a = (SELECT 1 WHERE 1) WHERE id = 2;\nALTER TABLE t DROP COLUMN c;\nALTER TABLE t ADD COLUMN d;",
        )
        .unwrap();
        let flags: Vec<bool> = s.statements.iter().map(|s| s.destructive.is_some()).collect();
        assert_eq!(flags, [true, true, true, true, false, true, false]);
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
