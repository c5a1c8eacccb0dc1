"""The release's writer settings live in factpack.shared.write, shared by build and hydrate."""

from __future__ import annotations

import subprocess
import sys

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
