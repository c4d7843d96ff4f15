//! The real binary in a pseudo-terminal: build the demo, walk the whole wizard with keys,
//! execute, roll back, quit, and check the database is byte-for-byte the original.
// These need Linux: strace, kill -9, mounts, other users, Python as the shop's application.
#![cfg(unix)]
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover::engine::hashing::sha256_hex;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Wizard {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Wizard {
    fn text(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.text().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the screen never showed {needle:?}; it shows:\n{}", self.text());
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
        // Let the wizard read each key before the screen is inspected again.
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn walk_the_demo_wizard_execute_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let pty = native_pty_system();
    let pair = pty.openpty(PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(["demo", "--dir"]);
    cmd.arg(&site);
    cmd.env("NO_COLOR", "1");
    cmd.env("TERM", "xterm-256color");
    let child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(vt100::Parser::default()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let feed = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    let writer = pair.master.take_writer().unwrap();
    let mut w = Wizard { screen, writer, child };

    w.wait_for("Press Enter to make a backup");
    let db = site.join("pos.db");
    let original = sha256_hex(&std::fs::read(&db).unwrap());
    w.keys("\r");
    w.wait_for("Press Enter to make the backup");
    w.keys("\r");
    w.wait_for("MATCH — the backup is identical");
    // From here to the execute, the shop's application (another process) cannot write.
    let shop_writes = || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.busy_timeout(Duration::ZERO).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
    };
    assert!(shop_writes().is_err_and(|e| e.to_string().contains("locked")), "a write got in after the backup");
    w.keys("\r");
    w.wait_for("to migrate");
    w.keys("?");
    w.wait_for("Esc never quits");
    w.keys("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    w.keys("\r");
    w.wait_for("statements · one transaction");
    w.keys("\r");
    w.wait_for("Dry run PASSED");
    w.wait_for("HELD: the shop's app cannot use the database until Execute");
    assert!(shop_writes().is_err_and(|e| e.to_string().contains("locked")), "a write got in before the execute");
    w.keys("\r");
    w.wait_for("Type  harbor-auto");
    w.keys("harbor-auto\r");
    w.wait_for("MIGRATED AND VERIFIED");
    assert_ne!(sha256_hex(&std::fs::read(&db).unwrap()), original, "the database was migrated");
    let report = std::fs::read_to_string(site.join("pos.db.cutover/reports/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["execute"]["held_since_backup"], true, "held, so not hashed again: {report}");
    w.keys("r");
    w.wait_for("Roll back now?");
    w.keys("y");
    w.wait_for("Rolled back: MATCH");
    w.keys("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = w.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the wizard did not quit; screen:\n{}", w.text());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(sha256_hex(&std::fs::read(&db).unwrap()), original, "rolled back to the original bytes");
    for side in ["-wal", "-journal"] {
        let p = site.join(format!("pos.db{side}"));
        assert!(!p.exists() || std::fs::metadata(&p).unwrap().len() == 0, "{side} left beside the restored file");
    }
    assert!(site.join("pos.db.cutover/cutover.log").is_file(), "the wizard keeps a log");
}
