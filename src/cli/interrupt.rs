//! Ctrl-C on the headless commands that write — and SIGTERM or SIGHUP (a service manager's stop,
//! a dropped SSH session), or a console being closed on Windows: it never kills the process half way. The first
//! press asks the running phase to stop at its next safe point (a statement, a phase boundary),
//! where the transaction is rolled back; the command then prints where the database stands and
//! exits 1. A phase that cannot stop half way (a restore being renamed into place, a commit
//! already made) finishes, and the command says the stop came too late.

use std::sync::OnceLock;

use cutover::engine::Cancel;

static ASKED: OnceLock<Cancel> = OnceLock::new();

/// The flag Ctrl-C sets, with the handler installed on first use. When the handler cannot be
/// installed (no console), Ctrl-C keeps its default and the journal's recovery covers it.
pub fn cancel() -> Cancel {
    ASKED
        .get_or_init(|| {
            let cancel = Cancel::new();
            let flag = cancel.clone();
            let installed = ctrlc::set_handler(move || {
                use std::io::Write;
                let again = flag.is_set();
                flag.set();
                // Nothing is claimed here: whether the stop came in time is said when the run ends.
                let text = if again {
                    "cutover: still stopping at the next safe point; it then says where the database stands"
                } else {
                    "cutover: stopping at the next safe point; it then says where the database stands"
                };
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            });
            if let Err(e) = installed {
                tracing::warn!(error = %e, "Ctrl-C handler not installed");
            }
            cancel
        })
        .clone()
}

/// A note for a run that finished although Ctrl-C was pressed: the stop came too late.
pub fn too_late(what: &str) -> Option<String> {
    ASKED.get().filter(|c| c.is_set()).map(|_| format!("Ctrl-C came too late to stop it: {what}"))
}
