//! `wafl repl` driven through stdin: each `tests/repl/*.repl` script runs against the
//! file named in its `# file:` header, and the transcript is compared with a snapshot.
//! A pseudo-terminal test proves completion and multi-line entry work interactively.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `wafl repl FILE` with `script` on stdin; returns stdout and stderr.
fn run_repl(file: &str, script: &str) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args(["repl", file])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wafl runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .expect("script written");
    let out = child.wait_with_output().expect("wafl finishes");
    assert!(out.status.success(), "wafl repl failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The transcript of a script file: the `# file:` header names the flow; other `#` lines
/// are notes for the reader and are not sent.
fn assert_transcript(script_path: &Path) -> String {
    let text = std::fs::read_to_string(script_path).expect("script readable");
    let file = text
        .lines()
        .find_map(|l| l.strip_prefix("# file:"))
        .map(str::trim)
        .expect("a `# file:` header");
    let script: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let (stdout, stderr) = run_repl(file, &script);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "unexpected stderr: {stderr}");
    stdout
}

#[test]
fn transcripts() {
    insta::glob!("repl/*.repl", |path| {
        let transcript = assert_transcript(path);
        insta::assert_snapshot!(transcript);
    });
}

#[test]
fn no_file_starts_an_empty_script() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .arg("repl")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("wafl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"hello\nflow \"Try\" { timezone \"UTC\" }\nstage hi { otherwise { reply \"hi {contact.phone}\"; close } }\nhello\n:card\n")
        .expect("written");
    let out = child.wait_with_output().expect("finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("defined stage `hi`"), "{text}");
    assert!(text.contains("bot: hi +1 555 0100"), "{text}");
}

#[test]
fn a_missing_file_is_reported_not_fatal() {
    let (stdout, _) = run_repl("tests/repl/no-such-file.flow", ":card\n");
    assert!(stdout.starts_with("error: cannot read `tests/repl/no-such-file.flow`"));
    assert!(stdout.contains("has no conversation yet"));
}

/// Lines chosen to break a line-oriented front: nothing may panic or stop the REPL.
#[test]
fn never_crashes_on_any_line() {
    use wafl::repl::ReplCore;
    let (mut core, _) = ReplCore::new(Some("examples/support_desk.flow".into()));
    let nasty = [
        "",
        " ",
        ":",
        "::",
        ": :",
        "\u{0}",
        "é",
        ":tap \"",
        ":submit x a:",
        ":contact attr =",
        ":advance 9999999999999999w",
        ":clock 9999-99-99 99:99",
        ":eval",
        ":eval (",
        ":eval \"{",
        ":eval contact.attr.",
        "stage",
        "stage {",
        "stage x {{{{",
        "field a: choice",
        "flow \"x\" { budget 0 }",
        "anywhere { on enter { goto nowhere } }",
        "}}}",
        "\"",
        ":help :help",
        ":contact +",
        ":submit booking day: 2026-13-45",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 {",
        ":eval 1/0",
        ":eval -(-(-1))",
        ":eval [1, [2, [3]]] contains 1",
        ":reload reset",
    ];
    for line in nasty {
        let _ = core.eval_line(line);
    }
    for line in nasty {
        let _ = core.eval_line(&format!("{line}\n{line}"));
    }
}

/// Drives the REPL in a pseudo-terminal: tab completes a command name and a stage name,
/// and a declaration spread over lines is accepted only when its braces close.
#[cfg(unix)]
#[test]
fn interactive_completion_and_multiline_entry() -> Result<(), rexpect::error::Error> {
    let state = std::env::temp_dir().join(format!("wafl-repl-pty-{}", std::process::id()));
    let cmd = format!(
        "env XDG_STATE_HOME={} NO_COLOR=1 TERM=xterm {} repl tests/repl/support.flow",
        state.display(),
        env!("CARGO_BIN_EXE_wafl")
    );
    let mut p = rexpect::spawn(&cmd, Some(20_000))?;
    p.exp_string("Type a message")?;
    p.exp_string("wafl> ")?;
    // `:adv<TAB>` completes to `:advance`.
    p.send(":adv\t")?;
    p.flush()?;
    p.exp_string("advance")?;
    p.send_line(" 5m")?;
    p.exp_string("now")?;
    // A declaration over three lines: the first two leave a brace open.
    p.send_line("stage scheduling {")?;
    p.send_line("  otherwise { reply \"multi-line works\"; close }")?;
    p.send_line("}")?;
    p.exp_string("replaced stage `scheduling`")?;
    // Tab completes stage names inside a declaration.
    p.send("stage service { otherwise { goto sched\t")?;
    p.flush()?;
    p.exp_string("scheduling")?;
    p.send_line(" } }")?;
    p.exp_string("replaced stage `service`")?;
    p.send_line(":quit")?;
    p.exp_eof()?;
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}
