"""The table of the shared cache (settings CACHES without REDIS_URL): made by migrate.

Throttles count in the default cache; a per-process cache would multiply every
limit by the number of workers, so the zero-setup default is a database table
that `migrate` creates (and that the test database gets too).
"""

from django.db import migrations

from registry.cache_table import cache_table_ensure


def create_cache_tables(apps, schema_editor):
    # Whatever CACHES says now: the same database may be served without Redis later.
    cache_table_ensure(using=schema_editor.connection.alias)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS registry_cache")


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_local_id_key")]

    operations = [migrations.RunPython(create_cache_tables, drop_cache_table)]
