//! The audit classifies every table of a hostile schema correctly, in both journal modes.

use crate::common::{Journal, hostile_db, make_db, snapshot};
use cutover::engine::Error;
use cutover::engine::audit::{self, AuditOptions, AuditReport, Decision, Risk, TableAudit, TableKind};

fn audit(db: &std::path::Path, options: &AuditOptions) -> AuditReport {
    audit::run(db, options, &mut |_| {}).unwrap()
}

fn table<'a>(r: &'a AuditReport, name: &str) -> &'a TableAudit {
    r.tables.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no table {name} in the audit"))
}

fn check_hostile(journal: Journal) {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), journal);
    let before = snapshot(dir.path());
    let mut progress_events = 0;
    let r = audit::run(&db, &AuditOptions::default(), &mut |_| progress_events += 1).unwrap();
    assert_eq!(snapshot(dir.path()), before, "audit must leave the folder exactly as it was");
    assert_eq!(progress_events, r.tables.len(), "one progress event per table");

    let expect = |name: &str, kind: TableKind, decision: Decision, reason_has: &str, rows: Option<u64>| {
        let t = table(&r, name);
        assert_eq!(t.kind, kind, "kind of {name}");
        assert_eq!(t.decision, decision, "decision for {name}: {}", t.reason);
        assert!(t.reason.contains(reason_has), "reason for {name} was {:?}", t.reason);
        assert_eq!(t.rows, rows, "rows of {name}");
    };
    use Decision::*;
    use TableKind::*;
    expect("we\"ird", Ordinary, Migrate, "no tenant_id column", Some(2));
    expect("order details", Ordinary, Migrate, "no tenant_id column", Some(2));
    expect("select", Ordinary, Migrate, "no tenant_id column", Some(3));
    expect("café ☕", Ordinary, Migrate, "no tenant_id column", Some(2));
    expect("semi;colon -- dash", Ordinary, Migrate, "no tenant_id column", Some(2));
    expect("kv", WithoutRowid, Migrate, "WITHOUT ROWID", Some(2));
    expect("strict_t", Strict, Migrate, "TEXT", Some(2));
    expect("gen", Ordinary, Migrate, "no tenant_id column", Some(4));
    expect("docs", Virtual, Skip, "virtual table (fts5", Some(2));
    for shadow in ["docs_data", "docs_idx", "docs_content", "docs_docsize", "docs_config"] {
        let t = table(&r, shadow);
        assert_eq!((t.kind, t.decision), (Shadow, Skip), "{shadow}");
        assert!(t.reason.contains("\"docs\""), "{shadow}: {}", t.reason);
    }
    expect("seq", Ordinary, Migrate, "no tenant_id column", Some(2));
    expect("sqlite_sequence", Internal, Skip, "internal", Some(1));
    expect("sqlite_stat1", Internal, Skip, "internal", table(&r, "sqlite_stat1").rows);
    expect("has_col", Ordinary, Skip, "already has column tenant_id", Some(2));
    expect("has_col_noidx", Ordinary, Skip, "the plan adds its index", Some(1));
    expect("has_col_case", Ordinary, Skip, "spelled Tenant_ID", Some(1));
    expect("empty_t", Ordinary, Migrate, "no tenant_id column", Some(0));
    expect("tenants", Ordinary, Excluded, "tenant registry", Some(1));
    expect("child", Ordinary, Migrate, "no tenant_id column", Some(2));

    assert!(table(&r, "has_col").tenant_column.as_ref().unwrap().matches);
    assert!(!table(&r, "has_col").needs_index);
    assert!(table(&r, "has_col_noidx").needs_index);
    let case = table(&r, "has_col_case").tenant_column.as_ref().unwrap();
    assert_eq!(case.name, "Tenant_ID");
    assert!(!case.matches);
    assert!(case.problem.as_deref().unwrap().contains("allows NULL"));
    assert!(table(&r, "has_col_case").reason.contains("review it by hand"));

    assert_eq!(table(&r, "empty_t").risk, Risk::Empty);
    assert_eq!(table(&r, "child").risk, Risk::Low);
    assert!(table(&r, "strict_t").strict);
    assert!(table(&r, "kv").without_rowid);
    assert_eq!(table(&r, "docs").module.as_deref(), Some("fts5"));
    let generated = table(&r, "gen");
    assert_eq!(generated.columns.iter().filter(|c| c.generated).count(), 2);

    let fk = &table(&r, "child").foreign_keys[0];
    assert_eq!((fk.table.as_str(), fk.on_delete.as_str()), ("we\"ird", "CASCADE"));
    let risks = &table(&r, "order details").unique_risks;
    assert_eq!(risks.len(), 1);
    assert_eq!(risks[0].description, "UNIQUE (sku)");
    assert_eq!(table(&r, "kv").unique_risks[0].description, "PRIMARY KEY (k)");
    assert!(table(&r, "has_col").indexes.iter().any(|i| i.name == "idx_has_col_tenant"));

    assert_eq!(r.suggested_tenant.as_deref(), Some("acme"));
    assert_eq!(r.tenant.as_deref(), Some("acme"));
    assert_eq!(r.registry.as_ref().unwrap().table, "tenants");
    assert_eq!(r.views.len(), 1);
    assert_eq!(r.views[0].name, "v \"odd\"");
    assert_eq!(r.triggers.len(), 1);
    assert_eq!(r.triggers[0].table, "seq");
    let s = &r.summary;
    assert_eq!(s.tables, r.tables.len());
    assert_eq!(s.migrate + s.skip + s.excluded, s.tables);
    assert_eq!(s.migrate, 11);
}

