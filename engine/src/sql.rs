//! Quoting of SQL identifiers and string literals, correct for any name or value.

/// Quotes an identifier for SQLite: `we"ird` → `"we""ird"`.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a text literal for SQLite: `O'Brien` → `'O''Brien'`.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Reads back a single-quoted literal as SQLite stores it in a column default.
///
/// Returns `None` when `text` is not exactly one single-quoted string literal.
pub fn unquote_literal(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside the literal a quote is only legal doubled.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_their_quotes() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(ident("select"), "\"select\"");
    }

    #[test]
    fn literals_round_trip() {
        for v in ["acme", "O'Brien", "''", "naïve ☕", "a\nb", ""] {
            assert_eq!(unquote_literal(&literal(v)).as_deref(), Some(v));
        }
        assert_eq!(unquote_literal("'a'b'"), None);
        assert_eq!(unquote_literal("42"), None);
    }
}
