//! The WhatsApp Flows data endpoint (`POST /flows/endpoint`) end to end, with a fresh RSA
//! key generated in the test: requests are encrypted the way WhatsApp does, answers are
//! decrypted and checked; the 421, 427 and 432 statuses; live screen data from a webhook
//! with its fallback.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/flows.rs"]
mod flows;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use flows::{APP_SECRET, BOOKING};
use serde_json::{Value, json};
use wafl::daemon;
use wafl::daemon::flows as endpoint;

#[test]
fn the_aes_layer_matches_the_reference_vector() {
    // Shared reference §6.8: a fixed key and IV, the ping request and its answer.
    let key: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
        .expect("hex")
        .try_into()
        .expect("16 bytes");
    let iv: [u8; 16] = hex::decode("101112131415161718191a1b1c1d1e1f")
        .expect("hex")
        .try_into()
        .expect("16 bytes");
    let request = br#"{"version":"3.0","action":"ping"}"#;
    let sealed = endpoint::gcm_seal(&key, &iv, request).expect("seal");
    assert_eq!(
        B64.encode(&sealed),
        "vryB0w/BTee4OvmgkgEf9dnfQfwZb8iWi7yl5iotFMJeuQl749lOptdzv/L1T2V2PA=="
    );
    assert_eq!(
        endpoint::gcm_open(&key, &iv, &sealed).as_deref(),
        Some(&request[..])
    );
    assert_eq!(
        hex::encode(endpoint::flip(&iv)),
        "efeeedecebeae9e8e7e6e5e4e3e2e1e0"
    );
    let answer = endpoint::encrypt_response(&json!({"data": {"status": "active"}}), &key, &iv)
        .expect("encrypt");
    assert_eq!(
        answer,
        "IHgL0mWXHJ6FDPLH6+aygF5BfT+mPzwvzktiKvlmYpg8eFKqJX/07YVStaI="
    );
    // A short or altered blob never decrypts, and never panics.
    assert!(endpoint::gcm_open(&key, &iv, &sealed[..10]).is_none());
    let mut altered = sealed.clone();
    if let Some(b) = altered.last_mut() {
        *b ^= 1;
    }
    assert!(endpoint::gcm_open(&key, &iv, &altered).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_is_answered_encrypted_with_the_flipped_iv() {
    let d = flows::start(BOOKING, "").await;
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "ping"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"data": {"status": "active"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_opens_the_first_screen_and_the_last_data_exchange_completes() {
    let d = flows::start(BOOKING, "").await;
    let token = d.issue_token("wamid.book1").await;
    assert_eq!(token.len(), 32, "128 random bits, hex: {token}");
    let sent = d.graph.requests();
    assert_eq!(
        sent[0]
            .body
            .pointer("/interactive/action/parameters/flow_action_payload/screen")
            .and_then(Value::as_str),
        Some("WHEN"),
        "the form message opens the first screen"
    );

    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "WHEN", "data": {"period_options": [{"id": "Morning", "title": "Morning"}, {"id": "Afternoon", "title": "Afternoon"}]}})
    );

    // The first screen's answers move on to the next screen.
    let answers = json!({"day": "2030-01-02", "period": "Morning", "guests": "2"});
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "data_exchange", "screen": "WHEN", "data": answers, "flow_token": token}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "CONTACT", "data": answers})
    );

    // BACK from the second screen returns to the first.
    let (_, req, body) = d
        .call_endpoint(
            &json!({"version": "3.0", "action": "BACK", "screen": "CONTACT", "flow_token": token}),
        )
        .await;
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "WHEN", "data": {"period_options": [{"id": "Morning", "title": "Morning"}, {"id": "Afternoon", "title": "Afternoon"}]}})
    );

    // On the last screen the form completes, carrying the token the daemon issued.
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "data_exchange", "screen": "CONTACT", "data": {"email": "ana@example.com"}, "flow_token": token}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "SUCCESS", "data": {"extension_message_response": {"params": {"email": "ana@example.com", "flow_token": token}}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_missing_signature_is_432() {
    let d = flows::start(BOOKING, "").await;
    let req = flows::encrypt_request(&d.key, &json!({"version": "3.0", "action": "ping"}));
    let body = req.body.to_string();
    let (status, _) = d.post_endpoint_raw(&body, None).await;
    assert_eq!(status, 432);
    let wrong = daemon::wire::inbound::sign(b"another secret", body.as_bytes());
    let (status, _) = d.post_endpoint_raw(&body, Some(wrong)).await;
    assert_eq!(status, 432);
    // Signed over a different body.
    let other = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), b"{}");
    let (status, _) = d.post_endpoint_raw(&body, Some(other)).await;
    assert_eq!(status, 432);
}

