// The analyst dashboard: charts and tables over the /api/v1/stats/ endpoints.
//
// Every number comes from the statistics API, read with the session cookie, so
// the API's filters, permissions and protection apply unchanged. A
// suppressed number arrives as null and is shown as "suppressed", never drawn;
// an empty table for an analyst says "suppressed" too, since a value with no case
// and one with a few look the same to them. The filters and the site group opened
// live in the address (?sex=female&group=Skin), so a view can be shared and reloaded.

import { API, ProblemError, element, getJSON, releaseName } from "./stats-api.js";

const SUPPRESSED = "suppressed";
const FILTERS = ["primary", "subtype", "sex", "age_band", "period", "status"];
// Each topography code's site group, from the vocabulary (the page's json_script).
const SITE_GROUPS = JSON.parse(document.getElementById("site-groups").textContent);

const state = { siteGroup: null, siteChart: null };

// ---------------------------------------------------------------- the address

// The form and the drill-down from the address: what a shared or reloaded link shows.
function readAddress() {
  const params = new URLSearchParams(window.location.search);
  const form = document.getElementById("filters");
  for (const name of FILTERS) {
    const field = form.elements[name];
    if (!field || field.disabled) continue;
    if (params.has(name)) field.value = params.get(name);
    else if (field.tagName === "SELECT") {
      field.value = [...field.options].find((option) => option.defaultSelected)?.value ?? "";
    } else field.value = "";
  }
  state.siteGroup = params.get("group") || null;
}

// The view as an address: each filter given, a status other than the default, the group.
function writeAddress() {
  const form = document.getElementById("filters");
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const field = form.elements[name];
    if (!field || field.disabled) continue;
    const value = field.value.trim();
    const preset = field.tagName === "SELECT"
      ? [...field.options].find((option) => option.defaultSelected)?.value ?? ""
      : "";
    if (value !== preset) params.set(name, value);
  }
  if (state.siteGroup) params.set("group", state.siteGroup);
  const address = params.size ? `?${params}` : window.location.pathname;
  if (address !== window.location.search) window.history.pushState(null, "", address);
  linkOtherViews();
}

// The profile page (survival, shares, profile) opens on the primary chosen here.
function linkOtherViews() {
  const primary = document.getElementById("f-primary").value.trim().toUpperCase() || "C50";
  const query = new URLSearchParams({ primary });
  if (state.siteGroup) query.set("site", state.siteGroup);
  for (const [id, anchor] of [["link-survival", "#survival"], ["link-shares", "#shares"],
    ["link-profile", ""]]) {
    document.getElementById(id).href = `/dashboard/profile/?${query}${anchor}`;
  }
}

// ---------------------------------------------------------------- query

function filterParams() {
  const form = document.getElementById("filters");
  const params = new URLSearchParams();
  for (const [name, raw] of new FormData(form)) {
    const value = String(raw).trim();
    if (!value) continue;
    if (name === "primary") {
      // One value per filter (analysts may not send lists): C50 is a category, C50.9 a
      // code, and the API filters them by different names.
      const code = value.toUpperCase();
      params.set(code.includes(".") ? "primary" : "primary_category", code);
    } else {
      params.set(name, value);
    }
  }
  return params;
}

function url(path, options, filters) {
  const params = new URLSearchParams(filters);
  for (const [name, value] of Object.entries(options)) params.set(name, value);
  return `${API}${path}?${params}`;
}

// ---------------------------------------------------------------- small DOM helpers

function number(value) {
  return value === null || value === undefined ? "" : value.toLocaleString("en-GB");
}

function countCell(tag, count, suppressed) {
  if (suppressed) {
    return element(tag, { class: "suppressed", title: "Hidden to protect small groups" },
      SUPPRESSED);
  }
  return element(tag, { class: "num", text: number(count) });
}

