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

/// A clean script with accented Portuguese text and emoji before the interesting columns.
const CLEAN: &str = r#"flow "Atendimento Açaí" {
  timezone "America/Sao_Paulo"
}

team suporte { agents "ana@acme.com" }

field pedido: text
field humor: choice "ótimo 🙂", "ruim"

stage entrada {
  on enter { reply "Olá, {contact.name}! 🙂 Tudo bem?" }
  on keyword "fatura", "cobrança" {
    ask pedido "Qual é o número do pedido? 🙂"
    route suporte
    goto servico
  }
  otherwise {
    ask humor "Como está? 🙂"
    reply "Obrigado 🙂: {humor}"
    goto servico
  }
}

stage servico {
  on enter { reply "Pedido anotado ✅" }
  otherwise { close "resolvido" }
}
"#;

/// The same script with a duplicate field after emoji and a stray `]` after an emoji.
fn broken() -> String {
    CLEAN
        .replace(
            "field humor: choice \"ótimo 🙂\", \"ruim\"",
            "field humor: choice \"ótimo 🙂\", \"ruim\"; field humor: yesno",
        )
        .replace("Tudo bem?\" }", "Tudo bem?\" ] }")
}

const URI: &str = "file:///tmp/atendimento.flow";

fn range_of(text: &str, needle: &str, skip: usize, len_utf16: u32) -> Value {
    let (line, col) = pos_of(text, needle, skip);
    json!({ "start": { "line": line, "character": col },
            "end": { "line": line, "character": col + len_utf16 } })
}

#[test]
fn diagnostics_arrive_at_utf16_ranges_and_clear_when_fixed() {
    let (mut c, _) = Client::start();
    let text = broken();
    let diags = c.open(URI, &text);
    let dup = diags
        .iter()
        .find(|d| d["code"] == "E0202")
        .unwrap_or_else(|| panic!("no duplicate diagnostic in {diags:?}"));
    // The second `humor` sits after "ótimo 🙂": 2 bytes and 4 bytes, 1 and 2 UTF-16 units.
    assert_eq!(dup["range"], range_of(&text, "; field humor", 8, 5));
    assert_eq!(dup["severity"], 1);
    assert_eq!(dup["source"], "wafl");
    assert!(
        dup["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("field `humor` is defined twice")
    );
    let related = &dup["relatedInformation"][0];
    assert_eq!(related["message"], "first defined here");
    assert_eq!(related["location"]["uri"], URI);
    assert_eq!(related["location"]["range"], range_of(&text, "humor", 0, 5));

    let syntax = diags
        .iter()
        .find(|d| d["code"] == "E0100")
        .unwrap_or_else(|| panic!("no syntax error in {diags:?}"));
    assert_eq!(syntax["range"], range_of(&text, "] }", 0, 1));

    // Fix the syntax error with an incremental edit addressed in UTF-16 columns.
    let stray = range_of(&text, " ] }", 0, 2);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 2 },
                "contentChanges": [{ "range": stray, "text": "" }] }),
    );
    let diags = c.diagnostics(URI);
    assert!(diags.iter().all(|d| d["code"] != "E0100"), "{diags:?}");
    assert!(diags.iter().any(|d| d["code"] == "E0202"), "{diags:?}");

    // Then the whole fixed text: nothing left to report.
    let diags = c.change(URI, 3, CLEAN);
    assert!(diags.is_empty(), "{diags:?}");
    c.shutdown();
}

