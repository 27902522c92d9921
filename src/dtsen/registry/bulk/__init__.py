"""Bulk import and export of the register in the exchange format of `dtsen.registry.schema`.

- `read`: finds the input files and stages them, row-numbered, in a private DuckDB database;
- `validate`: set-based checks that yield one row per problem (file, row, field, code, messages);
- `engine`: the small per-database interface (PostgreSQL COPY, SQLite executemany) the loader and the
  exporter use;
- `load`: compares the staged rows with the register and writes only the differences, with a version
  per change (actor, channel, reason, time), in one transaction;
- `export`: the current state of the register, limited to the actor's scope, in the import format;
- `report`: `rejected.csv`, `summary.json` and the bilingual summary line;
- `services`: `bulk_import`, the one entry point the `registry_import` command calls.

The clear NIK exists only in process memory while a file is read or written: the staging database holds
its blind index (`nik_hash`), its ciphertext (`nik_enc`) and a masked form for error reports.
"""
