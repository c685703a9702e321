//! The console's JSON API (`docs/daemon.md`, "Console API"): sign-in and sessions, the
//! board, lists, the attention queue, a card, and the agent's actions. Every action is
//! checked before anything is dispatched — unknown or invisible card `404`, closed card
//! `409`, unknown team or agent `422`, bad body `400` — so a failed action creates
//! nothing; the step it runs is audited with who did it.

use super::auth::{self, Role, SignIn, User, Viewer};
use super::error::ApiError;
use super::model::{self, CardSummary, Conversation};
use super::phone;
use crate::daemon::Shared;
use crate::daemon::worker::Work;
use crate::engine::{AgentAction, CardStatus};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

type S = State<Arc<Shared>>;
type ApiResult = Result<Response, ApiError>;

fn ok_json(v: Json) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

fn with_cookies(mut r: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

// ---- sign-in and sessions ---------------------------------------------------------------

/// GET /api/login: a sign-in CSRF token, also set as the `wafl_login` cookie.
pub async fn login_token(State(shared): S) -> Response {
    let (token, cookie) = auth::login_token(&shared);
    with_cookies(
        axum::Json(json!({ "csrf": token })).into_response(),
        &[cookie],
    )
}

fn wants_json(headers: &HeaderMap) -> bool {
    let is = |h: header::HeaderName| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    is(header::CONTENT_TYPE) || is(header::ACCEPT)
}

/// A request's `Origin`, when it names another site than the one it was sent to.
fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// POST /login: form (`email`+`password` or `token`, and `csrf`) or JSON. A form is
/// answered with a redirect: to `/` signed in, or back to `/login?error=...`; JSON with
/// `{"user", "csrf"}` or an error.
pub async fn login(State(shared): S, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let ip = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let json_client = wants_json(&headers);
    let fail = |e: ApiError| -> Response {
        if json_client {
            e.into_response()
        } else {
            let which = match e.code {
                "rate_limited" => "rate_limited",
                "csrf" => "expired",
                _ => "credentials",
            };
            Redirect::to(&format!("/login?error={which}")).into_response()
        }
    };
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return fail(ApiError::bad_request("the sign-in body is too large")),
    };
    let form: SignIn = if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        match serde_json::from_slice(&bytes) {
            Ok(f) => f,
            Err(e) => {
                return fail(ApiError::bad_request(format!(
                    "the sign-in body is not the expected JSON ({e}); send {{\"email\", \"password\", \"csrf\"}} or {{\"token\", \"csrf\"}}"
                )));
            }
        }
    } else {
        serde_urlencoded::from_bytes(&bytes).unwrap_or_default()
    };
    // Sign-in CSRF: the form echoes the `wafl_login` cookie, from a page of this site.
    let expected = auth::cookie(&headers, auth::LOGIN_COOKIE).unwrap_or_default();
    let given = form.csrf.clone().unwrap_or_default();
    if foreign_origin(&headers)
        || expected.is_empty()
        || !crate::daemon::wire::sign::constant_time_eq(given.as_bytes(), expected.as_bytes())
    {
        return fail(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "the sign-in form expired or came from another site; reload the sign-in page (GET /api/login gives a token) and try again",
        ));
    }
    let account = if form.token.as_deref().is_some_and(|t| !t.is_empty()) {
        auth::MANAGER.to_string()
    } else {
        form.email.as_deref().unwrap_or("").trim().to_lowercase()
    };
    let keys = vec![format!("account:{account}"), format!("ip:{ip}")];
    let now = auth::now_ms();
    if let Some(secs) = shared.console.limiter.blocked(&keys, now) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed sign-ins; try again in {secs} seconds"),
        );
        e.retry_after = Some(secs);
        return fail(e);
    }
    let user = match auth::sign_in(&shared, &form).await {
        Ok(u) => u,
        Err(e) => {
            if e.status == StatusCode::UNAUTHORIZED {
                shared.console.limiter.fail(&keys, now);
                tracing::warn!(account = %account, "console sign-in refused");
            }
            return fail(e);
        }
    };
    shared.console.limiter.clear(&keys[0]);
    let (id, session) = match auth::start_session(&shared, &user).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    tracing::info!(user = %user.id, "console sign-in");
    let cookies = [
        auth::set_cookie(&shared, auth::SESSION_COOKIE, &id, auth::IDLE_MS / 1000),
        auth::set_cookie(&shared, auth::LOGIN_COOKIE, "", 0),
    ];
    let r = if json_client {
        axum::Json(json!({ "user": user, "csrf": session.csrf })).into_response()
    } else {
        Redirect::to("/").into_response()
    };
    with_cookies(r, &cookies)
}