#[test]
fn hover_explains_stages_fields_teams_and_keywords() {
    let (mut c, _) = Client::start();
    c.open(URI, CLEAN);
    let (l, col) = pos_of(CLEAN, "goto servico", 6);
    let h = c.request("textDocument/hover", at(URI, l, col));
    let text = h["contents"]["value"].as_str().unwrap_or("").to_owned();
    assert!(text.contains("stage `servico`"), "{text}");
    assert!(text.contains("otherwise"), "{text}");
    assert!(text.contains("`goto` in stage `entrada`"), "{text}");
    assert_eq!(h["range"], range_of(CLEAN, "goto servico", 5, 7));

    // A field used inside an interpolation, after an emoji on the same line.
    let (l, col) = pos_of(CLEAN, "{humor}", 2);
    let h = c.request("textDocument/hover", at(URI, l, col));
    let text = h["contents"]["value"].as_str().unwrap_or("").to_owned();
    assert!(
        text.contains("field `humor`") && text.contains("choice"),
        "{text}"
    );

    let (l, col) = pos_of(CLEAN, "route suporte", 7);
    let h = c.request("textDocument/hover", at(URI, l, col));
    let text = h["contents"]["value"].as_str().unwrap_or("").to_owned();
    assert!(
        text.contains("team `suporte`") && text.contains("ana@acme.com"),
        "{text}"
    );

    let (l, col) = pos_of(CLEAN, "otherwise {\n    ask", 2);
    let h = c.request("textDocument/hover", at(URI, l, col));
    let text = h["contents"]["value"].as_str().unwrap_or("").to_owned();
    assert!(text.contains("no earlier handler"), "{text}");
    c.shutdown();
}

#[test]
fn definition_references_and_rename_follow_names() {
    let (mut c, _) = Client::start();
    c.open(URI, CLEAN);
    let (l, col) = pos_of(CLEAN, "route suporte", 6);
    let def = c.request("textDocument/definition", at(URI, l, col));
    assert_eq!(def["uri"], URI);
    assert_eq!(def["range"], range_of(CLEAN, "team suporte", 5, 7));

    let (l, col) = pos_of(CLEAN, "goto servico", 5);
    let mut params = at(URI, l, col);
    params["context"] = json!({ "includeDeclaration": true });
    let refs = c.request("textDocument/references", params.clone());
    assert_eq!(refs.as_array().map(Vec::len), Some(3), "{refs}");
    params["context"] = json!({ "includeDeclaration": false });
    let refs = c.request("textDocument/references", params);
    assert_eq!(refs.as_array().map(Vec::len), Some(2), "{refs}");

    let prep = c.request("textDocument/prepareRename", at(URI, l, col));
    assert_eq!(prep, range_of(CLEAN, "goto servico", 5, 7));

    let mut params = at(URI, l, col);
    params["newName"] = json!("atendimento");
    let edit = c.request("textDocument/rename", params.clone());
    let edits = edit["changes"][URI].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 3, "{edit}");
    assert!(edits.iter().all(|e| e["newText"] == "atendimento"));

    // A field used in an interpolation after an emoji is renamed there too.
    let (l, col) = pos_of(CLEAN, "ask humor", 4);
    let mut p = at(URI, l, col);
    p["newName"] = json!("mood");
    let edit = c.request("textDocument/rename", p);
    let edits = edit["changes"][URI].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 3, "{edit}");
    assert!(
        edits.contains(&json!({ "range": range_of(CLEAN, "{humor}", 1, 5), "newText": "mood" }))
    );

    // Invalid names and clashes are refused.
    params["newName"] = json!("não");
    assert!(c.request_raw("textDocument/rename", params.clone())["error"].is_object());
    params["newName"] = json!("entrada");
    assert!(c.request_raw("textDocument/rename", params)["error"].is_object());
    c.shutdown();
}

