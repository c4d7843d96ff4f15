//! A table's CREATE statement as SQLite stores it (`CREATE TABLE <name> (<items>) <options>`),
//! read into its column definitions and table constraints, so one key can be rewritten to lead
//! with the tenant column while every other byte — types, defaults, COLLATE, CHECK, generated
//! columns, foreign keys, STRICT, WITHOUT ROWID — stays as written.

use std::ops::Range;

use crate::plan::lexer::{self, Span, Token};
use crate::sql;

/// One column definition or table constraint.
#[derive(Debug, Clone)]
struct Item {
    /// Where its code is (without the whitespace and comments around it).
    code: Range<usize>,
    /// Its tokens.
    spans: Vec<Span>,
    /// A table constraint (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY), not a column.
    constraint: bool,
}

/// Whether a key is a PRIMARY KEY or a UNIQUE constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `PRIMARY KEY`.
    Primary,
    /// `UNIQUE`.
    Unique,
}

impl KeyKind {
    fn words(self) -> &'static str {
        match self {
            KeyKind::Primary => "PRIMARY KEY",
            KeyKind::Unique => "UNIQUE",
        }
    }
}

/// A CREATE TABLE statement and the edits made to it.
#[derive(Debug, Clone)]
pub struct Definition {
    sql: String,
    /// Just past the table's name: the text kept from here on.
    name_end: usize,
    items: Vec<Item>,
    edits: Vec<(Range<usize>, String)>,
    /// Constraints moved from a column to the end of the list.
    appended: Vec<String>,
    /// Table constraints already rewritten (a key is rewritten once).
    used: Vec<usize>,
    /// Where the column clauses already moved out start.
    moved: Vec<usize>,
}

impl Definition {
    /// Reads `sql` (from `sqlite_schema`); `None` when it is not a CREATE TABLE with a column
    /// list this reader understands (`CREATE TABLE … AS SELECT` is stored with its columns).
    pub fn read(sql: &str) -> Option<Definition> {
        let spans = lexer::spans(sql);
        let (create, table, name) = (spans.first()?, spans.get(1)?, spans.get(2)?);
        if !create.is("CREATE") || !table.is("TABLE") || name.name().is_none() {
            return None;
        }
        let open = spans.get(3)?;
        if open.token != Token::Mark('(') {
            return None;
        }
        let mut items = Vec::new();
        let mut depth = 0usize;
        let mut start = open.end;
        let mut current: Vec<Span> = Vec::new();
        let mut closed = false;
        for s in &spans[4..] {
            match s.token {
                Token::Mark('(') => depth += 1,
                Token::Mark(')') if depth == 0 => {
                    items.push(item(sql, start..s.start, std::mem::take(&mut current))?);
                    closed = true;
                    break;
                }
                Token::Mark(')') => depth -= 1,
                Token::Mark(',') if depth == 0 => {
                    items.push(item(sql, start..s.start, std::mem::take(&mut current))?);
                    start = s.end;
                    continue;
                }
                _ => {}
            }
            current.push(s.clone());
        }
        if !closed || items.is_empty() {
            return None;
        }
        Some(Definition {
            sql: sql.to_string(),
            name_end: name.end,
            items,
            edits: Vec::new(),
            appended: Vec::new(),
            used: Vec::new(),
            moved: Vec::new(),
        })
    }

    /// Rewrites the key `kind` over `columns` to lead with `tenant`: a table constraint gets the
    /// column first in its list; a column's own constraint moves to the end of the list as a
    /// table constraint, with its name and conflict clause. `None` when no such key is written.
    pub fn rescope(&mut self, kind: KeyKind, columns: &[String], tenant: &str) -> Option<(String, String)> {
        let t = sql::ident(tenant);
        if let Some(i) = self.table_key(kind, columns) {
            let item = &self.items[i];
            let open = item.spans.iter().find(|s| s.token == Token::Mark('('))?;
            let at = open.end;
            let written = self.sql[item.code.clone()].to_string();
            self.edits.push((at..at, format!("{t}, ")));
            self.used.push(i);
            let after = format!("{}{t}, {}", &self.sql[item.code.start..at], &self.sql[at..item.code.end]);
            return Some((written, after));
        }
        let [column] = columns else { return None };
        let (i, clause) = self.column_key(kind, column)?;
        let item = &self.items[i];
        let (first, last) = (&item.spans[clause.start], &item.spans[clause.end - 1]);
        let name = if item.spans[clause.start].is("CONSTRAINT") {
            Some(format!("{} {} ", self.sql_of(&item.spans[clause.start]), self.sql_of(&item.spans[clause.start + 1])))
        } else {
            None
        };
        let words = &item.spans[clause.clone()];
        let order = words.iter().find(|s| s.is("ASC") || s.is("DESC")).map(|s| format!(" {}", self.sql_of(s)));
        let conflict = words.iter().position(|s| s.is("ON")).map(|p| {
            let (on, end) = (&words[p], &words[(p + 2).min(words.len() - 1)]);
            format!(" {}", &self.sql[on.start..end.end])
        });
        // The whitespace before the clause goes with it.
        let from = self.sql[..first.start].trim_end().len().max(item.code.start);
        let written = format!("{} {}", sql::ident(column), &self.sql[first.start..last.end]);
        self.edits.push((from..last.end, String::new()));
        self.moved.push(first.start);
        let after = format!(
            "{}{} ({t}, {}{}){}",
            name.unwrap_or_default(),
            kind.words(),
            sql::ident(column),
            order.unwrap_or_default(),
            conflict.unwrap_or_default()
        );
        self.appended.push(after.clone());
        Some((written, after))
    }

