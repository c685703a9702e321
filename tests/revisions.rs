//! Versioned publishing: `wafl publish` stores a checked script as a revision and makes it
//! active, refusing scripts that do not check clean and revisions that would strand open
//! cards; `wafl rollback` goes back; `wafl revisions` lists them with their open cards; a
//! running daemon follows the active revision, and a daemon started with another file
//! runs the published one.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/daemon.rs"]
mod harness;

use harness::{body_text, start, text};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const V1: &str = r#"
flow "Desk" { timezone "UTC" }
field email: text
stage desk {
  on keyword "mail" {
    ask email "Your email?"
    reply "Thanks, {email}"
    close "mailed"
  }
  on keyword "bye" { close "done" }
  otherwise { reply "v1 here" }
}
"#;

/// V1 with another fallback reply: every handler a card can wait in is unchanged.
const V2: &str = r#"
flow "Desk" { timezone "UTC" }
field email: text
stage desk {
  on keyword "mail" {
    ask email "Your email?"
    reply "Thanks, {email}"
    close "mailed"
  }
  on keyword "bye" { close "done" }
  otherwise { reply "v2 here" }
}
"#;

/// The handler that asks changed: a card waiting in it cannot resume under this one.
const V3_CHANGES_THE_ASK: &str = r#"
flow "Desk" { timezone "UTC" }
field email: text
stage desk {
  on keyword "mail" {
    ask email "Your e-mail address, please?"
    reply "Got it: {email}"
    close "mailed"
  }
  on keyword "bye" { close "done" }
  otherwise { reply "v3 here" }
}
"#;

const BROKEN: &str =
    "flow \"Desk\" { timezone \"UTC\" }\nstage desk { otherwise { goto nowhere } }\n";

const WARNS: &str = r#"
flow "Desk" { timezone "UTC" }
field unused_one: text
stage desk {
  on keyword "bye" { close "done" }
  otherwise { reply "warned" }
}
"#;

fn wafl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args(args)
        .env_remove("WAFL_DATABASE")
        .output()
        .expect("wafl runs")
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write script");
    p.display().to_string()
}

