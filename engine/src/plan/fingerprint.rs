//! A plan's identity as SQLite will run it: the statements' tokens with comments and
//! whitespace dropped, keywords and bare names in one case, literals and quoted names kept as
//! written. One more newline, a reworded comment or another indentation is the same change;
//! another value, table or operator is another one.

use super::PlannedStatement;
use super::lexer::{skip_block, skip_line, skip_quoted, skip_word, starts_word};
use crate::hashing::sha256_hex;

/// The SHA-256 of the statements' tokens, one statement per line.
pub fn of(statements: &[PlannedStatement]) -> String {
    let mut text = String::new();
    for s in statements {
        let tokens = tokens(&s.sql);
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
            b'\'' | b'"' | b'`' | b'[' => {
                let end = skip_quoted(bytes, i, if c == b'[' { b']' } else { c });
                out.push(sql[i..end].to_string());
                i = end;
            }
            c if starts_word(c) => {
                let end = skip_word(bytes, i);
                out.push(sql[i..end].to_ascii_uppercase());
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
            fp("-- raise every price\nupdate   products\n   set price=price+10 where 1 ; /* log it */\ninsert into AUDIT_LOG(what) values('raised') ;")
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
    }
}
