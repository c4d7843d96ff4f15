//! cutover's benchmark: generates a deterministic point-of-sale database of a chosen size and
//! measures each phase against the tools a technician would otherwise use, alternating runs and
//! printing medians and ratios. `cargo bench --bench cutover -- --size 1GiB` (see BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generate;
mod wizard;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cutover::engine::apply::{self, Cancel};
use cutover::engine::audit::{self, AuditOptions};
use cutover::engine::plan::tenant::{self, TenantRequest};
use cutover::engine::verify::{self, Scope, VerifyRequest, snapshot};
use cutover::engine::{dryrun, open};

const TENANT: &str = "harbor-auto";

/// The median of some timings.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Args {
    size: u64,
    runs: usize,
    dir: PathBuf,
    only: Option<String>,
}

impl Args {
    fn wants(&self, section: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o.split(',').any(|s| s == section))
    }
}

fn parse_size(s: &str) -> u64 {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = s.strip_suffix("gib") {
        (n, 1u64 << 30)
    } else if let Some(n) = s.strip_suffix("mib") {
        (n, 1 << 20)
    } else {
        (s.as_str(), 1)
    };
    (num.parse::<f64>().expect("a size such as 64MiB, 1GiB or 4GiB") * mult as f64) as u64
}

fn args() -> Args {
    let mut a = Args { size: 1 << 30, runs: 3, dir: std::env::temp_dir().join("cutover-bench"), only: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--size" => a.size = parse_size(&it.next().expect("--size needs a value")),
            "--runs" => a.runs = it.next().expect("--runs needs a value").parse().expect("a number"),
            "--dir" => a.dir = PathBuf::from(it.next().expect("--dir needs a value")),
            "--only" => a.only = Some(it.next().expect("--only needs sections: backup,execute,verify,e2e,wizard")),
            "--bench" => {}
            other => panic!("unknown argument {other}: use --size 64MiB|1GiB|4GiB, --runs N, --dir DIR"),
        }
    }
    a
}

fn sh(script: &str, dir: &Path) -> f64 {
    let started = Instant::now();
    let out = Command::new("sh").arg("-c").arg(script).current_dir(dir).output().expect("sh");
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    started.elapsed().as_secs_f64()
}

fn secs(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64()
}

fn warm(path: &Path) {
    let _ = std::fs::read(path);
}

fn copy(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    for side in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{side}", to.display()));
    }
    let _ = std::fs::remove_dir_all(format!("{}.cutover", to.display()));
    std::fs::copy(from, to).expect("copy");
}

fn row(name: &str, ours: f64, theirs: &[(&str, f64)]) {
    let ratios: Vec<String> = theirs.iter().map(|(n, t)| format!("{n} {t:.2} s (ratio {:.2})", ours / t)).collect();
    println!("{name:<14} cutover {ours:>7.2} s   vs {}", ratios.join("   "));
}

fn tools_present() -> bool {
    let missing: Vec<&str> = ["sqlite3", "openssl", "sha256sum"]
        .into_iter()
        .filter(|t| Command::new("which").arg(t).output().map_or(true, |o| !o.status.success()))
        .collect();
    if !missing.is_empty() {
        eprintln!("missing tools: {} — install them: apt-get install -y sqlite3 openssl", missing.join(", "));
    }
    missing.is_empty()
}

