//! Who holds a database: another process, named for the technician.

use std::path::PathBuf;

use serde::Serialize;

/// A process (other than this one) that has the database or one of its side files open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name.
    pub name: String,
    /// The service it runs as, when it is one (Windows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Which file it holds: the database or its `-wal`, `-shm` or `-journal`.
    #[serde(with = "crate::ospath")]
    pub file: PathBuf,
}

/// `pid 4123 (pos-server)`, `EasySale-server.exe (pid 4123, service EasySale)`, `another program`.
pub fn holder_text(h: &Holder) -> String {
    match (&h.service, h.pid) {
        (_, 0) => h.name.clone(),
        (Some(service), pid) => format!("{} (pid {pid}, service {service})", h.name),
        (None, pid) => format!("pid {pid} ({})", h.name),
    }
}
