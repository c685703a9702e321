//! One in-process daemon for the daemon's acceptance tests: a script, a `wafl.toml`, a
//! fake Graph API and a fake webhook receiver on 127.0.0.1, and helpers to post signed
//! webhooks, statuses and admin requests.

#![allow(dead_code)]

use super::fake::{self, Fake};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use wafl::daemon::{self, Shared, config};

pub const APP_SECRET: &str = "test_app_secret";
pub const ADMIN: &str = "admin-secret";

pub struct Daemon {
    pub shared: Arc<Shared>,
    pub base: String,
    pub graph: Fake,
    pub hooks: Fake,
    pub client: reqwest::Client,
    pub dir: PathBuf,
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wafl-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts a daemon on `script` (where `{HOOK}` is the fake receiver's URL) with the
/// `wafl.toml` text `file`, in WhatsApp mode against the fake Graph API.
pub async fn start(tag: &str, script: &str, file: &str) -> Daemon {
    let dir = temp_dir(tag);
    let db = dir.join("wafl.db");
    start_in(dir, script, file, db).await
}

/// As [`start`], on an existing database file.
pub async fn start_with_database(
    tag: &str,
    script: &str,
    file: &str,
    db: &std::path::Path,
) -> Daemon {
    start_in(temp_dir(tag), script, file, db.to_path_buf()).await
}

async fn start_in(dir: PathBuf, script: &str, file: &str, db: PathBuf) -> Daemon {
    let graph = fake::start().await;
    let hooks = fake::start().await;
    let script_path = dir.join("script.flow");
    std::fs::write(&script_path, script.replace("{HOOK}", &hooks.url())).expect("write script");
    let loaded = daemon::load_script(&script_path).expect("script checks");
    let graph_url = graph.url();
    let env = move |k: &str| -> Option<String> {
        match k {
            "WAFL_ACCESS_TOKEN" => Some("test-access-token".into()),
            "WAFL_PHONE_NUMBER_ID" => Some("PNID".into()),
            "WAFL_APP_SECRET" => Some(APP_SECRET.into()),
            "WAFL_ADMIN_TOKEN" => Some(ADMIN.into()),
            "WAFL_GRAPH_URL" => Some(graph_url.clone()),
            "WAFL_DATABASE" => Some(db.display().to_string()),
            _ => None,
        }
    };
    let file = config::parse_file("wafl.toml", file).expect("test config parses");
    let cfg = config::resolve(file, &env, Some("127.0.0.1:0"), &[]).expect("config");
    let (shared, listener) = daemon::start(cfg, loaded).await.expect("daemon starts");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(daemon::http::serve(shared.clone(), listener));
    Daemon {
        shared,
        base: format!("http://{addr}"),
        graph,
        hooks,
        client: reqwest::Client::new(),
        dir,
    }
}

pub fn envelope(messages: Value, statuses: Value) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": "PNID"},
            "contacts": [], "messages": messages, "statuses": statuses
        }}]}]
    })
    .to_string()
}

pub fn text(from: &str, id: &str, body: &str) -> String {
    envelope(
        json!([{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": body}}]),
        json!([]),
    )
}

/// A status webhook; `callback` is the outbox row id the daemon sent as
/// `biz_opaque_callback_data`, `error` a failure code.
pub fn status(wamid: &str, status: &str, to: &str, error: Option<i64>) -> String {
    let mut s =
        json!({"id": wamid, "status": status, "timestamp": "1700000100", "recipient_id": to});
    if let Some(code) = error {
        s["errors"] = json!([{"code": code, "title": "error"}]);
    }
    envelope(json!([]), json!([s]))
}

/// The text of a Graph API request body (text or interactive), if any.
pub fn body_text(body: &Value) -> Option<String> {
    body.pointer("/text/body")
        .or_else(|| body.pointer("/interactive/body/text"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl Daemon {
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
        self.client
            .post(format!("{}/webhook", self.base))
            .header("x-hub-signature-256", sig)
            .body(body.to_string())
            .send()
            .await
            .expect("post")
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str) -> Value {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("admin request")
            .json()
            .await
            .expect("admin json")
    }

    /// The card of a contact as the admin API shows it.
    pub async fn card(&self, contact: &str) -> Value {
        self.admin(reqwest::Method::GET, &format!("/admin/cards/{contact}"))
            .await
    }

    pub fn script_path(&self) -> PathBuf {
        self.dir.join("script.flow")
    }
}