fn main() {
    let a = args();
    if !tools_present() {
        std::process::exit(2);
    }
    std::fs::create_dir_all(&a.dir).unwrap();
    let label = format!("{}MiB", a.size >> 20);
    let db = a.dir.join(format!("pos-{label}.db"));
    if !db.exists() {
        let t = secs(|| generate::generate(&db, a.size).expect("generate"));
        eprintln!("generated {} in {t:.1} s", db.display());
    }
    let bytes = std::fs::metadata(&db).unwrap().len();
    let work = a.dir.join(format!("work-{label}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    println!(
        "# cutover benchmark: {} ({:.1} MiB), {} runs each, medians; cache warm",
        db.display(),
        bytes as f64 / 1048576.0,
        a.runs
    );
    println!(
        "# SQLite {} (cutover), {}",
        rusqlite::version(),
        String::from_utf8_lossy(&Command::new("sqlite3").arg("--version").output().unwrap().stdout)
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );

    // 1. Backup: the whole `cutover backup` process against the same guarantees by hand, run in
    // parallel as an expert would (quick_check, the source's hash, a copy synced and read back
    // from the device past the page cache); and, for information, cp + sync + two openssl that
    // never read the copy back from the disk.
    let src = work.join("pos.db");
    copy(&db, &src);
    let (mut ours, mut careful, mut ossl) = (vec![], vec![], vec![]);
    for _ in 0..if a.wants("backup") { a.runs } else { 0 } {
        warm(&src);
        ours.push(secs(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
                .args(["backup", "--json"])
                .arg(&src)
                .output()
                .expect("cutover backup");
            assert!(out.status.success(), "cutover backup: {}", String::from_utf8_lossy(&out.stderr));
        }));
        remove_backups(&work);
        warm(&src);
        careful.push(sh(
            "sqlite3 pos.db 'PRAGMA quick_check' >/dev/null & openssl dgst -sha256 pos.db >/dev/null & \
             (cp pos.db copy.db && sync copy.db && dd if=copy.db iflag=direct bs=4M status=none | openssl dgst -sha256 >/dev/null); \
             wait; rm copy.db",
            &work,
        ));
        warm(&src);
        ossl.push(sh(
            "cp pos.db copy.db && sync && (openssl dgst -sha256 pos.db >/dev/null & openssl dgst -sha256 copy.db >/dev/null & wait) && rm copy.db",
            &work,
        ));
    }
    if a.wants("backup") {
        row(
            "backup",
            median(&mut ours),
            &[("the careful workflow", median(&mut careful)), ("cp+sync+2×openssl (no read-back)", median(&mut ossl))],
        );
    }

    // 2. The plan's transaction alone on a fresh copy, against sqlite3 with the same SQL.
    let report = audit::run(&src, &AuditOptions::default(), &mut |_| {}).expect("audit");
    let conn = open::inspect(&src).unwrap();
    let request = TenantRequest { tenant: TENANT.into(), column_type: tenant::DEFAULT_TYPE.into(), index: true };
    let plan = tenant::generate(&conn, &report, &request).expect("plan");
    drop(conn);
    std::fs::write(work.join("plan.sql"), &plan.text).unwrap();
    let exec = work.join("exec.db");
    let (mut ours, mut lite) = (vec![], vec![]);
    for _ in 0..if a.wants("execute") { a.runs } else { 0 } {
        copy(&db, &exec);
        warm(&exec);
        ours.push(secs(|| {
            let mut c = open::read_write(&exec).unwrap();
            dryrun::prepare_for_plan(&c).unwrap();
            apply::apply(&mut c, &plan, &Cancel::new(), "", &mut |_| Ok(()), &mut || Ok(()), &mut |_| {})
                .expect("apply");
            dryrun::finish_after_commit(&c).unwrap();
        }));
        copy(&db, &exec);
        warm(&exec);
        lite.push(sh("sqlite3 -bail exec.db < plan.sql", &work));
    }
    if a.wants("execute") {
        row("transaction", median(&mut ours), &[("sqlite3 -bail", median(&mut lite))]);
    }

    // 3. Verification of the migrated copy, against integrity + FK checks + a full dump hash.
    if a.wants("verify") {
        copy(&db, &exec);
        let before = snapshot::capture(&exec, 2, &[], &mut |_| {}).unwrap();
        {
            let mut c = open::read_write(&exec).unwrap();
            dryrun::prepare_for_plan(&c).unwrap();
            apply::apply(&mut c, &plan, &Cancel::new(), "", &mut |_| Ok(()), &mut || Ok(()), &mut |_| {}).unwrap();
            dryrun::finish_after_commit(&c).unwrap();
        }
        let (mut ours, mut lite) = (vec![], vec![]);
        for _ in 0..a.runs {
            warm(&exec);
            ours.push(secs(|| {
                let req = VerifyRequest {
                    db: &exec,
                    plan: &plan,
                    before: &before,
                    runs: &[],
                    identical: None,
                    scope: Scope::Full,
                    changed: None,
                };
                let v = verify::run(&req, &mut |_| {}).unwrap();
                assert!(v.ok, "verification failed: {:?}", v.names(verify::Status::Fail));
            }));
            warm(&exec);
            lite.push(sh(
            "sqlite3 exec.db 'PRAGMA integrity_check; PRAGMA foreign_key_check;' >/dev/null && sqlite3 exec.db .dump | sha256sum >/dev/null",
            &work,
        ));
        }
        row("verify", median(&mut ours), &[("sqlite3 checks+dump|sha256sum", median(&mut lite))]);
    }

    // 4. End to end, and 5. peak memory of `cutover execute`.
    if a.wants("e2e") {
        let e2e = work.join("e2e");
        std::fs::create_dir_all(&e2e).unwrap();
        let (mut ours, mut hand, mut rss, mut phase, mut lite) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..a.runs {
            let target = e2e.join("pos.db");
            copy(&db, &target);
            for f in std::fs::read_dir(&e2e).unwrap().flatten() {
                if f.file_name().to_string_lossy().contains(".backup-") {
                    let _ = std::fs::remove_file(f.path());
                }
            }
            warm(&target);
            let started = Instant::now();
            let (kb, out) = peak_rss_kb(&[
                env!("CARGO_BIN_EXE_cutover"),
                "execute",
                target.to_str().unwrap(),
                "--tenant",
                TENANT,
                "--yes",
                "--json",
            ]);
            ours.push(started.elapsed().as_secs_f64());
            rss.push(kb as f64);
            // What the report shows as the execute: proving the file unchanged, the plan, the hash.
            let v: serde_json::Value = serde_json::from_str(&out).expect("execute --json");
            phase.push(v["timings_s"]["execute"].as_f64().expect("timings_s.execute"));
            copy(&db, &target);
            warm(&target);
            std::fs::copy(work.join("plan.sql"), e2e.join("plan.sql")).unwrap();
            lite.push(sh("sqlite3 -bail pos.db < plan.sql", &e2e));
            copy(&db, &target);
            let _ = std::fs::remove_file(e2e.join("pos.bak"));
            let _ = std::fs::remove_file(e2e.join("test.db"));
            std::fs::copy(work.join("plan.sql"), e2e.join("plan.sql")).unwrap();
            warm(&target);
            hand.push(sh(
            "cp pos.db pos.bak && sync && (openssl dgst -sha256 pos.db >/dev/null & openssl dgst -sha256 pos.bak >/dev/null & wait) \
             && cp pos.bak test.db && sqlite3 -bail test.db < plan.sql \
             && sqlite3 test.db 'PRAGMA integrity_check; PRAGMA foreign_key_check;' >/dev/null \
             && sqlite3 test.db .dump | openssl dgst -sha256 >/dev/null \
             && sqlite3 -bail pos.db < plan.sql \
             && sqlite3 pos.db 'PRAGMA integrity_check; PRAGMA foreign_key_check;' >/dev/null \
             && sqlite3 pos.db .dump | openssl dgst -sha256 >/dev/null && sync && rm test.db pos.bak",
            &e2e,
        ));
        }
        row("execute", median(&mut phase), &[("sqlite3 -bail on a fresh copy", median(&mut lite))]);
        row("end to end", median(&mut ours), &[("by hand (cp, openssl, sqlite3, checks)", median(&mut hand))]);
        println!("{:<14} cutover execute peak RSS {:.1} MiB", "memory", median(&mut rss) / 1024.0);
    }

    // 6. The wizard.
    if !a.wants("wizard") {
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    let frame = wizard::frame_ms(&work, 2000);
    println!("{:<14} audit list of 2,000 tables: {frame:.2} ms per 80×24 frame", "wizard");
    let (lat, worst) = wizard::key_latency_ms(&src);
    println!("{:<14} key to screen while a backup runs: median {lat:.1} ms, worst {worst:.1} ms", "wizard");
    let _ = std::fs::remove_dir_all(&work);
}

/// Runs a command and returns its peak resident memory in KiB, as the kernel counts it, and
/// what it printed. The command runs under a small Python parent whose RUSAGE_CHILDREN then
/// holds just its peak; the peak is its last line.
fn peak_rss_kb(cmd: &[&str]) -> (i64, String) {
    let probe = Command::new("python3")
        .arg("-c")
        .arg(
            "import resource, subprocess, sys\n\
             r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)\n\
             sys.stdout.write(r.stdout.decode())\n\
             print()\n\
             print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
        )
        .args(cmd)
        .output()
        .unwrap();
    assert!(probe.status.success(), "cutover execute failed: {}", String::from_utf8_lossy(&probe.stderr));
    let text = String::from_utf8_lossy(&probe.stdout).into_owned();
    let (out, last) = text.trim_end().rsplit_once('\n').unwrap_or(("", text.trim()));
    (last.trim().parse().unwrap_or(-1), out.to_string())
}

/// Removes the backups `cutover backup` made in `dir`, so each run starts the same.
fn remove_backups(dir: &Path) {
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        if f.file_name().to_string_lossy().contains(".backup-") {
            let _ = std::fs::remove_file(f.path());
        }
    }
}