function table(caption, head, rows) {
  return element(
    "table",
    {},
    element("caption", { text: caption }),
    element("thead", {}, element("tr", {}, ...head.map((h) => element("th", { scope: "col", text: h })))),
    element("tbody", {}, ...rows),
  );
}

// Each table has a CSV twin: stats/ -> stats/sites.csv, stats/crosstab/ -> stats/crosstab.csv.
function setCsv(id, address) {
  const [path, query] = address.split("?");
  const csvPath = path === API ? `${API}sites.csv` : path.replace(/\/$/, ".csv");
  document.getElementById(id).href = `${csvPath}?${query || ""}`;
}

// What an empty table says instead of an empty chart. "No data" only where the
// numbers are exact (curators): an analyst's empty table may hide a few cases.
const NO_CASES = "No data: no case matches these filters.";

function nothingShown(body, parts, noData = NO_CASES) {
  const rule = body.suppression;
  if (!rule.applied) return noData;
  const total = body.total;
  if (total && !total.suppressed && total.cases) {
    return `Suppressed: ${number(total.cases)} cases match, but each ${parts} has fewer than ${rule.threshold}, too few to show.`;
  }
  return `Suppressed: fewer than ${rule.threshold} cases match these filters (perhaps none), too few to show.`;
}

function emptyNote(text) {
  return element("p", { class: "empty", text });
}

// ---------------------------------------------------------------- site counts

function siteLabel(row, level) {
  return level === "code" ? `${row.key} ${row.label}` : row.label;
}

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function renderSites(body) {
  const level = body.group_by;
  const rows = body.rows;
  const title = document.getElementById("sites-title");
  title.textContent = state.siteGroup
    ? `Cases per site code in ${state.siteGroup}`
    : "Cases per metastatic site group";
  document.getElementById("sites-back").hidden = !state.siteGroup;

  // Chart: a suppressed row keeps its place with no bar and says so in its label. Long
  // names are cut on the axis (a phone is narrow); the table has them whole.
  const labels = rows.map((row) => {
    const name = shorten(siteLabel(row, level), 26);
    return row.suppressed ? `${name} (${SUPPRESSED})` : name;
  });
  const data = rows.map((row) => (row.suppressed ? null : row.cases));
  const wrap = document.getElementById("sites-chart-wrap");
  const empty = document.getElementById("sites-empty");
  empty.hidden = rows.length > 0;
  empty.textContent = state.siteGroup
    ? nothingShown(body, `site code of ${state.siteGroup}`, `No data: no case has a metastasis in ${state.siteGroup}.`)
    : nothingShown(body, "site group");
  wrap.classList.toggle("no-data", rows.length === 0);
  wrap.style.height = `${Math.max(160, 28 * rows.length + 60)}px`;
  if (state.siteChart) state.siteChart.destroy();
  state.siteChart = new window.Chart(document.getElementById("sites-chart"), {
    type: "bar",
    data: { labels, datasets: [{ label: "Cases", data, backgroundColor: "#2b6cb0" }] },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, title: { display: true, text: "Cases" } } },
      onClick: (_event, active) => {
        if (level === "site_group" && active.length) drillInto(rows[active[0].index].key);
      },
      onHover: (event, active) => {
        event.native.target.style.cursor =
          level === "site_group" && active.length ? "pointer" : "default";
      },
    },
  });

  // Table: the same rows, with a keyboard-reachable button for each drill-down.
  const tableRows = rows.map((row) => {
    const name = element("th", { scope: "row" });
    if (level === "site_group") {
      const button = element("button", { type: "button", class: "link" }, row.label);
      button.addEventListener("click", () => drillInto(row.key));
      name.append(button);
    } else {
      name.textContent = siteLabel(row, level);
    }
    return element("tr", {}, name, countCell("td", row.cases, row.suppressed),
      countCell("td", row.metastases, row.suppressed));
  });
  tableRows.push(element("tr", { class: "total" },
    element("th", { scope: "row", text: body.total.label }),
    countCell("td", body.total.cases, body.total.suppressed),
    countCell("td", body.total.metastases, body.total.suppressed)));
  const heading = level === "code" ? "Site code" : "Site group";
  document.getElementById("sites-table-wrap").replaceChildren(
    table(title.textContent, [heading, "Cases", "Metastases"], tableRows));
  document.getElementById("sites-hint").textContent = state.siteGroup
    ? `Only the site codes of ${state.siteGroup}; the last line is the group's own count.`
    : "Select a bar, or a group in the table, to see its site codes.";
  document.getElementById("sites-note").hidden = !body.suppression.applied;
}

