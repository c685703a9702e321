//! `wafl test [PATH...] [--filter TEXT]`: runs the `test` blocks of `.flow` files.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, color_choice};
use crate::diag::{Diagnostic, render};
use crate::session::Session;
use crate::testrun;
use clap::Args;
use codespan_reporting::term::termcolor::StandardStream;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Files or folders (searched recursively for `.flow` files); the current folder when
    /// none is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Run only the tests whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

pub fn run(args: TestArgs) -> u8 {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    let mut io_failed = false;
    for root in &roots {
        if root.is_dir() {
            collect(root, &mut files);
        } else if root.is_file() {
            files.push(root.clone());
        } else {
            eprintln!("error: no such file or folder `{}`", root.display());
            io_failed = true;
        }
    }
    let stdout = std::io::stdout();
    let mut out = StandardStream::stdout(color_choice(stdout.is_terminal()));
    let mut session = Session::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    let filter = args.filter.as_deref();
    for path in &files {
        let text = match std::fs::read(path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                eprintln!("error: `{}` is not UTF-8 text", path.display());
                io_failed = true;
                continue;
            }
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                io_failed = true;
                continue;
            }
        };
        let name = path.display().to_string();
        let id = session.add(name.clone(), text);
        let Some(analysis) = session.analysis(id) else {
            continue;
        };
        let tests: Vec<String> = testrun::tests_of(&analysis.parsed.file, filter)
            .map(|t| t.name.value.clone())
            .collect();
        if tests.is_empty() {
            continue;
        }
        if analysis.has_errors() {
            let errors: Vec<Diagnostic> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .cloned()
                .collect();
            let _ = render::emit(&mut out, &session.sources, &errors);
            let _ = writeln!(
                out,
                "{name}: not run, the script has errors ({} test(s) counted as failed)",
                tests.len()
            );
            failed += tests.len();
            continue;
        }
        let results = testrun::run_file(&analysis.parsed.file, &analysis.checked.symbols, filter);
        for r in results {
            if let Some(d) = &r.failure {
                let _ = writeln!(out, "test {name}: {} ... FAILED", r.name);
                let _ = render::emit(&mut out, &session.sources, std::slice::from_ref(d));
                failed += 1;
            } else {
                let _ = writeln!(out, "test {name}: {} ... ok", r.name);
                passed += 1;
            }
        }
    }
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    if io_failed {
        EXIT_USAGE
    } else if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// Every `.flow` file under `dir`, sorted, hidden folders and `target` skipped.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "target");
        if p.is_dir() {
            if !hidden {
                collect(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "flow") {
            out.push(p);
        }
    }
}
