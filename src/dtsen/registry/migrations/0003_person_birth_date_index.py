"""Check at the door (issue 9, dtsen.linkage.door): candidates of a new record are looked up by birth date (and its
day/month swap), so `registry_person.birth_date` gets an index. Plain SQL, not a model index, so that the model
state is unchanged (dtsen.registry.models should declare `db_index=True` on Person.birth_date; the index name
below is the one to keep). About 30 persons share one birth date per million persons, so one lookup reads a few
dozen rows.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_person_search")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS registry_person_birth_date ON registry_person (birth_date)",
            "DROP INDEX IF EXISTS registry_person_birth_date",
        ),
    ]