fn labels(items: &Value) -> Vec<String> {
    let list = items.get("items").unwrap_or(items);
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn completion_offers_keywords_names_and_snippets_in_context() {
    let (mut c, _) = Client::start();
    c.open(URI, CLEAN);
    let (l, col) = pos_of(CLEAN, "goto servico", 5);
    let names = labels(&c.request("textDocument/completion", at(URI, l, col)));
    assert!(
        names.contains(&"servico".into()) && names.contains(&"entrada".into()),
        "{names:?}"
    );
    assert!(!names.contains(&"suporte".into()), "{names:?}");

    let (l, col) = pos_of(CLEAN, "route suporte", 6);
    let names = labels(&c.request("textDocument/completion", at(URI, l, col)));
    assert_eq!(names, vec!["suporte".to_owned()]);

    // At the start of a line in a handler body: actions.
    let (l, _) = pos_of(CLEAN, "    route suporte", 0);
    let items = c.request("textDocument/completion", at(URI, l, 4));
    let names = labels(&items);
    assert!(
        names.contains(&"reply buttons".into()) && names.contains(&"goto".into()),
        "{names:?}"
    );
    let list = items
        .get("items")
        .unwrap_or(&items)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let goto = list
        .iter()
        .find(|i| i["label"] == "goto")
        .cloned()
        .unwrap_or_default();
    assert_eq!(goto["insertTextFormat"], 2, "{goto}");

    // Between handlers: triggers. At the top level: declarations.
    let (l, _) = pos_of(CLEAN, "  otherwise {\n    ask", 0);
    let names = labels(&c.request("textDocument/completion", at(URI, l, 2)));
    assert!(
        names.contains(&"on keyword".into()) && names.contains(&"after silence".into()),
        "{names:?}"
    );
    let (l, _) = pos_of(CLEAN, "stage servico", 0);
    let names = labels(&c.request("textDocument/completion", at(URI, l - 1, 0)));
    assert!(
        names.contains(&"stage".into()) && names.contains(&"webhook".into()),
        "{names:?}"
    );

    // Properties after `contact.`.
    let (l, col) = pos_of(CLEAN, "contact.name", 8);
    let names = labels(&c.request("textDocument/completion", at(URI, l, col)));
    assert!(names.contains(&"returning".into()), "{names:?}");
    c.shutdown();
}

#[test]
fn document_symbols_outline_stages_and_declarations() {
    let (mut c, _) = Client::start();
    c.open(URI, CLEAN);
    let syms = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": URI } }),
    );
    let names: Vec<&str> = syms
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "Atendimento Açaí",
            "suporte",
            "pedido",
            "humor",
            "entrada",
            "servico"
        ]
    );
    let entrada = &syms[4];
    assert_eq!(entrada["children"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        entrada["selectionRange"],
        range_of(CLEAN, "stage entrada", 6, 7)
    );
    c.shutdown();
}

#[test]
fn semantic_tokens_cover_keywords_strings_and_names_in_utf16() {
    let (mut c, init) = Client::start();
    let legend: Vec<String> =
        init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    c.open(URI, CLEAN);
    let toks = c.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": URI } }),
    );
    let data: Vec<u32> = toks["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64().map(|n| n as u32))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(data.len() % 5, 0);
    // Decode to absolute (line, column, length, type).
    let (mut line, mut col) = (0, 0);
    let mut decoded = Vec::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            col = 0;
        }
        line += t[0];
        col += t[1];
        decoded.push((line, col, t[2], legend[t[3] as usize].clone()));
    }
    let find = |needle: &str, skip: usize| {
        let (l, c) = pos_of(CLEAN, needle, skip);
        decoded.iter().find(|t| t.0 == l && t.1 == c).cloned()
    };
    assert_eq!(find("flow", 0).map(|t| t.3), Some("keyword".into()));
    // The string `"ótimo 🙂"` is 10 UTF-16 units long, quotes included.
    assert_eq!(
        find("\"ótimo", 0).map(|t| (t.2, t.3)),
        Some((10, "string".into()))
    );
    // `humor` inside the interpolation, after an emoji, is a variable.
    assert_eq!(
        find("{humor}", 1).map(|t| (t.2, t.3)),
        Some((5, "variable".into()))
    );
    assert_eq!(
        find("goto servico", 5).map(|t| t.3),
        Some("namespace".into())
    );
    c.shutdown();
}

