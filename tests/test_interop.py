"""What the clients researchers use read: the .duckdb's storage format, load.sql, croissant.json,
the Hugging Face card header, schema.org JSON-LD, .zenodo.json and CITATION.cff.

The real clients (DuckDB 1.x, frictionless, mlcroissant, datasets, cffconvert, readr) run in
``make interop``; these tests check what our locked libraries can.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from factpack.pipeline import release
from factpack.pipeline.checks import duckdb_matches
from factpack.pipeline.loadsql import LOAD_SQL, load_sql, self_references
from factpack.shared.schema import Schema, load_schema

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"
DB = "factpack-news-events.duckdb"
TABLES = ("articles", "sources", "events", "claims")


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release folder of a build of the fixture seeds."""
    root = tmp_path_factory.mktemp("interop")
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    result = release.build(root / "seeds", root / "dist", root / "build")
    return result.release_dir


def _storage_version(path: Path) -> str:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS db (READ_ONLY)")
        ((tags,),) = con.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'db'"
        ).fetchall()
        return str(tags["storage_version"])
    finally:
        con.close()


def _catalogue(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Comments, columns and constraints of every table of a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "tables": con.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE NOT internal ORDER BY ALL"
            ).fetchall(),
            "columns": con.execute(
                "SELECT table_name, column_name, data_type, is_nullable, comment "
                "FROM duckdb_columns() WHERE NOT internal ORDER BY table_name, column_index"
            ).fetchall(),
            "constraints": con.execute(
                "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() "
                "WHERE table_name IN ('articles', 'sources', 'events', 'claims') ORDER BY ALL"
            ).fetchall(),
        }
    finally:
        con.close()


def test_duckdb_file_is_written_in_storage_v1_2_0(built: Path) -> None:
    # DuckDB 1.x opens v1.2.0 files; DuckDB 2.x's default format it refuses.
    assert _storage_version(built / DB).startswith("v1.2.0")


def test_load_sql_is_in_the_release_and_the_zip(built: Path) -> None:
    import zipfile

    assert (built / LOAD_SQL).is_file()
    sums = (built / "SHA256SUMS").read_text(encoding="utf-8")
    assert f"  {LOAD_SQL}\n" in sums
    with zipfile.ZipFile(built.with_name(built.name + ".zip")) as zf:
        names = zf.namelist()
    assert f"{NAME}/{LOAD_SQL}" in names
    assert not any(n.endswith(".duckdb") for n in names)


def test_load_sql_builds_the_same_database_as_the_release(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "mine.duckdb"
    monkeypatch.chdir(built)  # load.sql reads data/<table>.parquet from the release folder
    con = duckdb.connect(str(db))
    con.execute((built / LOAD_SQL).read_text(encoding="utf-8"))
    con.close()
    parquet = {t: built / "data" / f"{t}.parquet" for t in TABLES}
    assert duckdb_matches(db, parquet) == []
    assert _catalogue(db) == _catalogue(built / DB)
    mine = _catalogue(db)
    assert ("claims", "FOREIGN KEY") in {(t, k) for t, k, _ in mine["constraints"]}
    assert all(comment for _, _, _, _, comment in mine["columns"])


def test_load_sql_names_the_undeclared_self_reference(schema: Schema) -> None:
    assert self_references(schema) == ["claims.responds_to -> claims.claim_id"]
    text = load_sql(schema, DB)
    assert f"duckdb {DB} < load.sql" in text
    assert "claims.responds_to -> claims.claim_id" in text
    assert 'REFERENCES "claims"' not in text
