// The agent's inbox: my cards, my team's cards, unassigned cards.
import { api, t, esc, cardHtml, tickTimes, live, header } from "/console/assets/console.js";

const tab = new URLSearchParams(location.search).get("tab") || "mine";
let ui = null;

/** The cards of the tab: the API's filters, then the unassigned ones picked out here. */
async function cards() {
  const user = ui.session.user;
  if (tab === "mine") return (await api("/api/cards?agent=" + encodeURIComponent(user.id))).cards;
  const teams = user.role === "manager" ? [null] : user.teams || [];
  let all = [];
  for (const team of teams) {
    const q = team ? "?team=" + encodeURIComponent(team) : "";
    all = all.concat((await api("/api/cards" + q)).cards);
  }
  return tab === "unassigned" ? all.filter((c) => !c.agent) : all;
}

async function load() {
  const err = document.getElementById("error");
  try {
    const list = (await cards()).filter((c) => c.status !== "closed");
    document.getElementById("list").innerHTML = list.length
      ? list.map(cardHtml).join("")
      : `<p class="muted">${esc(t("inbox.empty"))}</p>`;
    err.classList.add("hidden");
  } catch (e) {
    err.textContent = e.message;
    err.classList.remove("hidden");
  }
}

async function main() {
  document.querySelector('[data-nav="inbox"]').classList.add("here");
  document.querySelector(`[data-tab="${tab}"]`)?.classList.add("here");
  ui = await header();
  await load();
  let timer = null;
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 300); };
  live(null, { card: soon, closed: soon, reset: soon, status: ui.liveStatus });
  setInterval(() => tickTimes(), 30000);
}

main();
