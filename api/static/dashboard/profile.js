// The site profile page: one primary and one metastatic site, over /api/v1/stats/.
//
// Like the counts dashboard, it holds no numbers of its own: it reads the profile,
// survival and site-shares endpoints with the session cookie, so their protection
// applies. The primary and the site live in the address (?primary=C50&site=C44.4),
// so the dashboard links here and a view can be shared.

import { API, element, getJSON, releaseName } from "./stats-api.js";

const state = { chart: null, loads: 0 };

function shown(value) {
  return value === null || value === undefined ? "suppressed" : String(value);
}

// The primary is a category (C50) or a code (C50.9); the site a code, category or group.
function selection() {
  const form = new FormData(document.getElementById("profile-form"));
  const params = new URLSearchParams();
  const primary = String(form.get("primary")).trim().toUpperCase();
  params.set(primary.includes(".") ? "primary" : "primary_category", primary);
  const site = String(form.get("site")).trim();
  let level = "site_group";
  if (/^[Cc][0-9]{2}\.[0-9]$/.test(site)) level = "site";
  else if (/^[Cc][0-9]{2}$/.test(site)) level = "site_category";
  params.set(level, /^[Cc]/.test(site) ? site.toUpperCase() : site);
  return params;
}

// The form from the address, and the address from the form.
function readAddress() {
  const params = new URLSearchParams(window.location.search);
  const form = document.getElementById("profile-form");
  for (const name of ["primary", "site"]) {
    if (params.get(name)) form.elements[name].value = params.get(name);
  }
}

function writeAddress() {
  const form = new FormData(document.getElementById("profile-form"));
  const params = new URLSearchParams({
    primary: String(form.get("primary")).trim(), site: String(form.get("site")).trim() });
  const address = `?${params}${window.location.hash}`;
  if (`?${params}` !== window.location.search) window.history.pushState(null, "", address);
}

function table(caption, head, rows) {
  return element("table", {},
    element("caption", { text: caption }),
    element("thead", {}, element("tr", {}, ...head.map((h) => element("th", { scope: "col", text: h })))),
    element("tbody", {}, ...rows));
}

function countRows(rows) {
  return rows.map((row) => element("tr", {},
    element("th", { scope: "row", text: row.label }),
    element("td", { class: "num", text: shown(row.cases) })));
}

function renderProfile(body) {
  const parts = [
    table(`${body.label}: cases`, ["", "Cases"], [element("tr", {},
      element("th", { scope: "row", text: "Cases selected" }),
      element("td", { class: "num", text: shown(body.cases) }))]),
    table("Subtypes", ["Subtype", "Cases"], countRows(body.subtypes)),
    table("How the metastases here presented", ["Presentation", "Cases"], countRows(body.presentations)),
    table("What they were first taken for", ["First diagnosis", "Cases"], countRows(body.misdiagnoses)),
  ];
  const m = body.misdiagnosed;
  const often = m.share === null
    ? "Not shown: too few cases to tell."
    : `${Math.round(m.share * 100)} % (95 % interval ${Math.round(m.lower * 100)}–${Math.round(m.upper * 100)} %) of ${m.of} cases were first taken for something else.`;
  parts.push(element("p", { id: "misdiagnosed", text: often }));
  parts.push(table("Treatments", ["Modality", "Cases"], countRows(body.treatments)));
  const months = body.months_to_metastasis;
  if (months) {
    parts.push(element("p", { text: `Months from the primary to the metastasis: median ${months.median}, quartiles ${months.q1}–${months.q3}.` }));
  }
  document.getElementById("summary").replaceChildren(...parts);
}

const COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568"];

// A curve's 95 % band: its lower and upper limits, the area between them shaded.
function band(group, colour) {
  const limit = (name) => group.points.filter((p) => p[name] !== null)
    .map((p) => ({ x: p.months, y: p[name] }));
  const common = { stepped: "after", pointRadius: 0, borderWidth: 0, band: true };
  return [
    { ...common, label: `${group.label} lower`, data: limit("lower"), fill: false },
    { ...common, label: `${group.label} 95 % band`, data: limit("upper"), fill: "-1",
      backgroundColor: `${colour}33` },
  ];
}

// The risk table under the chart: the number still at risk per group at each time point.
function riskTable(groups, timePoints) {
  const atRisk = (group, months) => {
    const point = group.points.find((p) => p.months === months);
    return point ? shown(point.at_risk) : "";
  };
  const rows = groups.map((group) => element("tr", {},
    element("th", { scope: "row", text: group.label }),
    ...timePoints.map((months) => element("td", { class: "num", text: atRisk(group, months) }))));
  return table("Number at risk (months after the metastasis); blank after a curve stops",
    ["Group", ...timePoints.map(String)], rows);
}

