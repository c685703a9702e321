//! Data-driven cases: `tests/cases/<stage>/{ok,err}/*.flow`.
//!
//! - `syntax/ok`: parses without any diagnostic; the tree is snapshotted.
//! - `syntax/err`: parse + check report at least one syntax diagnostic (E01xx).
//! - `check/ok`: parse + check report nothing at all.
//! - `check/err`: parse + check report at least one diagnostic.
//!
//! Every `err` snapshot holds the source beside the rendered diagnostics (no colour).

use wafl::check::knowledge::Loaded;
use wafl::session::Session;
use wafl::syntax::{self, span::FileId};

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).expect("test case is readable UTF-8")
}

fn name_of(path: &std::path::Path) -> String {
    format!(
        "{}/{}",
        path.parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}

/// Source beside rendered diagnostics, the shape of every `err` snapshot.
fn diagnose(path: &std::path::Path) -> (String, Vec<&'static str>) {
    let src = read(path);
    // Knowledge files sit beside the case; the loader reads them from there, while the
    // snapshot keeps the short name.
    let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let mut session = Session::new();
    session.set_loader(std::sync::Arc::new(
        move |_: &str, file: &str| match std::fs::read_to_string(dir.join(file)) {
            Ok(t) => Loaded::Text(t),
            Err(_) => Loaded::Missing(format!("no file `{file}` beside the script")),
        },
    ));
    let id = session.add(name_of(path), src.clone());
    let analysis = session.analysis(id).expect("file was just added");
    let codes: Vec<&'static str> = analysis
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    let rendered = session.render(id);
    (format!("{src}\n----- diagnostics -----\n{rendered}"), codes)
}

#[test]
fn syntax_ok() {
    insta::glob!("cases/syntax/ok/*.flow", |path| {
        let src = read(path);
        let parsed = syntax::parse(FileId(0), &src);
        assert!(
            parsed.diagnostics.is_empty(),
            "{} should parse cleanly, got: {:#?}",
            path.display(),
            parsed.diagnostics
        );
        insta::assert_debug_snapshot!(parsed.file);
    });
}

#[test]
fn syntax_err() {
    insta::glob!("cases/syntax/err/*.flow", |path| {
        let (snapshot, codes) = diagnose(path);
        assert!(
            codes.iter().any(|c| c.starts_with("E01")),
            "{} should produce a syntax diagnostic, got {codes:?}",
            path.display()
        );
        insta::assert_snapshot!(snapshot);
    });
}

#[test]
fn check_ok() {
    insta::glob!("cases/check/ok/*.flow", |path| {
        let (snapshot, codes) = diagnose(path);
        assert!(
            codes.is_empty(),
            "{} should check clean:\n{snapshot}",
            path.display()
        );
    });
}

#[test]
fn check_err() {
    insta::glob!("cases/check/err/*.flow", |path| {
        let (snapshot, codes) = diagnose(path);
        assert!(
            !codes.is_empty(),
            "{} should produce a diagnostic",
            path.display()
        );
        insta::assert_snapshot!(snapshot);
    });
}

/// Every registered code is exercised by at least one `err` case.
#[test]
fn every_code_has_a_case() {
    let mut seen = std::collections::BTreeSet::new();
    for dir in ["tests/cases/syntax/err", "tests/cases/check/err"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "flow") {
                let (_, codes) = diagnose(&p);
                seen.extend(codes);
            }
        }
    }
    // `T` codes come from `wafl test`, not from checking; tests/engine_cli.rs covers them.
    let missing: Vec<_> = wafl::diag::codes::ALL
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| !c.starts_with('T') && !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without an err case: {missing:?}");
}
