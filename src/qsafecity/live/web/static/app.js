// qsafecity live dashboard: no build step, no dependencies; draws the map as SVG from lat/lon.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const W = 1000, H = 700, PAD = 60;
let projection = null;
let populated = false;

// Sites are placed by bearing and distance from the city's median point; distances are compressed
// logarithmically so that a distant backup site does not squeeze the dense centre into a corner.
function project(sites) {
  const median = xs => { const v = [...xs].sort((p, q) => p - q); return v[Math.floor(v.length / 2)]; };
  const lat0 = median(sites.map(s => s.lat)), lon0 = median(sites.map(s => s.lon));
  const kx = Math.cos(lat0 * Math.PI / 180);
  const offset = s => [(s.lon - lon0) * kx * 111.32, (s.lat - lat0) * 110.57];  // km east, north
  const radii = sites.map(s => Math.hypot(...offset(s)));
  const r0 = Math.max(median(radii), 0.1);
  const squash = r => Math.log1p(r / r0);
  const squashed = sites.map(s => { const [x, y] = offset(s), r = Math.hypot(x, y) || 1e-9, k = squash(r) / r; return [x * k, y * k]; });
  const xs = squashed.map(p => p[0]), ys = squashed.map(p => p[1]);
  const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
  const scale = Math.min((W - 2 * PAD) / Math.max(maxX - minX, 1e-9), (H - 2 * PAD) / Math.max(maxY - minY, 1e-9));
  const cx = (W - (maxX - minX) * scale) / 2, cy = (H - (maxY - minY) * scale) / 2;
  return (lat, lon) => {
    const [x, y] = offset({ lat, lon }), r = Math.hypot(x, y) || 1e-9, k = squash(r) / r;
    return [cx + (x * k - minX) * scale, H - cy - (y * k - minY) * scale];
  };
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function linkColour(link) {
  if (!link.qkd) return "#3d4b5a";
  if (link.state === "cut") return "#7f8c8d";
  if (link.state === "aborted") return "#e74c3c";
  return link.qber < 0.05 ? "#2ecc71" : "#f1c40f";
}

function pct(x) { return (100 * x).toFixed(1) + " %"; }
function rate(bps) {
  if (bps >= 1e6) return (bps / 1e6).toFixed(2) + " Mbit/s";
  if (bps >= 1e3) return (bps / 1e3).toFixed(1) + " kbit/s";
  return bps.toFixed(0) + " bit/s";
}

function drawMap(state) {
  const svg = document.getElementById("map");
  if (!projection) projection = project(state.sites);
  svg.replaceChildren();
  const where = {};
  for (const s of state.sites) where[s.id] = projection(s.lat, s.lon);
  for (const link of state.links) {
    const [x1, y1] = where[link.a], [x2, y2] = where[link.b];
    const width = link.qkd ? 2 + 6 * (link.pool_fill ?? 0) : 1.2;
    const line = el("line", {
      x1, y1, x2, y2, class: "link", "data-link": link.id,
      stroke: linkColour(link), "stroke-width": width.toFixed(2),
      "stroke-dasharray": link.qkd ? (link.state === "cut" ? "6 6" : "") : "3 4",
    }, svg);
    const title = el("title", {}, line);
    title.textContent = link.qkd
      ? `${link.id}: ${link.state}, QBER ${pct(link.qber)}, ${rate(link.key_rate_bps)}, pool ${pct(link.pool_fill)}`
      : `${link.id}: ${link.fibre} fibre, no QKD`;
  }
  for (const s of state.sites) {
    const [x, y] = where[s.id];
    const g = el("g", { class: "site", "data-site": s.id }, svg);
    if (s.gateway) el("circle", { cx: x, cy: y, r: 9, fill: "none", stroke: "#9b59b6", "stroke-width": 2 }, g);
    el("circle", { cx: x, cy: y, r: 5, fill: s.kme ? "#3498db" : "#95a5a6" }, g);
    const label = el("text", { x: x + 8, y: y - 8, class: "site-label" }, g);
    label.textContent = s.id;
    const title = el("title", {}, g);
    title.textContent = `${s.name} (${s.kind})${s.kme ? ", KME" : ""}${s.gateway ? ", gateway" : ""}`;
  }
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function drawLinks(state) {
  const body = document.querySelector("#links tbody");
  body.replaceChildren();
  for (const link of state.links.filter(l => l.qkd)) {
    const tr = document.createElement("tr");
    cell(tr, link.id);
    cell(tr, link.length_km.toFixed(1), "num");
    cell(tr, link.state + (link.eavesdrop_fraction > 0 ? " (eavesdropper)" : ""), link.state === "running" ? "yes" : "no");
    cell(tr, pct(link.qber), "num");
    cell(tr, rate(link.key_rate_bps), "num");
    cell(tr, rate(link.kme_fed_bps), "num");
    const pool = cell(tr, "", "num");
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = Math.round(60 * link.pool_fill) + "px";
    pool.append(bar, " " + link.pool_keys);
    cell(tr, String(link.consumed_keys), "num");
    body.appendChild(tr);
  }
}

function drawServices(state) {
  const body = document.querySelector("#services tbody");
  body.replaceChildren();
  const order = { "critical": 0, "especially-important": 1, "important": 2 };
  const services = [...state.services].sort((a, b) => order[a.tier] - order[b.tier] || a.id.localeCompare(b.id));
  for (const s of services) {
    const tr = document.createElement("tr");
    tr.dataset.service = s.id;
    const name = cell(tr, s.id);
    name.title = s.name;
    cell(tr, s.tier, "tier-" + s.tier);
    cell(tr, s.declared ?? "");
    cell(tr, s.compliant === null ? "" : (s.compliant ? "yes" : "no"), s.compliant ? "yes" : "no");
    cell(tr, s.protection.join(", "), s.protection.some(p => p.includes("no QKD")) ? "no" : "");
    cell(tr, s.qkd_route.length ? s.qkd_route.join(" → ") : (s.tier === "critical" ? "none" : "–"));
    cell(tr, (60 * s.rate_per_s).toFixed(1), "num");
    cell(tr, String(s.accepted), "num");
    cell(tr, String(s.pending), "num");
    const rejected = Object.entries(s.rejected).map(([k, v]) => `${k} ${v}`).join(", ");
    cell(tr, rejected || "0", rejected ? "no" : "");
    body.appendChild(tr);
  }
}

function drawAlerts(state) {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  for (const a of state.alerts) {
    const li = document.createElement("li");
    li.className = a.severity;
    li.dataset.cause = a.cause;
    const cause = document.createElement("span");
    cause.className = "cause";
    cause.textContent = `[${a.cause}]`;
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = ` t=${a.at_s.toFixed(0)} s`;
    li.append(cause, a.message, when);
    list.appendChild(li);
  }
}

function populateDrills(state) {
  if (populated) return;
  populated = true;
  const links = document.getElementById("drill-link");
  for (const link of state.links.filter(l => l.qkd)) links.add(new Option(link.id, link.id));
  const services = document.getElementById("drill-service");
  for (const s of state.services) services.add(new Option(`${s.id} (${s.tier})`, s.id));
}

function render(state) {
  document.getElementById("city-name").textContent = state.city;
  document.getElementById("clock").textContent = `simulated ${state.simulated_s.toFixed(0)} s · QKD on ${state.scope}`;
  const t = state.totals;
  document.getElementById("totals").textContent =
    `sent ${t.sent ?? 0} · stored ${t.accepted ?? 0} · rejected ${t.rejected ?? 0} · relayed keys ${state.relayed_keys}` +
    ` · KMEs (ETSI 014): ${Object.values(state.kmes).reduce((n, k) => n + k.keys_issued, 0)} keys issued, ` +
    `${Object.values(state.kmes).reduce((n, k) => n + k.keys_delivered, 0)} delivered`;
  const a = state.assessment;
  document.getElementById("assessment").textContent =
    `· assessment ${a.now_year}: compliant today ${Object.keys(a.services_by_tier).map((t) => `${t} ${a.compliant_by_tier[t] ?? 0}/${a.services_by_tier[t]}`).join(', ')}; at risk ${a.at_risk}`;
  const p = state.plan;
  document.getElementById("plan").textContent = p
    ? `· plan: ${p.qkd_links} QKD links (${p.new_links} new), capex ${p.capex.toLocaleString()} ${p.currency}, ` +
      `${p.horizon_years}-year present value ${p.total_present_value.toLocaleString()} ${p.currency}, ` +
      `critical services covered ${p.critical_covered}/${p.critical_services}`
    : "";
  populateDrills(state);
  drawMap(state);
  drawLinks(state);
  drawServices(state);
  drawAlerts(state);
}

async function drill(name) {
  const out = document.getElementById("drill-result");
  const link = document.getElementById("drill-link").value;
  const service = document.getElementById("drill-service").value;
  const body = ["eavesdrop", "cut", "clear"].includes(name) ? { link } : { service };
  if (name === "eavesdrop") body.fraction = Number(document.getElementById("drill-fraction").value);
  const response = await fetch(`/api/drills/${name}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const result = await response.json();
  out.textContent = response.ok ? `${result.drill} on ${result.target}: ${result.message}` : `refused: ${JSON.stringify(result.detail)}`;
}

for (const button of document.querySelectorAll("button[data-drill]")) {
  button.addEventListener("click", () => drill(button.dataset.drill));
}

fetch("/api/state").then(r => r.json()).then(render);
const source = new EventSource("/api/events");
source.addEventListener("state", event => render(JSON.parse(event.data)));
source.onerror = () => { document.getElementById("clock").textContent = "disconnected: retrying…"; };