#[test]
fn formatting_returns_the_canonical_text() {
    let (mut c, _) = Client::start();
    let messy = CLEAN
        .replace("  route suporte", "route   suporte")
        .replace("stage servico {", "stage servico   {");
    c.open(URI, &messy);
    let params = json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } });
    let edits = c.request("textDocument/formatting", params.clone());
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{edits}");
    assert_eq!(edits[0]["newText"], CLEAN);
    // Already formatted: no edits.
    c.change(URI, 2, CLEAN);
    let edits = c.request("textDocument/formatting", params.clone());
    assert_eq!(edits, json!([]));
    // Syntax errors: nothing is touched.
    c.change(URI, 3, &broken());
    let edits = c.request("textDocument/formatting", params);
    assert!(edits.is_null(), "{edits}");
    c.shutdown();
}

#[test]
fn code_actions_fix_misspelt_words_and_names_and_add_an_otherwise() {
    let (mut c, _) = Client::start();
    // A misspelt keyword after an emoji: the parser says "did you mean `reply`?".
    let text = CLEAN.replace(
        "reply \"Obrigado 🙂: {humor}\"",
        "reply \"Obrigado 🙂\"; rpely \"{humor}\"",
    );
    let diags = c.open(URI, &text);
    let typo = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains("`rpely`"))
        .cloned()
        .unwrap_or_else(|| panic!("no diagnostic for the typo in {diags:?}"));
    assert_eq!(typo["range"], range_of(&text, "rpely", 0, 5));
    let fix = fix_titled(&mut c, &typo, "change to `reply`");
    assert_eq!(fix["edit"]["changes"][URI][0]["newText"], "reply");
    assert_eq!(fix["edit"]["changes"][URI][0]["range"], typo["range"]);
    assert_eq!(fix["kind"], "quickfix");

    // A misspelt stage name and a stage without `otherwise`, once the checker reports them.
    let text = CLEAN
        .replace(
            "    goto servico\n  }\n  otherwise",
            "    goto servco\n  }\n  otherwise",
        )
        .replace(
            "  otherwise { close \"resolvido\" }\n",
            "  on message { close \"resolvido\" }\n",
        );
    let diags = c.change(URI, 2, &text);
    if let Some(unknown) = diags.iter().find(|d| d["code"] == "E0201") {
        let fix = fix_titled(&mut c, unknown, "change to `servico`");
        let edit = &fix["edit"]["changes"][URI][0];
        assert_eq!(edit["newText"], "servico");
        assert_eq!(edit["range"], range_of(&text, "goto servco", 5, 6));
    }
    if let Some(total) = diags.iter().find(|d| d["code"] == "E0405") {
        let add = fix_titled(&mut c, total, "add an `otherwise` handler");
        let insert = add["edit"]["changes"][URI][0]["newText"]
            .as_str()
            .unwrap_or("");
        assert!(insert.contains("otherwise {"), "{insert}");
    }
    c.shutdown();
}

/// Asks for the code actions at a diagnostic and returns the one with this title.
fn fix_titled(c: &mut Client, diag: &Value, title: &str) -> Value {
    let params = json!({ "textDocument": { "uri": URI }, "range": diag["range"],
                         "context": { "diagnostics": [diag] } });
    let actions = c.request("textDocument/codeAction", params);
    actions
        .as_array()
        .and_then(|a| a.iter().find(|x| x["title"] == title))
        .cloned()
        .unwrap_or_else(|| panic!("no `{title}` in {actions}"))
}

