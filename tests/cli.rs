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
