"""Cek Bansos name search on PostgreSQL (issue 7): `registry_personsearch`, one row per living, active person
with the village of its family and the upper-cased name, kept by triggers, and one GIN index over (village,
trigrams of the name). The public search (dtsen.programs.public) reads from it only the persons of one village
whose name holds the typed letters, instead of every person of the village (up to 57,000 in the 1M-family
benchmark registry: 20-300 ms a search). It only narrows the candidates: every condition is still checked on
the person and family rows, so a stale row can hide a person but never show a wrong one.

Not a model: nothing but the search reads it, and only the triggers write it. Triggers: a person's row is
written when the person is inserted or updated (removed when the person is deleted, dies or is removed); a
family's insert or update (statement level, with its transition table) writes the village onto its members'
rows, so the order of inserts in a bulk load does not matter. No foreign key, so Django's flush (TRUNCATE of
its own tables) keeps working; rows of persons that no longer exist match nothing.
Extensions pg_trgm and btree_gin are "trusted" (PostgreSQL 13+): the database owner can create them.
SQLite: nothing (the search filters through the family there).
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    """CREATE TABLE IF NOT EXISTS registry_personsearch (
        person_id bigint PRIMARY KEY, village_code varchar(13) NOT NULL, name text NOT NULL)""",
    """CREATE OR REPLACE FUNCTION registry_person_search() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NOT (NEW.status = 'aktif' AND NEW.life_status = 'hidup') THEN
            DELETE FROM registry_personsearch WHERE person_id = OLD.id;
            RETURN NULL;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
            DELETE FROM registry_personsearch WHERE person_id = OLD.id;
        END IF;
        INSERT INTO registry_personsearch (person_id, village_code, name)
        SELECT NEW.id, f.village_code, upper(NEW.name) FROM registry_family f WHERE f.id = NEW.family_id
        ON CONFLICT (person_id) DO UPDATE SET village_code = EXCLUDED.village_code, name = EXCLUDED.name
        WHERE (registry_personsearch.village_code, registry_personsearch.name)
              IS DISTINCT FROM (EXCLUDED.village_code, EXCLUDED.name);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER registry_person_search AFTER INSERT OR UPDATE OR DELETE ON registry_person
    FOR EACH ROW EXECUTE FUNCTION registry_person_search()""",
    """CREATE OR REPLACE FUNCTION registry_family_search() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO registry_personsearch (person_id, village_code, name)
        SELECT p.id, n.village_code, upper(p.name) FROM family_rows n JOIN registry_person p ON p.family_id = n.id
        WHERE p.status = 'aktif' AND p.life_status = 'hidup'
        ON CONFLICT (person_id) DO UPDATE SET village_code = EXCLUDED.village_code
        WHERE registry_personsearch.village_code IS DISTINCT FROM EXCLUDED.village_code;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER registry_family_search_insert AFTER INSERT ON registry_family
    REFERENCING NEW TABLE AS family_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_family_search()""",
    """CREATE TRIGGER registry_family_search_update AFTER UPDATE ON registry_family
    REFERENCING NEW TABLE AS family_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_family_search()""",
    """INSERT INTO registry_personsearch (person_id, village_code, name)
    SELECT p.id, f.village_code, upper(p.name) FROM registry_person p JOIN registry_family f ON f.id = p.family_id
    WHERE p.status = 'aktif' AND p.life_status = 'hidup' ON CONFLICT DO NOTHING""",
    """CREATE INDEX IF NOT EXISTS registry_personsearch_village_name ON registry_personsearch
    USING gin (village_code, name gin_trgm_ops)""",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS registry_family_search_update ON registry_family",
    "DROP TRIGGER IF EXISTS registry_family_search_insert ON registry_family",
    "DROP TRIGGER IF EXISTS registry_person_search ON registry_person",
    "DROP FUNCTION IF EXISTS registry_family_search()",
    "DROP FUNCTION IF EXISTS registry_person_search()",
    "DROP TABLE IF EXISTS registry_personsearch",
]
# A first version of this change (0002_person_search_village, never released) put the village on the person
# row itself; a database that applied it loses those objects here.
CLEANUP = [
    "DROP INDEX IF EXISTS registry_person_search",
    "DROP TRIGGER IF EXISTS registry_family_search_village_update ON registry_family",
    "DROP TRIGGER IF EXISTS registry_family_search_village_insert ON registry_family",
    "DROP TRIGGER IF EXISTS registry_person_search_village ON registry_person",
    "DROP FUNCTION IF EXISTS registry_family_search_village()",
    "DROP FUNCTION IF EXISTS registry_person_search_village()",
    "ALTER TABLE registry_person DROP COLUMN IF EXISTS search_village",
]


def _run(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(_run(CLEANUP + FORWARD), _run(BACKWARD), elidable=False)]
