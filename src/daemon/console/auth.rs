//! Accounts and access: agents' passwords (Argon2id), the manager's sign-in with
//! `WAFL_ADMIN_TOKEN`, server-side sessions in the store (so several daemons share
//! them), CSRF tokens and the sign-in rate limit.
//!
//! - **Sessions**: a random 256-bit id in the cookie `wafl_session` (HttpOnly,
//!   SameSite=Strict, Path=/, Secure unless `[console] secure_cookies = false`); the store
//!   keeps only its SHA-256, with the user, a CSRF token and when it was created and last
//!   seen. A session ends after 12 hours without use, 7 days after sign-in, at sign-out,
//!   and when its agent is removed.
//! - **CSRF**: every state-changing request authenticated by the cookie carries the
//!   session's token in `X-CSRF-Token` (or a `csrf` form field); compared in constant
//!   time. Requests with `Authorization: Bearer <WAFL_ADMIN_TOKEN>` carry no cookie and
//!   need none.
//! - **Sign-in CSRF**: `GET /api/login` (and the sign-in page) sets a short-lived
//!   `wafl_login` cookie (SameSite=Strict) whose value the form sends back as `csrf`;
//!   a sign-in whose `Origin` names another site is refused as well.
//! - **Rate limit**: 5 failed sign-ins in 5 minutes per account and per client address
//!   get `429` with `Retry-After` until the oldest failure is 5 minutes old. Counted per
//!   daemon.

use super::error::ApiError;
use crate::daemon::Shared;
use crate::daemon::store::{AgentAccount, ConsoleSession};
use crate::daemon::wire::sign::constant_time_eq;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use serde::Serialize;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Mutex;

pub const SESSION_COOKIE: &str = "wafl_session";
pub const LOGIN_COOKIE: &str = "wafl_login";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session not used for this long ends.
pub const IDLE_MS: i64 = 12 * 3600 * 1000;
/// A session ends this long after sign-in, used or not.
pub const MAX_MS: i64 = 7 * 24 * 3600 * 1000;
/// Failed sign-ins allowed per account and per address in [`FAILURE_WINDOW_MS`].
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW_MS: i64 = 5 * 60 * 1000;
/// The id of the manager, who signs in with `WAFL_ADMIN_TOKEN`.
pub const MANAGER: &str = "manager";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Manager,
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The agent's e-mail, or `manager`.
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The agent's teams; every team of the script for the manager.
    pub teams: Vec<String>,
}

impl User {
    pub fn manager(shared: &Shared) -> User {
        User {
            id: MANAGER.into(),
            name: "Manager".into(),
            role: Role::Manager,
            teams: shared.script().program.teams.keys().cloned().collect(),
        }
    }

    /// Whether this user sees (and may act on) a card of `team` held by `agent`: the
    /// manager sees every card, an agent the cards of their teams and those assigned
    /// to them.
    pub fn sees(&self, team: Option<&str>, agent: Option<&str>) -> bool {
        self.role == Role::Manager
            || agent == Some(self.id.as_str())
            || team.is_some_and(|t| self.teams.iter().any(|m| m == t))
    }
}

/// An authenticated request: the user, and the session when it came by cookie.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: User,
    pub session: Option<ConsoleSession>,
}

impl Viewer {
    /// State-changing requests by cookie must carry the session's CSRF token.
    pub fn check_csrf(
        &self,
        headers: &HeaderMap,
        form_field: Option<&str>,
    ) -> Result<(), ApiError> {
        let Some(session) = &self.session else {
            return Ok(()); // bearer token: no cookie, no CSRF
        };
        let given = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .or(form_field)
            .unwrap_or("");
        if !given.is_empty() && constant_time_eq(given.as_bytes(), session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                if given.is_empty() {
                    "this request changes something and needs the X-CSRF-Token header (the `csrf` of GET /api/session)"
                } else {
                    "the X-CSRF-Token header does not match this session; reload the page to get the current token"
                },
            ))
        }
    }
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A random 256-bit token, URL-safe base64.
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What the store keeps of a session id.
pub fn session_hash(id: &str) -> String {
    let digest = sha2::Sha256::digest(id.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| format!("cannot make a salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches a stored PHC hash (constant time inside argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of nothing anyone knows, verified when the account does not exist so that a
/// wrong e-mail takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// The value of a cookie in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value with the console's flags; `max_age` 0 deletes the cookie.
pub fn set_cookie(shared: &Shared, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if shared.config.console.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}")
}

/// A fresh sign-in CSRF token and the cookie that carries it: the sign-in form sends the
/// token back as its `csrf` field.
pub fn login_token(shared: &Shared) -> (String, String) {
    let token = random_token();
    let cookie = set_cookie(shared, LOGIN_COOKIE, &token, 3600);
    (token, cookie)
}

/// Who is asking: the manager by bearer token, or the user of the session cookie.
pub async fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Viewer, ApiError> {
    if let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return match &shared.config.admin_token {
            Some(t) if constant_time_eq(given.as_bytes(), t.expose().as_bytes()) => Ok(Viewer {
                user: User::manager(shared),
                session: None,
            }),
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the bearer token is not WAFL_ADMIN_TOKEN",
            )),
        };
    }
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty()) else {
        return Err(ApiError::unauthorized());
    };
    let hash = session_hash(&id);
    let now = now_ms();
    let found = shared
        .db
        .run(move |s| {
            let Some(session) = s.touch_session(&hash, now, IDLE_MS, MAX_MS)? else {
                return Ok(None);
            };
            let agent = if session.user == MANAGER {
                None
            } else {
                s.agent(&session.user)?
            };
            Ok(Some((session, agent)))
        })
        .await
        .map_err(ApiError::internal)?;
    let user = match found {
        None => return Err(ApiError::unauthorized()),
        Some((session, _)) if session.user == MANAGER => {
            if shared.config.admin_token.is_none() {
                return Err(ApiError::unauthorized());
            }
            return Ok(Viewer {
                user: User::manager(shared),
                session: Some(session),
            });
        }
        Some((session, Some(agent))) => (session, agent),
        Some((_, None)) => return Err(ApiError::unauthorized()),
    };
    let (session, agent) = user;
    Ok(Viewer {
        user: User {
            id: agent.email,
            name: agent.name,
            role: Role::Agent,
            teams: agent.teams,
        },
        session: Some(session),
    })
}

