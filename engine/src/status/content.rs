//! What an execute cut off during its COMMIT left, told by what the file holds when its bytes
//! cannot tell: SQLite's rollback of a hot journal puts back every page the transaction
//! journalled, but pages that were free when it began are never journalled, so the file can
//! differ from the backup in bytes no table reads. Its schema and every table's rows, digested,
//! against the state the execute started from (recorded by its rehearsal) say whether the
//! change is in it; against the plan replayed from the backup, whether it committed.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::backup_ref::BackupRef;
use crate::journal::PassedDryRun;
use crate::progress::Progress;
use crate::verify::snapshot::{self, schema_digest};
use crate::{changes, dryrun, open};

/// What the file holds of an execute whose bytes tell nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Exactly the schema and rows the execute started from: its change is not in the file.
    /// With how many pages differ from the backup when every one of them is a free page.
    Before(Option<u64>),
    /// Exactly what the plan makes of its backup: the change is in the file.
    Result,
}

/// Compares the file with the state the execute started from, then with its result; `None`
/// when it is neither (or either cannot be read).
pub fn holds(
    db: &Path,
    backup: &BackupRef,
    rehearsal: &PassedDryRun,
    progress: &mut dyn FnMut(Progress),
) -> Option<Holds> {
    progress(Progress::Step("comparing every table with the state the execute started from".into()));
    let without = rehearsal.plan.dropped_columns();
    let now = snapshot::capture(db, 2, &without, progress).ok()?;
    let before = &rehearsal.before;
    let same_schema = schema_digest(&now.schema) == schema_digest(&before.schema);
    let same_rows = now.tables.len() == before.tables.len()
        && before.tables.iter().all(|t| now.table(&t.name).is_some_and(|n| n.rows == t.rows && n.digest == t.digest));
    if same_schema && same_rows {
        return Some(Holds::Before(only_free_pages_differ(db, &backup.path).ok().flatten()));
    }
    if !backup.path.is_file() {
        return None;
    }
    let known = dryrun::replay(db, backup, &rehearsal.plan, progress).ok()?;
    progress(Progress::Step("comparing every table with the state the execute would have left".into()));
    let conn = open::inspect(db).ok()?;
    let changes = changes::between(&conn, known.path()).ok()?;
    let schema_now = schema_digest(&now.schema);
    let schema_then = open::inspect(known.path()).ok().and_then(|c| snapshot::schema(&c).ok()).map(|o| schema_digest(&o));
    (changes.is_empty() && schema_then.as_deref() == Some(schema_now.as_str())).then_some(Holds::Result)
}

/// How many pages of `db` differ from `backup`, when every one of them is on `db`'s freelist
/// (pages no table reads); `None` when the sizes differ or a page in use differs.
fn only_free_pages_differ(db: &Path, backup: &Path) -> io::Result<Option<u64>> {
    let (mut a, mut b) = (File::open(db)?, File::open(backup)?);
    let len = a.metadata()?.len();
    if len != b.metadata()?.len() || len < 100 {
        return Ok(None);
    }
    let mut header = [0u8; 100];
    a.read_exact(&mut header)?;
    let size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    if size < 512 {
        return Ok(None);
    }
    let free = freelist(&mut a, &header, size)?;
    let (mut pa, mut pb) = (vec![0u8; size as usize], vec![0u8; size as usize]);
    let mut differing = 0;
    a.seek(SeekFrom::Start(0))?;
    for number in 1..=len / size {
        a.read_exact(&mut pa)?;
        b.read_exact(&mut pb)?;
        if pa != pb {
            if !free.contains(&number) {
                return Ok(None);
            }
            differing += 1;
        }
    }
    Ok(Some(differing))
}

/// The page numbers on the freelist: its trunk pages and their leaves (the file format's own
/// list, from the header's offsets 32 and 36).
fn freelist(file: &mut File, header: &[u8; 100], size: u64) -> io::Result<HashSet<u64>> {
    let be = |b: &[u8]| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let mut pages = HashSet::new();
    let mut trunk = be(&header[32..36]);
    let total = be(&header[36..40]);
    let mut page = vec![0u8; size as usize];
    while trunk != 0 && (pages.len() as u64) < total && pages.insert(trunk) {
        file.seek(SeekFrom::Start((trunk - 1) * size))?;
        file.read_exact(&mut page)?;
        let leaves = be(&page[4..8]).min((size - 8) / 4);
        for i in 0..leaves as usize {
            pages.insert(be(&page[8 + 4 * i..12 + 4 * i]));
        }
        trunk = be(&page[0..4]);
    }
    Ok(pages)
}
