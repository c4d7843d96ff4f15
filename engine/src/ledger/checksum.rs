//! Each runner's checksum of a migration file, computed as the runner computes it, so the row
//! cutover writes is one the runner accepts at the application's next start.

use sha2::{Digest, Sha256, Sha384};

use crate::hashing::hex;

/// sqlx: SHA-384 of the file's text as read (`Sha384::digest(sql.as_bytes())` in
/// `sqlx-core/src/migrate/migration.rs`), stored as a BLOB; here as lowercase hex, as the
/// ledger's BLOB is read back.
pub fn sqlx(text: &str) -> String {
    hex(&Sha384::digest(text.as_bytes()))
}

/// Prisma: SHA-256 of `migration.sql`'s bytes, as lowercase hex (`migration_checksum` in
/// prisma-engines' `schema-connector/src/checksum.rs`).
pub fn prisma(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// refinery: SipHash-1-3 with zero keys over the name, the version and the SQL, each hashed
/// as Rust's `Hash` writes it (`str`: its bytes then 0xFF; `i32`: four little-endian bytes),
/// as `Migration::unapplied` does in `refinery_core/src/runner.rs`; written as the decimal u64.
pub fn refinery(name: &str, version: i32, sql: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = siphasher::sip::SipHasher13::new();
    name.hash(&mut h);
    version.hash(&mut h);
    sql.hash(&mut h);
    h.finish().to_string()
}

/// Flyway: CRC-32 over the file's lines, each without its line break (`\n`, `\r\n` or `\r`),
/// a byte-order mark dropped from the first, as UTF-8; the ledger keeps it as a signed 32-bit
/// integer (`ChecksumCalculator.calculateChecksumForResource`).
pub fn flyway(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = Crc32::new();
    for line in lines(text) {
        crc.update(line.as_bytes());
    }
    crc.finish() as i32
}

/// Lines as Java's `BufferedReader.readLine` cuts them: at `\n`, `\r\n` or a lone `\r`; no
/// empty last line after a final break.
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(&text[start..]);
    }
    out
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as `java.util.zip.CRC32`.
struct Crc32 {
    value: u32,
}

impl Crc32 {
    fn new() -> Crc32 {
        Crc32 { value: 0xFFFF_FFFF }
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let mut c = (self.value ^ u32::from(b)) & 0xFF;
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            self.value = (self.value >> 8) ^ c;
        }
    }

    fn finish(&self) -> u32 {
        !self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32 check value of "123456789" is 0xCBF43926 (every CRC catalogue lists it).
        let mut c = Crc32::new();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xCBF4_3926);
    }

    #[test]
    fn flyway_ignores_line_breaks_and_the_byte_order_mark() {
        let a = flyway("CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n");
        assert_eq!(a, flyway("\u{feff}CREATE TABLE a (x);\r\nINSERT INTO a VALUES (1);"));
        assert_ne!(a, flyway("CREATE TABLE a (x);\nINSERT INTO a VALUES (2);\n"));
    }

    #[test]
    fn refinery_matches_refinerys_own_test_vector() {
        // refinery/tests/rusqlite.rs expects 2959965718684201605 for migrations_broken's
        // V1__initial.sql.
        let sql = "CREATE TABLE persons (\n    id int,\n    name varchar(255),\n    city varchar(255)\n);\n";
        assert_eq!(refinery("initial", 1, sql), "2959965718684201605");
    }

    #[test]
    fn prisma_matches_prismas_own_test_vector() {
        // prisma-engines' checksum.rs: "hello".
        assert_eq!(prisma(b"hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    }

    #[test]
    fn sqlx_is_sha384_of_the_text() {
        // SHA-384("abc") from FIPS 180-2, appendix D.
        assert!(sqlx("abc").starts_with("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"));
        assert_ne!(sqlx("a\n"), sqlx("a\r\n"));
    }
}