fn items_of(v: &Value) -> Vec<Value> {
    v.get("items")
        .unwrap_or(v)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Completion in the middle of a word replaces that word (`textEdit`) and filters on the
/// label; a multi-word item replaces the words already typed instead of repeating them;
/// strings and comments get nothing.
#[test]
fn completion_replaces_the_word_being_typed_and_stays_out_of_strings_and_comments() {
    const URI2: &str = "file:///tmp/typing.flow";
    let text = "flow \"F\" { timezone \"UTC\" }\n\
                stage triage {\n  on keyword \"a\" { goto tri }\n  after si\n  \
                otherwise { reply \"goto tri {contact.na\" } // goto tri\n}\n\
                stage trial { otherwise { close } }\n";
    let (mut c, _) = Client::start();
    c.open(URI2, text);

    // `goto tri|`: stages, each replacing `tri`.
    let (l, col) = pos_of(text, "goto tri }", 8);
    let items = items_of(&c.request("textDocument/completion", at(URI2, l, col)));
    let triage = items
        .iter()
        .find(|i| i["label"] == "triage")
        .cloned()
        .unwrap_or_default();
    assert_eq!(triage["filterText"], "triage", "{items:?}");
    assert_eq!(triage["textEdit"]["newText"], "triage", "{triage}");
    assert_eq!(
        triage["textEdit"]["range"],
        json!({"start": {"line": l, "character": col - 3}, "end": {"line": l, "character": col}})
    );
    assert!(items.iter().any(|i| i["label"] == "trial"), "{items:?}");

    // `after si|`: the trigger replaces `after si`, not only `si`.
    let (l, col) = pos_of(text, "after si", 8);
    let items = items_of(&c.request("textDocument/completion", at(URI2, l, col)));
    let silence = items
        .iter()
        .find(|i| i["label"] == "after silence")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        silence["textEdit"]["range"]["start"],
        json!({"line": l, "character": col - 8}),
        "{silence}"
    );
    assert!(
        silence["textEdit"]["newText"]
            .as_str()
            .is_some_and(|t| t.starts_with("after ") && !t.contains("after after")),
        "{silence}"
    );
    // Triggers that do not start with what was typed are not offered.
    assert!(
        !items.iter().any(|i| i["label"] == "on keyword"),
        "{items:?}"
    );

    // Inside a string's text and inside a comment: nothing.
    let (l, col) = pos_of(text, "\"goto tri {", 9);
    let items = items_of(&c.request("textDocument/completion", at(URI2, l, col)));
    assert!(items.is_empty(), "{items:?}");
    let (l, col) = pos_of(text, "// goto tri", 11);
    let items = items_of(&c.request("textDocument/completion", at(URI2, l, col)));
    assert!(items.is_empty(), "{items:?}");
    // But an interpolation in a string is code: properties after `contact.`.
    let (l, col) = pos_of(text, "{contact.na", 11);
    let items = items_of(&c.request("textDocument/completion", at(URI2, l, col)));
    let name = items
        .iter()
        .find(|i| i["label"] == "name")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        name["textEdit"]["range"]["start"],
        json!({"line": l, "character": col - 2}),
        "{items:?}"
    );
    c.shutdown();
}

/// A rename while part of the file could not be read is refused with the reason, never
/// answered with an edit that misses the uses in the unread text; once fixed, it is
/// complete.
#[test]
fn rename_during_a_syntax_error_is_refused_then_complete_once_fixed() {
    const URI3: &str = "file:///tmp/renaming.flow";
    let broken = "flow \"F\" { timezone \"UTC\" }\n\
                  stage triage {\n  on keyword \"a\" { goto servico }\n  otherwise { close }\n}\n\
                  stage other {\n  on keyword \"b\" { goto servico; reply }\n  otherwise { close }\n}\n\
                  stage servico { otherwise { close } }\n";
    let (mut c, _) = Client::start();
    c.open(URI3, broken);
    let (l, col) = pos_of(broken, "goto servico", 6);
    let prep = c.request_raw("textDocument/prepareRename", at(URI3, l, col));
    let msg = prep["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        msg.contains("cannot rename while the file has a syntax error (line 7"),
        "{prep}"
    );
    let mut params = at(URI3, l, col);
    params["newName"] = json!("service");
    let answer = c.request_raw("textDocument/rename", params.clone());
    assert!(answer["error"].is_object(), "{answer}");
    assert!(answer["result"].is_null(), "{answer}");

    let fixed = broken.replace("goto servico; reply }", "goto servico; reply \"ok\" }");
    c.change(URI3, 2, &fixed);
    let edit = c.request("textDocument/rename", params);
    let edits = edit["changes"][URI3]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edits.len(), 3, "{edit}");
    c.shutdown();
}

