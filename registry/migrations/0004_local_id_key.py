"""Keys that look the same become one key: `local_id_key`, unique per institution.

Existing keys are given their comparison form (registry.case_keys.local_id_key).
If two cases of one institution have keys that now compare equal ("ABC-1" and
"abc-1"), the migration stops and lists them rather than merging anything: a
curator renames or deletes one of each pair (`manage.py check_local_ids` lists
them before migrating, too), then the migration is run again.
"""

from collections import defaultdict

from django.db import migrations, models

import registry.models.case
from registry.case_keys import local_id_key

HELP = "local_id as keys are compared: NFKC, case-folded, look-alikes folded."


def fill_keys(apps, schema_editor):
    """Report clashes before writing anything; then give every row its key."""
    Case = apps.get_model("registry", "Case")
    HistoricalCase = apps.get_model("registry", "HistoricalCase")
    by_key = defaultdict(list)
    for pk, institution, local_id in Case.objects.values_list(
        "pk", "institution__code", "local_id"
    ).order_by("pk"):
        by_key[(institution, local_id_key(local_id))].append((pk, local_id))
    clashes = {key: cases for key, cases in by_key.items() if len(cases) > 1}
    if clashes:
        lines = [
            f"  {institution}: " + ", ".join(f"case id {pk} {local_id!r}" for pk, local_id in cases)
            for (institution, _), cases in sorted(clashes.items())
        ]
        raise RuntimeError(
            "These cases have keys that now compare equal; rename or delete one of each "
            "group (nothing was merged), then migrate again:\n" + "\n".join(lines)
        )
    for model in (Case, HistoricalCase):
        rows = list(model.objects.only("pk", "local_id"))
        for row in rows:
            row.local_id_key = local_id_key(row.local_id)
        model.objects.bulk_update(rows, ["local_id_key"], batch_size=5_000)


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_counted_metastasis")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="local_id_key",
            field=models.CharField(default="", editable=False, help_text=HELP, max_length=256),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalcase",
            name="local_id_key",
            field=models.CharField(default="", editable=False, help_text=HELP, max_length=256),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="case",
            name="local_id",
            field=registry.models.case.LocalIdField(
                help_text="The submitter's own key for the case.", max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="local_id",
            field=registry.models.case.LocalIdField(
                help_text="The submitter's own key for the case.", max_length=64
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="case", name="case_local_id_per_institution"),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.UniqueConstraint(
                fields=("institution", "local_id_key"), name="case_local_id_key_per_institution"
            ),
        ),
    ]