    /// Adds a table constraint at the end of the list (`FOREIGN KEY (…) REFERENCES …`).
    pub fn append(&mut self, constraint: String) {
        self.appended.push(constraint);
    }

    /// The statement with the edits made, named `name`: `CREATE TABLE "name" …`, the form
    /// SQLite stores after `ALTER TABLE … RENAME TO "name"`.
    pub fn render(&self, name: &str) -> String {
        let mut text = self.sql.clone();
        let mut edits = self.edits.clone();
        if !self.appended.is_empty()
            && let Some(last) = self.items.last()
        {
            let extra: String = self.appended.iter().map(|c| format!(", {c}")).collect();
            edits.push((last.code.end..last.code.end, extra));
        }
        edits.sort_by_key(|(r, _)| std::cmp::Reverse((r.start, r.end)));
        for (range, with) in edits {
            text.replace_range(range, &with);
        }
        let kept = self.name_end;
        format!("CREATE TABLE {}{}", sql::ident(name), &text[kept..])
    }

    fn sql_of(&self, s: &Span) -> &str {
        &self.sql[s.start..s.end]
    }

    /// The table constraint `[CONSTRAINT n] PRIMARY KEY|UNIQUE (columns…)`.
    fn table_key(&self, kind: KeyKind, columns: &[String]) -> Option<usize> {
        (0..self.items.len()).find(|&i| {
            let item = &self.items[i];
            if !item.constraint || self.used.contains(&i) {
                return false;
            }
            let s = &item.spans;
            let mut k = if s.first().is_some_and(|x| x.is("CONSTRAINT")) { 2 } else { 0 };
            let matches_kind = match kind {
                KeyKind::Primary => s.get(k).is_some_and(|x| x.is("PRIMARY")) && s.get(k + 1).is_some_and(|x| x.is("KEY")),
                KeyKind::Unique => s.get(k).is_some_and(|x| x.is("UNIQUE")),
            };
            if !matches_kind {
                return false;
            }
            k += if kind == KeyKind::Primary { 2 } else { 1 };
            key_columns(&s[k..]).is_some_and(|c| same(&c, columns))
        })
    }

    /// The column definition of `column` with its own `PRIMARY KEY` or `UNIQUE` clause, and
    /// the clause's span indexes (`CONSTRAINT name` included, up to its conflict clause).
    fn column_key(&self, kind: KeyKind, column: &str) -> Option<(usize, Range<usize>)> {
        let i = (0..self.items.len()).find(|&i| {
            let item = &self.items[i];
            !item.constraint
                && item.spans.first().and_then(Span::name).is_some_and(|n| n.eq_ignore_ascii_case(column))
        })?;
        let s = &self.items[i].spans;
        let mut depth = 0usize;
        for k in 1..s.len() {
            match s[k].token {
                Token::Mark('(') => depth += 1,
                Token::Mark(')') => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > 0 {
                continue;
            }
            let found = match kind {
                KeyKind::Primary => s[k].is("PRIMARY") && s.get(k + 1).is_some_and(|x| x.is("KEY")),
                KeyKind::Unique => s[k].is("UNIQUE"),
            };
            let start = if k >= 2 && s[k - 2].is("CONSTRAINT") { k - 2 } else { k };
            if !found || self.moved.contains(&s[start].start) {
                continue;
            }
            let mut end = k + if kind == KeyKind::Primary { 2 } else { 1 };
            if s.get(end).is_some_and(|x| x.is("ASC") || x.is("DESC")) {
                end += 1;
            }
            if s.get(end).is_some_and(|x| x.is("ON")) && s.get(end + 1).is_some_and(|x| x.is("CONFLICT")) {
                end = (end + 3).min(s.len());
            }
            // AUTOINCREMENT belongs to the row id: such a key is never rewritten.
            if s.get(end).is_some_and(|x| x.is("AUTOINCREMENT")) {
                return None;
            }
            return Some((i, start..end));
        }
        None
    }
}

fn item(sql: &str, range: Range<usize>, spans: Vec<Span>) -> Option<Item> {
    let text = &sql[range.clone()];
    let start = range.start + lexer::first_token_offset(text);
    let end = range.start + lexer::code_end(text);
    let first = spans.first()?;
    let constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|k| first.is(k));
    Some(Item { code: start..end.max(start), spans, constraint })
}

