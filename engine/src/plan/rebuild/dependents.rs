//! What a rebuild must take down and put back unchanged: every view and trigger that names a
//! rebuilt table, and every one that names those (a view over a view). SQLite checks the whole
//! schema when a table is renamed, so one left standing over a dropped table would stop the
//! rename; and a table's own triggers go with it when it is dropped.

use crate::plan::lexer::{self, Token};
use crate::verify::snapshot::SchemaObject;

/// The views and triggers that depend on `tables`, in schema order (the order they were made,
/// which is the order they can be made again).
pub fn of(schema: &[SchemaObject], tables: &[String]) -> Vec<SchemaObject> {
    let mut names: Vec<String> = tables.iter().map(|t| t.to_lowercase()).collect();
    let mut taken = vec![false; schema.len()];
    loop {
        let mut grew = false;
        for (i, o) in schema.iter().enumerate() {
            if taken[i] || !(o.kind == "view" || o.kind == "trigger") {
                continue;
            }
            let on = names.contains(&o.table.to_lowercase());
            let mentions = lexer::tokens(&o.sql)
                .iter()
                .any(|t| matches!(t, Token::Name(n) if names.contains(&n.to_lowercase())));
            if on || mentions {
                taken[i] = true;
                names.push(o.name.to_lowercase());
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    schema.iter().zip(taken).filter(|(_, t)| *t).map(|(o, _)| o.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str, table: &str, sql: &str) -> SchemaObject {
        SchemaObject { kind: kind.into(), name: name.into(), table: table.into(), sql: sql.into() }
    }

    #[test]
    fn views_over_views_and_triggers_elsewhere_are_found_in_schema_order() {
        let schema = vec![
            obj("table", "p", "p", "CREATE TABLE p(a)"),
            obj("view", "v1", "v1", "CREATE VIEW v1 AS SELECT a FROM \"P\""),
            obj("view", "v2", "v2", "CREATE VIEW v2 AS SELECT * FROM v1"),
            obj("view", "other", "other", "CREATE VIEW other AS SELECT 'p' AS x"),
            obj("trigger", "t_on", "p", "CREATE TRIGGER t_on AFTER INSERT ON p BEGIN SELECT 1; END"),
            obj("trigger", "t_far", "q", "CREATE TRIGGER t_far AFTER INSERT ON q BEGIN DELETE FROM [p]; END"),
            obj("trigger", "t_v", "v2", "CREATE TRIGGER t_v INSTEAD OF INSERT ON v2 BEGIN SELECT 1; END"),
        ];
        let names: Vec<String> = of(&schema, &["p".into()]).into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["v1", "v2", "t_on", "t_far", "t_v"]);
    }
}
