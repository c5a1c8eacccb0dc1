"""``load.sql``: the SQL script that builds the release's DuckDB database from its Parquet files.

The ``.duckdb`` file's bytes depend on the DuckDB that writes it (the same DuckDB writes the
same bytes), so it stays out of the zip and SHA256SUMS; ``load.sql`` is a function of
``schema/`` alone. Run from the release folder,
``duckdb my.duckdb < load.sql`` creates the same tables, column comments, primary keys,
foreign keys, NOT NULL and CHECK constraints as the release's ``.duckdb``
(:func:`factpack.pipeline.write.write_duckdb`: both use
:func:`factpack.shared.schema.duckdb_ddl`), with DuckDB 1.x or 2.x.

The ``claims.responds_to -> claims.claim_id`` self-reference is not declared, here nor in the
``.duckdb``: DuckDB rejects an INSERT whose rows reference rows of the same statement (even
in order), an UPDATE of a referenced row, and EXPORT DATABASE of a self-referencing table
(spiked with DuckDB 2.0.1). The build checks that key instead (layer 3,
:func:`factpack.pipeline.checks.cross_checks`).
"""

from __future__ import annotations

from factpack.shared.schema import Schema, duckdb_ddl

LOAD_SQL = "load.sql"
"""The script's file name in the release (and the zip)."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def self_references(schema: Schema) -> list[str]:
    """Return ``table.column -> table.column`` of every foreign key a table has to itself."""
    return [
        f"{t.name}.{', '.join(fk.fields)} -> {t.name}.{', '.join(fk.ref_fields)}"
        for t in schema.tables.values()
        for fk in t.foreign_keys
        if fk.ref_table == t.name
    ]


def load_sql(schema: Schema, database: str) -> str:
    """Return the text of ``load.sql`` for a release of ``schema``.

    Args:
        schema: The schema (tables in dependency order: referenced tables first).
        database: The name of the release's ``.duckdb`` file (named as the same database,
            already built, in the release folder).

    Returns:
        SQL statements, each ending in ``;``, reading ``data/<table>.parquet`` relative to the
        working directory (the release folder).
    """
    undeclared = self_references(schema)
    lines = [
        "-- Builds the DuckDB database of this release from its Parquet files, with the",
        "-- column comments, primary keys, foreign keys and CHECK constraints of the schema.",
        "-- Run it from the release folder with DuckDB 1.x or 2.x:",
        "--   duckdb my.duckdb < load.sql",
        "-- or in Python: duckdb.connect('my.duckdb').execute(open('load.sql').read())",
        f"-- The release folder (not the zip) holds this database already built: {database}.",
    ]
    if undeclared:
        lines += [
            "-- Not declared (DuckDB cannot load or export a table that references itself);",
            "-- the build checked it: " + "; ".join(undeclared) + ".",
        ]
    lines.append("")
    for name, table in schema.tables.items():
        lines += [f"{stmt};" for stmt in duckdb_ddl(table)]
        cols = ", ".join(_ident(c) for c in table.field_names)
        lines += [
            f"INSERT INTO {_ident(name)} ({cols})",
            f"SELECT {cols} FROM read_parquet({_literal(f'data/{name}.parquet')});",
            "",
        ]
    lines.append("CHECKPOINT;")
    return "\n".join(lines) + "\n"