#[test]
fn hostile_schema_rollback_journal() {
    check_hostile(Journal::Rollback);
}

#[test]
fn hostile_schema_wal() {
    check_hostile(Journal::Wal);
}

#[test]
fn exclusions_are_case_insensitive_and_unknown_names_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let options = AuditOptions { exclude: vec!["SELECT".into(), "Kv".into()], ..AuditOptions::default() };
    let r = audit(&db, &options);
    for name in ["select", "kv"] {
        assert_eq!(table(&r, name).decision, Decision::Excluded);
        assert_eq!(table(&r, name).reason, "excluded by you");
    }
    let options = AuditOptions { exclude: vec!["no_such_table".into()], ..AuditOptions::default() };
    let err = audit::run(&db, &options, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::UnknownTable { .. }), "{err}");
}

#[test]
fn a_given_tenant_value_is_compared_with_existing_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let options = AuditOptions { tenant: Some("globex".into()), ..AuditOptions::default() };
    let r = audit(&db, &options);
    let t = table(&r, "has_col");
    assert_eq!(t.decision, Decision::Skip);
    assert!(!t.tenant_column.as_ref().unwrap().matches);
    assert!(t.reason.contains("its default is 'acme', not 'globex'"), "{}", t.reason);
    assert_eq!(r.tenant.as_deref(), Some("globex"));
    assert_eq!(r.suggested_tenant.as_deref(), Some("acme"));
}

#[test]
fn another_column_name_is_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let db = hostile_db(dir.path(), Journal::Rollback);
    let options = AuditOptions { column: "org_id".into(), ..AuditOptions::default() };
    let r = audit(&db, &options);
    assert_eq!(table(&r, "has_col").decision, Decision::Migrate);
    assert!(table(&r, "has_col").reason.contains("no org_id column"));
}

#[test]
fn registry_with_several_tenants_suggests_none_but_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "multi.db",
        Journal::Rollback,
        "CREATE TABLE tenants (slug TEXT PRIMARY KEY); INSERT INTO tenants VALUES ('b'), ('a');
         CREATE TABLE items (id INTEGER PRIMARY KEY);",
    );
    let r = audit(&db, &AuditOptions::default());
    assert_eq!(r.suggested_tenant, None);
    assert_eq!(r.tenant, None);
    let reg = r.registry.unwrap();
    assert_eq!((reg.column.as_str(), reg.values), ("slug", vec!["a".to_string(), "b".to_string()]));
}

#[test]
fn row_counts_are_exact_on_a_larger_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_db(
        dir.path(),
        "big.db",
        Journal::Wal,
        "CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 123457)
         INSERT INTO log (msg) SELECT printf('event %d', i) FROM n;",
    );
    let r = audit(&db, &AuditOptions::default());
    assert_eq!(table(&r, "log").rows, Some(123_457));
    assert_eq!(table(&r, "log").risk, Risk::Medium);
    assert_eq!(r.summary.rows_to_migrate, 123_457);
}
