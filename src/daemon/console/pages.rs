//! The console's pages: the board (`/`), a card (`/cards/{phone}`), the inbox (`/inbox`)
//! and the sign-in page (`/login`). Pages are HTML shells embedded in the binary with
//! their words filled in on the server (`i18n`); their scripts (plain JavaScript modules
//! under `/console/assets/`) read the JSON API and follow the live events. A page holds
//! no data, so it is served to anyone: its script sends a signed-out browser to `/login`.

use super::i18n;
use crate::daemon::{Channel, Shared};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::sync::Arc;

const HEADER: &str = include_str!("assets/header.html");
const BOARD: &str = include_str!("assets/board.html");
const CARD: &str = include_str!("assets/card.html");
const INBOX: &str = include_str!("assets/inbox.html");
const LOGIN: &str = include_str!("assets/login.html");

/// The static files pages load, by name: (content type, text).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
    (
        "board.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/board.js"),
    ),
    (
        "card.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/card.js"),
    ),
    (
        "inbox.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/inbox.js"),
    ),
];

/// Pages run only their own scripts and styles, and are never framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The routes of the pages, their assets and the live event stream.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(board))
        .route("/inbox", get(inbox))
        .route("/cards/{phone}", get(card))
        .route("/login", get(login))
        .route("/console/assets/{file}", get(asset))
        .route("/api/events", get(super::events::stream))
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    lang: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

/// The language of a request and whether it was chosen now (then it goes in a cookie).
fn language(q: &PageQuery, headers: &HeaderMap) -> (&'static str, bool) {
    let chosen = q.lang.as_deref().and_then(i18n::supported);
    let cookie = cookie(headers, "wafl_lang");
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    (
        i18n::pick(q.lang.as_deref(), cookie.as_deref(), accept),
        chosen.is_some(),
    )
}

/// The value of a cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{t:key}}` with the language's words (escaped).
fn translate(template: &str, lang: &str) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{t:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&escape(i18n::text(lang, &after[..end])));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The language's words as JSON safe inside a `<script type="application/json">`.
fn words_json(lang: &str) -> String {
    serde_json::to_string(i18n::strings(lang))
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
}

/// A page: the header, the words and the named values (already escaped) filled in.
pub fn render(shared: &Shared, template: &str, lang: &str, vars: &[(&str, String)]) -> String {
    let sandbox = matches!(shared.channel, Channel::Sandbox(_));
    let mut page = template.replace("{{HEADER}}", HEADER);
    page = translate(&page, lang);
    let name = escape(&shared.script().program.name);
    page = page
        .replace("{{NAME}}", &name)
        .replace("{{LANG}}", lang)
        .replace("{{SANDBOX_CLASS}}", if sandbox { "" } else { "hidden" });
    for l in i18n::LANGS {
        page = page.replace(
            &format!("{{{{SEL_{l}}}}}"),
            if l == lang { "selected" } else { "" },
        );
    }
    for (k, v) in vars {
        page = page.replace(&format!("{{{{{k}}}}}"), v);
    }
    page.replace("{{I18N}}", &words_json(lang))
}

/// An HTML response with the console's security headers (and the language cookie when
/// the request chose one).
fn html(status: StatusCode, body: String, lang: &str, remember: bool) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if remember
        && let Ok(v) = HeaderValue::from_str(&format!(
            "wafl_lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
        ))
    {
        h.insert(header::SET_COOKIE, v);
    }
    r
}

async fn board(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    plain_page(&shared, BOARD, &q, &headers)
}

async fn inbox(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    plain_page(&shared, INBOX, &q, &headers)
}

/// A page without variables, in the viewer's language.
fn plain_page(shared: &Shared, template: &str, q: &PageQuery, headers: &HeaderMap) -> Response {
    let (lang, remember) = language(q, headers);
    html(
        StatusCode::OK,
        render(shared, template, lang, &[]),
        lang,
        remember,
    )
}

