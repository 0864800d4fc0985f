"""Release notes: cases added, removed and changed since the previous release, per site group.

Computed once, when the release is made, from the two releases' own copies (not
the live tables, which have moved on): a case is *added* if only the new release
has it, *removed* if only the previous one has it (rejected, flagged or deleted
since), *changed* if both have it at different versions (`Case.version` rises
with every correction to the case, its metastases or its treatments). A case
counts once in each site group of its metastases, in the release that has it.

Each number is kept exact with the sum of its cases' record keys, so analysts
read it protected like every other count (`registry.access.release_changes`)
and curators exactly.
"""

from django.db import connections

from registry.models import Case, Metastasis, Topography
from registry.releases.snapshot import qualified

KINDS = ("added", "removed", "changed")


def _tables(storage: str, alias: str) -> dict[str, str]:
    return {
        "case": qualified(storage, Case._meta.db_table, alias),
        "metastasis": qualified(storage, Metastasis._meta.db_table, alias),
        "topography": qualified(storage, Topography._meta.db_table, alias),
    }


def _selections(new: dict[str, str], old: dict[str, str] | None) -> dict[str, tuple[dict, str]]:
    """Per kind: the release whose tables describe the case, and which of its cases."""
    if old is None:
        return {"added": (new, "1 = 1"), "removed": (new, "1 = 0"), "changed": (new, "1 = 0")}
    return {
        "added": (new, f"NOT EXISTS (SELECT 1 FROM {old['case']} o WHERE o.id = c.id)"),
        "removed": (old, f"NOT EXISTS (SELECT 1 FROM {new['case']} n WHERE n.id = c.id)"),
        "changed": (
            new,
            f"EXISTS (SELECT 1 FROM {old['case']} o WHERE o.id = c.id AND o.version <> c.version)",
        ),
    }


def release_changes(storage: str, previous_storage: str | None, alias: str) -> dict:
    """{kind: {"total": [n, key_sum], "site_groups": {group: [n, key_sum]}}}, exact."""
    new = _tables(storage, alias)
    old = _tables(previous_storage, alias) if previous_storage else None
    changes = {}
    with connections[alias].cursor() as cursor:
        for kind, (side, condition) in _selections(new, old).items():
            cursor.execute(
                f"SELECT COUNT(*), COALESCE(SUM(c.record_key), 0) FROM {side['case']} c "
                f"WHERE {condition}"
            )
            n, key_sum = cursor.fetchone()
            cursor.execute(
                "SELECT site_group, COUNT(*), COALESCE(SUM(record_key), 0) FROM ("
                "SELECT DISTINCT t.site_group AS site_group, c.id AS id, "
                "c.record_key AS record_key "
                f"FROM {side['case']} c JOIN {side['metastasis']} m ON m.case_id = c.id "
                f"JOIN {side['topography']} t ON t.code = m.site_id WHERE {condition}"
                ") AS grouped GROUP BY site_group ORDER BY site_group"
            )
            changes[kind] = {
                "total": [int(n), int(key_sum)],
                "site_groups": {group: [int(g), int(s)] for group, g, s in cursor.fetchall()},
            }
    return changes
