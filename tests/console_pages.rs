//! The console's pages over HTTP: served at `/`, `/cards/{phone}`, `/inbox` and `/login`
//! with their words in the request's language, safe headers, and their assets embedded.

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake.rs"]
mod fake;

const DESK: &str = r#"
flow "Harbor <Desk>" {
  timezone "UTC"
}
stage triage {
  on keyword "bye" { close "done" }
  otherwise { reply "got {message.text}" }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_language_asked_for_and_escape_what_they_show() {
    let d = daemon::start("pages-lang", DESK, "").await;
    let get = |path: &str, lang: Option<&str>| {
        let mut req = d.client.get(format!("{}{path}", d.base));
        if let Some(l) = lang {
            req = req.header("Accept-Language", l);
        }
        req.send()
    };
    let en = get("/", None).await.expect("board");
    assert_eq!(en.status(), 200);
    let csp = en.headers()["content-security-policy"]
        .to_str()
        .unwrap_or("");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(en.headers()["x-frame-options"], "DENY");
    let body = en.text().await.expect("text");
    assert!(body.contains("<html lang=\"en\">"));
    assert!(body.contains(">Board<"));
    assert!(
        body.contains("Harbor &lt;Desk&gt;"),
        "the script's name is escaped"
    );
    assert!(!body.contains("{{"), "every placeholder is filled");

    let pt = get("/", Some("pt-BR,pt;q=0.9,en;q=0.5"))
        .await
        .expect("board");
    let body = pt.text().await.expect("text");
    assert!(body.contains("<html lang=\"pt\">") && body.contains(">Quadro<"));

    // ?lang= wins and is remembered in a cookie.
    let chosen = get("/inbox?lang=pt", Some("en")).await.expect("inbox");
    let cookie = chosen.headers()["set-cookie"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(cookie.starts_with("wafl_lang=pt"), "{cookie}");
    assert!(
        chosen
            .text()
            .await
            .expect("text")
            .contains("Caixa de entrada")
    );

    let card = get("/cards/%3Cscript%3E", None).await.expect("card");
    let body = card.text().await.expect("text");
    assert!(body.contains("data-phone=\"&lt;script&gt;\""));
    assert!(!body.contains("<script>\""));

    let login = get("/login?error=credentials", None).await.expect("login");
    let body = login.text().await.expect("text");
    assert!(body.contains("id=\"login-error\""));
    assert!(body.contains("Wrong e-mail, password or token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_and_unknown_ones_are_404() {
    let d = daemon::start("pages-assets", DESK, "").await;
    for (file, kind) in [
        ("console.css", "text/css"),
        ("console.js", "text/javascript"),
        ("board.js", "text/javascript"),
        ("card.js", "text/javascript"),
        ("inbox.js", "text/javascript"),
    ] {
        let r = d
            .client
            .get(format!("{}/console/assets/{file}", d.base))
            .send()
            .await
            .expect("asset");
        assert_eq!(r.status(), 200, "{file}");
        let ct = r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with(kind), "{file}: {ct}");
        assert!(!r.text().await.expect("text").is_empty());
    }
    let missing = d
        .client
        .get(format!("{}/console/assets/../../Cargo.toml", d.base))
        .send()
        .await
        .expect("asset");
    assert_eq!(missing.status(), 404);
}
