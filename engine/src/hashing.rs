//! SHA-256 over file streams: a copy that hashes what it copies, and a re-read that hashes a file.
//!
//! Hashing and writing run on their own threads while this thread reads, so a copy costs one
//! read of the source and about as long as the slower of hashing and writing, not their sum. sha2 picks the
//! CPU's SHA instructions at run time where the processor has them.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::shown::shown;

/// Bytes handed between the reading and the hashing thread at a time.
const CHUNK: usize = 4 << 20;
/// Chunks in flight: enough to keep reader, hasher and writer busy, small enough to keep
/// memory flat (16 MiB at most).
const IN_FLIGHT: usize = 4;
/// How far the copy may run ahead of the disk before writeback is started.
const WRITEBACK_EVERY: u64 = 64 << 20;

/// A finished hash of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHash {
    /// The SHA-256 as 64 lowercase hex digits.
    pub sha256: String,
    /// How many bytes were hashed.
    pub bytes: u64,
}

/// Copies `src` to `dst` from the current positions to the end of `src`, hashing the bytes read.
///
/// `progress` receives (bytes done, `expected`) after each chunk.
pub fn copy_hashing(
    src: &mut (impl Read + ?Sized),
    dst: &mut File,
    expected: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<StreamHash> {
    stream(src, expected, Some(dst), progress)
}

/// Copies `size` bytes of `file` to `dst` inside the kernel while this thread hashes what
/// `reader` (positional reads of the same file) yields, so the copy costs almost no CPU and the
/// hash is served from the page cache. `None` when the kernel cannot copy between these files
/// (nothing was written then). The copy is proven later, as any copy is, by reading it back
/// from the disk and comparing with this hash.
pub fn kernel_copy_hashing(
    reader: &mut (impl Read + ?Sized),
    file: &File,
    dst: &File,
    size: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Option<StreamHash>> {
    let first = size.min(WRITEBACK_EVERY);
    if !crate::platform::kernel_copy(file, dst, 0, first)? {
        return Ok(None);
    }
    crate::durable::start_writeback(dst, 0, first);
    thread::scope(|scope| {
        let copier = scope.spawn(move || -> io::Result<()> {
            let mut at = first;
            while at < size {
                let step = (size - at).min(WRITEBACK_EVERY);
                if !crate::platform::kernel_copy(file, dst, at, step)? {
                    return Err(io::Error::other("the kernel stopped copying the database mid-way"));
                }
                crate::durable::start_writeback(dst, at, step);
                at += step;
            }
            Ok(())
        });
        let hashed = hash_reader(reader, size, progress);
        let copied = copier.join().map_err(|_| broken())?;
        copied?;
        hashed.map(Some)
    })
}

/// Hashes everything `src` yields.
pub fn hash_reader(
    src: &mut (impl Read + ?Sized),
    expected: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<StreamHash> {
    stream(src, expected, None, progress)
}

/// Hashes a whole file as the file system serves it (cached pages included).
pub fn hash_file(path: &std::path::Path) -> io::Result<StreamHash> {
    let mut file = File::open(path)?;
    let total = file.metadata()?.len();
    hash_reader(&mut file, total, &mut |_, _| {})
}

/// Hashes a byte slice; used for small texts such as plans.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Reads `src` on this thread; each chunk goes to a hashing thread and, when copying, to a
/// writing thread at the same time, so a copy takes about as long as the slower of hashing and
/// writing. A buffer returns to the pool when both are done with it.
fn stream(
    src: &mut (impl Read + ?Sized),
    expected: u64,
    dst: Option<&mut File>,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<StreamHash> {
    // Small files get small buffers: filling big ones would cost more than the file.
    let chunk = usize::try_from(expected).unwrap_or(CHUNK).clamp(64 << 10, CHUNK);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..IN_FLIGHT {
        free_tx.send(Vec::with_capacity(chunk)).map_err(|_| broken())?;
    }
    let (hash_tx, hash_rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(IN_FLIGHT);
    let (write_tx, write_rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(IN_FLIGHT);
    let write_failed = AtomicBool::new(false);
    let copying = dst.is_some();
    thread::scope(|scope| {
        let recycle = free_tx.clone();
        let hasher = scope.spawn(move || {
            let mut sha = Sha256::new();
            for chunk in hash_rx {
                sha.update(chunk.as_slice());
                if let Some(buf) = Arc::into_inner(chunk) {
                    // The reader may have stopped early; a closed pool is fine then.
                    let _ = recycle.send(buf);
                }
            }
            hex(&sha.finalize())
        });
        let failed = &write_failed;
        let writer = dst.map(|dst| {
            let recycle = free_tx.clone();
            scope.spawn(move || -> io::Result<()> {
                let mut result = Ok(());
                let (mut written, mut flushed) = (0u64, 0u64);
                for chunk in write_rx {
                    if result.is_ok() {
                        result = dst.write_all(&chunk);
                        written += chunk.len() as u64;
                        // Writeback starts behind the copy, so the fsync after it has little left.
                        if written - flushed >= WRITEBACK_EVERY {
                            crate::durable::start_writeback(dst, flushed, written - flushed);
                            flushed = written;
                        }
                        if result.is_err() {
                            failed.store(true, Ordering::SeqCst);
                        }
                    }
                    if let Some(buf) = Arc::into_inner(chunk) {
                        let _ = recycle.send(buf);
                    }
                }
                result
            })
        });
        drop(free_tx);
        let mut done = 0u64;
        let outcome = (|| -> io::Result<()> {
            while !write_failed.load(Ordering::SeqCst) {
                let mut buf = free_rx.recv().map_err(|_| broken())?;
                let n = read_full(src, &mut buf, chunk)?;
                if n == 0 {
                    return Ok(());
                }
                done += n as u64;
                let shared = Arc::new(buf);
                if copying {
                    write_tx.send(shared.clone()).map_err(|_| broken())?;
                }
                hash_tx.send(shared).map_err(|_| broken())?;
                progress(done, expected);
            }
            Ok(())
        })();
        drop(hash_tx);
        drop(write_tx);
        let sha256 = hasher.join().map_err(|_| broken())?;
        if let Some(writer) = writer {
            writer.join().map_err(|_| broken())??;
        }
        outcome.map(|()| StreamHash { sha256, bytes: done })
    })
}

/// Fills `buf` (up to `chunk` bytes) from `src`, stopping early only at end of input.
fn read_full(src: &mut (impl Read + ?Sized), buf: &mut Vec<u8>, chunk: usize) -> io::Result<usize> {
    buf.resize(chunk, 0);
    let mut filled = 0;
    while filled < chunk {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(filled)
}

fn broken() -> io::Error {
    io::Error::other("the hashing thread stopped unexpectedly")
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hashes a file as stored on disk, dropping its cached pages first so the read reaches the device.
pub fn rehash(path: &Path, progress: &mut dyn FnMut(Progress)) -> Result<StreamHash> {
    let mut file =
        crate::durable::open_uncached(path).map_err(|e| Error::io(format!("re-opening {}", shown(path)), e))?;
    let total = file.size().map_err(|e| Error::io(format!("reading {}", shown(path)), e))?;
    hash_reader(&mut file, total, &mut |done, total| {
        progress(Progress::Bytes { stage: "re-reading the backup", done, total })
    })
    .map_err(|e| Error::io(format!("re-reading {}", shown(path)), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_hashes_to_the_known_value() {
        let h = hash_reader(&mut io::empty(), 0, &mut |_, _| {}).unwrap();
        assert_eq!(h.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(h.bytes, 0);
    }

    #[test]
    fn multi_chunk_copy_hashes_and_copies_every_byte() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 12345)).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut out = File::create(&path).unwrap();
        let mut calls = 0;
        let h = copy_hashing(&mut &data[..], &mut out, data.len() as u64, &mut |_, _| calls += 1).unwrap();
        drop(out);
        assert_eq!(h.sha256, sha256_hex(&data));
        assert_eq!(h.bytes, data.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        assert_eq!(calls, 3);
    }
}
