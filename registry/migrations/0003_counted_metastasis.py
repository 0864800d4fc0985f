"""registry_countedmetastasis: the case-metastasis join the statistics count, kept by triggers.

See registry/models/counted.py for why. PostgreSQL only: on SQLite the model's
state is recorded but no table is made, and the statistics join the base tables.

The triggers are statement-level with transition tables, so a COPY or a bulk
INSERT of a million metastases costs one set-based INSERT here, not a million
row triggers. Rules:
- a metastasis inserted gets its row, if its case exists (else the case's own
  insert adds it); the lowest metastasis id of a case that had no row is first;
- a metastasis deleted loses its row; a case left without a first row but with
  others gets its lowest one marked first;
- a metastasis updated is deleted and inserted again, by those two rules;
- a case updated passes its counted attributes on to its rows;
- TRUNCATE of cases or metastases empties the table.
"""

from django.db import migrations, models

COUNTED = "registry_countedmetastasis"
# The case columns copied, by the same names (registry.models.counted.COUNTED_CASE_FIELDS).
CASE_COLUMNS = (
    "status, source, institution_id, sex, age_at_diagnosis, year_of_diagnosis, "
    "primary_site_id, primary_morphology_id, subtype_id"
)


def _insert_rows(metastases: str, cases: str, where: str = "", columns: str = CASE_COLUMNS) -> str:
    """INSERT the rows of `metastases` joined to `cases`, each case's first marked."""
    case_values = ", ".join(f"c.{column.strip()}" for column in columns.split(","))
    return f"""
        INSERT INTO {COUNTED} (metastasis_id, case_id, site_id, first_of_case, {columns})
        SELECT m.id, m.case_id, m.site_id,
               m.id = min(m.id) OVER (PARTITION BY m.case_id)
                 AND NOT EXISTS (SELECT 1 FROM {COUNTED} f WHERE f.case_id = m.case_id),
               {case_values}
        FROM {metastases} m JOIN {cases} c ON c.id = m.case_id
        {where};
    """


def _delete_rows(metastases: str) -> str:
    """DELETE the rows of `metastases`, then give their cases a first row again."""
    return f"""
        DELETE FROM {COUNTED} f USING {metastases} m WHERE f.metastasis_id = m.id;
        UPDATE {COUNTED} SET first_of_case = true
        WHERE metastasis_id IN (
            SELECT min(f.metastasis_id) FROM {COUNTED} f
            WHERE f.case_id IN (SELECT case_id FROM {metastases})
            GROUP BY f.case_id HAVING NOT bool_or(f.first_of_case)
        );
    """


