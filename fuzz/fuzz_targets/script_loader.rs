//! Fuzzes the script loader: any text either loads or is refused with an error, never a panic,
//! and every statement it returns is a verbatim piece of the input with a line inside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(loaded) = cutover_engine::plan::script::load(text) {
        let lines = text.lines().count().max(1);
        for s in &loaded.statements {
            assert!(text.contains(s.sql.as_str()), "statement not verbatim");
            assert!(s.line >= 1 && s.line <= lines, "line out of range");
        }
    }
});
