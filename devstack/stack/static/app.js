// huelights dashboard: polls /api/state once a second and renders it. Colours come from the server
// (devstack/stack/dashboard.py); this file only places them, and walks looping lights (prism, colorloop)
// through their frames. The fault menus come from the simulator (devstack/bridge/faults.py), never from here.
"use strict";

const POLL_MS = 1000;
const LOOP_SECONDS = 12; // one trip around the hue circle, for the eye; a real bulb sets its own pace
const $ = (selector) => document.querySelector(selector);

let simulated = false;
const cards = new Map(); // light id -> {card, swatch, ...}
const loops = new Map(); // light id -> [[r, g, b], ...] while it loops

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function css(rgb) {
  return `rgb(${rgb.map(Math.round).join(", ")})`;
}

async function post(path, body = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let answer;
  try {
    answer = await response.json();
  } catch {
    answer = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function statusClass(status) {
  if (status === null || status === undefined) return "bad";
  if (status < 300) return "ok";
  if (status < 500) return "warn";
  return "bad";
}

function formatIn(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `in ${h} h ${m} min`;
  if (m > 0) return `in ${m} min ${s % 60} s`;
  return `in ${s} s`;
}

// ----- lights ------------------------------------------------------------------------------------------
function lightCard(light) {
  const swatch = el("div", { class: "swatch", "data-light-id": light.id, role: "img" });
  const name = el("div", { class: "name" });
  const meta = el("div", { class: "meta" });
  const summary = el("div", { class: "summary" });
  const badges = el("div", { class: "badges" });
  const actions = el("div", { class: "light-actions" });
  const cycle = el("button", { type: "button", class: "small secondary", text: "power-cycle" });
  cycle.title = "wall switch off and on: back in its powerup preset, prism or colorloop lost; like a slow-booting bulb it also undoes the next command once";
  cycle.addEventListener("click", () => simAction(`lights/${light.id}/power-cycle`, { delayed_revert: true }));
  const reach = el("button", { type: "button", class: "small secondary" });
  reach.addEventListener("click", () =>
    simAction(`lights/${light.id}/reachable`, { reachable: reach.dataset.reachable !== "true" }),
  );
  actions.append(cycle, reach);
  const card = el("article", { class: "light", "data-light-id": light.id }, swatch, name, meta, summary, badges, actions);
  return { card, swatch, name, meta, summary, badges, actions, reach };
}

function renderLights(lights) {
  const container = $("#lights");
  const seen = new Set();
  for (const light of lights) {
    seen.add(light.id);
    let view = cards.get(light.id);
    if (!view) {
      view = lightCard(light);
      cards.set(light.id, view);
      container.append(view.card);
    }
    view.name.textContent = light.name;
    view.meta.textContent = `#${light.id} · ${light.type}`;
    view.summary.textContent = light.summary;
    view.card.classList.toggle("off", !light.on);
    view.card.classList.toggle("unreachable", !light.reachable);
    view.card.classList.toggle("looping", Boolean(light.loop));
    view.swatch.setAttribute("aria-label", `${light.name}: ${light.summary}`);
    view.swatch.dataset.rgb = light.rgb;
    view.badges.replaceChildren();
    if (!light.on) view.badges.append(el("span", { class: "badge dim", text: "off" }));
    if (light.effect && light.effect !== "none") {
      const effect = el("span", { class: `badge effect${light.loop ? " loop" : ""}`, text: light.effect });
      effect.title = light.effect === "prism" ? "v2 effect prism (the successor of colorloop)" : `effect ${light.effect}`;
      view.badges.append(effect);
    }
    if (light.api) {
      const api = el("span", { class: `badge api ${light.api}`, text: `via ${light.api}` });
      api.title = `its last command came through CLIP ${light.api}`;
      view.badges.append(api);
    }
    if (light.kind === "white") view.badges.append(el("span", { class: "badge", text: "white bulb" }));
    if (light.kind === "ambiance") view.badges.append(el("span", { class: "badge", text: "white ambiance" }));
    if (!light.reachable) view.badges.append(el("span", { class: "badge bad", text: "unreachable" }));
    view.actions.hidden = !simulated;
    view.reach.dataset.reachable = String(light.reachable);
    view.reach.textContent = light.reachable ? "unplug" : "plug in";
    view.reach.title = light.reachable
      ? "make it unreachable: commands are acknowledged but never arrive"
      : "make it reachable again";
    if (light.loop) {
      loops.set(light.id, light.loop.map(hexToRgb));
    } else {
      loops.delete(light.id);
      paint(view, hexToRgb(light.rgb), light.on);
    }
  }
  for (const [id, view] of cards) {
    if (!seen.has(id)) {
      view.card.remove();
      cards.delete(id);
      loops.delete(id);
    }
  }
  animateLoops(); // a light that just started looping shows its loop colour now, not at the next tick
}

function paint(view, rgb, on) {
  const colour = css(rgb);
  view.swatch.style.backgroundColor = colour;
  view.swatch.style.boxShadow = on ? `0 0 28px 4px ${colour}` : "none";
}

function animateLoops() {
  const phase = (performance.now() / 1000 / LOOP_SECONDS) % 1;
  for (const [id, frames] of loops) {
    const view = cards.get(id);
    if (!view) continue;
    const position = phase * frames.length;
    const i = Math.floor(position);
    const a = frames[i % frames.length];
    const b = frames[(i + 1) % frames.length];
    const f = position - i;
    paint(view, a.map((value, k) => value + (b[k] - value) * f), true);
  }
}

// ----- schedules -----------------------------------------------------------------------------------------
const scheduleRows = new Map();

function renderSchedules(rows) {
  const body = $("#schedules tbody");
  for (const row of rows) {
    let view = scheduleRows.get(row.name);
    if (!view) {
      const fire = el("button", { type: "button", class: "small", "data-fire": row.name, text: "Fire now" });
      fire.title = `send ${row.name}'s tick now, exactly as the schedule would`;
      fire.addEventListener("click", () => fireNow(row.name, fire));
      const cron = el("td", { class: "cron" }, el("code", { text: row.schedule }), el("span", { class: "sub", text: row.timezone }));
      const next = el("td", { class: "next" });
      view = { tr: el("tr", {}, el("td", { text: row.name }), cron, next, el("td", {}, fire)), next };
      scheduleRows.set(row.name, view);
      body.append(view.tr);
    }
    view.next.replaceChildren(el("span", { text: row.next_local }), el("span", { class: "sub", text: formatIn(row.in_seconds) }));
    view.next.title = row.next;
  }
}

async function fireNow(source, button) {
  const result = $("#fire-result");
  button.disabled = true;
  result.className = "result";
  result.textContent = `${source}: firing…`;
  try {
    const delivery = await post(`/api/fire/${encodeURIComponent(source)}`);
    const outcome = delivery.status ?? delivery.error;
    result.className = `result ${statusClass(delivery.status)}`;
    result.textContent = `${source}: HTTP ${outcome} after ${delivery.attempts} attempt(s), ${delivery.seconds} s`;
  } catch (error) {
    result.className = "result bad";
    result.textContent = `${source}: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

// ----- external trigger ------------------------------------------------------------------------------------
async function sendExternal(withToken) {
  const result = $("#external-result");
  result.className = "result";
  result.textContent = withToken ? "sending with the token…" : "sending without a token…";
  try {
    const answer = await post("/api/external", { token: withToken });
    result.className = `result ${statusClass(answer.status)}`;
    const head = answer.status === null ? `no answer (${answer.error})` : `HTTP ${answer.status} ${answer.reason}`;
    const lines = [`${withToken ? "with" : "without"} token → ${head}`];
    if (answer.www_authenticate) lines.push(`WWW-Authenticate: ${answer.www_authenticate}`);
    if (answer.body) lines.push(summariseBody(answer.body));
    result.textContent = lines.join("\n");
  } catch (error) {
    result.className = "result bad";
    result.textContent = error.message;
  }
}

function summariseBody(body) {
  try {
    const outcome = JSON.parse(body);
    if (outcome && outcome.result) return `${outcome.result}: ${outcome.message}`;
  } catch {
    // a plain-text refusal: show it as it is
  }
  return body.trim().slice(0, 300);
}

// ----- faults ---------------------------------------------------------------------------------------------
async function simAction(action, body = {}) {
  try {
    await post(`/api/sim/${action}`, body);
    poll();
  } catch (error) {
    $("#fault-status").textContent = error.message;
  }
}

let faultMenus = false; // built once from the simulator's lists

async function loadFaultMenus() {
  const response = await fetch("/api/sim/faults", { cache: "no-store" });
  if (!response.ok) throw new Error(`fault list: HTTP ${response.status}`);
  const lists = await response.json();
  fillMenu($("#outage-mode"), lists.outage_modes);
  fillMenu($("#fail-kind"), lists.fault_kinds);
  faultMenus = true;
}

function fillMenu(select, listed) {
  const options = listed.map(({ name, does }) => {
    const option = el("option", { value: name, text: name });
    option.title = does;
    return option;
  });
  select.replaceChildren(...options);
  const explain = () => (select.title = select.selectedOptions[0]?.title || "");
  select.addEventListener("change", explain);
  explain();
}

function renderFaults(bridge) {
  const faults = bridge.faults || {};
  const counts = bridge.counts || {};
  const active = [];
  if (faults.outage) active.push(`outage: ${faults.outage}`);
  if (faults.latency) active.push(`latency ${faults.latency} s`);
  if (faults.pending_failures && faults.pending_failures.length) {
    active.push(`next failures: ${faults.pending_failures.join(", ")}`);
  }
  const summary = active.length ? active.join(" · ") : "no faults";
  const traffic = `${counts.requests ?? 0} requests, ${counts.rate_limited ?? 0} rate-limited, ${counts.injected_failures ?? 0} injected`;
  const status = $("#fault-status");
  status.textContent = `${summary} — ${traffic}`;
  status.classList.toggle("warn", active.length > 0);
}

// ----- invocations ------------------------------------------------------------------------------------------
function triggerText(record) {
  if (record.trigger === "rejected") return "rejected";
  if (record.event_type === "dev.knative.sources.ping") {
    if (!record.source) return "PingSource";
    return `PingSource ${record.source} (${record.manual ? "by hand" : "schedule"})`;
  }
  if (record.trigger && record.trigger.startsWith("cloudevent")) return `CloudEvent ${record.event_type || ""}`;
  return record.external ? "gateway (HTTP)" : "HTTP";
}

function renderInvocations(records) {
  const body = $("#invocations tbody");
  const rows = records.map((record) => {
    const chips = el("div", { class: "outcomes" }); // a flex box inside the cell: the cell stays a table cell
    for (const [id, outcome] of Object.entries(record.lights || {})) {
      const effect = outcome.effect && outcome.effect !== "none" ? ` · ${outcome.effect}` : "";
      const chip = el("span", { class: `chip ${outcome.status}`, text: `${outcome.name || id}: ${outcome.status}${effect}` });
      if (outcome.detail) chip.title = outcome.detail;
      chips.append(chip);
    }
    if (!chips.childElementCount && record.message) chips.append(el("span", { class: "note", text: record.message }));
    const lights = el("td", {}, chips);
    const status = el("td", { class: `status ${statusClass(record.status)}`, text: String(record.status) });
    if (record.result) status.title = `${record.result}: ${record.message || ""}`;
    const eventId = el("td", { class: "mono", text: record.event_id ? record.event_id.slice(0, 8) : "–" });
    if (record.event_id) eventId.title = `${record.event_id}\n${record.event_source || ""}`;
    const time = el("td", { class: "mono", text: record.time.slice(11, 19) });
    time.title = record.time;
    const took = el("td", { class: "mono", text: `${record.duration_ms} ms` });
    if (record.bridge_requests !== undefined) {
      took.append(el("span", { class: "sub", text: `${record.bridge_requests} bridge req.` }));
    }
    const action = el("td", { text: record.action });
    if (record.api) action.append(el("span", { class: "sub", text: `CLIP ${record.api}` }));
    return el("tr", {}, time, action, el("td", { text: triggerText(record) }), eventId, lights, took, status);
  });
  if (!rows.length) {
    rows.push(el("tr", {}, el("td", { colspan: "7", class: "note", text: "none yet: fire a schedule or send the external trigger" })));
  }
  body.replaceChildren(...rows);
}

// ----- polling ----------------------------------------------------------------------------------------------
let polling = false; // one request at a time: a slow bridge must not pile them up

async function poll() {
  if (polling) return;
  polling = true;
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await render(await response.json());
    $("#conn").className = "conn live";
    $("#conn").textContent = "live";
  } catch (error) {
    $("#conn").className = "conn lost";
    $("#conn").textContent = `stack not answering (${error.message})`;
  } finally {
    polling = false;
  }
}

async function render(state) {
  const bridge = state.bridge;
  simulated = bridge.mode === "simulated";
  $("#mode").textContent = simulated ? "simulated bridge" : bridge.mode === "real" ? `real bridge ${bridge.url} · read-only` : "no bridge";
  $("#mode").className = `badge ${simulated ? "" : "real"}`;
  const clock = state.clock;
  $("#clock").textContent = `${clock.now.slice(0, 10)} ${clock.now.slice(11, 19)} ${clock.zone}${clock.speed !== 1 ? ` · demo clock ×${clock.speed}` : ""}`;
  $("#bridge-note").textContent = bridge.error ? `bridge: ${bridge.error}` : "";
  $("#bridge-note").classList.toggle("bad", Boolean(bridge.error));
  $("#faults-section").hidden = !simulated;
  $("#real-note").hidden = bridge.mode !== "real";
  renderLights(state.lights);
  renderSchedules(state.schedules);
  if (state.external) $("#external-target").textContent = `${state.external.path} (Host: ${state.external.host})`;
  if (simulated) renderFaults(bridge);
  if (simulated && !faultMenus) await loadFaultMenus(); // a failure shows as "stack not answering", retried next poll
  renderInvocations(state.invocations);
}

function wire() {
  $("#external-with-token").addEventListener("click", () => sendExternal(true));
  $("#external-without-token").addEventListener("click", () => sendExternal(false));
  $("#outage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    simAction("outage", { mode: $("#outage-mode").value, seconds: Number($("#outage-seconds").value) || 15 });
  });
  $("#outage-end").addEventListener("click", () => simAction("outage", { mode: "none" }));
  $("#latency-form").addEventListener("submit", (event) => {
    event.preventDefault();
    simAction("latency", { seconds: Number($("#latency-seconds").value) || 0 });
  });
  $("#fail-form").addEventListener("submit", (event) => {
    event.preventDefault();
    simAction("fail", { kind: $("#fail-kind").value, count: Number($("#fail-count").value) || 1 });
  });
  $("#sim-reset").addEventListener("click", () => simAction("reset"));
}

wire();
poll();
setInterval(poll, POLL_MS);
setInterval(animateLoops, 100);
