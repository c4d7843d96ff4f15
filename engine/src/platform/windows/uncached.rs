//! Reading a file back from the disk, past the cache: FILE_FLAG_NO_BUFFERING, with sector-aligned
//! reads into a sector-aligned buffer.

use std::fs::File;
use std::io::{self, Read};
use std::os::windows::io::FromRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{GENERIC_READ, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_NO_BUFFERING, FILE_FLAG_SEQUENTIAL_SCAN, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, OPEN_EXISTING,
};

use super::wide;

/// Bytes read at a time when bypassing the cache: a multiple of any sector size.
const UNCACHED_CHUNK: usize = 1 << 20;
/// Alignment of the buffer and of every read: the largest sector size in use.
const SECTOR: usize = 4096;

/// A file opened with FILE_FLAG_NO_BUFFERING, so every byte comes from the disk. Reads are
/// made in aligned, sector-sized blocks into an aligned buffer and handed out from there.
pub struct Uncached {
    file: File,
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    used: usize,
    eof: bool,
}

impl Uncached {
    /// The file's size.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

impl Read for Uncached {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.used == self.filled {
            if self.eof {
                return Ok(0);
            }
            let start = self.start;
            let block = &mut self.buf[start..start + UNCACHED_CHUNK];
            let got = (&self.file).read(block)?;
            if got < UNCACHED_CHUNK {
                self.eof = true;
            }
            self.filled = got;
            self.used = 0;
            if got == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.filled - self.used);
        let from = self.start + self.used;
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.used += n;
        Ok(n)
    }
}

/// Opens a file for reading straight from the disk, past the cache.
pub fn open_uncached(path: &Path) -> io::Result<Uncached> {
    // SAFETY: NUL-terminated path; no security attributes or template handle.
    let handle = unsafe {
        CreateFileW(
            wide(path).as_ptr(),
            GENERIC_READ,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_NO_BUFFERING | FILE_FLAG_SEQUENTIAL_SCAN,
            std::ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a valid handle we own from here on.
    let file = unsafe { File::from_raw_handle(handle as _) };
    let buf = vec![0u8; UNCACHED_CHUNK + SECTOR];
    let start = buf.as_ptr().align_offset(SECTOR);
    Ok(Uncached { file, buf, start, filled: 0, used: 0, eof: false })
}