async fn card(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(phone): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let (lang, remember) = language(&q, &headers);
    let vars = [("PHONE", escape(&phone))];
    html(
        StatusCode::OK,
        render(&shared, CARD, lang, &vars),
        lang,
        remember,
    )
}

/// The sign-in page, with an error line when a sign-in failed (`?error=credentials`,
/// `rate_limited` or `expired`).
pub fn login_page(
    shared: &Shared,
    lang: &str,
    csrf: &str,
    next: &str,
    error: Option<&str>,
) -> String {
    let error = match error {
        Some("rate_limited") => format!(
            "<div class=\"notice bad\" id=\"login-error\">{}</div>",
            escape(i18n::text(lang, "login.limited"))
        ),
        Some("expired") => format!(
            "<div class=\"notice bad\" id=\"login-error\">{}</div>",
            escape(i18n::text(lang, "login.expired"))
        ),
        Some(_) => format!(
            "<div class=\"notice bad\" id=\"login-error\">{}</div>",
            escape(i18n::text(lang, "login.failed"))
        ),
        None => String::new(),
    };
    // Only a path on this site: never an open redirect.
    let next = if next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    };
    render(
        shared,
        LOGIN,
        lang,
        &[
            ("ERROR", error),
            ("CSRF", escape(csrf)),
            ("NEXT", escape(next)),
        ],
    )
}

async fn login(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let (lang, remember) = language(&q, &headers);
    let csrf = super::login_csrf(&shared, &headers);
    let body = login_page(
        &shared,
        lang,
        &csrf.token,
        q.next.as_deref().unwrap_or("/"),
        q.error.as_deref(),
    );
    let mut r = html(StatusCode::OK, body, lang, remember);
    if let Some(cookie) = csrf.cookie {
        r.headers_mut().append(header::SET_COOKIE, cookie);
    }
    r
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, text)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such console asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_in(text: &str, open: &str, close: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find(open) {
            let after = &rest[i + open.len()..];
            let Some(j) = after.find(close) else { break };
            keys.push(after[..j].to_string());
            rest = &after[j..];
        }
        keys
    }

    #[test]
    fn every_word_the_pages_use_is_in_the_catalog() {
        let en = i18n::strings("en");
        let mut used = Vec::new();
        for page in [HEADER, BOARD, CARD, INBOX, LOGIN] {
            used.extend(keys_in(page, "{{t:", "}}"));
        }
        for (_, _, text) in ASSETS {
            // Literal keys only: `t("key")`, not `createElement("…")`.
            for (i, _) in text.match_indices("t(\"") {
                let before = text[..i].chars().next_back().unwrap_or(' ');
                let key: String = text[i + 3..].chars().take_while(|c| *c != '"').collect();
                if !before.is_alphanumeric() && !key.ends_with('.') {
                    used.push(key);
                }
            }
        }
        // Keys built from the API's vocabulary.
        let contract = [
            (
                "kind",
                "message_in message_out stage routed assigned handoff released note tag webhook form_sent form_submitted form_refused timer closed reopened template_fallback",
            ),
            (
                "reason",
                "handed_off_unanswered first_reply_overdue sla_at_risk",
            ),
            ("priority", "low normal high urgent"),
            ("status", "open waiting_human with_agent closed"),
            ("tick", "sent delivered read failed"),
        ];
        for (prefix, words) in contract {
            used.extend(words.split(' ').map(|w| format!("{prefix}.{w}")));
        }
        assert!(used.len() > 50, "found only {} keys", used.len());
        for key in &used {
            assert!(en.contains_key(key), "`{key}` is used but not in i18n.json");
        }
    }

    #[test]
    fn words_are_escaped_and_json_cannot_close_its_script() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(!words_json("en").contains('<'));
        assert_eq!(translate("[{{t:nav.board}}]", "pt"), "[Quadro]");
        assert_eq!(translate("{{t:unclosed", "en"), "{{t:unclosed");
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; wafl_lang=pt"),
        );
        assert_eq!(cookie(&h, "wafl_lang").as_deref(), Some("pt"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
