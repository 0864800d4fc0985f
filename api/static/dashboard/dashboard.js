// The analyst dashboard: charts and tables over the /api/v1/stats/ endpoints.
//
// Every number comes from the statistics API, read with the session cookie, so
// the API's filters, permissions and protection apply unchanged. A
// suppressed number arrives as null and is shown as "suppressed", never drawn.

import { API, ProblemError, element, getJSON } from "./stats-api.js";

const SUPPRESSED = "suppressed";

const state = { siteGroup: null, siteChart: null };

// ---------------------------------------------------------------- query

function filterParams() {
  const form = document.getElementById("filters");
  const params = new URLSearchParams();
  for (const [name, raw] of new FormData(form)) {
    const value = String(raw).trim();
    if (!value) continue;
    if (name === "primary") {
      // C50 is a category, C50.9 a code: the API filters them by different names.
      const codes = value.toUpperCase().split(",").map((v) => v.trim()).filter(Boolean);
      const categories = codes.filter((code) => !code.includes("."));
      const sites = codes.filter((code) => code.includes("."));
      if (categories.length) params.set("primary_category", categories.join(","));
      if (sites.length) params.set("primary", sites.join(","));
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

// What an empty table says instead of an empty chart.
const NO_CASES = "No data: no case matches these filters.";

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
}

function drillInto(group) {
  state.siteGroup = group;
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
  const cell = (item) => {
    const td = countCell("td", item.cases, item.suppressed);
    if (!item.suppressed) {
      td.style.background = heatColour(item.cases, largest);
      if (largest && item.cases / largest > 0.55) td.classList.add("dark");
    }
    return td;
  };
  if (!body.rows.length) {
    document.getElementById("heat-table-wrap").replaceChildren(emptyNote(NO_CASES));
    return;
  }
  const rows = body.rows.map((row) => element("tr", {},
    element("th", { scope: "row", text: row.label }),
    ...row.cells.map(cell),
    countCell("td", row.total.cases, row.total.suppressed)));
  rows.push(element("tr", { class: "total" },
    element("th", { scope: "row", text: "All site groups" }),
    ...body.column_totals.map((item) => countCell("td", item.cases, item.suppressed)),
    countCell("td", body.total.cases, body.total.suppressed)));
  document.getElementById("heat-table-wrap").replaceChildren(table(
    "Cases per metastatic site group and subtype; darker is more",
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
    chart.replaceChildren(emptyNote(
      "No data: no metastasis matching these filters has a known interval from the primary diagnosis."));
  }
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
  const tableRows = [...body.rows, { ...body.total, key: "" }].map((row) => {
    const cells = row.suppressed
      ? [element("td", { class: "suppressed", colspan: 8 }, SUPPRESSED)]
      : [row.cases, row.metastases, row.median, row.q1, row.q3, row.min, row.max]
        .map((value) => element("td", { class: "num", text: stat(value) }))
        .concat(element("td", { class: "num", text: row.share_synchronous === null ? ""
          : `${Math.round(row.share_synchronous * 100)}%` }));
    return element("tr", row.key ? {} : { class: "total" },
      element("th", { scope: "row", text: row.label }), ...cells);
  });
  document.getElementById("intervals-table-wrap").replaceChildren(table(
    "Months from primary diagnosis to metastasis per site group",
    ["Site group", "Cases", "Metastases (n)", "Median", "Q1", "Q3", "Min", "Max", "Synchronous"],
    tableRows,
  ));
}

// ---------------------------------------------------------------- loading

async function loadSites(filters) {
  const options = state.siteGroup
    ? { group_by: "code", site_group: state.siteGroup }
    : { group_by: "site_group" };
  const address = url("", options, filters);
  setCsv("sites-csv", address);
  renderSites(await getJSON(address));
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
    status.textContent = total.suppressed
      ? "Too few cases match these filters to show their number."
      : `${number(total.cases)} cases (${heatBody.counted_statuses.join(", ")}) match these filters.`;
    const rule = heatBody.suppression;
    document.getElementById("suppression").textContent = rule.applied
      ? `Counts are perturbed slightly (by at most 2) so that no patient can be worked out; values with fewer than ${rule.threshold} cases are left out or shown as “${SUPPRESSED}”.`
      : "You see exact counts (curator).";
    // What was counted, to cite: the release (or live data) and the one-line provenance.
    document.getElementById("release").textContent = heatBody.release
      ? `Release ${heatBody.release}. To cite: ${heatBody.provenance}`
      : `Live data. ${heatBody.provenance}`;
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
    if (form.reportValidity()) loadAll();
  });
  form.addEventListener("reset", () => setTimeout(loadAll));
  document.getElementById("sites-back").addEventListener("click", () => {
    state.siteGroup = null;
    loadSites(filterParams());
  });
  wireTableToggles();
  loadAll();
}

// Chart.js is a classic deferred script; deferred scripts and modules run in order.
start();
