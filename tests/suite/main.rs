//! The integration tests, one binary with a module per topic: the engine's phases on real
//! files, the command line as a technician runs it, the wizard driven by keys, a pseudo-terminal
//! and snapshots, the fault suites (kill -9, injected I/O errors, the world around the file),
//! every way the tool was once made to lie (`honest_*`), what differs on Windows, and the
//! shape of the code itself.
//!
//! One binary links once instead of twenty times, and its slow suites overlap with the rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod app_review;
mod app_runners;
mod app_starts;
mod audit;
mod backup;
mod bad_input;
mod carried;
mod cli;
mod faults_env;
mod faults_io;
mod faults_kill;
mod honest_aftermath;
mod honest_execute;
mod honest_present;
mod honest_records;
mod honest_rollback;
mod honest_rollback_places;
mod interrupted;
mod isolate;
mod isolate_fix;
mod isolate_probe;
mod model;
mod pipeline;
mod props;
mod scripts;
mod status;
mod structure;
mod tui_app;
mod tui_hold;
mod tui_isolation;
mod tui_pty;
mod tui_snapshots;
mod tui_way_back;
mod undo;
mod windows;
mod windows_aftermath;
mod windows_app;
