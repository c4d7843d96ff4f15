//! A plan's identity as SQLite will run it, in two strengths.
//!
//! The identity ([`of`]): the statements' tokens with comments and whitespace dropped and
//! SQLite's keywords in one case; names and literals as written, a name in `[…]` or backquotes
//! taken as the bare word it could be. One more newline, a reworded comment or another
//! indentation is the same change; another value, name or operator is another one.
//!
//! The likeness ([`like`]): every word in one case and without its quotes. Statements alike but
//! not the same differ only in the case or quoting of words — the same change when those words
//! are names (SQLite matches names without regard to case or quoting), another when one is a
//! value (a double-quoted or bare word SQLite reads as a string, `'Pending'` for `'pending'`).
//! A likeness alone never says "already done"; it says the change cannot be told apart.

use super::PlannedStatement;
use super::lexer::{skip_block, skip_line, skip_quoted, skip_word, starts_word};
use crate::hashing::sha256_hex;

/// The SHA-256 of the statements' tokens, one statement per line.
pub fn of(statements: &[PlannedStatement]) -> String {
    digest(statements, false)
}

/// The SHA-256 of the statements' words in one case and without quotes, one statement per line.
pub fn like(statements: &[PlannedStatement]) -> String {
    digest(statements, true)
}

fn digest(statements: &[PlannedStatement], loose: bool) -> String {
    let mut text = String::new();
    // A row recording the script as the application's migration (`--record-as`) carries the
    // plan's time: it is not part of what the script does.
    for s in statements.iter().filter(|s| !s.ledger_row) {
        let tokens: Vec<String> = tokens(&s.sql).into_iter().map(|t| if loose { loosened(&t) } else { t }).collect();
        // A statement's closing `;` is the loader's, not the statement's.
        let end = tokens.iter().rposition(|t| t != ";").map_or(0, |i| i + 1);
        text.push_str(&tokens[..end].join(" "));
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// The tokens of `sql` that SQLite acts on, in order.
fn tokens(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            c if c.is_ascii_whitespace() => i += 1,
            b'\'' => {
                let end = skip_quoted(bytes, i, b'\'');
                out.push(sql[i..end].to_string());
                i = end;
            }
            // A double-quoted word is a name, or a string where no column has that name: kept
            // as written. `[…]` and backquotes are always names.
            b'"' => {
                let end = skip_quoted(bytes, i, b'"');
                out.push(sql[i..end].to_string());
                i = end;
            }
            b'`' | b'[' => {
                let end = skip_quoted(bytes, i, if c == b'[' { b']' } else { c });
                out.push(quoted_name(&sql[i..end]));
                i = end;
            }
            // A blob literal, `x'00ff'`: one token (`x '00ff'` is a name and a string).
            b'x' | b'X' if bytes.get(i + 1) == Some(&b'\'') => {
                let end = skip_quoted(bytes, i + 1, b'\'');
                out.push(format!("X{}", sql[i + 1..end].to_ascii_uppercase()));
                i = end;
            }
            c if starts_word(c) => {
                let end = skip_word(bytes, i);
                let word = &sql[i..end];
                out.push(if is_keyword(word) { word.to_ascii_uppercase() } else { word.to_string() });
                i = end;
            }
            c if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                let start = i;
                while i < bytes.len() {
                    let b = bytes[i];
                    let exponent_sign =
                        (b == b'+' || b == b'-') && i > start && matches!(bytes[i - 1], b'e' | b'E') && !is_hex(&sql[start..i]);
                    if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push(sql[start..i].to_ascii_uppercase());
            }
            _ => {
                // An operator or a mark, one character at a time: `<=` and `< =` read alike,
                // which only matters for text SQLite would refuse anyway.
                let ch = sql[i..].chars().next().unwrap_or(' ');
                out.push(ch.to_string());
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// Whether SQLite takes `word` for one of its keywords (any case).
fn is_keyword(word: &str) -> bool {
    let Ok(len) = i32::try_from(word.len()) else { return false };
    // SAFETY: the pointer and length describe `word`'s bytes, which SQLite only reads.
    unsafe { rusqlite::ffi::sqlite3_keyword_check(word.as_ptr().cast(), len) != 0 }
}

/// A token in one case, without the quotes of a string or a name.
fn loosened(token: &str) -> String {
    let t = token.to_ascii_uppercase();
    let unquoted = match t.as_bytes().first() {
        Some(b'\'') | Some(b'"') if t.len() >= 2 => &t[1..t.len() - 1],
        _ => t.as_str(),
    };
    unquoted.to_string()
}

/// A name in `[…]` or backquotes as a token: the bare word as written when it could be written
/// bare (`[price]` is `price`), else its text in double quotes, so `[my table]` never reads as
/// `my table`.
fn quoted_name(quoted: &str) -> String {
    let (open, close) = match quoted.as_bytes().first() {
        Some(b'[') => ('[', ']'),
        Some(&q) => (q as char, q as char),
        None => return String::new(),
    };
    let inner = quoted.strip_prefix(open).unwrap_or(quoted);
    let inner = inner.strip_suffix(close).unwrap_or(inner);
    let name = if open == '[' { inner.to_string() } else { inner.replace(&format!("{close}{close}"), &close.to_string()) };
    let bare = name.bytes().next().is_some_and(starts_word)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80);
    if bare && !is_keyword(&name) { name } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

fn is_hex(number: &str) -> bool {
    number.len() > 1 && number[..2].eq_ignore_ascii_case("0x")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(sql: &str) -> String {
        let statements = crate::plan::script::load(sql).unwrap().statements;
        of(&statements)
    }

    #[test]
    fn whitespace_comments_and_case_do_not_change_it() {
        let base = fp("UPDATE products SET price = price + 10 WHERE 1;\nINSERT INTO audit_log (what) VALUES ('raised');\n");
        assert_eq!(base, fp("UPDATE products SET price = price + 10 WHERE 1;\nINSERT INTO audit_log (what) VALUES ('raised');\n\n"));
        assert_eq!(
            base,
            fp("-- raise every price\nupdate   products\n   set price=price+10 where 1 ; /* log it */\ninsert into audit_log(what) values('raised') ;")
        );
        assert_eq!(base, fp("BEGIN;\nUPDATE products SET price = price + 10 WHERE 1;\nINSERT INTO audit_log (what) VALUES ('raised');\nCOMMIT;\n"));
    }

    #[test]
    fn literals_names_and_operators_do() {
        let base = fp("UPDATE products SET price = price + 10 WHERE 1;");
        for other in [
            "UPDATE products SET price = price + 11 WHERE 1;",
            "UPDATE products SET price = price - 10 WHERE 1;",
            "UPDATE items SET price = price + 10 WHERE 1;",
            "UPDATE products SET price = price + 1.0e1 WHERE 1;",
            "UPDATE products SET price = price + 10 WHERE 1; UPDATE products SET price = price + 10 WHERE 1;",
        ] {
            assert_ne!(base, fp(other), "{other}");
        }
        assert_ne!(fp("INSERT INTO t VALUES ('a b');"), fp("INSERT INTO t VALUES ('a  b');"), "inside a string, spaces count");
        assert_ne!(fp("INSERT INTO t VALUES ('x');"), fp("INSERT INTO t VALUES ('X');"), "inside a string, case counts");
        assert_ne!(fp("SELECT 1e+5;"), fp("SELECT 1e-5;"));
        assert_ne!(fp("SELECT 1 -- x\n- 2;"), fp("SELECT 1 2;"));
        // A blob literal is not a name followed by a string.
        assert_ne!(fp("INSERT INTO t SELECT x'6869' FROM u;"), fp("INSERT INTO t SELECT x '6869' FROM u;"));
        assert_eq!(fp("INSERT INTO t VALUES (x'6869');"), fp("INSERT INTO t VALUES (X'6869');"));
        // A quoted name that cannot be written bare stays one name.
        assert_ne!(fp("SELECT [my table] FROM t;"), fp("SELECT my table FROM t;"));
    }

    fn alike(sql: &str) -> String {
        like(&crate::plan::script::load(sql).unwrap().statements)
    }

    #[test]
    fn brackets_and_backquotes_are_the_bare_name() {
        let bare = fp("UPDATE products SET price = price + 10 WHERE price > 0; INSERT INTO audit_log (what) VALUES ('x');");
        let quoted = "UPDATE [products] SET [price] = `price` + 10 WHERE price > 0; INSERT INTO `audit_log` (what) VALUES ('x');";
        assert_eq!(bare, fp(quoted));
    }

    #[test]
    fn case_or_double_quotes_make_statements_alike_never_the_same() {
        let base = "UPDATE products SET price = price + 10 WHERE price > 0; INSERT INTO audit_log (what) VALUES ('raised');";
        for other in [
            // Names: the same change to SQLite.
            "UPDATE \"products\" SET \"price\" = \"price\" + 10 WHERE price > 0; INSERT INTO audit_log (what) VALUES ('raised');",
            "UPDATE Products SET PRICE = price + 10 WHERE price > 0; INSERT INTO audit_log (what) VALUES ('raised');",
            // Values: another change, alike in words.
            "UPDATE products SET price = price + 10 WHERE price > 0; INSERT INTO audit_log (what) VALUES (\"raised\");",
            "UPDATE products SET price = price + 10 WHERE price > 0; INSERT INTO audit_log (what) VALUES ('Raised');",
        ] {
            assert_ne!(fp(base), fp(other), "{other}");
            assert_eq!(alike(base), alike(other), "{other}");
        }
        assert_ne!(fp("CREATE TABLE t (s TEXT DEFAULT Pending);"), fp("CREATE TABLE t (s TEXT DEFAULT pending);"));
        assert_ne!(alike(base), alike(&base.replace("10", "11")), "another value is not alike");
    }
}
