//! Property: any table name and any tenant value go through audit, plan generation and the
//! engine's transaction into a real database exactly — quoting can never change or break them.

use cutover::engine::apply::{self, Cancel};
use cutover::engine::audit::{self, AuditOptions, Decision};
use cutover::engine::plan::tenant::{self, TenantRequest};
use cutover::engine::{open, sql};
use proptest::prelude::*;
use rusqlite::Connection;

fn usable_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    !name.is_empty()
        && !name.contains('\0')
        && !lower.starts_with("sqlite_")
        && !audit::classify::looks_like_registry(name)
        && !audit::classify::looks_like_bookkeeping(name)
        && !lower.eq_ignore_ascii_case("tenant_id")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_table_name_and_tenant_value_round_trip(
        table in any::<String>().prop_filter("a table SQLite accepts", |s| usable_name(s)),
        tenant in any::<String>().prop_filter("storable text", |s| !s.is_empty() && !s.contains('\0')),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO {t} (v) VALUES ('a'), ('b');",
            t = sql::ident(&table)
        )).unwrap();
        drop(conn);

        let report = audit::run(&db, &AuditOptions { tenant: Some(tenant.clone()), ..AuditOptions::default() }, &mut |_| {}).unwrap();
        prop_assert_eq!(report.tables.len(), 1);
        prop_assert_eq!(&report.tables[0].name, &table);
        prop_assert_eq!(report.tables[0].decision, Decision::Migrate);

        let conn = open::inspect(&db).unwrap();
        let request = TenantRequest { tenant: tenant.clone(), column_type: tenant::DEFAULT_TYPE.into(), index: true };
        let plan = tenant::generate(&conn, &report, &request).unwrap();
        drop(conn);
        let mut conn = open::read_write(&db).unwrap();
        apply::apply(&mut conn, &plan, &Cancel::new(), "", &mut |_| Ok(()), &mut || Ok(()), &mut |_| {}).unwrap();

        let values: Vec<String> = conn
            .prepare(&format!("SELECT DISTINCT tenant_id FROM {}", sql::ident(&table))).unwrap()
            .query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        prop_assert_eq!(values, vec![tenant.clone()]);
        let default: String = conn
            .query_row("SELECT dflt_value FROM pragma_table_info(?1) WHERE name = 'tenant_id'", [&table], |r| r.get(0))
            .unwrap();
        prop_assert_eq!(sql::unquote_literal(&default), Some(tenant.clone()));
        let index = plan.tenant().unwrap().tables[0].index.clone().unwrap();
        let found: i64 = conn
            .query_row("SELECT count(*) FROM pragma_index_list(?1) WHERE name = ?2", [&table, &index], |r| r.get(0))
            .unwrap();
        prop_assert_eq!(found, 1);
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").unwrap()
            .query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        prop_assert_eq!(names, vec![table.clone()]);
    }

    #[test]
    fn quoting_round_trips_through_sqlite(text in any::<String>().prop_filter("no NUL", |s| !s.contains('\0'))) {
        let conn = Connection::open_in_memory().unwrap();
        let back: String = conn.query_row(&format!("SELECT {}", sql::literal(&text)), [], |r| r.get(0)).unwrap();
        prop_assert_eq!(&back, &text);
        prop_assert_eq!(sql::unquote_literal(&sql::literal(&text)), Some(text.clone()));
        if !text.is_empty() && !text.to_lowercase().starts_with("sqlite_") {
            conn.execute_batch(&format!("CREATE TABLE {} (x)", sql::ident(&text))).unwrap();
            let name: String = conn.query_row("SELECT name FROM sqlite_schema", [], |r| r.get(0)).unwrap();
            prop_assert_eq!(name, text);
        }
    }

    #[test]
    fn the_script_loader_never_panics_and_keeps_statements_verbatim(text in "[ -~\\n\\t;'\"()\\-/*]{0,300}") {
        if let Ok(loaded) = cutover::engine::plan::script::load(&text) {
            let lines = text.lines().count().max(1);
            for s in &loaded.statements {
                prop_assert!(text.contains(s.sql.as_str()), "statement not verbatim: {:?}", s.sql);
                prop_assert!(s.line >= 1 && s.line <= lines, "line {} of {}", s.line, lines);
            }
        }
    }
}