function renderSurvival(body, address) {
  const groups = body.groups.length ? body.groups : (body.overall ? [body.overall] : []);
  const datasets = groups.flatMap((group, index) => [{
    label: `${group.label} (n=${shown(group.cases)})`,
    data: group.points.map((p) => ({ x: p.months, y: p.survival })),
    stepped: "after",
    borderColor: COLOURS[index % COLOURS.length],
    pointRadius: 2,
  }, ...band(group, COLOURS[index % COLOURS.length])]);
  if (state.chart) state.chart.destroy();
  state.chart = new window.Chart(document.getElementById("km-chart"), {
    type: "line",
    data: { datasets },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].band } },
      },
      scales: {
        x: { type: "linear", min: 0, title: { display: true, text: "Months after the metastasis" } },
        y: { min: 0, max: 1, title: { display: true, text: "Surviving" } },
      },
    },
  });
  // The text alternative: each curve's points with their risk table.
  const rows = groups.flatMap((group) => group.points.map((p) => element("tr", {},
    element("th", { scope: "row", text: group.label }),
    element("td", { class: "num", text: String(p.months) }),
    element("td", { class: "num", text: shown(p.at_risk) }),
    element("td", { class: "num", text: p.survival.toFixed(3) }),
    element("td", { class: "num", text: p.lower === null ? "" : `${p.lower.toFixed(3)}–${p.upper.toFixed(3)}` }))));
  document.getElementById("km-table-wrap").replaceChildren(table(
    "Survival and number at risk", ["Group", "Months", "At risk", "Surviving", "95 % band"], rows));
  document.getElementById("km-risk").replaceChildren(riskTable(groups, body.time_points));
  document.getElementById("km-note").hidden = !body.suppression.applied;
  const test = body.logrank;
  document.getElementById("logrank").textContent = test
    ? `Log-rank test between the groups shown: χ² = ${test.statistic}, ${test.degrees_of_freedom} df, p = ${test.p_value}.`
    : "";
  const params = new URL(address, window.location.origin).searchParams;
  params.set("format", "csv");
  document.getElementById("km-csv").href = `${API}survival/?${params}`;
}

function renderShares(body, address) {
  const percent = (value) => (value === null ? "" : `${(value * 100).toFixed(1)} %`);
  const rows = body.rows.map((row) => element("tr", {},
    element("th", { scope: "row", text: row.label }),
    element("td", { class: "num", text: shown(row.cases) }),
    element("td", { class: "num", text: row.suppressed ? "suppressed" : percent(row.share) }),
    element("td", { class: "num", text: row.lower === null ? "" : `${percent(row.lower)}–${percent(row.upper)}` })));
  rows.push(element("tr", { class: "total" },
    element("th", { scope: "row", text: `${body.total.label} (cases selected)` }),
    element("td", { class: "num", text: shown(body.total.cases) }),
    element("td", {}), element("td", {})));
  document.getElementById("shares-table-wrap").replaceChildren(table(
    "Share of the cases selected with a metastasis in each site group",
    ["Site group", "Cases", "Share", "95 % interval (exact)"], rows));
  document.getElementById("shares-caution").textContent = body.caution;
  document.getElementById("shares-note").hidden = !body.suppression.applied;
  document.getElementById("shares-csv").href = address.replace("site-shares/?", "site-shares.csv?");
}

async function load() {
  const status = document.getElementById("status");
  status.textContent = "Loading…";
  const params = selection();
  const primaryOnly = new URLSearchParams(params);
  for (const name of ["site", "site_category", "site_group"]) primaryOnly.delete(name);
  primaryOnly.set("by", "site_group");
  try {
    const survivalAddress = `${API}survival/?${primaryOnly}`;
    const sharesParams = new URLSearchParams(primaryOnly);
    sharesParams.delete("by");
    sharesParams.set("group_by", "site_group");
    const sharesAddress = `${API}site-shares/?${sharesParams}`;
    const [profile, survival, siteShares] = await Promise.all([
      getJSON(`${API}profile/?${params}`), getJSON(survivalAddress), getJSON(sharesAddress)]);
    renderProfile(profile);
    renderSurvival(survival, survivalAddress);
    renderShares(siteShares, sharesAddress);
    document.getElementById("suppression").textContent = profile.suppression.rule;
    const release = releaseName(profile);
    status.textContent = release ? `Release ${release}.` : "";
  } catch (error) {
    status.textContent = error.message;
  }
  // Tests (and assistive tools) can tell when a load has finished.
  state.loads += 1;
  document.body.dataset.loaded = String(state.loads);
}

document.getElementById("profile-form").addEventListener("submit", (event) => {
  event.preventDefault();
  writeAddress();
  readAddress();
load();
});
window.addEventListener("popstate", () => {
  readAddress();
  readAddress();
load();
});
for (const button of document.querySelectorAll(".table-toggle")) {
  button.addEventListener("click", () => {
    const target = document.getElementById(button.getAttribute("aria-controls"));
    target.hidden = !target.hidden;
    button.setAttribute("aria-expanded", String(!target.hidden));
    button.textContent = target.hidden ? "Show table" : "Hide table";
  });
}
readAddress();
load();