// A group's codes: the code table keeps only the codes of that group (a case with a skin
// metastasis may have others elsewhere, which are not the group's), and its total is the
// group's own published row, not a sum of protected numbers.
function codesOf(group, codeBody, groupBody) {
  const rows = codeBody.rows.filter((row) => SITE_GROUPS[row.key] === group);
  const own = groupBody.rows.find((row) => row.key === group);
  const label = `All of ${group}`;
  const total = own ? { ...own, label } : { label, cases: null, metastases: null, suppressed: true };
  return { ...codeBody, rows, total };
}

function drillInto(group) {
  state.siteGroup = group;
  writeAddress();
  loadSites(filterParams()).then(() => document.getElementById("sites-back").focus());
}

// ---------------------------------------------------------------- heatmap

function heatColour(count, largest) {
  const share = largest ? count / largest : 0;
  // Light to dark blue; text turns white where the cell is dark enough.
  return `hsl(212 70% ${Math.round(96 - share * 56)}%)`;
}

function renderHeatmap(body) {
  const shown = body.rows.flatMap((row) => row.cells)
    .filter((cell) => !cell.suppressed).map((cell) => cell.cases);
  const largest = Math.max(0, ...shown);
  // Narrow columns: a hidden number reads "supp.", which the caption explains.
  const plain = (item) => (item.suppressed
    ? element("td", { class: "suppressed", title: "Suppressed: hidden to protect small groups" }, "supp.")
    : countCell("td", item.cases, false));
  const cell = (item) => {
    const td = plain(item);
    if (!item.suppressed) {
      td.style.background = heatColour(item.cases, largest);
      if (largest && item.cases / largest > 0.55) td.classList.add("dark");
    }
    return td;
  };
  document.getElementById("heat-note").hidden = !body.suppression.applied;
  if (!body.rows.length) {
    document.getElementById("heat-table-wrap").replaceChildren(
      emptyNote(nothingShown(body, "site group")));
    return;
  }
  const rows = body.rows.map((row) => element("tr", {},
    element("th", { scope: "row", text: row.label }),
    ...row.cells.map(cell),
    plain(row.total)));
  rows.push(element("tr", { class: "total" },
    element("th", { scope: "row", text: "All site groups" }),
    ...body.column_totals.map(plain),
    plain(body.total)));
  document.getElementById("heat-table-wrap").replaceChildren(table(
    "Cases per metastatic site group and subtype; darker is more; supp.: suppressed, too few cases to show",
    ["Site group", ...body.columns.map((col) => col.label), "All subtypes"],
    rows,
  ));
}

// ---------------------------------------------------------------- box plots

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function boxPlot(row, scale) {
  const x = (months) => (months / scale) * 1000;
  const plot = svg("svg", { viewBox: "0 0 1000 24", preserveAspectRatio: "none",
    "aria-hidden": "true", class: "box" });
  const line = { stroke: "#1a365d", "stroke-width": 2, "vector-effect": "non-scaling-stroke" };
  // Analysts get no minimum or maximum (one patient's months): the box alone, no whiskers.
  if (row.min !== null && row.max !== null) {
    plot.append(
      svg("line", { x1: x(row.min), x2: x(row.max), y1: 12, y2: 12, ...line }),
      svg("line", { x1: x(row.min), x2: x(row.min), y1: 6, y2: 18, ...line }),
      svg("line", { x1: x(row.max), x2: x(row.max), y1: 6, y2: 18, ...line }));
  }
  plot.append(
    svg("rect", { x: x(row.q1), y: 3, width: Math.max(x(row.q3) - x(row.q1), 2), height: 18,
      fill: "#90cdf4", ...line }),
    svg("line", { x1: x(row.median), x2: x(row.median), y1: 3, y2: 21, ...line,
      stroke: "#c53030", "stroke-width": 3 }),
  );
  return plot;
}

