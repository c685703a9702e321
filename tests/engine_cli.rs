//! `wafl test` seen from outside: exit statuses, the summary line, `--filter`, folders,
//! and the rendering of a failed expectation (snapshotted).

use std::path::{Path, PathBuf};
use std::process::Command;

fn wafl(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the wafl binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh folder with the given files.
fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wafl-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("a parent folder")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

const GOOD: &str = r#"flow "Good" { timezone "UTC" }
stage triage {
  on keyword "boleto" { reply "billing" }
  on keyword "bye" { close "done" }
  otherwise { reply "How can we help?" }
}
test "billing" { send "BOLETO"; expect reply "billing" }
test "other" { send "hi"; expect reply contains "help" }
"#;

const BAD: &str = r#"flow "Bad" { timezone "UTC" }
stage triage {
  on keyword "boleto" { reply "billing"; goto done }
  otherwise { reply "How can we help?" }
}
stage done { on enter { reply "bye" } otherwise { close } }
test "wrong stage" {
  send "boleto"
  expect reply "billing"
  expect stage triage
}
"#;

#[test]
fn all_passing_exits_zero_with_the_summary_line() {
    let dir = folder("pass", &[("good.flow", GOOD)]);
    let (code, out, _) = wafl(&dir, &["test", "good.flow"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().last(), Some("2 passed, 0 failed"), "{out}");
}

#[test]
fn a_failure_exits_one_and_shows_the_transcript() {
    let dir = folder("fail", &[("bad.flow", BAD)]);
    let (code, out, _) = wafl(&dir, &["test", "bad.flow"]);
    assert_eq!(code, Some(1), "{out}");
    insta::assert_snapshot!("wafl_test_failure", out);
}

#[test]
fn folders_are_searched_recursively_and_default_to_the_current_one() {
    let dir = folder(
        "tree",
        &[
            ("a/good.flow", GOOD),
            ("a/b/bad.flow", BAD),
            ("a/notes.txt", "not a flow"),
        ],
    );
    let (code, out, _) = wafl(&dir, &["test"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out.lines().last(), Some("2 passed, 1 failed"), "{out}");
    let (code, out, _) = wafl(&dir, &["test", "a", "--filter", "bill"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 0 failed"), "{out}");
}

#[test]
fn a_script_with_errors_is_not_run() {
    let broken = GOOD.replace("otherwise {", "otherwise {{");
    let dir = folder("broken", &[("broken.flow", &broken)]);
    let (code, out, _) = wafl(&dir, &["test", "broken.flow"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not run"), "{out}");
    assert!(out.contains("error[E01"), "{out}");
}

#[test]
fn a_missing_path_exits_two() {
    let dir = folder("missing", &[]);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (code, _, err) = wafl(&dir, &["test", "nope.flow"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nope.flow"), "{err}");
}
