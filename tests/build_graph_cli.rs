//! `wafl build` and `wafl graph` seen from outside: files written, exit statuses, and
//! the message when Graphviz is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wafl(args: &[&str], path_var: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wafl"));
    cmd.args(args).env("NO_COLOR", "1");
    if let Some(p) = path_var {
        cmd.env("PATH", p);
    }
    cmd.output().expect("the wafl binary runs")
}

/// A fresh scratch directory under the target directory, named after the test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

const SCRIPT: &str = r#"flow "Visits" { timezone "UTC" }
field email: email invalid "That is not an email address."
form booking "Book a visit" {
  screen "When" {
    day: date "Preferred day" after today
    period: choice "Period" "Morning", "Afternoon"
  }
  screen "Contact" { email }
}
stage entry {
  on enter { reply form booking "Pick a day for your visit" }
  on form booking submitted { reply "See you on {day}."; close "booked" }
  otherwise { reply "Please use the form." }
}
"#;

#[test]
fn build_writes_the_bundle_and_one_flow_json_per_form() {
    let dir = scratch("build_ok");
    let script = dir.join("visits.flow");
    std::fs::write(&script, SCRIPT).expect("write script");
    let out_dir = dir.join("out");
    let out = wafl(
        &[
            "build",
            script.to_str().unwrap_or_default(),
            "-o",
            out_dir.to_str().unwrap_or_default(),
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("visits.bundle.json"), "{stdout}");
    assert!(stdout.contains("booking.json"), "{stdout}");
    let bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("visits.bundle.json")).expect("bundle written"),
    )
    .expect("bundle is JSON");
    assert_eq!(bundle["source"], SCRIPT);
    let hash = bundle["hash"].as_str().unwrap_or_default();
    assert!(
        hash.starts_with("sha256:") && hash.len() == 7 + 64,
        "{hash}"
    );
    assert!(stdout.contains(hash), "{stdout}");
    let flow: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("forms/booking.json")).expect("form written"),
    )
    .expect("flow is JSON");
    assert_eq!(flow, bundle["forms"]["booking"]);
    assert_eq!(flow["screens"][1]["id"], "CONTACT");
}

#[test]
fn build_refuses_a_script_with_errors() {
    let dir = scratch("build_err");
    let script = dir.join("bad.flow");
    std::fs::write(
        &script,
        SCRIPT.replace("screen \"Contact\"", "screen \"When\""),
    )
    .expect("write script");
    let out_dir = dir.join("out");
    let out = wafl(
        &[
            "build",
            script.to_str().unwrap_or_default(),
            "-o",
            out_dir.to_str().unwrap_or_default(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E0506"), "{stderr}");
    assert!(stderr.contains("not built"), "{stderr}");
    assert!(!out_dir.exists());
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let dir = scratch("graph_ok");
    let script = dir.join("visits.flow");
    std::fs::write(&script, SCRIPT).expect("write script");
    let path = script.to_str().unwrap_or_default();
    let dot = wafl(&["graph", path], None);
    assert_eq!(dot.status.code(), Some(0));
    let text = String::from_utf8_lossy(&dot.stdout);
    assert!(text.starts_with("digraph \"Visits\""), "{text}");
    assert!(
        text.contains("\"entry\" -> \"closed:\" [label=\"form booking submitted\"]"),
        "{text}"
    );
    let mermaid = wafl(&["graph", "--format", "mermaid", path], None);
    assert_eq!(mermaid.status.code(), Some(0));
    let text = String::from_utf8_lossy(&mermaid.stdout);
    assert!(text.contains("flowchart LR"), "{text}");
}

#[test]
fn graph_svg_without_graphviz_says_so_and_exits_two() {
    let dir = scratch("graph_svg");
    let script = dir.join("visits.flow");
    std::fs::write(&script, SCRIPT).expect("write script");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).expect("empty dir");
    let out = wafl(
        &["graph", "--svg", script.to_str().unwrap_or_default()],
        empty.to_str(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Graphviz"), "{stderr}");
}