/// POST /logout (the session's CSRF token as `X-CSRF-Token` or a `csrf` form field):
/// ends the session and redirects to the sign-in page.
pub async fn logout(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let viewer = match auth::authenticate(&shared, &headers).await {
        Ok(v) => v,
        Err(_) => return Redirect::to("/login").into_response(),
    };
    let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Err(e) = viewer.check_csrf(&headers, form.get("csrf").map(String::as_str)) {
        return e.into_response();
    }
    if let Some(s) = viewer.session {
        let hash = s.id_hash.clone();
        if let Err(e) = shared.db.run(move |st| st.delete_session(&hash)).await {
            return ApiError::internal(e).into_response();
        }
    }
    with_cookies(
        Redirect::to("/login").into_response(),
        &[auth::set_cookie(&shared, auth::SESSION_COOKIE, "", 0)],
    )
}

/// GET /api/session: who is signed in, and the CSRF token for their requests.
pub async fn session(State(shared): S, headers: HeaderMap) -> ApiResult {
    let viewer = auth::authenticate(&shared, &headers).await?;
    ok_json(json!({
        "user": viewer.user,
        "csrf": viewer.session.as_ref().map(|s| s.csrf.clone()),
    }))
}

// ---- reading ------------------------------------------------------------------------

/// Filters of the board and lists.
#[derive(Debug, Default)]
pub struct Filters {
    pub stage: Option<String>,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub priority: Option<String>,
    pub tag: Option<String>,
    pub waiting: Option<bool>,
    pub limit: usize,
    pub after: Option<String>,
}