function renderIntervals(body) {
  const shown = body.rows.filter((row) => !row.suppressed && row.median !== null);
  // Ticks at a round number of months, so the axis reads in years or half-years.
  const longest = Math.max(1, ...shown.map((row) => row.max ?? row.q3));
  const step = [1, 3, 6, 12, 24, 60, 120, 240].find((months) => longest / months <= 6) || 480;
  const scale = Math.ceil(longest / step) * step;
  const chart = document.getElementById("intervals-chart");
  if (!body.rows.length) {
    chart.replaceChildren(emptyNote(nothingShown(body, "site group",
      "No data: no metastasis matching these filters has a known interval from the primary diagnosis.")));
  }
  // Whiskers only where there are a minimum and a maximum to draw (curators).
  const whiskers = shown.some((row) => row.min !== null && row.max !== null);
  document.getElementById("intervals-hint").textContent = whiskers
    ? "Box: first to third quartile; line: median; whiskers: minimum to maximum."
    : "Box: first to third quartile; line: median. No whiskers: a minimum or a maximum is one patient's months, so analysts are not given them.";
  document.getElementById("intervals-note").hidden = !body.suppression.applied;
  const lines = body.rows.map((row) => {
    const figure = row.suppressed
      ? element("span", { class: "suppressed" }, SUPPRESSED)
      : row.median === null ? element("span", { text: "no known intervals" }) : boxPlot(row, scale);
    const note = row.suppressed || row.median === null ? "" : `median ${number(row.median)} · n ${number(row.metastases)}`;
    return element("div", { class: "box-row" },
      element("span", { class: "box-label", text: row.label }), figure,
      element("span", { class: "box-note", text: note }));
  });
  const ticks = Array.from({ length: scale / step + 1 }, (_, n) =>
    element("span", { style: `left: ${((n * step) / scale) * 100}%`, text: number(n * step) }));
  if (shown.length) {
    // An axis only under boxes: with none to draw, the rows say why instead.
    lines.push(element("div", { class: "box-row axis" }, element("span", { class: "box-label" }),
      element("div", { class: "ticks" }, ...ticks), element("span", { class: "box-note", text: "months" })));
  }
  if (body.rows.length) chart.replaceChildren(...lines);

  const stat = (value) => (value === null ? "" : number(value));
  // An analyst's share with too few synchronous metastases behind it is hidden: say so.
  const synchronous = (share) => (share === null && body.suppression.applied
    ? element("td", { class: "suppressed", title: "Suppressed: too few to show" }, "supp.")
    : element("td", { class: "num", text: share === null ? "" : `${Math.round(share * 100)}%` }));
  // Min and max only where they are given (curators): analysts' would be empty columns.
  const extremes = whiskers ? ["min", "max"] : [];
  const tableRows = [...body.rows, { ...body.total, key: "" }].map((row) => {
    const cells = row.suppressed
      ? [element("td", { class: "suppressed", colspan: 6 + extremes.length }, SUPPRESSED)]
      : ["cases", "metastases", "median", "q1", "q3", ...extremes].map((name) => row[name])
        .map((value) => element("td", { class: "num", text: stat(value) }))
        .concat(synchronous(row.share_synchronous));
    return element("tr", row.key ? {} : { class: "total" },
      element("th", { scope: "row", text: row.label }), ...cells);
  });
  document.getElementById("intervals-table-wrap").replaceChildren(table(
    `Months from primary diagnosis to metastasis per site group${body.suppression.applied ? "; supp.: suppressed" : ""}`,
    ["Site group", "Cases", "n (metas\u00ADtases)", "Median", "Q1", "Q3",
      ...(whiskers ? ["Min", "Max"] : []), "Synchro\u00ADnous"],
    tableRows,
  ));
}

