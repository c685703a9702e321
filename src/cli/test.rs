//! `wafl test [PATH...] [--filter TEXT]`: runs the `test` blocks of `.flow` files.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, color_choice};
use crate::diag::{Diagnostic, render};
use crate::session::Session;
use crate::testrun;
use clap::Args;
use codespan_reporting::term::termcolor::StandardStream;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

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
    let (files, mut io_failed) = super::flow_files(&roots);
    if args.intents {
        return intents(&files, args.accept, io_failed);
    }
    let stdout = std::io::stdout();
    let mut out = StandardStream::stdout(color_choice(stdout.is_terminal()));
    let mut session = Session::with_files();
    let (mut passed, mut failed) = (0usize, 0usize);
    // Tests and files with tests, whatever the filter.
    let mut found = (0usize, 0usize);
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
        let all = testrun::tests_of(&analysis.parsed.file, None).count();
        if all > 0 {
            found.0 += all;
            found.1 += 1;
        }
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
    let ran_none = passed + failed == 0;
    if ran_none && !io_failed {
        let places: Vec<String> = roots.iter().map(|r| format!("`{}`", r.display())).collect();
        match filter {
            Some(f) if found.0 > 0 => eprintln!(
                "error: no test matches `--filter {f}` ({} test(s) in {} file(s)); a test runs when its name contains the text",
                found.0, found.1
            ),
            _ => eprintln!(
                "error: no `test` block in {} ({} `.flow` file(s) searched)",
                places.join(", "),
                files.len()
            ),
        }
        return EXIT_USAGE;
    }
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