impl Filters {
    /// Reads the query; unknown parameters and bad values are refused with what is
    /// allowed.
    pub fn parse(q: &BTreeMap<String, String>, allowed: &[&str]) -> Result<Filters, ApiError> {
        let mut f = Filters {
            limit: 50,
            ..Filters::default()
        };
        for (k, v) in q {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{k}`; use {}",
                    allowed.join(", ")
                )));
            }
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "stage" => f.stage = Some(v.into()),
                "team" => f.team = Some(v.into()),
                "agent" => f.agent = Some(v.into()),
                "tag" => f.tag = Some(v.into()),
                "after" => f.after = Some(v.into()),
                "priority" => {
                    if !matches!(v, "low" | "normal" | "high" | "urgent") {
                        return Err(ApiError::bad_request(format!(
                            "priority `{v}` is not one of low, normal, high, urgent"
                        )));
                    }
                    f.priority = Some(v.into());
                }
                "waiting" => {
                    f.waiting = Some(match v {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "waiting=`{v}`: use true or false"
                            )));
                        }
                    })
                }
                "limit" => {
                    f.limit = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "limit `{v}` must be a number from 1 to 1000"
                            ))
                        })?
                }
                _ => {}
            }
        }
        Ok(f)
    }

    pub fn keeps(&self, c: &CardSummary) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        eq(&self.stage, Some(&c.stage))
            && eq(&self.team, c.team.as_deref())
            && eq(&self.agent, c.agent.as_deref())
            && eq(&self.priority, c.priority)
            && self
                .tag
                .as_deref()
                .is_none_or(|t| c.tags.iter().any(|x| x == t))
            && self.waiting.is_none_or(|w| w == c.waiting_since.is_some())
    }
}

/// The open cards `user` sees, each with its conversation, in contact order.
pub async fn open_cards(
    shared: &Shared,
    user: &User,
) -> Result<Vec<(Conversation, CardSummary)>, ApiError> {
    let rows = shared
        .db
        .run(|s| s.conversations(None))
        .await
        .map_err(ApiError::internal)?;
    Ok(visible_open(rows.iter(), user))
}

/// The open cards among stored conversations that `user` sees.
pub fn visible_open<'a>(
    rows: impl Iterator<Item = &'a crate::daemon::store::StoredConversation>,
    user: &User,
) -> Vec<(Conversation, CardSummary)> {
    rows.filter(|r| r.stage.is_some())
        .filter_map(Conversation::of)
        .filter(|c| {
            c.state
                .card
                .as_ref()
                .is_some_and(|card| user.sees(card.team.as_deref(), card.agent.as_deref()))
        })
        .filter_map(|c| model::summary(&c).map(|s| (c, s)))
        .collect()
}

/// The board: every stage of the script in order, with its open cards (oldest in the
/// stage first, at most `limit` per stage; `count` is all of them).
pub fn board_json(
    program: &crate::compile::Program,
    cards: Vec<(Conversation, CardSummary)>,
    f: &Filters,
    last_event_id: u64,
) -> Json {
    let mut by_stage: BTreeMap<String, Vec<CardSummary>> = BTreeMap::new();
    for (_, s) in cards {
        if f.keeps(&s) {
            by_stage.entry(s.stage.clone()).or_default().push(s);
        }
    }
    let mut names: Vec<String> = program.stages.iter().map(|s| s.name.clone()).collect();
    // Stages of cards made by an earlier script version come after the script's own.
    names.extend(
        by_stage
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let stages: Vec<Json> = names
        .into_iter()
        .map(|name| {
            let mut cards = by_stage.remove(&name).unwrap_or_default();
            cards.sort_by(|a, b| {
                a.stage_since
                    .cmp(&b.stage_since)
                    .then(a.phone.cmp(&b.phone))
            });
            let count = cards.len();
            cards.truncate(f.limit);
            json!({ "name": name, "count": count, "cards": cards })
        })
        .collect();
    json!({ "stages": stages, "last_event_id": last_event_id })
}

/// GET /api/board?team=&agent=&priority=&tag=&waiting=&limit=
pub async fn board(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let viewer = auth::authenticate(&shared, &headers).await?;
    let mut f = Filters::parse(
        &q,
        &["team", "agent", "priority", "tag", "waiting", "limit"],
    )?;
    if !q.contains_key("limit") {
        f.limit = 200;
    }
    let last = super::last_event_id(&shared);
    let cards = open_cards(&shared, &viewer.user).await?;
    ok_json(board_json(&shared.script().program, cards, &f, last))
}

/// A page of cards in contact order after `after`.
pub fn cards_json(cards: Vec<(Conversation, CardSummary)>, f: &Filters) -> Json {
    let after = f.after.as_deref().unwrap_or("");
    let mut page: Vec<CardSummary> = cards
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| f.keeps(s) && s.phone.as_str() > after)
        .take(f.limit + 1)
        .collect();
    let next = if page.len() > f.limit {
        page.truncate(f.limit);
        page.last().map(|s| s.phone.clone())
    } else {
        None
    };
    json!({ "cards": page, "next": next })
}

/// GET /api/cards?stage=&team=&agent=&tag=&priority=&waiting=&limit=50&after=<cursor>
pub async fn cards(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let viewer = auth::authenticate(&shared, &headers).await?;
    let f = Filters::parse(
        &q,
        &[
            "stage", "team", "agent", "priority", "tag", "waiting", "limit", "after",
        ],
    )?;
    let mut cards = open_cards(&shared, &viewer.user).await?;
    cards.sort_by(|a, b| a.1.phone.cmp(&b.1.phone));
    ok_json(cards_json(cards, &f))
}

/// GET /api/attention: cards waiting for a person, oldest first.
pub async fn attention(State(shared): S, headers: HeaderMap) -> ApiResult {
    let viewer = auth::authenticate(&shared, &headers).await?;
    let now = jiff::Timestamp::now();
    let mut list: Vec<model::AttentionCard> = open_cards(&shared, &viewer.user)
        .await?
        .into_iter()
        .filter_map(|(c, s)| {
            let (reason, since) = model::attention(&c, now)?;
            Some(model::AttentionCard {
                card: s,
                reason,
                waiting_since: model::rfc3339(since),
            })
        })
        .collect();
    list.sort_by(|a, b| a.waiting_since.cmp(&b.waiting_since));
    ok_json(json!({ "cards": list }))
}

fn parse_phone(shared: &Shared, text: &str) -> Result<phone::Phone, ApiError> {
    phone::parse(text, shared.config.console.default_country_code.as_deref())
        .map_err(|e| ApiError::bad_request(e.0))
}

/// The conversation of a card the viewer sees; `404` otherwise (another team's card is
/// as unknown as a number without a card).
async fn visible_card(
    shared: &Shared,
    user: &User,
    p: &phone::Phone,
) -> Result<Conversation, ApiError> {
    let key = p.key().to_string();
    let stored = shared
        .db
        .run(move |s| s.conversation(&key))
        .await
        .map_err(ApiError::internal)?;
    let conv = stored
        .as_ref()
        .and_then(Conversation::of)
        .filter(|c| c.card().is_some())
        .ok_or_else(|| ApiError::unknown_card(&p.e164()))?;
    let seen = conv
        .card()
        .is_some_and(|card| user.sees(card.team.as_deref(), card.agent.as_deref()));
    if seen {
        Ok(conv)
    } else {
        Err(ApiError::unknown_card(&p.e164()))
    }
}

/// GET /api/cards/{phone}
pub async fn card(State(shared): S, headers: HeaderMap, Path(phone): Path<String>) -> ApiResult {
    let viewer = auth::authenticate(&shared, &headers).await?;
    let p = parse_phone(&shared, &phone)?;
    let conv = visible_card(&shared, &viewer.user, &p).await?;
    let key = p.key().to_string();
    let (history, audit) = shared
        .db
        .run(move |s| Ok((s.history(&key)?, s.audit(&key)?)))
        .await
        .map_err(ApiError::internal)?;
    let loaded = shared.script();
    let detail = model::detail(&conv, &history, &audit, &loaded, jiff::Timestamp::now())
        .ok_or_else(|| ApiError::unknown_card(&p.e164()))?;
    ok_json(serde_json::to_value(detail).map_err(ApiError::internal)?)
}

// ---- actions --------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    name: String,
    #[serde(default)]
    params: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagBody {
    tag: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReassignBody {
    team: Option<String>,
    agent: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    reason: Option<String>,
}

fn body_of<T: serde::de::DeserializeOwned>(body: &Bytes, expected: &str) -> Result<T, ApiError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text)
        .map_err(|e| ApiError::bad_request(format!("expected a JSON body {expected} ({e})")))
}

fn nonempty(text: &str, what: &str, max: usize) -> Result<String, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ApiError::bad_request(format!("the {what} is empty")));
    }
    if t.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    Ok(t.to_string())
}

fn list(names: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = names.collect();
    if v.is_empty() {
        "(none declared)".into()
    } else {
        v.join(", ")
    }
}

/// POST /api/cards/{phone}/{action}: takeover, reply, template, note, tag, untag,
/// reassign, resolve, release.
pub async fn action(
    State(shared): S,
    headers: HeaderMap,
    Path((phone, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let viewer = auth::authenticate(&shared, &headers).await?;
    viewer.check_csrf(&headers, None)?;
    let p = parse_phone(&shared, &phone)?;
    let checked = check_action(&shared, &viewer, &p, &action, &body).await?;
    let took_over = checked.took_over;
    if took_over && matches!(action.as_str(), "reply" | "template") {
        // Never two voices at once: the person takes the card from the automation in a
        // step of its own, then writes.
        let take = AgentAction::TakeOver {
            agent: viewer.user.id.clone(),
        };
        run_action(&shared, &viewer.user, &p, take).await?;
    }
    run_action(&shared, &viewer.user, &p, checked.action).await?;
    let summary = reload(&shared, &p).await?;
    let mut out = json!({ "card": summary });
    if action == "reply" || action == "template" {
        out["took_over"] = json!(took_over);
    }
    ok_json(out)
}

/// A checked action, ready to dispatch.
pub struct Checked {
    pub action: AgentAction,
    /// The automation held the card and this action takes it over.
    pub took_over: bool,
}

/// Checks an action against the card and the script; nothing is dispatched when it
/// fails.
pub async fn check_action(
    shared: &Shared,
    viewer: &Viewer,
    p: &phone::Phone,
    action: &str,
    body: &Bytes,
) -> Result<Checked, ApiError> {
    const ACTIONS: &str =
        "takeover, reply, template, note, tag, untag, reassign, resolve or release";
    if !ACTIONS
        .split(", ")
        .flat_map(|a| a.split(" or "))
        .any(|a| a == action)
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "bad_request",
            format!("unknown action `{action}`; use {ACTIONS}"),
        ));
    }
    let conv = visible_card(shared, &viewer.user, p).await?;
    let Some(card) = conv.state.card.as_ref() else {
        return Err(ApiError::closed_card(&p.e164()));
    };
    let me = viewer.user.id.clone();
    let automated = card.status == CardStatus::Open;
    let loaded = shared.script();
    let program = &loaded.program;
    let now = jiff::Timestamp::now();
    let checked = |action| Checked {
        action,
        took_over: false,
    };
    Ok(match action {
        "takeover" => {
            body_of::<Empty>(body, "{}")?;
            Checked {
                action: AgentAction::TakeOver { agent: me },
                took_over: automated,
            }
        }
        "reply" => {
            let b: TextBody = body_of(body, "{\"text\": \"...\"}")?;
            let text = nonempty(&b.text, "reply", 4096)?;
            let window = model::window(&conv.state, now);
            if !window.open {
                let templates = list(
                    program
                        .templates
                        .values()
                        .map(|t| format!("{}({})", t.name, t.params.join(", "))),
                );
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "window_closed",
                    format!(
                        "the 24-hour window is closed: the customer has not written for more than 24 hours, so WhatsApp accepts only an approved template; send one with POST /api/cards/{}/template — templates: {templates}",
                        p.e164()
                    ),
                ));
            }
            Checked {
                action: AgentAction::Reply { agent: me, text },
                took_over: automated,
            }
        }
        "template" => {
            let b: TemplateBody = body_of(body, "{\"name\": \"...\", \"params\": {\"k\": \"v\"}}")?;
            let Some(t) = program.templates.get(&b.name) else {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_template",
                    format!(
                        "no template `{}` in the script; templates: {}",
                        b.name,
                        list(program.templates.keys().cloned())
                    ),
                ));
            };
            if let Some(extra) = b.params.keys().find(|k| !t.params.contains(k)) {
                return Err(ApiError::bad_request(format!(
                    "template `{}` has no parameter `{extra}`; its parameters: {}",
                    t.name,
                    list(t.params.iter().cloned())
                )));
            }
            let mut params = Vec::new();
            for name in &t.params {
                match b
                    .params
                    .get(name)
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                {
                    Some(v) => params.push(v.to_string()),
                    None => {
                        return Err(ApiError::bad_request(format!(
                            "template `{}` needs the parameter `{name}`; its parameters: {}",
                            t.name,
                            list(t.params.iter().cloned())
                        )));
                    }
                }
            }
            Checked {
                action: AgentAction::Template {
                    agent: me,
                    name: t.name.clone(),
                    params,
                },
                took_over: automated,
            }
        }
        "note" => {
            let b: TextBody = body_of(body, "{\"text\": \"...\"}")?;
            checked(AgentAction::Note {
                agent: me,
                text: nonempty(&b.text, "note", 4096)?,
            })
        }
        "tag" | "untag" => {
            let b: TagBody = body_of(body, "{\"tag\": \"...\"}")?;
            let tag = nonempty(&b.tag, "tag", 64)?;
            if !tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':'))
            {
                return Err(ApiError::bad_request(format!(
                    "the tag `{tag}` may hold letters, digits, `_`, `-` and `:` only"
                )));
            }
            checked(if action == "tag" {
                AgentAction::Tag { tag }
            } else {
                AgentAction::Untag { tag }
            })
        }
        "reassign" => {
            let b: ReassignBody = body_of(body, "{\"team\": \"...\"} or {\"agent\": \"...\"}")?;
            if b.team.is_none() && b.agent.is_none() {
                return Err(ApiError::bad_request(
                    "reassign needs {\"team\": \"...\"} or {\"agent\": \"...\"}",
                ));
            }
            if let Some(team) = &b.team
                && !program.teams.contains_key(team)
            {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_team",
                    format!(
                        "no team `{team}` in the script; teams: {}",
                        list(program.teams.keys().cloned())
                    ),
                ));
            }
            if let Some(agent) = &b.agent {
                let known: std::collections::BTreeSet<String> = program
                    .teams
                    .values()
                    .flat_map(|t| t.agents.iter().cloned())
                    .collect();
                if !known.contains(agent) {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unknown_agent",
                        format!(
                            "no agent `{agent}` in the script's teams; agents: {}",
                            list(known.into_iter())
                        ),
                    ));
                }
            }
            checked(AgentAction::Reassign {
                agent: b.agent,
                team: b.team,
            })
        }
        "resolve" => {
            let b: ResolveBody = body_of(body, "{\"reason\": \"...\"}")?;
            let reason = match b.reason {
                Some(r) => nonempty(&r, "reason", 200)?,
                None => "resolved".into(),
            };
            checked(AgentAction::Resolve {
                reason: Some(reason),
            })
        }
        "release" => {
            body_of::<Empty>(body, "{}")?;
            if automated {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "not_held",
                    format!(
                        "the automation already holds the card of {}; take it over first",
                        p.e164()
                    ),
                ));
            }
            checked(AgentAction::Release)
        }
        _ => unreachable_action(action)?,
    })
}

fn unreachable_action(action: &str) -> Result<Checked, ApiError> {
    Err(ApiError::bad_request(format!("unknown action `{action}`")))
}

/// Runs an action on the card's shard and waits until its step is stored.
pub async fn run_action(
    shared: &Shared,
    user: &User,
    p: &phone::Phone,
    action: AgentAction,
) -> Result<String, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    shared.dispatch(Work::Agent {
        contact: p.key().to_string(),
        actor: user.id.clone(),
        action,
        reply: tx,
    });
    match rx.await {
        Ok(Ok(effects)) => Ok(effects),
        Ok(Err(e)) if e.contains("changed meanwhile") => {
            Err(ApiError::new(StatusCode::CONFLICT, "conflict", e))
        }
        Ok(Err(e)) => Err(ApiError::internal(e)),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the conversation worker stopped; try again in a moment",
        )),
    }
}

async fn reload(shared: &Shared, p: &phone::Phone) -> Result<Option<CardSummary>, ApiError> {
    let key = p.key().to_string();
    let stored = shared
        .db
        .run(move |s| s.conversation(&key))
        .await
        .map_err(ApiError::internal)?;
    Ok(stored
        .as_ref()
        .and_then(Conversation::of)
        .and_then(|c| model::summary(&c)))
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Manager => "manager",
        }
    }
}
