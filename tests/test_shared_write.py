"""The release's writer settings live in factpack.shared.write, shared by build and hydrate."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from factpack.pipeline import write as build_write
from factpack.shared import write as shared_write


def test_the_build_writes_with_the_shared_writer() -> None:
    assert build_write.PARQUET_OPTIONS is shared_write.PARQUET_OPTIONS
    assert build_write.write_parquet is shared_write.write_parquet
    assert build_write.write_csv is shared_write.write_csv
    assert build_write.write_duckdb is shared_write.write_duckdb


def test_the_shared_writer_does_not_import_the_build_side() -> None:
    code = (
        "import sys, factpack.shared.write\n"
        "print(sorted(m for m in sys.modules if m.startswith('factpack.pipeline')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _articles(n: int) -> dict[str, Any]:
    """The four tables with ``n`` articles of varied text (the others empty)."""
    import pyarrow as pa

    from factpack.shared.schema import arrow_schema, load_schema

    schema = load_schema()
    texts = [f"Title {i}\n" + f"word {i} " * (i % 300 + 5) for i in range(n)]
    columns = {
        "article_id": [f"a{i:08d}" for i in range(n)],
        "title": [f"Title {i}" for i in range(n)],
        "publisher": ["P"] * n,
        "url": [None] * n,
        "published_date": [None] * n,
        "published_date_basis": ["unknown"] * n,
        "published_date_note": [None] * n,
        "language": ["en"] * n,
        "text_sha256": [hashlib.sha256(t.encode()).hexdigest() for t in texts],
        "text": texts,
        "char_count": [len(t) for t in texts],
    }
    tables = {name: arrow_schema(t).empty_table() for name, t in schema.tables.items()}
    tables["articles"] = pa.table(columns, schema=arrow_schema(schema.table("articles")))
    return {"schema": schema, "tables": tables}


def test_two_duckdb_writes_of_the_same_tables_are_byte_identical(tmp_path: Path) -> None:
    """What lets a hydrated copy's .duckdb equal an include build's: DuckDB's default string
    compression (FSST) samples at random (two writes of these 5,000 texts differed from byte
    12,288); the release's file compresses its strings with zstd instead."""
    given = _articles(5_000)
    files = []
    for name in ("one.duckdb", "two.duckdb"):
        shared_write.write_duckdb(given["tables"], given["schema"], tmp_path / name)
        files.append((tmp_path / name).read_bytes())
    assert files[0] == files[1]


def test_a_table_and_its_parquet_copy_are_cut_into_the_same_transactions(tmp_path: Path) -> None:
    """How many rows go into one DuckDB transaction depends on the values, not on how Arrow
    holds them: the build's in-memory tables (a validity bitmap on columns without a null)
    and hydrate's, read back from Parquet (none), are cut at the same rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 64
    no_null = np.zeros(n, dtype=bool)
    built = pa.table(
        {f"x{k}": pa.array(range(n), pa.int64(), mask=no_null) for k in range(16)}
        | {"text": pa.array([f"text {i} " * (i % 7) for i in range(n)], mask=no_null)}
    )
    pq.write_table(built, tmp_path / "t.parquet")
    copy = pq.read_table(tmp_path / "t.parquet")
    assert copy.equals(built)
    rows = sorted({built.nbytes // n, copy.nbytes // n})  # what cut them before
    for chunk_bytes in (rows[0] * rows[-1], 3 * rows[0] * rows[-1], 10_000, 10**9):
        want = [c.num_rows for c in shared_write.arrow_chunks(built, chunk_bytes, 1)]
        got = [c.num_rows for c in shared_write.arrow_chunks(copy, chunk_bytes, 1)]
        assert got == want, chunk_bytes
