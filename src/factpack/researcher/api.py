"""The Python API for researchers: ``factpack.connect()`` and ``factpack.load()``.

The examples below run in the test suite against a small fixture release in ``dist/``.

>>> import factpack
>>> con = factpack.connect()
>>> con.sql("select count(*) from claims").fetchall()
[(2,)]
>>> factpack.load("sources").column_names[:2]
['source_id', 'article_id']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from factpack.researcher.releases import resolve_release as _resolve
from factpack.shared.problems import FactpackError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from factpack.researcher.releases import Release

API_HOW = 'release="path/to/release" or release="0.1.0"'
"""How the Python API picks a release, for its error messages."""


def resolve_release(release: str | Path | None) -> Release:
    """Find a release as the command line does; errors say ``release=``, not ``--release``."""
    return _resolve(release, how=API_HOW)


def connect(release: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with one view per table of a release.

    Args:
        release: A release directory or a version; default: the release the working
            directory is in, else the newest in ``dist/``, in the working directory, in the
            download cache.

    Returns:
        An in-memory DuckDB connection; query it with ``con.sql(...)``.

    >>> con = connect()
    >>> con.sql("select source_kind, count(*) as n from sources group by 1 order by 1").fetchall()
    [('government', 1), ('person', 1)]
    """
    from factpack.researcher import query

    return query.connect(resolve_release(release))


def load(table: str, release: str | Path | None = None) -> pa.Table:
    """Return one table of a release as a pyarrow Table (``.to_pandas()`` for pandas).

    Args:
        table: ``articles``, ``sources``, ``events`` or ``claims``.
        release: As for :func:`connect`.

    Raises:
        FactpackError: The release has no such table.

    >>> claims = load("claims")
    >>> claims.num_rows
    2
    >>> claims.to_pandas()["claim_id"].tolist()
    ['a1:C1', 'a1:C2']
    """
    import pyarrow.parquet as pq

    found = resolve_release(release)
    if table not in found.tables:
        known = ", ".join(found.tables)
        raise FactpackError(f"release {found.version} has no table {table!r} (it has {known})")
    return pq.read_table(found.tables[table])
