//! The command line: argument parsing (clap) and one function per subcommand. Commands
//! read files and print; the work itself happens in the session and the pipeline.

mod agent;
mod build;
mod check;
mod fmt;
mod graph;
mod lsp;
mod outbox;
mod publish;
mod repl;
mod run;
mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status: everything fine.
pub const EXIT_OK: u8 = 0;
/// Exit status: the script has errors (or warnings under `--deny warnings`), or tests failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: bad usage, a file or folder that does not exist or could not be read,
/// or nothing to do (`wafl test` that finds no test, or whose `--filter` matches none).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "wafl",
    version,
    about = "A rules language and toolchain for WhatsApp customer-service flows",
    long_about = "wafl checks, tests, runs and explains `.flow` scripts that describe WhatsApp \
                  customer-service conversations: their stages, triggers, fields and actions."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check scripts for errors and warnings, without running them.
    Check(check::CheckArgs),
    /// Compile a script into a bundle plus the WhatsApp Flow JSON of each form.
    Build(build::BuildArgs),
    /// Draw the stages of a script (Graphviz DOT, Mermaid, or SVG through Graphviz).
    Graph(graph::GraphArgs),
    /// Play a customer against a script, move a virtual clock, and try rules.
    Repl(repl::ReplArgs),
    /// Rewrite scripts in the canonical layout (`--check`: list files that would change).
    Fmt(fmt::FmtArgs),
    /// Run the language server on stdin and stdout, for editors.
    Lsp(lsp::LspArgs),
    /// Run a script as a daemon: WhatsApp webhooks in, replies and webhooks out.
    Run(run::RunArgs),
    /// Inspect and resend the dead letters of a running daemon (admin API).
    Outbox(outbox::OutboxArgs),
    /// Manage the console's agent accounts (add, list, remove).
    Agent(agent::AgentArgs),
    /// Store a checked script as a new revision in the daemon's database and make it the
    /// one every daemon runs (refused when it does not check clean or would strand open
    /// cards).
    Publish(publish::PublishArgs),
    /// Make an earlier revision the active one again.
    Rollback(publish::RollbackArgs),
    /// List the published revisions, the active one, and how many open cards run on each.
    Revisions(publish::RevisionsArgs),
    /// Run the `test` blocks of scripts: play a customer, advance a virtual clock, check
    /// what the flow did.
    Test(test::TestArgs),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let code = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Build(args) => build::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Run(args) => run::run(args),
        Command::Outbox(args) => outbox::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Publish(args) => publish::publish(args),
        Command::Rollback(args) => publish::rollback(args),
        Command::Revisions(args) => publish::revisions(args),
        Command::Test(args) => test::run(args),
        Command::Repl(args) => repl::run(args),
    };
    ExitCode::from(code)
}

/// Whether to colour output: only on a terminal, and never when NO_COLOR is set.
pub(crate) fn color_choice(
    stream_is_terminal: bool,
) -> codespan_reporting::term::termcolor::ColorChoice {
    use codespan_reporting::term::termcolor::ColorChoice;
    if stream_is_terminal && std::env::var_os("NO_COLOR").is_none() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    }
}

/// The `.flow` files named on the command line: files as given, folders searched
/// recursively (sorted; hidden folders and `target` skipped). Says on stderr what does
/// not exist, or which folder holds no `.flow` file; the flag is set when anything did.
pub(crate) fn flow_files(paths: &[std::path::PathBuf]) -> (Vec<std::path::PathBuf>, bool) {
    let mut files = Vec::new();
    let mut missing = false;
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            collect_flow_files(path, &mut files);
            if files.len() == before {
                eprintln!("error: no `.flow` file in the folder `{}`", path.display());
                missing = true;
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            eprintln!("error: no such file or folder `{}`", path.display());
            missing = true;
        }
    }
    (files, missing)
}

fn collect_flow_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<std::path::PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "target");
        if p.is_dir() {
            if !hidden {
                collect_flow_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "flow") {
            out.push(p);
        }
    }
}

/// The one `.flow` file a command runs: says on stderr when it does not exist or is a
/// folder.
pub(crate) fn one_flow_file(path: &std::path::Path, command: &str) -> bool {
    if path.is_dir() {
        eprintln!(
            "error: `{}` is a folder: `wafl {command}` takes one `.flow` file",
            path.display()
        );
        false
    } else if !path.is_file() {
        eprintln!("error: no such file `{}`", path.display());
        false
    } else {
        true
    }
}

/// Reads a script as UTF-8 text, saying on stderr why it could not.
pub(crate) fn read_script(path: &std::path::Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                eprintln!("error: `{}` is not UTF-8 text", path.display());
                None
            }
        },
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            None
        }
    }
}
