// The board: one column per stage, live through Server-Sent Events.
import { api, t, esc, ago, cardHtml, tickTimes, live, header } from "/console/assets/console.js";

const FILTERS = ["team", "agent", "priority", "tag", "waiting"];
const params = new URLSearchParams(location.search);
let stages = [];          // [{name, count, cards}]
let source = null;
let ui = null;

function filterQuery() {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (params.get(k)) q.set(k, params.get(k));
  return q.toString();
}

/** Whether a card passes the filters on screen (live events are not filtered by the server). */
function matches(c) {
  if (c.status === "closed") return false;
  if (params.get("team") && c.team !== params.get("team")) return false;
  if (params.get("agent") && c.agent !== params.get("agent")) return false;
  if (params.get("priority") && (c.priority || "normal") !== params.get("priority")) return false;
  if (params.get("tag") && !(c.tags || []).includes(params.get("tag"))) return false;
  if (params.get("waiting") === "true" && !c.waiting_since) return false;
  return true;
}

function render() {
  const board = document.getElementById("board");
  board.innerHTML = stages.map((s) => {
    const hidden = s.count - s.cards.length;
    return `<section class="column" data-stage="${esc(s.name)}">
      <h2><span>${esc(s.name)}</span><span class="count">${s.count}</span></h2>
      ${s.cards.length ? s.cards.map(cardHtml).join("") : `<div class="empty">${esc(t("board.empty_column"))}</div>`}
      ${hidden > 0 ? `<div class="empty">+${hidden} ${esc(t("board.more"))}</div>` : ""}
    </section>`;
  }).join("");
  const total = stages.reduce((n, s) => n + s.count, 0);
  document.getElementById("total").textContent = total + " " + t("board.open_cards");
}

function remove(phone) {
  for (const s of stages) {
    const i = s.cards.findIndex((c) => c.phone === phone);
    if (i >= 0) { s.cards.splice(i, 1); s.count = Math.max(0, s.count - 1); return true; }
  }
  return false;
}

function upsert(card) {
  remove(card.phone);
  if (!matches(card)) return;
  const s = stages.find((x) => x.name === card.stage);
  if (!s) { reload(); return; }
  s.cards.unshift(card);
  s.count += 1;
}

let attentionTimer = null;
function refreshAttentionSoon() {
  clearTimeout(attentionTimer);
  attentionTimer = setTimeout(loadAttention, 300);
}

async function loadAttention() {
  const list = document.getElementById("attention");
  try {
    const data = await api("/api/attention");
    list.innerHTML = data.cards.length
      ? data.cards.map((c) => `<li><a href="/cards/${encodeURIComponent(c.phone)}">${esc(c.name || c.phone)}</a>
          <div class="reason">${esc(t("reason." + c.reason))} · ${esc(ago(c.waiting_since))}</div></li>`).join("")
      : `<li class="muted">${esc(t("board.attention_empty"))}</li>`;
  } catch (e) {
    list.innerHTML = `<li class="muted">${esc(e.message)}</li>`;
  }
}

function fillFilters(data) {
  const teams = new Set(ui.session.user.teams || []);
  const agents = new Set();
  for (const s of data.stages) for (const c of s.cards) {
    if (c.team) teams.add(c.team);
    if (c.agent) agents.add(c.agent);
  }
  for (const [id, values] of [["f-team", teams], ["f-agent", agents]]) {
    const sel = document.getElementById(id);
    const current = params.get(id.slice(2)) || "";
    if (current) values.add(current);
    for (const o of [...sel.options].slice(1)) o.remove();
    for (const v of [...values].sort()) sel.add(new Option(v, v, false, v === current));
    sel.value = current;
  }
  document.getElementById("f-priority").value = params.get("priority") || "";
  document.getElementById("f-tag").value = params.get("tag") || "";
  document.getElementById("f-waiting").checked = params.get("waiting") === "true";
}

async function reload() {
  const err = document.getElementById("error");
  try {
    const data = await api("/api/board?" + filterQuery());
    stages = data.stages.map((s) => ({ name: s.name, count: s.count, cards: s.cards.slice() }));
    fillFilters(data);
    render();
    err.classList.add("hidden");
    loadAttention();
    if (source) source.close();
    source = live(data.last_event_id, {
      card: (c) => { upsert(c); render(); refreshAttentionSoon(); },
      closed: (d) => { if (remove(d.phone)) render(); refreshAttentionSoon(); },
      message: (m) => {
        for (const s of stages) for (const c of s.cards) if (c.phone === m.phone) {
          c.last_message = { direction: m.direction, text: m.text, at: m.at };
        }
        render();
      },
      reset: () => reload(),
      status: ui.liveStatus,
    });
    window.waflBoardSource = source;
  } catch (e) {
    err.textContent = e.message;
    err.classList.remove("hidden");
  }
}

function onFilter() {
  const form = document.getElementById("filters");
  for (const k of FILTERS) {
    const el = form.elements[k];
    const v = el.type === "checkbox" ? (el.checked ? "true" : "") : el.value.trim();
    if (v) params.set(k, v); else params.delete(k);
  }
  history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
  reload();
}

async function main() {
  document.querySelector('[data-nav="board"]').classList.add("here");
  ui = await header();
  const form = document.getElementById("filters");
  form.addEventListener("change", onFilter);
  form.addEventListener("submit", (e) => { e.preventDefault(); onFilter(); });
  document.getElementById("f-clear").addEventListener("click", () => {
    for (const k of FILTERS) params.delete(k);
    form.reset();
    onFilter();
  });
  await reload();
  setInterval(() => tickTimes(), 30000);
}

main();