/// Flips one byte of a base64 field of the wire envelope, re-signs, posts.
async fn tampered(d: &flows::Daemon, field: &str, at: Tamper) -> u16 {
    let mut req = flows::encrypt_request(&d.key, &json!({"version": "3.0", "action": "ping"}));
    let text = req.body[field].as_str().expect("field").to_string();
    let mut bytes = B64.decode(text).expect("b64");
    let i = match at {
        Tamper::First => 0,
        Tamper::Last => bytes.len() - 1,
    };
    bytes[i] ^= 0x01;
    req.body[field] = Value::String(B64.encode(&bytes));
    let body = req.body.to_string();
    let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    d.post_endpoint_raw(&body, Some(sig)).await.0
}

enum Tamper {
    First,
    Last,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecryptable_requests_are_421() {
    let d = flows::start(BOOKING, "").await;
    // A wrapped key that does not unwrap, a ciphertext and a tag that do not authenticate,
    // an altered IV.
    assert_eq!(tampered(&d, "encrypted_aes_key", Tamper::First).await, 421);
    assert_eq!(
        tampered(&d, "encrypted_flow_data", Tamper::First).await,
        421
    );
    assert_eq!(tampered(&d, "encrypted_flow_data", Tamper::Last).await, 421);
    assert_eq!(tampered(&d, "initial_vector", Tamper::Last).await, 421);
    // A request encrypted for another key.
    let other = flows::new_key();
    let req = flows::encrypt_request(&other, &json!({"version": "3.0", "action": "ping"}));
    let body = req.body.to_string();
    let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    assert_eq!(d.post_endpoint_raw(&body, Some(sig)).await.0, 421);
    // Not base64 at all.
    let body =
        json!({"encrypted_flow_data": "%%%", "encrypted_aes_key": "%%%", "initial_vector": "%%%"})
            .to_string();
    let sig = daemon::wire::inbound::sign(APP_SECRET.as_bytes(), body.as_bytes());
    assert_eq!(d.post_endpoint_raw(&body, Some(sig)).await.0, 421);
    let metrics = d.shared.metrics.render();
    assert!(
        metrics.contains("flows_endpoint_requests_total{outcome=\"undecryptable\"} 6"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_used_tokens_are_427_and_recorded() {
    let d = flows::start(BOOKING, "").await;
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": "0123456789abcdef0123456789abcdef"}))
        .await;
    assert_eq!(status, 427);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"error_msg": "This form is no longer available."})
    );
    // A token whose form was submitted is no longer valid either.
    let token = d.issue_token("wamid.b1").await;
    let submitted = json!({"flow_token": token, "day": "2030-01-02", "period": "Morning", "guests": "3", "email": "ana@example.com"});
    d.post_webhook(&flows::form_reply(flows::CUSTOMER, "wamid.f1", &submitted))
        .await;
    d.graph.wait_for(2, 10).await;
    let (status, _, _) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(status, 427);
    let rows = d.unknown_events("flows_endpoint_rejected").await;
    let reasons: Vec<&str> = rows.iter().filter_map(|r| r["reason"].as_str()).collect();
    assert_eq!(reasons, ["unknown_token", "reused_token"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_427() {
    // A zero-hour lifetime: every token has expired by the time it is used.
    let d = flows::start(BOOKING, "[flows]\ntoken_ttl_hours = 0\n").await;
    let token = d.issue_token("wamid.b1").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, _, _) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(status, 427);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_notifications_are_acknowledged_and_recorded() {
    let d = flows::start(BOOKING, "").await;
    let note = json!({"version": "3.0", "action": "data_exchange", "flow_token": "whatever", "screen": "WHEN",
        "data": {"error": "invalid-screen-transition", "error_message": "bad screen"}});
    let (status, req, body) = d.call_endpoint(&note).await;
    assert_eq!(status, 200);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"data": {"acknowledged": true}})
    );
    let rows = d.unknown_events("flows_endpoint_error").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["data"]["error"], "invalid-screen-transition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_webhook_supplies_screens_and_falls_back_when_it_fails() {
    // The script names the data source itself: `form booking "..." data slots timeout 2s`.
    let script = BOOKING.replace(
        "form booking \"Book a visit\" {",
        "form booking \"Book a visit\" data slots timeout 2s {",
    );
    assert!(script.contains("data slots"));
    let d = flows::start(&script, "").await;
    let token = d.issue_token("wamid.b1").await;
    *d.hooks.state.reply.lock().expect("lock") = json!({"data": {"slots": ["09:00", "10:30"]}});
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "WHEN", "data": {"slots": ["09:00", "10:30"], "period_options": [{"id": "Morning", "title": "Morning"}, {"id": "Afternoon", "title": "Afternoon"}]}}),
        "no screen in the answer: the static one, with the live data"
    );
    let calls = d.hooks.requests();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "/slots");
    assert_eq!(calls[0].body["form"], "booking");
    assert_eq!(calls[0].body["action"], "INIT");
    assert_eq!(calls[0].body["contact"], format!("+{}", flows::CUSTOMER));
    assert!(
        calls[0]
            .header("x-wafl-signature")
            .is_some_and(|s| s.starts_with("sha256=")),
        "the call is signed with the webhook's secret"
    );

    // The webhook picks the screen; an unknown screen is not passed on.
    *d.hooks.state.reply.lock().expect("lock") =
        json!({"screen": "CONTACT", "data": {"hint": "almost done"}});
    let (_, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "data_exchange", "screen": "WHEN", "data": {}, "flow_token": token}))
        .await;
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "CONTACT", "data": {"hint": "almost done"}})
    );
    *d.hooks.state.reply.lock().expect("lock") = json!({"screen": "NOWHERE", "data": {}});
    let (_, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(flows::decrypt_answer(&req, &body)["screen"], "WHEN");

    // A failing webhook: the static screen.
    d.hooks.fail_next([Err((500, "down".into()))]);
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "WHEN", "data": {"period_options": [{"id": "Morning", "title": "Morning"}, {"id": "Afternoon", "title": "Afternoon"}]}})
    );
    assert!(
        d.shared
            .metrics
            .render()
            .contains("flows_endpoint_requests_total{outcome=\"data_fallback\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_data_webhook_times_out_to_the_static_screen() {
    // Nothing listens on this port's accept queue long enough: use a listener that never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let script = BOOKING.replace("{HOOK}/slots", &format!("{url}/slots"));
    let d = flows::start(
        &script,
        "[flows]\ndata_timeout_ms = 300\n[flows.data]\nbooking = \"slots\"\n",
    )
    .await;
    let token = d.issue_token("wamid.b1").await;
    let started = std::time::Instant::now();
    let (status, req, body) = d
        .call_endpoint(&json!({"version": "3.0", "action": "INIT", "flow_token": token}))
        .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(
        flows::decrypt_answer(&req, &body),
        json!({"screen": "WHEN", "data": {"period_options": [{"id": "Morning", "title": "Morning"}, {"id": "Afternoon", "title": "Afternoon"}]}})
    );
    drop(silent);
}
