//! A daemon with a booking form and a fresh RSA key for Flows tests, and the client side
//! of the Flows data endpoint: encrypts a request the way WhatsApp does and decrypts the
//! answer.

#![allow(dead_code)]

use super::fake;
use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::{AesGcm, Nonce};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PrivateDecryptingKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use wafl::daemon::{self, Shared, config};

pub const APP_SECRET: &str = "test_app_secret";
pub const CUSTOMER: &str = "5511977776666";

pub const BOOKING: &str = r#"
flow "Clinic" {
  timezone "UTC"
}
field email: email
field guests: number between 1 and 8
  invalid "Guests must be between 1 and 8."
webhook slots "{HOOK}/slots" {
  secret env("CRM_SECRET")
}
form booking "Book a visit" {
  screen "When" {
    day: date "Preferred day" after today
    period: choice "Period" "Morning", "Afternoon"
    guests
    notes: text "Anything else?" optional
  }
  screen "Contact" { email }
}
stage triage {
  on keyword "book" {
    reply form booking "Pick a day for your visit"
  }
  on form booking submitted {
    reply "Booked {period} for {guests}, confirmation to {email}"
  }
  on keyword "bye" { close "done" }
  on keyword "sync" { post slots { phone: contact.phone } }
  otherwise { reply "say book" }
}
"#;

pub struct Daemon {
    pub shared: Arc<Shared>,
    pub base: String,
    pub graph: fake::Fake,
    pub hooks: fake::Fake,
    pub client: reqwest::Client,
    pub key: PrivateDecryptingKey,
}

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "wafl-flows-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Starts the daemon over `script` with a fresh RSA-2048 key and `wafl.toml` text.
pub async fn start(script: &str, toml: &str) -> Daemon {
    let graph = fake::start().await;
    let hooks = fake::start().await;
    let dir = temp_dir();
    let script_path = dir.join("script.flow");
    std::fs::write(&script_path, script.replace("{HOOK}", &hooks.url())).expect("write");
    let loaded = daemon::load_script(&script_path).expect("script checks");
    let key = new_key();
    let pem = pkcs8_pem(&key);
    let db = dir.join("wafl.db");
    let graph_url = graph.url();
    let env = move |k: &str| -> Option<String> {
        match k {
            "WAFL_ACCESS_TOKEN" => Some("test-access-token".into()),
            "WAFL_PHONE_NUMBER_ID" => Some("PNID".into()),
            "WAFL_APP_SECRET" => Some(APP_SECRET.into()),
            "WAFL_GRAPH_URL" => Some(graph_url.clone()),
            "WAFL_DATABASE" => Some(db.display().to_string()),
            "WAFL_FLOWS_PRIVATE_KEY" => Some(pem.clone()),
            "CRM_SECRET" => Some("crm-secret".into()),
            _ => None,
        }
    };
    let file = config::parse_file("wafl.toml", toml).expect("toml");
    let cfg =
        config::resolve(file, &env, Some("127.0.0.1:0"), &["CRM_SECRET".into()]).expect("config");
    let (shared, listener) = daemon::start(cfg, loaded).await.expect("daemon starts");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(daemon::http::serve(shared.clone(), listener));
    Daemon {
        shared,
        base: format!("http://{addr}"),
        graph,
        hooks,
        client: reqwest::Client::new(),
        key,
    }
}

pub fn envelope(messages: Value) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001234", "phone_number_id": "PNID"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": CUSTOMER}],
            "messages": messages
        }}]}]
    })
    .to_string()
}

