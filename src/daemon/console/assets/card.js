// A card: the customer, the collected fields, the whole story and the agent's actions.
import { api, t, esc, when, live, header } from "/console/assets/console.js";

const phone = document.body.dataset.phone;
const path = "/api/cards/" + encodeURIComponent(phone);
let detail = null;
let ui = null;

function dl(rows) {
  return rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("");
}

function tick(status) {
  if (!status) return "";
  const marks = { sent: "✓", delivered: "✓✓", read: "✓✓", failed: "✗" };
  return `<span class="tick ${esc(status)}" title="${esc(t("tick." + status))}">${marks[status] || ""} ${esc(t("tick." + status))}</span>`;
}

function entry(e) {
  const bubble = ["message_in", "message_out", "note"].includes(e.kind);
  const text = e.text == null ? "" : bubble ? `<span class="bubble">${esc(e.text)}</span>` : esc(e.text);
  const actor = e.actor && !["automation", "customer"].includes(e.actor) ? ` · ${esc(e.actor)}` : "";
  const rule = e.rule
    ? `<div class="rule">${esc(t("detail.rule"))} <code>${esc(e.rule.source)}</code> (${esc(t("detail.line"))} ${esc(e.rule.line)})${e.rule.why ? ` — ${esc(t("detail.why"))}: ${esc(e.rule.why)}` : ""} · ${esc(t("detail.script"))} ${esc(e.script_version)}</div>`
    : "";
  return `<li class="${esc(e.kind)}">
    <div><span class="what">${esc(t("kind." + e.kind))}</span><span class="when">${esc(when(e.at))}${actor}</span></div>
    <div>${text}${e.kind === "message_out" ? tick(e.status) : ""}</div>${rule}
  </li>`;
}

function render() {
  const d = detail;
  document.getElementById("detail").classList.remove("hidden");
  document.getElementById("c-name").textContent = d.name || d.phone;
  document.getElementById("c-summary").innerHTML = dl([
    [t("detail.phone"), esc(d.phone)],
    [t("detail.stage"), esc(d.stage)],
    [t("detail.team"), esc(d.team || t("card.no_team"))],
    [t("detail.agent"), esc(d.agent || t("card.unassigned"))],
    [t("detail.priority"), esc(t("priority." + (d.priority || "normal")))],
    [t("detail.tags"), esc((d.tags || []).join(", ")) || "—"],
    [t("detail.status"), esc(t("status." + d.status))],
    [t("detail.script"), esc(d.script_version)],
  ]);
  document.getElementById("c-fields").innerHTML = d.fields.length
    ? dl(d.fields.map((f) => [f.name, esc(f.value)]))
    : `<dd class="muted">${esc(t("detail.no_fields"))}</dd>`;
  document.getElementById("c-timers").innerHTML = d.timers.map((x) =>
    `<li><span class="what">${esc(x.name)}</span> ${esc(t("detail.fires"))} ${esc(when(x.fires_at))}${x.rule ? `<div class="rule"><code>${esc(x.rule)}</code></div>` : ""}</li>`).join("")
    || `<li class="muted">—</li>`;
  document.getElementById("c-timeline").innerHTML = d.timeline.map(entry).join("");

  const closed = d.status === "closed";
  document.getElementById("actions").classList.toggle("hidden", closed);
  document.getElementById("more-actions").classList.toggle("hidden", closed);
  document.getElementById("held").textContent = t(d.held_by === "agent" ? "held.agent" : "held.automation");
  document.getElementById("a-takeover").classList.toggle("hidden", d.held_by === "agent");
  document.getElementById("a-release").classList.toggle("hidden", d.held_by !== "agent");
  document.getElementById("reply-hint").classList.toggle("hidden", d.held_by === "agent");
  const open = d.window && d.window.open;
  document.getElementById("window").textContent = open
    ? t("detail.window_open") + " " + when(d.window.closes_at)
    : t("detail.window_closed");
  document.getElementById("a-reply").classList.toggle("hidden", !open);
  document.getElementById("a-template").classList.toggle("hidden", open || !d.templates.length);
  const sel = document.getElementById("tpl-name");
  const chosen = sel.value;
  for (const o of [...sel.options].slice(1)) o.remove();
  for (const tpl of d.templates) sel.add(new Option(tpl.name, tpl.name, false, tpl.name === chosen));
  showParams();
}

function showParams() {
  const tpl = (detail.templates || []).find((x) => x.name === document.getElementById("tpl-name").value);
  document.getElementById("tpl-params").innerHTML = tpl
    ? tpl.params.map((p) => `<input name="p:${esc(p)}" placeholder="${esc(p)}" required>`).join("")
    : "";
}

function notice(text, kind) {
  const n = document.getElementById(kind === "bad" ? "error" : "notice");
  n.textContent = text;
  n.classList.remove("hidden");
  if (kind !== "bad") document.getElementById("error").classList.add("hidden");
}

async function load() {
  try {
    detail = await api(path);
    render();
  } catch (e) {
    notice(e.status === 404 ? t("detail.not_found") : e.message, "bad");
  }
}

async function act(action, body, form) {
  const buttons = form ? [...form.querySelectorAll("button")] : [];
  buttons.forEach((b) => (b.disabled = true));
  try {
    const r = await api(path + "/" + action, body);
    notice(r && r.took_over ? t("action.took_over") : t("action.done"));
    if (form) form.reset();
    await load();
  } catch (e) {
    notice(e.message, "bad");
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function on(id, fn) {
  const form = document.getElementById(id);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    fn(form, data, e.submitter);
  });
}

async function main() {
  ui = await header();
  on("a-takeover", (f) => act("takeover", {}, f));
  on("a-release", (f) => act("release", {}, f));
  on("a-reply", (f, d) => act("reply", { text: d.get("text") }, f));
  on("a-note", (f, d) => act("note", { text: d.get("text") }, f));
  on("a-tag", (f, d, by) => act(by && by.value === "untag" ? "untag" : "tag", { tag: d.get("tag") }, f));
  on("a-reassign", (f, d) => {
    const body = {};
    if (d.get("team")) body.team = d.get("team");
    if (d.get("agent")) body.agent = d.get("agent");
    act("reassign", body, f);
  });
  on("a-resolve", (f, d) => act("resolve", { reason: d.get("reason") }, f));
  on("a-template", (f, d) => {
    const params = {};
    for (const [k, v] of d.entries()) if (k.startsWith("p:")) params[k.slice(2)] = v;
    act("template", { name: d.get("name"), params }, f);
  });
  document.getElementById("tpl-name").addEventListener("change", showParams);
  await load();
  let timer = null;
  const mine = (d) => d && d.phone === phone;
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 200); };
  live(null, {
    card: (c) => mine(c) && soon(),
    closed: (c) => mine(c) && soon(),
    message: (m) => mine(m) && soon(),
    reset: soon,
    status: ui.liveStatus,
  });
}

main();
