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
    /// Instead of the tests: classify every intent example held out, print the
    /// predictions and a confusion matrix, and fail when an example the stored snapshot
    /// (`NAME.intents` beside the script) had right is now wrong.
    #[arg(long)]
    pub intents: bool,
    /// With `--intents`: accept the predictions as they are, flips included, and rewrite
    /// the snapshot.
    #[arg(long, requires = "intents")]
    pub accept: bool,
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
    if args.intents {
        return intents(&files, args.accept, io_failed);
    }
    let stdout = std::io::stdout();
    let mut out = StandardStream::stdout(color_choice(stdout.is_terminal()));
    let mut session = Session::with_files();
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
        let results = testrun::run_file_with(
            &analysis.parsed.file,
            &analysis.checked.symbols,
            &analysis.resources,
            filter,
        );
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

/// `wafl test --intents`: held-out predictions against the stored snapshots.
fn intents(files: &[PathBuf], accept: bool, io_failed: bool) -> u8 {
    use crate::testrun::intents as ti;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut io_failed = io_failed;
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("error: cannot read `{}`", path.display());
            io_failed = true;
            continue;
        };
        let parsed = crate::syntax::parse(crate::syntax::span::FileId(0), &text);
        let intents = crate::compile::intents::intents(&parsed.file);
        if intents.is_empty() {
            continue;
        }
        let preds = ti::predictions(&intents);
        println!("intents of {}:", path.display());
        print!("{}", ti::report(&preds));
        let snap = path.with_extension("intents");
        let old = std::fs::read_to_string(&snap).ok();
        let flips = old
            .as_deref()
            .map(|t| ti::flips(&ti::read_snapshot(t), &preds))
            .unwrap_or_default();
        for f in &flips {
            println!(
                "FLIPPED {:?} of `{}` was classified right, now as `{}`",
                f.example, f.intent, f.predicted
            );
        }
        failed += flips.len();
        passed += preds.iter().filter(|p| p.correct()).count();
        let new = ti::snapshot(&preds);
        if !flips.is_empty() && !accept {
            println!(
                "{}: {} example(s) flipped; fix the examples, or run with --accept to store the new predictions",
                snap.display(),
                flips.len()
            );
        } else if old.as_deref() != Some(new.as_str()) {
            match std::fs::write(&snap, new) {
                Ok(()) => println!("{}: snapshot written", snap.display()),
                Err(e) => {
                    eprintln!("error: cannot write `{}`: {e}", snap.display());
                    io_failed = true;
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
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
