// What both dashboard pages share: reading the statistics API, and building DOM nodes.
//
// Numbers are read with the session cookie, so the API's permissions and
// protection apply unchanged; an error answer becomes a ProblemError whose
// message names the fields at fault, as the problem document does.

export const API = "/api/v1/stats/";

export class ProblemError extends Error {}

export async function getJSON(address) {
  const response = await fetch(address, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const details = (body.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new ProblemError(details || body.detail || `The server answered ${response.status}.`);
  }
  return body;
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// The release a statistics answer counts, when it names one (a name or an object with one).
export function releaseName(body) {
  const release = body.release;
  if (!release) return "";
  return typeof release === "string" ? release : release.name || release.label || "";
}
