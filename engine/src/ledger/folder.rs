//! The application's migrations folder, read as its runner reads it: which files are
//! migrations, in what order, what each one's version and name are, which part of the file
//! runs (goose and dbmate: the Up section only) and its checksum.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{LedgerKind, Problem, checksum};

/// One migration of the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    /// What the ledger keys it by: its version (name ledgers: its file name, before the name
    /// form of the ledger's rows is applied).
    pub key: String,
    /// Its version's parts, for the runner's order (name ledgers: empty, ordered by name).
    pub order: Vec<u64>,
    /// The file that runs.
    #[serde(with = "crate::ospath")]
    pub file: PathBuf,
    /// The file as people name it, relative to the folder: `0009_add_tenant_id.sql`.
    pub shown: String,
    /// The name or description the ledger records with it.
    pub name: String,
    /// The file's whole text, as the runner reads it (its checksum is taken over this).
    #[serde(skip)]
    pub text: String,
    /// The SQL that runs: the whole file, or its Up section.
    #[serde(skip)]
    pub up: String,
    /// The line of the file `up` starts on, from 1.
    pub up_line: usize,
    /// The checksum the runner records for it, in the ledger's form.
    pub checksum: Option<String>,
}

/// Reads `dir` as `kind`'s runner would: the migrations in its order, and the names of the
/// files it would pass over.
pub fn read(dir: &Path, kind: LedgerKind) -> Result<(Vec<Migration>, Vec<String>), Problem> {
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    // refinery (WalkDir) and Flyway read their folders' subfolders too.
    list(dir, dir, matches!(kind, LedgerKind::Refinery | LedgerKind::Flyway), &mut names)?;
    names.sort();
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for (name, path) in names {
        // Hidden files (macOS's `._` copies on a USB stick among them) are no runner's.
        if name.starts_with('.') {
            continue;
        }
        let per_folder = matches!(kind, LedgerKind::Diesel | LedgerKind::Prisma);
        let file = if per_folder {
            if !path.is_dir() {
                if !name.starts_with('.') && name != "migration_lock.toml" {
                    skipped.push(name);
                }
                continue;
            }
            path.join(if kind == LedgerKind::Diesel { "up.sql" } else { "migration.sql" })
        } else {
            path.clone()
        };
        if kind == LedgerKind::Flyway && name.starts_with("R__") {
            return Err(Problem::Unsupported {
                file: path,
                why: "a Flyway repeatable migration (R__), which Flyway runs again whenever its checksum changes: cutover cannot tell when it would",
            });
        }
        match parse(kind, &name) {
            Some((key, order, described)) if file.is_file() => {
                found.push(load(dir, kind, &file, &name, key, order, described)?);
            }
            _ if name.starts_with('.') => {}
            _ => skipped.push(name),
        }
    }
    // Numbered runners order by the number; diesel by the version as text, the others by name.
    let by = |m: &Migration| if kind == LedgerKind::Diesel { m.key.clone() } else { m.shown.clone() };
    found.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| by(a).cmp(&by(b))));
    let same = |a: &Migration, b: &Migration| match kind {
        LedgerKind::Names => false,
        LedgerKind::Diesel | LedgerKind::Dbmate | LedgerKind::Prisma => a.key == b.key,
        _ => trimmed(&a.order) == trimmed(&b.order),
    };
    if let Some(w) = found.windows(2).find(|w| same(&w[0], &w[1])) {
        return Err(Problem::DuplicateVersion { dir: dir.to_path_buf(), first: w[0].shown.clone(), second: w[1].shown.clone() });
    }
    Ok((found, skipped))
}