/// Failed sign-ins per account and per address, in this daemon's memory.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl SignInLimiter {
    /// Seconds to wait before another try, when any of `keys` failed too often.
    pub fn blocked(&self, keys: &[String], now: i64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for k in keys {
            let Some(list) = map.get_mut(k) else { continue };
            list.retain(|t| now - t < FAILURE_WINDOW_MS);
            if list.len() >= MAX_FAILURES {
                let oldest = list.iter().min().copied().unwrap_or(now);
                let secs =
                    u64::try_from((oldest + FAILURE_WINDOW_MS - now).max(1000) / 1000).unwrap_or(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        wait
    }

    pub fn fail(&self, keys: &[String], now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, l| l.iter().any(|t| now - t < FAILURE_WINDOW_MS));
        }
        for k in keys {
            map.entry(k.clone()).or_default().push(now);
        }
    }

    pub fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

/// What a sign-in form or JSON body carries.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SignIn {
    pub email: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub csrf: Option<String>,
}

/// Checks credentials; `Ok` is the user, `Err` why not (and whether to count a failure).
pub async fn sign_in(shared: &Shared, form: &SignIn) -> Result<User, ApiError> {
    let wrong = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong e-mail or password (the manager signs in with WAFL_ADMIN_TOKEN)",
        )
    };
    if let Some(token) = form.token.as_deref().filter(|t| !t.is_empty()) {
        return match &shared.config.admin_token {
            Some(t) if constant_time_eq(token.as_bytes(), t.expose().as_bytes()) => {
                Ok(User::manager(shared))
            }
            Some(_) => Err(wrong()),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "manager sign-in is off: start the daemon with WAFL_ADMIN_TOKEN set",
            )),
        };
    }
    let email = form.email.as_deref().unwrap_or("").trim().to_lowercase();
    let password = form.password.clone().unwrap_or_default();
    if email.is_empty() || password.is_empty() {
        return Err(ApiError::bad_request(
            "sign in with `email` and `password` (an agent) or `token` (the manager)",
        ));
    }
    let lookup = email.clone();
    let agent: Option<AgentAccount> = shared
        .db
        .run(move |s| s.agent(&lookup))
        .await
        .map_err(ApiError::internal)?;
    let hash = agent
        .as_ref()
        .map_or_else(|| decoy_hash().to_string(), |a| a.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    match agent {
        Some(a) if ok => Ok(User {
            id: a.email,
            name: a.name,
            role: Role::Agent,
            teams: a.teams,
        }),
        _ => Err(wrong()),
    }
}

/// Starts a session for `user`; returns it with the session id for the cookie.
pub async fn start_session(
    shared: &Shared,
    user: &User,
) -> Result<(String, ConsoleSession), ApiError> {
    let id = random_token();
    let now = now_ms();
    let session = ConsoleSession {
        id_hash: session_hash(&id),
        user: user.id.clone(),
        csrf: random_token(),
        created_ms: now,
        seen_ms: now,
    };
    let s = session.clone();
    shared
        .db
        .run(move |st| {
            // Sessions nobody ended are swept at each sign-in.
            st.expire_sessions(now, IDLE_MS, MAX_MS)?;
            st.create_session(s)
        })
        .await
        .map_err(ApiError::internal)?;
    Ok((id, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_limiter_blocks_after_five_failures_and_says_for_how_long() {
        let l = SignInLimiter::default();
        let keys = vec!["account:a@x.com".to_string()];
        for i in 0..4 {
            l.fail(&keys, 1_000 + i);
        }
        assert_eq!(l.blocked(&keys, 2_000), None);
        l.fail(&keys, 2_000);
        assert_eq!(l.blocked(&keys, 2_000), Some(299));
        assert_eq!(
            l.blocked(&keys, 1_000 + FAILURE_WINDOW_MS),
            None,
            "the oldest expired"
        );
        l.clear("account:a@x.com");
        assert_eq!(l.blocked(&keys, 2_000), None);
    }

    #[test]
    fn cookies_are_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; wafl_session=abc; b=2".parse().expect("header"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn visibility_follows_teams_and_assignment() {
        let ana = User {
            id: "ana@x.com".into(),
            name: "Ana".into(),
            role: Role::Agent,
            teams: vec!["billing".into()],
        };
        assert!(ana.sees(Some("billing"), None));
        assert!(!ana.sees(Some("support"), None));
        assert!(!ana.sees(None, None));
        assert!(ana.sees(Some("support"), Some("ana@x.com")));
    }
}