#[test]
fn publish_refuses_what_does_not_check_and_rollback_goes_back() {
    let dir = harness::temp_dir("publish-cli");
    let db = dir.join("wafl.db").display().to_string();
    let broken = write(&dir, "broken.flow", BROKEN);
    let warns = write(&dir, "warns.flow", WARNS);
    let v1 = write(&dir, "v1.flow", V1);
    let v2 = write(&dir, "v2.flow", V2);

    let o = wafl(&["revisions", "--database", &db]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("nothing was published yet"), "{}", out(&o));

    let o = wafl(&["publish", &broken, "--database", &db]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("does not check; nothing was published"),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("nowhere"),
        "the errors are shown: {}",
        out(&o)
    );

    let o = wafl(&["publish", &warns, "--database", &db]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("--allow-warnings"), "{}", out(&o));

    let o = wafl(&["publish", &v1, "--database", &db, "--dry-run"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("Nothing was published"), "{}", out(&o));
    let o = wafl(&["revisions", "--database", &db]);
    assert!(out(&o).contains("nothing was published yet"), "{}", out(&o));

    let o = wafl(&[
        "publish",
        &v1,
        "--database",
        &db,
        "-m",
        "first",
        "--author",
        "ana",
    ]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("published revision 1"), "{}", out(&o));
    let o = wafl(&["publish", &v2, "--database", &db, "-m", "friendlier"]);
    assert!(out(&o).contains("published revision 2"), "{}", out(&o));
    let o = wafl(&["publish", &warns, "--database", &db, "--allow-warnings"]);
    assert!(out(&o).contains("published revision 3"), "{}", out(&o));

    let o = wafl(&["revisions", "--database", &db]);
    let listing = out(&o);
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[1].trim_start().starts_with("3  *"), "{listing}");
    assert!(lines[1].contains("1 warning"), "{listing}");
    assert!(
        lines[3].contains("ana") && lines[3].contains("first"),
        "{listing}"
    );

    // Back to the revision before the active one, then to a named one.
    let o = wafl(&["rollback", "--database", &db]);
    assert!(out(&o).contains("revision 2"), "{}", out(&o));
    let o = wafl(&["rollback", "1", "--database", &db]);
    assert!(out(&o).contains("revision 1"), "{}", out(&o));
    let o = wafl(&["revisions", "--database", &db]);
    assert!(
        out(&o).lines().any(|l| l.trim_start().starts_with("1  *")),
        "{}",
        out(&o)
    );
    let o = wafl(&["rollback", "9", "--database", &db]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("no revision 9"), "{}", out(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The daemon's replies to one contact, in order.
fn replies(d: &harness::Daemon, to: &str) -> Vec<String> {
    d.graph
        .requests()
        .iter()
        .filter(|r| r.body["to"].as_str().map(|t| t.trim_start_matches('+')) == Some(to))
        .filter_map(|r| body_text(&r.body))
        .collect()
}

async fn wait_reply(d: &harness::Daemon, to: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let got = replies(d, to);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{to} got {:?}, expected {n} replies", replies(d, to));
}

async fn wait_hash(d: &harness::Daemon, hash: &str) {
    for _ in 0..100 {
        if d.shared.script().hash == hash {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the daemon did not follow the active revision");
}

fn hash_of(src: &str) -> String {
    wafl::compile::bundle::content_hash(src)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_follows_publishes_and_refuses_what_would_strand_a_card() {
    let d = start("publish-follow", V1, "[whatsapp]\nsend_rate = 5000\n").await;
    let db = d.dir.join("wafl.db").display().to_string();
    let v1 = write(&d.dir, "v1.flow", V1);
    let v2 = write(&d.dir, "v2.flow", V2);
    let v3 = write(&d.dir, "v3.flow", V3_CHANGES_THE_ASK);

    let o = wafl(&["publish", &v1, "--database", &db]);
    assert!(o.status.success(), "{}", out(&o));
    d.post_signed(&text("5511933330001", "wamid.f1", "hello"))
        .await;
    assert_eq!(wait_reply(&d, "5511933330001", 1).await, ["v1 here"]);

    // A card now waits in the `ask` of `mail`.
    d.post_signed(&text("5511933330002", "wamid.f2", "mail"))
        .await;
    assert_eq!(wait_reply(&d, "5511933330002", 1).await, ["Your email?"]);

    // Changing the handler it waits in is refused, and names the card; nothing changes.
    let o = wafl(&["publish", &v3, "--database", &db]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let report = out(&o);
    assert!(report.contains("publishing is refused"), "{report}");
    assert!(
        report.contains("5511933330002") || report.contains("+5511933330002"),
        "{report}"
    );
    assert!(report.contains("NOT COVERED"), "{report}");

    // A revision that keeps that handler is accepted and the running daemon follows it.
    let o = wafl(&["publish", &v2, "--database", &db]);
    assert!(o.status.success(), "{}", out(&o));
    wait_hash(&d, &hash_of(V2)).await;
    d.post_signed(&text("5511933330001", "wamid.f3", "again"))
        .await;
    assert_eq!(
        wait_reply(&d, "5511933330001", 2).await,
        ["v1 here", "v2 here"]
    );
    // The waiting card resumes where it waited.
    d.post_signed(&text("5511933330002", "wamid.f4", "ana@example.com"))
        .await;
    assert_eq!(
        wait_reply(&d, "5511933330002", 2).await[1],
        "Thanks, ana@example.com"
    );

    // `wafl revisions` counts the open cards per revision.
    let o = wafl(&["revisions", "--database", &db]);
    let listing = out(&o);
    let active = listing
        .lines()
        .find(|l| l.trim_start().starts_with("2  *"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        active.contains("  1  "),
        "one open card runs on revision 2: {listing}"
    );

    // Rolling back is followed too; the file the daemon was started with is only a draft.
    let o = wafl(&["rollback", "--database", &db]);
    assert!(o.status.success(), "{}", out(&o));
    wait_hash(&d, &hash_of(V1)).await;
    std::fs::write(d.script_path(), V3_CHANGES_THE_ASK).expect("edit the file");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        d.shared.script().hash,
        hash_of(V1),
        "a file change does not bypass publishing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_started_with_another_file_runs_the_active_revision() {
    let dir = harness::temp_dir("publish-start");
    let db = dir.join("wafl.db").display().to_string();
    let v2 = write(&dir, "v2.flow", V2);
    let o = wafl(&["publish", &v2, "--database", &db]);
    assert!(o.status.success(), "{}", out(&o));
    let d = start_on(&dir, V1).await;
    assert_eq!(d.shared.script().hash, hash_of(V2));
    d.post_signed(&text("5511933330009", "wamid.s1", "hi"))
        .await;
    assert_eq!(wait_reply(&d, "5511933330009", 1).await, ["v2 here"]);
}

/// A daemon whose database is the one in `dir` (the harness makes its own folder).
async fn start_on(dir: &Path, script: &str) -> harness::Daemon {
    harness::start_with_database("publish-start-daemon", script, "", &dir.join("wafl.db")).await
}