/// The entries of `folder` (and, `deep`, of its subfolders), each with its name: a name that
/// is not UTF-8 is refused, since no ledger row could name it as the runner does.
fn list(dir: &Path, folder: &Path, deep: bool, out: &mut Vec<(String, PathBuf)>) -> Result<(), Problem> {
    let unreadable = |e: std::io::Error| Problem::FolderUnreadable { dir: folder.to_path_buf(), why: e.to_string() };
    for entry in std::fs::read_dir(folder).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(Problem::NameNotUtf8 { file: path });
        };
        if deep && !name.starts_with('.') && path.is_dir() {
            list(dir, &path, deep, out)?;
            continue;
        }
        let _ = dir;
        out.push((name, path));
    }
    Ok(())
}

/// A version's parts without trailing zeros: Flyway's 2, 2.0 and 02 are one version.
fn trimmed(order: &[u64]) -> &[u64] {
    let end = order.iter().rposition(|p| *p != 0).map_or(order.len().min(1), |i| i + 1);
    &order[..end]
}

/// A file (or folder) name's version, order and description, when `kind`'s runner takes it.
fn parse(kind: LedgerKind, name: &str) -> Option<(String, Vec<u64>, String)> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match kind {
        LedgerKind::Names => name.ends_with(".sql").then(|| (name.to_string(), Vec::new(), name.to_string())),
        LedgerKind::Dbmate => {
            // `^(\d+).*\.sql$`: the leading digits, kept as text.
            let version: String = name.strip_suffix(".sql")?.chars().take_while(char::is_ascii_digit).collect();
            digits(&version).then(|| (version.clone(), Vec::new(), name.to_string()))
        }
        LedgerKind::Sqlx | LedgerKind::Goose => {
            if kind == LedgerKind::Sqlx && name.ends_with(".down.sql") {
                return None;
            }
            let stem = name.strip_suffix(".sql")?;
            let stem = if kind == LedgerKind::Sqlx { stem.strip_suffix(".up").unwrap_or(stem) } else { stem };
            let (version, rest) = stem.split_once('_').unwrap_or((stem, ""));
            if !digits(version) {
                return None;
            }
            let number: u64 = version.parse().ok()?;
            let described = if kind == LedgerKind::Sqlx { rest.replace('_', " ") } else { rest.to_string() };
            // sqlx and goose key by the number: leading zeros dropped.
            let key = number.to_string();
            Some((key, vec![number], described))
        }
        LedgerKind::Refinery | LedgerKind::Flyway => {
            let stem = name.strip_suffix(".sql")?;
            // refinery: `^(U|V)(\d+(?:\.\d+)?)__(\w+)\.sql$`; Flyway: `V…__….sql`.
            let unversioned = kind == LedgerKind::Refinery && stem.starts_with('U');
            let (version, rest) = stem.strip_prefix('V').or_else(|| stem.strip_prefix('U').filter(|_| unversioned))?.split_once("__")?;
            let word = |r: &str| !r.is_empty() && r.chars().all(|c| c.is_alphanumeric() || c == '_');
            if kind == LedgerKind::Refinery && !word(rest) {
                return None;
            }
            let version = if kind == LedgerKind::Flyway { version.replace('_', ".") } else { version.to_string() };
            let order: Option<Vec<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
            let order = order?;
            if kind == LedgerKind::Refinery && (order.len() != 1 || order[0] > i32::MAX as u64) {
                return None;
            }
            let described = if kind == LedgerKind::Flyway { rest.replace('_', " ") } else { rest.to_string() };
            Some((version, order, described))
        }
        LedgerKind::Diesel => {
            let version: String = name.split('_').next()?.replace('-', "");
            digits(&version).then(|| (version.clone(), Vec::new(), name.to_string()))
        }
        LedgerKind::Prisma => {
            let (stamp, _) = name.split_once('_')?;
            digits(stamp).then(|| (name.to_string(), Vec::new(), name.to_string()))
        }
    }
}

