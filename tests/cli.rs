//! The `wafl` binary seen from outside: exit statuses, output formats, help.

use std::process::Command;

fn wafl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the wafl binary runs")
}

#[test]
fn help_lists_subcommands_and_exits_zero() {
    let out = wafl(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("check"), "{text}");
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(wafl(&["check"]).status.code(), Some(2));
    assert_eq!(wafl(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn unreadable_file_exits_two_and_says_which() {
    let out = wafl(&["check", "does/not/exist.flow"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does/not/exist.flow"), "{err}");
}

/// One file with a mistake of each kind: `check` lists every one, each with its code
/// and position, in JSON and in the human output, and exits 1.
#[test]
fn a_file_with_every_kind_of_mistake_lists_them_all() {
    let out = wafl(&["check", "--format", "json", "tests/cli/every_kind.flow"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let diags = json.as_array().expect("an array of diagnostics");
    let mut codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    for d in diags {
        assert_eq!(d["file"], "tests/cli/every_kind.flow");
        let line = d["range"]["start"]["line"].as_u64().unwrap_or(0);
        let column = d["range"]["start"]["column"].as_u64().unwrap_or(0);
        assert!(line >= 1 && column >= 1, "a position for {d}");
        assert!(!d["message"].as_str().unwrap_or("").is_empty());
        assert!(matches!(d["severity"].as_str(), Some("error" | "warning")));
    }
    codes.sort();
    codes.dedup();
    let expected = [
        "E0201", "E0202", "E0203", "E0205", "E0301", "E0302", "E0303", "E0304", "E0305", "E0306",
        "E0307", "E0401", "E0402", "E0403", "E0405", "E0407", "E0408", "E0501", "E0502", "E0503",
        "E0506", "E0507", "W0601", "W0602", "W0603", "W0604",
    ];
    assert_eq!(codes, expected);

    let human = wafl(&["check", "tests/cli/every_kind.flow"]);
    assert_eq!(human.status.code(), Some(1));
    let text = String::from_utf8_lossy(&human.stderr).into_owned();
    for code in expected {
        assert!(
            text.contains(&format!("[{code}]")),
            "{code} missing from:\n{text}"
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn examples_check_clean_and_deny_warnings_is_honoured() {
    let out = wafl(&[
        "check",
        "--deny",
        "warnings",
        "examples/support_desk.flow",
        "examples/clinic_booking.flow",
        "examples/sales_leads.flow",
        "examples/order_support.flow",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warn_only = "tests/cases/check/err/w0604_empty_handler.flow";
    assert_eq!(wafl(&["check", warn_only]).status.code(), Some(0));
    assert_eq!(
        wafl(&["check", "--deny", "warnings", warn_only])
            .status
            .code(),
        Some(1)
    );
}

fn wafl_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the wafl binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wafl-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Every command says the same about a path that does not exist or is of the wrong
/// kind, and exits 2: usage and input problems are 2, problems in the scripts 1.
#[test]
fn missing_files_and_folders_are_reported_alike_with_exit_two() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, _, err) = wafl_in(here, &["check", "does/not/exist.flow"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: no such file or folder `does/not/exist.flow`"),
        "{err}"
    );
    assert!(!err.contains("no problems"), "{err}");
    assert!(err.contains("stopped short"), "{err}");

    let (code, _, err) = wafl_in(here, &["test", "does/not/exist.flow"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: no such file or folder `does/not/exist.flow`"),
        "{err}"
    );

    let (code, _, err) = wafl_in(here, &["run", "does/not/exist.flow"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: no such file `does/not/exist.flow`"),
        "{err}"
    );

    let (code, _, err) = wafl_in(here, &["run", "examples"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: `examples` is a folder: `wafl run` takes one `.flow` file"),
        "{err}"
    );
}

/// A folder given to `check` stands for the `.flow` files in it; one with none is an
/// input problem.
#[test]
fn check_of_a_folder_checks_its_flow_files() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, _, err) = wafl_in(here, &["check", "--deny", "warnings", "examples"]);
    assert_eq!(code, Some(0), "{err}");
    let files = std::fs::read_dir(here.join("examples"))
        .expect("examples")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "flow"))
        .count();
    assert!(
        err.contains(&format!("checked {files} file(s): no problems")),
        "{err}"
    );
    let empty = temp_dir("empty");
    let (code, _, err) = wafl_in(&empty, &["check", "."]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: no `.flow` file in the folder `.`"),
        "{err}"
    );
}

/// `wafl test` that runs nothing fails, saying why: no test block where it looked, or a
/// `--filter` that matches none of the tests it found.
#[test]
fn test_that_runs_nothing_exits_two_and_says_why() {
    let empty = temp_dir("notests");
    std::fs::write(
        empty.join("plain.flow"),
        "flow \"F\" { timezone \"UTC\" }\nstage a { otherwise { close } }\n",
    )
    .expect("write");
    let (code, out, err) = wafl_in(&empty, &["test"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("error: no `test` block in `.` (1 `.flow` file(s) searched)"),
        "{err}"
    );

    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = wafl_in(
        here,
        &[
            "test",
            "examples/support_desk.flow",
            "--filter",
            "zzz-no-such-test",
        ],
    );
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("0 passed, 0 failed"), "{out}");
    assert!(
        err.contains("error: no test matches `--filter zzz-no-such-test` ("),
        "{err}"
    );
    assert!(err.contains("test(s) in 1 file(s)"), "{err}");

    let (code, out, _) = wafl_in(
        here,
        &["test", "examples/support_desk.flow", "--filter", "menu"],
    );
    assert_eq!(code, Some(0), "{out}");
}
