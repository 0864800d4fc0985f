"""What every statistics answer says about itself: which release, which filters, which protection.

One line (`provenance`) fits a methods section; the CSV carries the same facts
as `# name: value` lines above its header (api.renderers), as SEER*Stat exports
do. A release's answer is dated by the release, not by the request, so the same
release and the same query give the same bytes, today and in ten years.
"""

import datetime

from django.utils import timezone

from registry.access import StatisticsAccess
from registry.models import Release

REGISTRY_NAME = "Rare-metastasis registry"


def _filters_text(echo: dict) -> str:
    if not echo:
        return "none"
    parts = []
    for name, value in echo.items():
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{name}={shown}")
    return "; ".join(parts)


def protection_text(access: StatisticsAccess) -> str:
    if access.exact:
        return "none (curator: exact counts)"
    return f"cell-key perturbation (-2..+2); counts below {access.threshold} suppressed"


def stamp(*, release: Release | None, document: dict, access: StatisticsAccess) -> dict:
    """The release, the time and the one-line provenance of a statistics document."""
    generated = release.created_at if release else timezone.now()
    generated_text = generated.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = (
        f"release {release.name} ({generated_text[:10]}, {release.checksum[:19]})"
        if release
        else f"live data as of {generated_text}"
    )
    statuses = ",".join(document.get("counted_statuses", ()))
    line = (
        f"{REGISTRY_NAME}, {source}; counted: {statuses} cases; "
        f"filters: {_filters_text(document.get('filters', {}))}; "
        f"protection: {protection_text(access)}"
    )
    return {
        "release": release.name if release else None,
        "generated_at": generated_text,
        "provenance": line,
    }


def csv_header(document: dict) -> list[str]:
    """`# name: value` lines for the top of a CSV; empty for a document without provenance."""
    if "provenance" not in document:
        return []
    suppression = document.get("suppression", {})
    facts = [
        ("registry", REGISTRY_NAME),
        ("release", document["release"] or "live"),
        ("counted", ",".join(document.get("counted_statuses", ()))),
        ("filters", _filters_text(document.get("filters", {}))),
        ("threshold", suppression.get("threshold", "")),
        ("protection", suppression.get("method", "")),
        ("generated", document["generated_at"]),
        ("provenance", document["provenance"]),
    ]
    return [f"# {name}: {' '.join(str(value).split())}" for name, value in facts]