/// A client that does not announce snippet support gets plain text: placeholders become
/// their defaults and no `$` is left; one that does gets snippets.
#[test]
fn completion_is_plain_text_for_clients_without_snippets() {
    let (mut c, _) = Client::start_with(json!({}));
    c.open(URI, CLEAN);
    let (l, _) = pos_of(CLEAN, "  otherwise {\n    ask", 0);
    let items = items_of(&c.request("textDocument/completion", at(URI, l, 2)));
    let silence = items
        .iter()
        .find(|i| i["label"] == "after silence")
        .cloned()
        .unwrap_or_default();
    assert_eq!(silence["insertTextFormat"], 1, "{silence}");
    assert_eq!(
        silence["textEdit"]["newText"], "after 10m silence {\n  \n}",
        "{silence}"
    );
    assert!(
        items.iter().all(|i| !i["textEdit"]["newText"]
            .as_str()
            .unwrap_or_default()
            .contains('$')),
        "{items:?}"
    );
    c.shutdown();

    let (mut c, _) = Client::start();
    c.open(URI, CLEAN);
    let items = items_of(&c.request("textDocument/completion", at(URI, l, 2)));
    let silence = items
        .iter()
        .find(|i| i["label"] == "after silence")
        .cloned()
        .unwrap_or_default();
    assert_eq!(silence["insertTextFormat"], 2, "{silence}");
    assert!(
        silence["textEdit"]["newText"]
            .as_str()
            .is_some_and(|t| t.contains("${1:10m}")),
        "{silence}"
    );
    c.shutdown();
}

/// Properties are properties wherever they are written: after `contact.` or `card.` in
/// code and inside a string's `{...}`, and payload keys, even when the word is also a
/// keyword of the language (`team`, `phone`).
#[test]
fn semantic_tokens_agree_on_properties_in_code_and_interpolations() {
    const URI4: &str = "file:///tmp/tokens.flow";
    let text = "flow \"F\" { timezone \"UTC\" }\nteam billing { agents \"a@b.c\" }\n\
                webhook crm \"https://crm.example.com\"\n\
                stage a {\n  on message when card.team == \"billing\" { post crm { phone: contact.phone } }\n  \
                otherwise { reply \"Hi {contact.name} of {card.team}\"; close }\n}\n";
    let (mut c, init) = Client::start();
    let legend: Vec<String> =
        init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    c.open(URI4, text);
    let toks = c.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": URI4 } }),
    );
    let data: Vec<u32> = toks["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64().map(|n| n as u32))
                .collect()
        })
        .unwrap_or_default();
    let (mut line, mut col) = (0, 0);
    let mut decoded = Vec::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            col = 0;
        }
        line += t[0];
        col += t[1];
        decoded.push((line, col, legend[t[3] as usize].clone()));
    }
    let class = |needle: &str, skip: usize| {
        let (l, c) = pos_of(text, needle, skip);
        decoded
            .iter()
            .find(|t| t.0 == l && t.1 == c)
            .map(|t| t.2.clone())
            .unwrap_or_else(|| format!("no token at {l}:{c}"))
    };
    // In code.
    assert_eq!(class("card.team ==", 5), "property");
    assert_eq!(class("contact.phone }", 8), "property");
    assert_eq!(class("phone: contact", 0), "property");
    // The same words inside interpolations.
    assert_eq!(class("{contact.name}", 9), "property");
    assert_eq!(class("{card.team}", 6), "property");
    assert_eq!(class("{card.team}", 1), class("card.team ==", 0));
    assert_eq!(class("{contact.name}", 1), class("contact.phone }", 0));
    c.shutdown();
}
