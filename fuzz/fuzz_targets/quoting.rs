//! Fuzzes identifier and literal quoting: whatever the bytes, SQLite reads back exactly the
//! value that was quoted, and a table created under a quoted name has exactly that name.

#![no_main]

use cutover_engine::sql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.contains('\0') {
        return;
    }
    assert_eq!(sql::unquote_literal(&sql::literal(text)).as_deref(), Some(text));
    let Ok(conn) = rusqlite::Connection::open_in_memory() else { return };
    let back: String = conn.query_row(&format!("SELECT {}", sql::literal(text)), [], |r| r.get(0)).unwrap_or_default();
    assert_eq!(back, text);
    if !text.is_empty() && !text.to_lowercase().starts_with("sqlite_") {
        conn.execute_batch(&format!("CREATE TABLE {} (x)", sql::ident(text))).expect("a quoted name is always accepted");
        let name: String = conn.query_row("SELECT name FROM sqlite_schema", [], |r| r.get(0)).unwrap_or_default();
        assert_eq!(name, text);
    }
});