def _function(name: str, body: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            {body}
            RETURN NULL;
        END
        $body$;
    """


CASE_CHANGED = " OR ".join(
    f"f.{column} IS DISTINCT FROM c.{column}"
    for column in (name.strip() for name in CASE_COLUMNS.split(","))
)
CASE_SET = ", ".join(
    f"{column} = c.{column}" for column in (name.strip() for name in CASE_COLUMNS.split(","))
)

CREATE = f"""
CREATE TABLE {COUNTED} (
    metastasis_id bigint PRIMARY KEY,
    case_id bigint NOT NULL,
    site_id varchar(5) NOT NULL,
    first_of_case boolean NOT NULL,
    status varchar(16) NOT NULL,
    source varchar(16) NOT NULL,
    institution_id bigint NOT NULL,
    sex varchar(8) NOT NULL,
    age_at_diagnosis smallint,
    year_of_diagnosis smallint,
    primary_site_id varchar(5) NOT NULL,
    primary_morphology_id varchar(6) NOT NULL,
    subtype_id varchar(40)
);
CREATE INDEX registry_countedmetastasis_case ON {COUNTED} (case_id);

{_function("registry_counted_metastases_inserted", _insert_rows("new_metastases", "registry_case"))}
{_function("registry_counted_metastases_deleted", _delete_rows("old_metastases"))}
{
    _function(
        "registry_counted_metastases_updated",
        _delete_rows("old_metastases") + _insert_rows("new_metastases", "registry_case"),
    )
}
{
    _function(
        "registry_counted_cases_inserted",
        _insert_rows(
            "registry_metastasis",
            "new_cases",
            f"WHERE NOT EXISTS (SELECT 1 FROM {COUNTED} f WHERE f.metastasis_id = m.id)",
        ),
    )
}
{
    _function(
        "registry_counted_cases_updated",
        f"UPDATE {COUNTED} f SET {CASE_SET} FROM new_cases c "
        f"WHERE f.case_id = c.id AND ({CASE_CHANGED});",
    )
}
{_function("registry_counted_truncated", f"TRUNCATE {COUNTED};")}

CREATE TRIGGER registry_counted_metastases_inserted AFTER INSERT ON registry_metastasis
    REFERENCING NEW TABLE AS new_metastases
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_metastases_inserted();
CREATE TRIGGER registry_counted_metastases_deleted AFTER DELETE ON registry_metastasis
    REFERENCING OLD TABLE AS old_metastases
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_metastases_deleted();
CREATE TRIGGER registry_counted_metastases_updated AFTER UPDATE ON registry_metastasis
    REFERENCING OLD TABLE AS old_metastases NEW TABLE AS new_metastases
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_metastases_updated();
CREATE TRIGGER registry_counted_cases_inserted AFTER INSERT ON registry_case
    REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_cases_inserted();
CREATE TRIGGER registry_counted_cases_updated AFTER UPDATE ON registry_case
    REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_cases_updated();
CREATE TRIGGER registry_counted_metastases_truncated AFTER TRUNCATE ON registry_metastasis
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_truncated();
CREATE TRIGGER registry_counted_cases_truncated AFTER TRUNCATE ON registry_case
    FOR EACH STATEMENT EXECUTE FUNCTION registry_counted_truncated();

-- The rows of the metastases already stored.
{_insert_rows("registry_metastasis", "registry_case")}
ANALYZE {COUNTED};
"""

DROP = f"""
DROP TRIGGER registry_counted_metastases_inserted ON registry_metastasis;
DROP TRIGGER registry_counted_metastases_deleted ON registry_metastasis;
DROP TRIGGER registry_counted_metastases_updated ON registry_metastasis;
DROP TRIGGER registry_counted_cases_inserted ON registry_case;
DROP TRIGGER registry_counted_cases_updated ON registry_case;
DROP TRIGGER registry_counted_metastases_truncated ON registry_metastasis;
DROP TRIGGER registry_counted_cases_truncated ON registry_case;
DROP FUNCTION registry_counted_metastases_inserted();
DROP FUNCTION registry_counted_metastases_deleted();
DROP FUNCTION registry_counted_metastases_updated();
DROP FUNCTION registry_counted_cases_inserted();
DROP FUNCTION registry_counted_cases_updated();
DROP FUNCTION registry_counted_truncated();
DROP TABLE {COUNTED};
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_idempotency")]

    operations = [
        migrations.CreateModel(
            name="CountedMetastasis",
            fields=[
                (
                    "metastasis",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        primary_key=True,
                        serialize=False,
                        to="registry.metastasis",
                    ),
                ),
                (
                    "first_of_case",
                    models.BooleanField(help_text="True on exactly one row of each case."),
                ),
                ("status", models.CharField(max_length=16)),
                ("source", models.CharField(max_length=16)),
                ("sex", models.CharField(max_length=8)),
                ("age_at_diagnosis", models.PositiveSmallIntegerField(null=True)),
                ("year_of_diagnosis", models.PositiveSmallIntegerField(null=True)),
            ],
            options={
                "verbose_name_plural": "counted metastases",
                "db_table": "registry_countedmetastasis",
                "managed": False,
            },
        ),
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False),
    ]
