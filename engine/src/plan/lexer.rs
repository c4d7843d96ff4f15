//! A small SQL lexer: enough to find a statement's keywords outside strings, quoted names and
//! comments, at parenthesis depth zero. Statement boundaries come from SQLite itself
//! (`sqlite3_complete`, see `script`); this only reads what a statement is.

/// A keyword or bare word of a statement, upper-cased, with its parenthesis depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word in upper case.
    pub text: String,
    /// How many parentheses enclose it.
    pub depth: usize,
}

/// The bare words of `sql` (keywords and unquoted names), skipping strings, quoted
/// identifiers, numbers' punctuation and comments.
pub fn words(sql: &str) -> Vec<Word> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            b'\'' | b'"' | b'`' => i = skip_quoted(bytes, i, c),
            b'[' => i = skip_quoted(bytes, i, b']'),
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if starts_word(c) => {
                let start = i;
                i = skip_word(bytes, i);
                out.push(Word { text: sql[start..i].to_ascii_uppercase(), depth });
            }
            _ => i += 1,
        }
    }
    out
}

/// Byte offset of the first character that is not whitespace or part of a comment.
pub fn first_token_offset(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            _ => return i,
        }
    }
    bytes.len()
}

/// Byte offset just past the statement's last token: what follows is only whitespace and
/// comments (an `-- expect:` line after a last statement with no `;`).
pub fn code_end(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let (mut i, mut end) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            q @ (b'\'' | b'"' | b'`') => {
                i = skip_quoted(bytes, i, q);
                end = i;
            }
            b'[' => {
                i = skip_quoted(bytes, i, b']');
                end = i;
            }
            _ => {
                i += 1;
                end = i;
            }
        }
    }
    end
}

/// The text of every comment outside strings and quoted names, without its markers.
pub fn comments(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                let next = skip_line(bytes, i);
                out.push(sql[i + 2..next].trim_end_matches('\n'));
                i = next;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let next = skip_block(bytes, i);
                out.push(sql[i + 2..next].trim_end_matches("*/"));
                i = next;
            }
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(bytes, i, q),
            b'[' => i = skip_quoted(bytes, i, b']'),
            _ => i += 1,
        }
    }
    out
}

/// One token of a statement, as far as names go: a name (bare or quoted, unquoted here) or a
/// punctuation mark. Strings, numbers and comments are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare word (as written) or a quoted name (without its quotes).
    Name(String),
    /// `(`, `)`, `,` or `.`.
    Mark(char),
}

/// The names and punctuation of `sql`, in order.
pub fn tokens(sql: &str) -> Vec<Token> {
    spans(sql).into_iter().map(|s| s.token).collect()
}

/// A token with where it is in the text, for rewriting a statement in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of its first character (a quote, for a quoted name).
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// The token.
    pub token: Token,
    /// A quoted name: never a keyword.
    pub quoted: bool,
}

impl Span {
    /// Whether it is the bare word `keyword` (case-insensitive), not a quoted name.
    pub fn is(&self, keyword: &str) -> bool {
        !self.quoted && matches!(&self.token, Token::Name(n) if n.eq_ignore_ascii_case(keyword))
    }

    /// The name it stands for, if it is one.
    pub fn name(&self) -> Option<&str> {
        match &self.token {
            Token::Name(n) => Some(n),
            Token::Mark(_) => None,
        }
    }
}

/// The names and punctuation of `sql` with their places; strings, numbers, operators and
/// comments are left out.
pub fn spans(sql: &str) -> Vec<Span> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block(bytes, i),
            b'\'' => i = skip_quoted(bytes, i, b'\''),
            q @ (b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                let end = skip_quoted(bytes, i, close);
                let inner = sql.get(i + 1..end.saturating_sub(1)).unwrap_or("");
                let doubled = [close as char, close as char].iter().collect::<String>();
                let name = if q == b'[' { inner.to_string() } else { inner.replace(&doubled, &(close as char).to_string()) };
                out.push(Span { start: i, end, token: Token::Name(name), quoted: true });
                i = end;
            }
            c @ (b'(' | b')' | b',' | b'.') => {
                out.push(Span { start: i, end: i + 1, token: Token::Mark(c as char), quoted: false });
                i += 1;
            }
            c if starts_word(c) => {
                let start = i;
                i = skip_word(bytes, i);
                out.push(Span { start, end: i, token: Token::Name(sql[start..i].to_string()), quoted: false });
            }
            // A number's digits (and an `x'..'` blob's quote) are not names.
            c if c.is_ascii_digit() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether a bare word (a keyword or an unquoted name) starts with this byte.
pub(super) fn starts_word(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// The end of the bare word starting at `i`.
pub(super) fn skip_word(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$' || bytes[i] >= 0x80)
    {
        i += 1;
    }
    i
}

pub(super) fn skip_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| i + p + 1)
}

pub(super) fn skip_block(bytes: &[u8], i: usize) -> usize {
    bytes[i + 2..].windows(2).position(|w| w == b"*/").map_or(bytes.len(), |p| i + 2 + p + 2)
}

/// Skips a quoted run; a doubled closing quote inside it stands for the quote itself.
pub(super) fn skip_quoted(bytes: &[u8], i: usize, close: u8) -> usize {
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == close {
            if close != b']' && bytes.get(j + 1) == Some(&close) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        words(sql).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn strings_names_and_comments_are_not_words() {
        assert_eq!(texts("UPDATE \"where\" SET a = 'WHERE' -- WHERE\n/* WHERE */"), ["UPDATE", "SET", "A"]);
        assert_eq!(texts("select [delete] from `drop`"), ["SELECT", "FROM"]);
    }

    #[test]
    fn depth_follows_parentheses() {
        let w = words("UPDATE t SET a = (SELECT b FROM u WHERE c)");
        let wh = w.iter().find(|w| w.text == "WHERE").unwrap();
        assert_eq!(wh.depth, 1);
    }

    #[test]
    fn the_code_ends_before_trailing_comments() {
        let sql = "SELECT '-- x' -- note\n/* c */\n-- expect: 3\n";
        assert_eq!(&sql[..code_end(sql)], "SELECT '-- x'");
        assert_eq!(comments(sql), [" note", " c ", " expect: 3"]);
        assert_eq!(comments("SELECT '-- not a comment'"), Vec::<&str>::new());
    }

    #[test]
    fn tokens_unquote_names_and_skip_strings_and_comments() {
        let t = tokens("INSERT INTO \"we\"\"ird\" ([a b], `c`, d) VALUES ('tenant_id') -- tenant_id");
        let names: Vec<String> = t.iter().filter_map(|x| if let Token::Name(n) = x { Some(n.clone()) } else { None }).collect();
        assert_eq!(names, ["INSERT", "INTO", "we\"ird", "a b", "c", "d", "VALUES"]);
        assert_eq!(t.iter().filter(|x| **x == Token::Mark('(')).count(), 2);
    }

    #[test]
    fn first_token_skips_comments() {
        let sql = "  -- note\n /* x */ SELECT 1";
        assert_eq!(&sql[first_token_offset(sql)..], "SELECT 1");
    }
}
