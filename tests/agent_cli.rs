//! `wafl agent add|list|remove` from outside: accounts of the script's team members only,
//! passwords from standard input or an environment variable (never the command line),
//! stored as Argon2id hashes in the daemon's database.

use std::io::Write;
use std::process::{Command, Stdio};
use wafl::daemon::console::auth::verify_password;
use wafl::daemon::store::Store;
use wafl::daemon::store::sqlite::SqliteStore;

const SCRIPT: &str = r#"
flow "Desk" { timezone "UTC" }
team billing { agents "ana@x.com" }
team support { agents "bo@x.com" }
stage triage {
  on keyword "bill" { route billing }
  on keyword "help" { route support }
  on keyword "bye" { close "done" }
  otherwise { reply "hi" }
}
"#;

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `wafl agent ARGS --database DB` with `stdin`; (exit status, stdout, stderr).
fn agent(
    dir: &Dir,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let db = dir.0.join("wafl.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafl"))
        .arg("agent")
        .args(args)
        .arg("--database")
        .arg(&db)
        .envs(env.iter().copied())
        .env_remove("WAFL_DATABASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wafl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wafl ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn agents_are_the_scripts_team_members_with_hashed_passwords() {
    let dir = Dir(std::env::temp_dir().join(format!("wafl-agent-cli-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("dir");
    let script = dir.0.join("desk.flow");
    std::fs::write(&script, SCRIPT).expect("script");
    let s = script.to_str().expect("path");
    let pw = "a-long-password\n";

    let (code, _, err) = agent(
        &dir,
        &[
            "add",
            "ana@x.com",
            "--name",
            "Ana",
            "--team",
            "sales",
            "--script",
            s,
        ],
        pw,
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no team `sales`") && err.contains("billing, support"),
        "{err}"
    );
    let (code, _, err) = agent(
        &dir,
        &[
            "add", "bo@x.com", "--name", "Bo", "--team", "billing", "--script", s,
        ],
        pw,
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not an agent of team `billing`"), "{err}");
    let (code, _, err) = agent(
        &dir,
        &[
            "add",
            "ana@x.com",
            "--name",
            "Ana",
            "--team",
            "billing",
            "--script",
            s,
        ],
        "short\n",
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shorter than 10"), "{err}");

    let (code, out, err) = agent(
        &dir,
        &[
            "add",
            "Ana@X.com",
            "--name",
            "Ana Lima",
            "--team",
            "billing",
            "--script",
            s,
        ],
        pw,
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("added ana@x.com"), "{out}");
    let (code, _, err) = agent(
        &dir,
        &[
            "add",
            "ana@x.com",
            "--name",
            "Ana",
            "--team",
            "billing",
            "--script",
            s,
        ],
        pw,
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("exists already"), "{err}");
    let (code, _, err) = agent(
        &dir,
        &[
            "add",
            "bo@x.com",
            "--name",
            "Bo",
            "--team",
            "support",
            "--script",
            s,
            "--password-env",
            "BO_PW",
        ],
        "",
        &[("BO_PW", "bo-password-from-env")],
    );
    assert_eq!(code, Some(0), "{err}");

    let (code, out, _) = agent(&dir, &["list"], "", &[]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("ana@x.com")
            && lines[0].contains("Ana Lima")
            && lines[0].ends_with("billing"),
        "{out}"
    );
    assert!(!out.contains("argon2"), "hashes are not listed: {out}");
    {
        let store = SqliteStore::open(&dir.0.join("wafl.db")).expect("open");
        let ana = store.agent("ana@x.com").expect("read").expect("ana");
        assert!(
            ana.password_hash.starts_with("$argon2id$"),
            "{}",
            ana.password_hash
        );
        assert!(verify_password("a-long-password", &ana.password_hash));
        let bo = store.agent("bo@x.com").expect("read").expect("bo");
        assert!(verify_password("bo-password-from-env", &bo.password_hash));
    }

    let (code, out, _) = agent(&dir, &["remove", "ana@x.com"], "", &[]);
    assert_eq!(code, Some(0));
    assert!(out.contains("removed ana@x.com"), "{out}");
    let (code, _, err) = agent(&dir, &["remove", "ana@x.com"], "", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no agent"), "{err}");
}
