//! Paths in the journal and reports, kept exactly: a path that is valid Unicode is written as a
//! plain string (as before), any other as its raw bytes, so a database whose name is not UTF-8
//! is journalled and read back losslessly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::platform;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Text(String),
    Raw { os_bytes_hex: String },
}

fn store(path: &Path) -> Stored {
    match path.to_str() {
        Some(s) => Stored::Text(s.to_string()),
        None => {
            let hex = platform::path_to_bytes(path).iter().map(|b| format!("{b:02x}")).collect();
            Stored::Raw { os_bytes_hex: hex }
        }
    }
}

fn load<E: serde::de::Error>(stored: Stored) -> Result<PathBuf, E> {
    match stored {
        Stored::Text(s) => Ok(PathBuf::from(s)),
        Stored::Raw { os_bytes_hex } => {
            let digits = os_bytes_hex.as_bytes();
            if digits.len() % 2 != 0 {
                return Err(E::custom("an odd number of hex digits in a path"));
            }
            let bytes = digits
                .chunks(2)
                .map(|pair| {
                    std::str::from_utf8(pair)
                        .ok()
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                        .ok_or_else(|| E::custom("a path's bytes are not hex"))
                })
                .collect::<Result<Vec<u8>, E>>()?;
            Ok(platform::path_from_bytes(bytes))
        }
    }
}

/// Serializes a path losslessly.
pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    store(path).serialize(s)
}

/// A path as a JSON value, written as [`serialize`] writes it.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::to_value(store(path)).unwrap_or_default()
}

/// Reads a path written by [`serialize`] (or a plain string).
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    load(Stored::deserialize(d)?)
}

/// The same for an optional path.
pub mod option {
    use super::*;

    /// Serializes an optional path losslessly.
    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        path.as_deref().map(store).serialize(s)
    }

    /// Reads an optional path.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Option::<Stored>::deserialize(d)?.map(load).transpose()
    }
}

/// The same for a list of paths.
pub mod list {
    use super::*;

    /// Serializes paths losslessly.
    pub fn serialize<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
        paths.iter().map(|p| store(p)).collect::<Vec<_>>().serialize(s)
    }

    /// Reads a list of paths.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        Vec::<Stored>::deserialize(d)?.into_iter().map(load).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Holder {
        #[serde(with = "super")]
        path: PathBuf,
    }

    #[test]
    fn unicode_paths_stay_strings_and_others_round_trip() {
        let plain = Holder { path: PathBuf::from("/shop/café ☕.db") };
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(text, r#"{"path":"/shop/café ☕.db"}"#);
        assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), plain);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = Holder { path: PathBuf::from(std::ffi::OsStr::from_bytes(b"/shop/caisse-\xff.db")) };
            let text = serde_json::to_string(&odd).unwrap();
            assert!(text.contains("os_bytes_hex"), "{text}");
            assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), odd);
        }
    }
}