pub fn text(from: &str, id: &str, body: &str) -> String {
    envelope(
        json!([{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": body}}]),
    )
}

/// An `nfm_reply` whose `response_json` is the JSON text of `response`.
pub fn form_reply(from: &str, id: &str, response: &Value) -> String {
    envelope(json!([{
        "from": from, "id": id, "timestamp": "1700000001", "type": "interactive",
        "interactive": {"type": "nfm_reply", "nfm_reply": {
            "name": "flow", "body": "Sent", "response_json": response.to_string()
        }}
    }]))
}

/// An encrypted request, and the key and IV to read its answer.
pub struct Request {
    pub body: Value,
    pub aes: [u8; 16],
    pub iv: [u8; 16],
}

/// Encrypts `plain` like the WhatsApp client: a random AES-128 key wrapped with
/// RSA-OAEP (SHA-256, MGF1 SHA-256), AES-GCM with a 16-byte IV, tag appended.
pub fn encrypt_request(key: &PrivateDecryptingKey, plain: &Value) -> Request {
    let aes: [u8; 16] = rand::random();
    let iv: [u8; 16] = rand::random();
    let public = OaepPublicEncryptingKey::new(key.public_key()).expect("public key");
    let mut wrapped = vec![0u8; public.ciphertext_size()];
    let n = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, &aes, &mut wrapped, None)
        .expect("wrap")
        .len();
    wrapped.truncate(n);
    let data = AesGcm::<Aes128, U16>::new(&aes.into())
        .encrypt(&Nonce::<U16>::from(iv), plain.to_string().as_bytes())
        .expect("gcm");
    Request {
        body: json!({
            "encrypted_flow_data": B64.encode(&data),
            "encrypted_aes_key": B64.encode(&wrapped),
            "initial_vector": B64.encode(iv),
        }),
        aes,
        iv,
    }
}

/// A fresh RSA-2048 key.
pub fn new_key() -> PrivateDecryptingKey {
    PrivateDecryptingKey::generate(KeySize::Rsa2048).expect("rsa key")
}

/// The key as PKCS#8 PEM, the way `WAFL_FLOWS_PRIVATE_KEY` carries it.
pub fn pkcs8_pem(key: &PrivateDecryptingKey) -> String {
    let der = key.as_der().expect("pkcs8");
    let b64 = B64.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// Decrypts an answer with the request's key and the bit-flipped IV.
pub fn decrypt_answer(req: &Request, body: &str) -> Value {
    let blob = B64.decode(body.trim()).expect("base64 answer");
    let flipped = req.iv.map(|b| !b);
    let plain = AesGcm::<Aes128, U16>::new(&req.aes.into())
        .decrypt(&Nonce::<U16>::from(flipped), blob.as_slice())
        .expect("answer decrypts with the flipped IV");
    serde_json::from_slice(&plain).expect("answer is JSON")
}

impl Daemon {
    pub async fn post_webhook(&self, body: &str) -> reqwest::Response {
        let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
        self.client
            .post(format!("{}/webhook", self.base))
            .header("x-hub-signature-256", sig)
            .body(body.to_string())
            .send()
            .await
            .expect("post")
    }

    /// Posts a raw body to the endpoint with a signature (`None`: no header).
    pub async fn post_endpoint_raw(&self, body: &str, sig: Option<String>) -> (u16, String) {
        let mut r = self
            .client
            .post(format!("{}/flows/endpoint", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(s) = sig {
            r = r.header("x-hub-signature-256", s);
        }
        let resp = r.send().await.expect("post endpoint");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// Encrypts and signs `plain`, posts it; returns the status, the request and the body.
    pub async fn call_endpoint(&self, plain: &Value) -> (u16, Request, String) {
        let req = encrypt_request(&self.key, plain);
        let body = req.body.to_string();
        let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
        let (status, text) = self.post_endpoint_raw(&body, Some(sig)).await;
        (status, req, text)
    }

    /// Sends "book" and returns the flow token of the form message the daemon sent.
    pub async fn issue_token(&self, wamid: &str) -> String {
        let before = self.graph.requests().len();
        assert_eq!(
            self.post_webhook(&text(CUSTOMER, wamid, "book"))
                .await
                .status(),
            200
        );
        let sent = self.graph.wait_for(before + 1, 10).await;
        let msg = sent.get(before).expect("the form message was sent");
        assert_eq!(
            msg.body
                .pointer("/interactive/type")
                .and_then(Value::as_str),
            Some("flow")
        );
        msg.body
            .pointer("/interactive/action/parameters/flow_token")
            .and_then(Value::as_str)
            .expect("flow token")
            .to_string()
    }

    pub async fn unknown_events(&self, kind: &'static str) -> Vec<Value> {
        self.shared
            .db
            .run(move |s| s.unknown_events(kind))
            .await
            .expect("read")
            .iter()
            .map(|r| serde_json::from_str(r).expect("json row"))
            .collect()
    }

    pub fn sent_texts(&self) -> Vec<String> {
        self.graph
            .requests()
            .iter()
            .filter_map(|r| {
                r.body
                    .pointer("/text/body")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    }
}
