"""Cek Bansos name search on PostgreSQL, second step (issue 7): `registry_personword`, one row per word of each
name in `registry_personsearch` (migration 0002), with a B-tree over (village, word). The search asks "does each
typed word start a word of the name?"; a word that starts with the typed letters is one range of that index
(`word LIKE 'MAR%'` with text_pattern_ops), read only for the village. The trigram GIN index of 0002 answered
the same question through posting lists that span the whole country (every name with "MAR" in it): about
0.6 ms a search against 0.25 ms here on the 1M-family benchmark registry (docs/benchmarks.md). It is dropped:
nothing else reads it.

Kept by one trigger on `registry_personsearch` (which the triggers of 0002 keep): a row's words are written
when it is inserted, rewritten when its name or village changes, removed with it. Like 0002, it only narrows
the candidates; every condition is still checked on the person and family rows. No foreign key (Django's flush).
SQLite: nothing.
"""

from django.db import migrations

FORWARD = [
    """CREATE TABLE IF NOT EXISTS registry_personword (
        person_id bigint NOT NULL, village_code varchar(13) NOT NULL, word text NOT NULL, name text NOT NULL)""",
    """CREATE OR REPLACE FUNCTION registry_personsearch_words() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND (NEW.person_id, NEW.village_code, NEW.name)
                                 IS NOT DISTINCT FROM (OLD.person_id, OLD.village_code, OLD.name) THEN
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM registry_personword WHERE person_id = OLD.person_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO registry_personword (person_id, village_code, word, name)
            SELECT DISTINCT NEW.person_id, NEW.village_code, w, NEW.name
            FROM unnest(string_to_array(NEW.name, ' ')) AS w WHERE w <> '';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER registry_personsearch_words AFTER INSERT OR UPDATE OR DELETE ON registry_personsearch
    FOR EACH ROW EXECUTE FUNCTION registry_personsearch_words()""",
    """INSERT INTO registry_personword (person_id, village_code, word, name)
    SELECT DISTINCT s.person_id, s.village_code, w, s.name
    FROM registry_personsearch s, unnest(string_to_array(s.name, ' ')) AS w WHERE w <> ''""",
    """CREATE INDEX IF NOT EXISTS registry_personword_village_word ON registry_personword
    (village_code, word text_pattern_ops) INCLUDE (name, person_id)""",
    "CREATE INDEX IF NOT EXISTS registry_personword_person ON registry_personword (person_id)",
    "DROP INDEX IF EXISTS registry_personsearch_village_name",
    "ANALYZE registry_personword",
]
BACKWARD = [
    """CREATE INDEX IF NOT EXISTS registry_personsearch_village_name ON registry_personsearch
    USING gin (village_code, name gin_trgm_ops)""",
    "DROP TRIGGER IF EXISTS registry_personsearch_words ON registry_personsearch",
    "DROP FUNCTION IF EXISTS registry_personsearch_words()",
    "DROP TABLE IF EXISTS registry_personword",
]


def _run(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_person_birth_date_index")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