// ---------------------------------------------------------------- loading

async function loadSites(filters) {
  const groups = url("", { group_by: "site_group" }, filters);
  const csv = document.getElementById("sites-csv");
  if (!state.siteGroup) {
    setCsv("sites-csv", groups);
    csv.textContent = "Download CSV";
    renderSites(await getJSON(groups));
    return;
  }
  // The API's CSV of every site code (with its provenance header): the group's codes are in it.
  const codes = url("", { group_by: "code" }, filters);
  setCsv("sites-csv", codes);
  csv.textContent = "Download CSV (every site code)";
  const [codeBody, groupBody] = await Promise.all([getJSON(codes), getJSON(groups)]);
  renderSites(codesOf(state.siteGroup, codeBody, groupBody));
}

async function loadAll() {
  const filters = filterParams();
  const status = document.getElementById("status");
  status.textContent = "Loading…";
  status.classList.remove("error");
  document.body.setAttribute("aria-busy", "true");
  try {
    const heat = url("crosstab/", { rows: "site_group", cols: "subtype" }, filters);
    const intervals = url("intervals/", { group_by: "site_group" }, filters);
    setCsv("heat-csv", heat);
    setCsv("intervals-csv", intervals);
    const [heatBody, intervalsBody] = await Promise.all([
      getJSON(heat), getJSON(intervals), loadSites(filters)]);
    renderHeatmap(heatBody);
    renderIntervals(intervalsBody);
    const total = heatBody.total;
    const release = releaseName(heatBody);
    status.textContent = (total.suppressed
      ? "Too few cases match these filters to show their number."
      : `${number(total.cases)} cases (${heatBody.counted_statuses.join(", ")}) match these filters.`)
      + (release ? ` Release ${release}.` : "");
    const rule = heatBody.suppression;
    document.getElementById("suppression").textContent = rule.applied
      ? `Counts are perturbed slightly (by at most 2) so that no patient can be worked out; values with fewer than ${rule.threshold} cases are left out or shown as “${SUPPRESSED}”. Each number is protected separately, so figures side by side need not add up.`
      : "You see exact counts (curator).";
  } catch (error) {
    status.textContent = error instanceof ProblemError ? error.message : `Could not load: ${error}`;
    status.classList.add("error");
  } finally {
    document.body.setAttribute("aria-busy", "false");
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  }
}

// ---------------------------------------------------------------- wiring

function wireTableToggles() {
  for (const button of document.querySelectorAll(".table-toggle")) {
    button.addEventListener("click", () => {
      const target = document.getElementById(button.getAttribute("aria-controls"));
      const chart = target.previousElementSibling;
      const showTable = target.hidden;
      target.hidden = !showTable;
      chart.hidden = showTable;
      button.setAttribute("aria-expanded", String(showTable));
      button.textContent = showTable ? "Show chart" : "Show table";
    });
  }
}

function start() {
  const form = document.getElementById("filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    writeAddress();
    loadAll();
  });
  form.addEventListener("reset", () => setTimeout(() => {
    state.siteGroup = null;
    writeAddress();
    loadAll();
  }));
  document.getElementById("sites-back").addEventListener("click", () => {
    state.siteGroup = null;
    writeAddress();
    loadSites(filterParams());
  });
  // Back and forward walk through the views seen, as links do.
  window.addEventListener("popstate", () => {
    readAddress();
    linkOtherViews();
    loadAll();
  });
  wireTableToggles();
  readAddress();
  linkOtherViews();
  loadAll();
}

// Chart.js is a classic deferred script; deferred scripts and modules run in order.
start();
