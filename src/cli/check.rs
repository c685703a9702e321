//! `wafl check PATH...`

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, color_choice};
use crate::diag::{Severity, render};
use crate::session::Session;
use clap::{Args, ValueEnum};
use codespan_reporting::term::termcolor::StandardStream;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The `.flow` files to check; a folder stands for the `.flow` files in it
    /// (searched recursively).
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors (`--deny warnings`).
    #[arg(long, value_name = "LEVEL")]
    pub deny: Vec<Deny>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Source snippets with labels, coloured on a terminal.
    Human,
    /// One JSON array of diagnostics, for CI and editors.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    Warnings,
}

pub fn run(args: CheckArgs) -> u8 {
    let mut session = Session::with_files();
    let mut ids = Vec::new();
    let (files, mut io_failed) = super::flow_files(&args.files);
    let mut unread = 0usize;
    for path in &files {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => ids.push(session.add(path.display().to_string(), text)),
                Err(_) => {
                    eprintln!("error: `{}` is not UTF-8 text", path.display());
                    io_failed = true;
                    unread += 1;
                }
            },
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                io_failed = true;
                unread += 1;
            }
        }
    }
    let deny_warnings = args.deny.contains(&Deny::Warnings);
    let mut all = Vec::new();
    for id in &ids {
        if let Some(a) = session.analysis(*id) {
            all.extend(a.diagnostics.iter().cloned());
        }
    }
    let errors = all.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = all.len() - errors;
    match args.format {
        Format::Json => {
            let json: Vec<_> = all
                .iter()
                .map(|d| render::to_json(&session.sources, d))
                .collect();
            let text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| "[]".into());
            println!("{text}");
        }
        Format::Human => {
            let stderr = std::io::stderr();
            let mut out = StandardStream::stderr(color_choice(stderr.is_terminal()));
            if render::emit(&mut out, &session.sources, &all).is_err() {
                return EXIT_USAGE;
            }
            let summary = match (errors, warnings, io_failed) {
                (0, 0, false) => format!("checked {} file(s): no problems", ids.len()),
                (_, _, false) => format!(
                    "checked {} file(s): {errors} error(s), {warnings} warning(s)",
                    ids.len()
                ),
                (_, _, true) => format!(
                    "checked {} file(s): {errors} error(s), {warnings} warning(s); \
                     stopped short: {} (see above)",
                    ids.len(),
                    if unread > 0 {
                        format!("{unread} file(s) could not be read")
                    } else {
                        "a path names no `.flow` file".to_string()
                    }
                ),
            };
            let _ = writeln!(out, "{summary}");
        }
    }
    if io_failed {
        EXIT_USAGE
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}
