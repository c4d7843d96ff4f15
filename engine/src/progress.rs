//! Progress the engine pushes to its caller while a phase runs.

/// One progress event. The CLI prints them; the wizard forwards them to its screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A step of the phase started, in words: "checkpointing the WAL".
    Step(String),
    /// Bytes of a stream processed so far.
    Bytes {
        /// What is being streamed: "copying and hashing", "re-reading the backup".
        stage: &'static str,
        /// Bytes done.
        done: u64,
        /// Bytes expected in all.
        total: u64,
    },
    /// A table is being examined.
    Table {
        /// The table's name.
        name: String,
        /// Its position, from 1.
        index: usize,
        /// How many tables there are.
        total: usize,
    },
    /// A statement of the plan started.
    Statement {
        /// Its position, from 1.
        index: usize,
        /// How many statements the plan has.
        total: usize,
        /// Its line in the plan.
        line: usize,
        /// Its first line of SQL.
        sql: String,
    },
    /// A verification check started.
    Check {
        /// The check's name.
        name: String,
    },
    /// Something the technician must read whatever happens next (a recovery after an unclean
    /// shutdown, a torn journal line set aside).
    Notice(String),
}
