"""The table of the shared cache (settings CACHES without REDIS_URL): made by migrate.

Throttles count in the default cache; a per-process cache would multiply every
limit by the number of workers, so the zero-setup default is a database table
that `migrate` creates (and that the test database gets too).
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    # Creates the table of every DatabaseCache in CACHES; nothing when Redis is configured.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS registry_cache")


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_local_id_key")]

    operations = [migrations.RunPython(create_cache_tables, drop_cache_table)]
