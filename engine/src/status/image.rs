//! The database as SQLite reads it, hashed without changing a byte: the main file with the
//! committed frames of its write-ahead log laid over it, exactly what a checkpoint would write
//! (every page from its newest committed frame, the file cut to the size the last commit
//! recorded). `status` tells the present from this hash while the shop's application keeps the
//! WAL open, and never folds it in itself.
//!
//! A frame counts as SQLite counts it: its salts are the WAL header's and the running checksum
//! holds from the header through it; only frames up to the last commit frame are the database.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::paths;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// The database as SQLite reads it, hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its SHA-256 (the main file's own when the WAL holds no committed frame).
    pub sha256: String,
    /// The WAL's committed frames change the schema (the schema cookie of page 1 differs from
    /// the main file's): the main file alone does not tell the schema SQLite reads.
    pub schema_in_wal: bool,
}

/// The SHA-256 of the database as SQLite reads it, with the WAL's committed frames counted in.
#[cfg(test)]
pub fn sha256(db: &Path) -> io::Result<String> {
    read(db).map(|i| i.sha256)
}

/// Reads and hashes the database as SQLite reads it, changing nothing.
pub fn read(db: &Path) -> io::Result<Image> {
    let wal_path = paths::side_file(db, "-wal");
    let committed = match File::open(&wal_path) {
        Ok(mut wal) => committed_frames(&mut wal)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Some(c) = committed else {
        // No committed frame: the main file alone is the database.
        return Ok(Image { sha256: crate::hashing::hash_file(db)?.sha256, schema_in_wal: false });
    };
    let mut hasher = Sha256::new();
    let mut main = File::open(db)?;
    let mut wal = File::open(&wal_path)?;
    let main_len = main.metadata()?.len();
    let size = c.page_size as u64;
    let mut page = vec![0u8; c.page_size];
    let mut schema_in_wal = false;
    for number in 1..=u64::from(c.pages) {
        page.fill(0);
        match c.newest.get(&(number as u32)) {
            Some(&offset) => {
                wal.seek(SeekFrom::Start(offset))?;
                wal.read_exact(&mut page)?;
                if number == 1 {
                    // The schema cookie (offset 40) moves with every schema change.
                    let mut header = [0u8; 44];
                    main.seek(SeekFrom::Start(0))?;
                    schema_in_wal = read_full(&mut main, &mut header)? < 44 || header[40..44] != page[40..44];
                }
            }
            None => {
                let at = (number - 1) * size;
                if at < main_len {
                    main.seek(SeekFrom::Start(at))?;
                    let n = (main_len - at).min(size) as usize;
                    main.read_exact(&mut page[..n])?;
                }
            }
        }
        hasher.update(&page);
    }
    Ok(Image { sha256: crate::hashing::hex(&hasher.finalize()), schema_in_wal })
}

/// The committed frames of a WAL: for each page its newest committed frame's data offset, and
/// the database's size in pages after the last commit.
struct Committed {
    page_size: usize,
    pages: u32,
    newest: HashMap<u32, u64>,
}

fn committed_frames(wal: &mut File) -> io::Result<Option<Committed>> {
    let mut header = [0u8; HEADER];
    if read_full(wal, &mut header)? < HEADER {
        return Ok(None);
    }
    let magic = be32(&header[0..4]);
    if magic & !1 != 0x377f_0682 {
        return Ok(None);
    }
    let big_endian = magic & 1 == 1;
    let page_size = be32(&header[8..12]) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Ok(None);
    }
    let salts = (be32(&header[16..20]), be32(&header[20..24]));
    let mut sum = checksum(big_endian, &header[..24], (0, 0));
    if sum != (be32(&header[24..28]), be32(&header[28..32])) {
        return Ok(None);
    }
    let mut frame = vec![0u8; FRAME_HEADER + page_size];
    let mut offset = HEADER as u64;
    let mut pending: HashMap<u32, u64> = HashMap::new();
    let mut newest: HashMap<u32, u64> = HashMap::new();
    let mut pages = None;
    wal.seek(SeekFrom::Start(offset))?;
    while read_full(wal, &mut frame)? == frame.len() {
        let number = be32(&frame[0..4]);
        let commit = be32(&frame[4..8]);
        if number == 0 || (be32(&frame[8..12]), be32(&frame[12..16])) != salts {
            break;
        }
        sum = checksum(big_endian, &frame[..8], sum);
        sum = checksum(big_endian, &frame[FRAME_HEADER..], sum);
        if sum != (be32(&frame[16..20]), be32(&frame[20..24])) {
            break;
        }
        pending.insert(number, offset + FRAME_HEADER as u64);
        if commit != 0 {
            newest.extend(pending.drain());
            pages = Some(commit);
        }
        offset += frame.len() as u64;
    }
    Ok(pages.map(|pages| Committed { page_size, pages, newest }))
}

/// SQLite's WAL checksum: pairs of 32-bit words, in the byte order the magic number names.
fn checksum(big_endian: bool, bytes: &[u8], (mut s1, mut s2): (u32, u32)) -> (u32, u32) {
    for pair in bytes.chunks_exact(8) {
        let word = |b: &[u8]| {
            let w = [b[0], b[1], b[2], b[3]];
            if big_endian { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) }
        };
        s1 = s1.wrapping_add(word(&pair[0..4])).wrapping_add(s2);
        s2 = s2.wrapping_add(word(&pair[4..8])).wrapping_add(s1);
    }
    (s1, s2)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn read_full(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// The image hashed while the WAL holds frames equals the file's hash once SQLite itself
    /// has folded them in.
    #[test]
    fn the_image_is_what_a_checkpoint_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pos.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO t (v) SELECT hex(randomblob(300)) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n);
             PRAGMA wal_checkpoint(TRUNCATE);
             INSERT INTO t (v) VALUES ('a sale');
             DELETE FROM t WHERE id < 150;
             UPDATE t SET v = 'changed' WHERE id = 180;",
        )
        .unwrap();
        // A second connection keeps the WAL from being folded in at the first one's close.
        let reader = Connection::open(&db).unwrap();
        reader.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        let wal = paths::side_file(&db, "-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0, "frames in the WAL");
        let image = sha256(&db).unwrap();
        assert_ne!(image, crate::hashing::hash_file(&db).unwrap().sha256, "the main file alone is not the database");
        drop(conn);
        let (busy, _, _): (i64, i64, i64) =
            reader.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(busy, 0);
        assert_eq!(image, crate::hashing::hash_file(&db).unwrap().sha256);
        // An empty WAL leaves the main file's own hash.
        assert_eq!(sha256(&db).unwrap(), crate::hashing::hash_file(&db).unwrap().sha256);
    }

    #[test]
    fn uncommitted_and_torn_frames_are_not_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pos.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('one');",
        )
        .unwrap();
        let reader = Connection::open(&db).unwrap();
        reader.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        let committed = sha256(&db).unwrap();
        // A torn frame after the last commit (a write cut off) changes nothing SQLite reads.
        let wal = paths::side_file(&db, "-wal");
        let mut bytes = std::fs::read(&wal).unwrap();
        let frame = 24 + 4096;
        let mut torn = bytes[32..32 + frame].to_vec();
        torn[30] ^= 0xff;
        bytes.extend_from_slice(&torn);
        std::fs::write(&wal, &bytes).unwrap();
        assert_eq!(sha256(&db).unwrap(), committed);
        drop((conn, reader));
    }
}