/// The column names of a key's `(a COLLATE x DESC, b)` list: the first name of each part.
fn key_columns(spans: &[Span]) -> Option<Vec<String>> {
    if spans.first()?.token != Token::Mark('(') {
        return None;
    }
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut fresh = true;
    for s in &spans[1..] {
        match s.token {
            Token::Mark('(') => depth += 1,
            Token::Mark(')') if depth == 0 => return Some(out),
            Token::Mark(')') => depth -= 1,
            Token::Mark(',') if depth == 0 => fresh = true,
            Token::Name(ref n) if fresh && depth == 0 => {
                out.push(n.clone());
                fresh = false;
            }
            _ => {}
        }
    }
    None
}

fn same(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_column_key_moves_to_the_end_with_its_name_and_conflict_clause() {
        let mut d = Definition::read(
            "CREATE TABLE products (\n    id INTEGER PRIMARY KEY,\n    sku TEXT NOT NULL CONSTRAINT uq UNIQUE ON CONFLICT ABORT DEFAULT 'a,b',\n    note TEXT\n, tenant_id TEXT NOT NULL DEFAULT 'x')",
        )
        .unwrap();
        let (written, after) = d.rescope(KeyKind::Unique, &cols(&["sku"]), "tenant_id").unwrap();
        assert_eq!(written, "\"sku\" CONSTRAINT uq UNIQUE ON CONFLICT ABORT");
        assert_eq!(after, "CONSTRAINT uq UNIQUE (\"tenant_id\", \"sku\") ON CONFLICT ABORT");
        assert_eq!(
            d.render("products"),
            "CREATE TABLE \"products\" (\n    id INTEGER PRIMARY KEY,\n    sku TEXT NOT NULL DEFAULT 'a,b',\n    note TEXT\n, tenant_id TEXT NOT NULL DEFAULT 'x', CONSTRAINT uq UNIQUE (\"tenant_id\", \"sku\") ON CONFLICT ABORT)"
        );
    }

    #[test]
    fn a_table_key_gets_the_tenant_first_and_options_stay() {
        let sql = "CREATE TABLE \"we\"\"ird\" (a TEXT, \"b c\" TEXT CHECK (a <> ','), t TEXT, PRIMARY KEY (a, [b c] COLLATE NOCASE DESC)) WITHOUT ROWID, STRICT";
        let mut d = Definition::read(sql).unwrap();
        assert!(d.rescope(KeyKind::Unique, &cols(&["a", "b c"]), "t").is_none());
        let (_, after) = d.rescope(KeyKind::Primary, &cols(&["a", "b c"]), "t").unwrap();
        assert_eq!(after, "PRIMARY KEY (\"t\", a, [b c] COLLATE NOCASE DESC)");
        assert_eq!(
            d.render("we\"ird"),
            "CREATE TABLE \"we\"\"ird\" (a TEXT, \"b c\" TEXT CHECK (a <> ','), t TEXT, PRIMARY KEY (\"t\", a, [b c] COLLATE NOCASE DESC)) WITHOUT ROWID, STRICT"
        );
    }

    #[test]
    fn words_inside_strings_checks_and_quoted_names_are_not_keys() {
        let sql = "CREATE TABLE t (\"unique\" TEXT CHECK (\"unique\" <> 'UNIQUE'), code TEXT PRIMARY KEY DESC, x)";
        let mut d = Definition::read(sql).unwrap();
        assert!(d.rescope(KeyKind::Unique, &cols(&["unique"]), "x").is_none());
        let (_, after) = d.rescope(KeyKind::Primary, &cols(&["code"]), "x").unwrap();
        assert_eq!(after, "PRIMARY KEY (\"x\", \"code\" DESC)");
        assert_eq!(d.render("t"), "CREATE TABLE \"t\" (\"unique\" TEXT CHECK (\"unique\" <> 'UNIQUE'), code TEXT, x, PRIMARY KEY (\"x\", \"code\" DESC))");
        let rowid = "CREATE TABLE s (id INTEGER PRIMARY KEY AUTOINCREMENT, t)";
        assert!(Definition::read(rowid).unwrap().rescope(KeyKind::Primary, &cols(&["id"]), "t").is_none());
    }
}
