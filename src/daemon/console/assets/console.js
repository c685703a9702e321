// The console's shared module: API calls with the CSRF token, the live event stream,
// translated strings and small rendering helpers. Plain JavaScript, no build step.

const I18N = (() => {
  const el = document.getElementById("i18n");
  try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
})();

/** The translated string of `key` (the key itself when missing, so gaps show). */
export function t(key) {
  return Object.prototype.hasOwnProperty.call(I18N, key) ? I18N[key] : key;
}

/** Escapes text for HTML. */
export function esc(s) {
  return String(s == null ? "" : s)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

let session = null;

/** The signed-in user and CSRF token; sends the browser to /login when signed out. */
export async function currentSession() {
  if (session) return session;
  const r = await fetch("/api/session", { credentials: "same-origin" });
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("signed out");
  }
  if (!r.ok) throw new Error(t("error.generic"));
  session = await r.json();
  return session;
}

/** Calls the JSON API; POSTs carry the CSRF token. Throws an Error with the API's message. */
export async function api(path, body) {
  const opts = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    const s = await currentSession();
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-CSRF-Token"] = s.csrf;
    opts.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    throw new Error(t("error.network"));
  }
  if (r.status === 401) {
    location.href = "/login";
    throw new Error("signed out");
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = null; }
  if (!r.ok) {
    const err = new Error((data && data.error && data.error.message) || t("error.generic"));
    err.status = r.status;
    err.code = data && data.error && data.error.code;
    throw err;
  }
  return data;
}

/** "3m", "2h 5m", "4d": how long ago an RFC 3339 time was. */
export function ago(at) {
  if (!at) return "";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(at)) / 1000));
  if (s < 60) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m";
  const h = Math.floor(m / 60);
  if (h < 24) return h + "h " + (m % 60) + "m";
  return Math.floor(h / 24) + "d " + (h % 24) + "h";
}

/** A local date and time for an RFC 3339 string. */
export function when(at) {
  if (!at) return "";
  const d = new Date(at);
  return isNaN(d) ? at : d.toLocaleString(document.documentElement.lang || undefined);
}

/** Builds an element from HTML text. */
export function html(text) {
  const tpl = document.createElement("template");
  tpl.innerHTML = text.trim();
  return tpl.content.firstElementChild;
}

/** A card of the board or a list, as HTML text. */
export function cardHtml(c) {
  const prio = c.priority || "normal";
  const chips = [];
  chips.push(`<span class="chip">${esc(c.team || t("card.no_team"))}</span>`);
  chips.push(`<span class="chip agent">${esc(c.agent || t("card.unassigned"))}</span>`);
  if (prio !== "normal") chips.push(`<span class="chip prio-${esc(prio)}">${esc(t("priority." + prio))}</span>`);
  if (c.held_by === "agent") chips.push(`<span class="chip held">${esc(t("status.with_agent"))}</span>`);
  for (const tag of c.tags || []) chips.push(`<span class="chip tag">#${esc(tag)}</span>`);
  const last = c.last_message
    ? `${c.last_message.direction === "in" ? "←" : "→"} ${esc(c.last_message.text)}`
    : esc(t("card.no_messages"));
  const waiting = c.waiting_since
    ? `<span class="waiting" data-since="${esc(c.waiting_since)}" data-label="${esc(t("card.waiting"))}">${esc(t("card.waiting"))} ${ago(c.waiting_since)}</span>`
    : "<span></span>";
  return `<a class="card p-${esc(prio)}" href="/cards/${encodeURIComponent(c.phone)}" data-phone="${esc(c.phone)}">
    <div class="name">${esc(c.name || c.phone)}</div>
    ${c.name ? `<div class="phone">${esc(c.phone)}</div>` : ""}
    <div class="meta">${chips.join("")}</div>
    <div class="last">${last}</div>
    <div class="times"><span data-since="${esc(c.stage_since)}" data-label="${esc(t("card.in_stage"))}">${esc(t("card.in_stage"))} ${ago(c.stage_since)}</span>${waiting}</div>
  </a>`;
}

/** Refreshes every "time since" label on the page. */
export function tickTimes(root) {
  for (const el of (root || document).querySelectorAll("[data-since]")) {
    el.textContent = el.dataset.label + " " + ago(el.dataset.since);
  }
}

/**
 * Follows the live events after `after`. The browser reconnects by itself and sends
 * Last-Event-ID; `handlers` has card/closed/message/reset callbacks and `status(live)`.
 */
export function live(after, handlers) {
  const url = "/api/events" + (after != null ? "?after=" + encodeURIComponent(after) : "");
  const source = new EventSource(url, { withCredentials: true });
  const parse = (fn) => (e) => {
    let data = null;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (fn) fn(data, e.lastEventId);
  };
  source.addEventListener("card", parse(handlers.card));
  source.addEventListener("closed", parse(handlers.closed));
  source.addEventListener("message", parse(handlers.message));
  source.addEventListener("reset", () => handlers.reset && handlers.reset());
  source.onopen = () => handlers.status && handlers.status(true);
  source.onerror = () => handlers.status && handlers.status(source.readyState === EventSource.OPEN);
  return source;
}

/** Fills the header: who is signed in and the sign-out form's token. */
export async function header() {
  const s = await currentSession();
  const who = document.getElementById("who");
  if (who) who.textContent = s.user.name + (s.user.role === "manager" ? "" : " · " + (s.user.teams || []).join(", "));
  const csrf = document.getElementById("logout-csrf");
  if (csrf) csrf.value = s.csrf;
  const lang = document.getElementById("lang");
  if (lang) lang.addEventListener("change", () => {
    const u = new URL(location.href);
    u.searchParams.set("lang", lang.value);
    location.href = u.toString();
  });
  const dot = document.getElementById("live");
  return { session: s, liveStatus: (on) => {
    if (!dot) return;
    dot.textContent = on ? "● " + t("board.live") : "○ " + t("board.reconnecting");
    dot.classList.toggle("off", !on);
  } };
}
