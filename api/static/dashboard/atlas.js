// The literature atlas page: published cases for a site, beside the registry's count.
//
// Both come from the API with the session cookie: /api/v1/atlas/ (row by row, literature
// only) and /api/v1/stats/ (protected for analysts). The filters live in the URL, so a
// view can be shared; a visitor without statistics access sees the cases only.

import { ProblemError, element, getJSON } from "./stats-api.js";

const form = document.getElementById("atlas-form");
const status = document.getElementById("status");
let loads = 0;

function siteParameter(site) {
  if (/^C[0-9]{2}\.[0-9]$/i.test(site)) return ["site", site.toUpperCase()];
  if (/^C[0-9]{2}$/i.test(site)) return ["site_category", site.toUpperCase()];
  return ["site_group", site];
}

function citationCell(citation) {
  if (!citation) return element("td", { text: "—" });
  const link = element("a", { href: citation.url, rel: "noopener", text: citation.title });
  const authors = citation.authors.length > 2 ? `${citation.authors[0]} et al.` : citation.authors.join(", ");
  return element("td", {}, link, element("br"), `${authors}, ${citation.journal} ${citation.year ?? ""}`);
}

function caseRow(row) {
  const sites = row.metastases
    .map((m) => `${m.site} ${m.site_title}${m.presentation !== "unknown" ? ` (${m.presentation})` : ""}`)
    .join("; ");
  const misdiagnosis = row.metastases
    .map((m) => m.misdiagnosis_text || (m.misdiagnosis !== "unknown" ? m.misdiagnosis : ""))
    .filter(Boolean)
    .join("; ");
  return element(
    "tr",
    { "data-uuid": row.uuid },
    element("td", { text: `${row.sex}, ${row.age_at_diagnosis ?? "?"}` }),
    element("td", { text: `${row.primary_site} ${row.primary_site_title}` }),
    element("td", { text: `${row.primary_morphology} ${row.primary_morphology_title}` }),
    element("td", { text: sites }),
    element("td", { text: misdiagnosis || "—" }),
    citationCell(row.citation),
  );
}

function casesTable(rows) {
  if (!rows.length) return element("p", { class: "note", text: "No published case matches." });
  const head = ["Patient", "Primary", "Histology", "Metastases", "First taken for", "Report"];
  return element(
    "table",
    { id: "atlas-table" },
    element("thead", {}, element("tr", {}, ...head.map((text) => element("th", { scope: "col", text })))),
    element("tbody", {}, ...rows.map(caseRow)),
  );
}

async function registryCount(params) {
  const [name, value] = siteParameter(params.get("site") || "");
  const level = { site: "code", site_category: "category", site_group: "site_group" }[name];
  const query = new URLSearchParams({ group_by: level });
  if (params.get("primary_category")) query.set("primary_category", params.get("primary_category").toUpperCase());
  const target = document.getElementById("registry-count");
  try {
    const body = await getJSON(`/api/v1/stats/?${query}`);
    const row = body.rows.find((r) => r.key === value);
    const cases = row ? row.cases : null;
    target.textContent =
      cases === null
        ? `Fewer than ${body.suppression.threshold} cases, or none: the count is withheld.`
        : `${cases} cases with a metastasis at ${row.label}${body.suppression.applied ? " (protected count)" : ""}.`;
  } catch (error) {
    target.textContent = "Counts are for analysts and curators.";
  }
}

async function load() {
  const params = new URLSearchParams(window.location.search);
  for (const field of form.elements) if (field.name && params.has(field.name)) field.value = params.get(field.name);
  const query = new URLSearchParams({ page_size: "100" });
  if (form.site.value) query.set(...siteParameter(form.site.value.trim()));
  if (form.primary_category.value) query.set("primary_category", form.primary_category.value.trim().toUpperCase());
  if (form.q.value) query.set("q", form.q.value.trim());
  status.textContent = "Loading…";
  try {
    const body = await getJSON(`/api/v1/atlas/?${query}`);
    document.getElementById("cases").replaceChildren(casesTable(body.results));
    status.textContent = "";
    if (form.site.value) await registryCount(new URLSearchParams({ site: form.site.value.trim(), primary_category: form.primary_category.value.trim() }));
  } catch (error) {
    status.textContent = error instanceof ProblemError ? error.message : "The atlas could not be read.";
  }
  loads += 1;
  document.body.dataset.loaded = String(loads);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const field of form.elements) if (field.name && field.value) params.set(field.name, field.value.trim());
  history.replaceState(null, "", `?${params}`);
  load();
});

load();
