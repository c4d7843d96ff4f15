//! The `cutover` binary: parses the command line, runs it, and turns errors into exit codes.

mod cli;

use std::process::ExitCode;

use cutover::engine;

fn main() -> ExitCode {
    // The panic hook keeps even a bug's report readable; it never prints environment dumps.
    let _ = color_eyre::config::HookBuilder::default().display_env_section(false).install();
    let cli = cli::Cli::parse_args();
    let json = cli.wants_json();
    match cli::run(cli) {
        Ok(code) => code,
        Err(report) => {
            let code = exit_code(&report);
            let details =
                report.chain().find_map(|c| c.downcast_ref::<engine::Error>()).and_then(engine::Error::details);
            // Engine errors already name their cause; add a cause only when it says more.
            let mut message = String::new();
            for cause in report.chain().map(|e| e.to_string()) {
                if message.is_empty() {
                    message = cause;
                } else if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            // Writes that fail here have nowhere left to be reported; the exit code still says it.
            use std::io::Write;
            if json {
                let mut out = serde_json::json!({ "ok": false, "error": message, "exit_code": code });
                let usage = report.chain().any(|c| c.downcast_ref::<cli::UsageError>().is_some());
                let details =
                    details.unwrap_or_else(|| serde_json::json!({ "refusal": if usage { "usage" } else { "failed" } }));
                if let (serde_json::Value::Object(extra), Some(obj)) = (details, out.as_object_mut()) {
                    obj.extend(extra);
                }
                let _ = writeln!(std::io::stdout().lock(), "{out}");
            }
            let _ = writeln!(std::io::stderr().lock(), "cutover: {message}");
            ExitCode::from(code)
        }
    }
}

/// Exit codes as PRODUCT.md defines them: 1 stopped safely, 2 bad input, 3 in use.
fn exit_code(report: &color_eyre::Report) -> u8 {
    for cause in report.chain() {
        if let Some(e) = cause.downcast_ref::<engine::Error>() {
            return e.exit_kind() as u8;
        }
        if cause.downcast_ref::<cli::UsageError>().is_some() {
            return engine::ExitKind::BadInput as u8;
        }
    }
    engine::ExitKind::Stopped as u8
}