fn load(
    dir: &Path,
    kind: LedgerKind,
    file: &Path,
    name: &str,
    key: String,
    order: Vec<u64>,
    described: String,
) -> Result<Migration, Problem> {
    let bytes = std::fs::read(file).map_err(|e| Problem::FolderUnreadable { dir: dir.to_path_buf(), why: format!("{}: {e}", crate::shown::shown(file)) })?;
    let shown = file.strip_prefix(dir).unwrap_or(file).to_string_lossy().replace('\\', "/");
    let text = String::from_utf8(bytes.clone()).map_err(|_| Problem::NotUtf8 { file: file.to_path_buf() })?;
    let (up, up_line) = match kind {
        LedgerKind::Goose => section(&text, "-- +goose up", "-- +goose down").ok_or_else(|| Problem::NoUpSection {
            file: file.to_path_buf(),
            marker: "-- +goose Up",
        })?,
        LedgerKind::Dbmate => section(&text, "-- migrate:up", "-- migrate:down")
            .ok_or_else(|| Problem::NoUpSection { file: file.to_path_buf(), marker: "-- migrate:up" })?,
        _ => (text.clone(), 1),
    };
    let checksum = match kind {
        LedgerKind::Sqlx => Some(checksum::sqlx(&text)),
        LedgerKind::Prisma => Some(checksum::prisma(&bytes)),
        LedgerKind::Flyway => Some(checksum::flyway(&text).to_string()),
        LedgerKind::Refinery => {
            let version: i32 = key.parse().unwrap_or_default();
            Some(checksum::refinery(&described, version, &text))
        }
        LedgerKind::Names | LedgerKind::Diesel | LedgerKind::Goose | LedgerKind::Dbmate => None,
    };
    let _ = name;
    Ok(Migration { key, order, file: file.to_path_buf(), shown, name: described, text, up, up_line, checksum })
}

/// The lines after the first line starting with `up` (case-insensitively, as goose and dbmate
/// match their markers) up to the first line starting with `down`, with the line they start on.
fn section(text: &str, up: &str, down: &str) -> Option<(String, usize)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let starts = |line: &str, marker: &str| line.trim_start().to_ascii_lowercase().starts_with(marker);
    let first = lines.iter().position(|l| starts(l, up))?;
    let end = lines[first + 1..].iter().position(|l| starts(l, down)).map_or(lines.len(), |p| first + 1 + p);
    Some((lines[first + 1..end].concat(), first + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_are_read_as_each_runner_reads_them() {
        assert_eq!(parse(LedgerKind::Sqlx, "0009_add_tenant_id.sql").unwrap().0, "9");
        assert_eq!(parse(LedgerKind::Sqlx, "0009_add_tenant_id.sql").unwrap().2, "add tenant id");
        assert_eq!(parse(LedgerKind::Sqlx, "3_x.up.sql").unwrap().2, "x");
        assert!(parse(LedgerKind::Sqlx, "3_x.down.sql").is_none());
        assert_eq!(parse(LedgerKind::Flyway, "V1_2__Add_tenant.sql").unwrap().0, "1.2");
        assert_eq!(parse(LedgerKind::Flyway, "V1_2__Add_tenant.sql").unwrap().1, vec![1, 2]);
        assert_eq!(parse(LedgerKind::Diesel, "2024-01-02-030405_tenant").unwrap().0, "20240102030405");
        assert_eq!(parse(LedgerKind::Dbmate, "20240102030405_tenant.sql").unwrap().0, "20240102030405");
        assert!(parse(LedgerKind::Refinery, "R__x.sql").is_none());
        assert!(parse(LedgerKind::Goose, "README.md").is_none());
    }

    #[test]
    fn only_the_up_section_runs() {
        let text = "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (x);\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE a;\n";
        let (up, line) = section(text, "-- +goose up", "-- +goose down").unwrap();
        assert!(up.contains("CREATE TABLE a") && !up.contains("DROP TABLE"));
        assert_eq!(line, 2);
        let (up, _) = section("-- migrate:up transaction:false\nSELECT 1;\n", "-- migrate:up", "-- migrate:down").unwrap();
        assert_eq!(up, "SELECT 1;\n");
    }
}
