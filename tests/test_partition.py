"""partition.write_partitioned: hive layout by year, read back by DuckDB, deterministic bytes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from factpack.pipeline import partition, release, versions
from factpack.pipeline.checks import check_release
from factpack.pipeline.partition import (
    NULL_PARTITION,
    partition_failures,
    partition_files,
    release_years,
    write_partitioned,
)
from factpack.pipeline.write import PARQUET_OPTIONS
from factpack.shared.problems import FactpackError


def _events() -> pa.Table:
    dates = [dt.date(2023, 5, 3), None, dt.date(2021, 1, 31), dt.date(2023, 12, 31), None]
    return pa.table(
        {
            "event_id": pa.array([f"a:E{i}" for i in range(1, 6)]),
            "date_start": pa.array(dates, pa.date32()),
            "summary": pa.array(["Kyiv ‘strike’", "x", "Zoë 🚀", None, "y"]),
            "latitude": pa.array([50.45, None, 1.5, None, -3.0]),
        }
    )


def test_layout_is_hive_by_year_with_a_null_partition(tmp_path: Path) -> None:
    files = write_partitioned(_events(), tmp_path / "events", "date_start")
    assert [f.relative_to(tmp_path / "events").as_posix() for f in files] == [
        "year=2021/part-0.parquet",
        "year=2023/part-0.parquet",
        f"year={NULL_PARTITION}/part-0.parquet",
    ]


def test_duckdb_reads_it_back_with_hive_partitioning(tmp_path: Path) -> None:
    table = _events()
    write_partitioned(table, tmp_path / "events", "date_start")
    con = duckdb.connect()
    rows = con.sql(
        f"SELECT event_id, date_start, summary, latitude, year "
        f"FROM read_parquet('{tmp_path}/events/*/*.parquet', hive_partitioning = true) "
        f"ORDER BY event_id"
    ).fetchall()
    expected = [
        (r["event_id"], r["date_start"], r["summary"], r["latitude"]) for r in table.to_pylist()
    ]
    assert [r[:4] for r in rows] == expected
    assert [r[4] for r in rows] == [2023, None, 2021, 2023, None]
    by_year = con.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/events/*/*.parquet', "
        f"hive_partitioning = true) WHERE year = 2023"
    ).fetchall()
    assert by_year == [(2,)]


def test_pyarrow_dataset_reads_it_too(tmp_path: Path) -> None:
    write_partitioned(_events(), tmp_path / "events", "date_start")
    back = ds.dataset(tmp_path / "events", format="parquet", partitioning="hive").to_table()
    assert back.num_rows == 5
    assert sorted(back.column("event_id").to_pylist()) == [f"a:E{i}" for i in range(1, 6)]


def test_same_table_gives_the_same_bytes(tmp_path: Path) -> None:
    a = write_partitioned(_events(), tmp_path / "a", "date_start")
    # The same rows in other chunks: still the same bytes.
    chunked = pa.concat_tables([_events().slice(0, 2), _events().slice(2)])
    b = write_partitioned(chunked, tmp_path / "b", "date_start")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_large_partitions_are_split_in_order(tmp_path: Path) -> None:
    files = write_partitioned(_events(), tmp_path / "e", "date_start", max_rows=1)
    names = [f.relative_to(tmp_path / "e").as_posix() for f in files]
    assert names == [
        "year=2021/part-0.parquet",
        "year=2023/part-0.parquet",
        "year=2023/part-1.parquet",
        f"year={NULL_PARTITION}/part-0.parquet",
        f"year={NULL_PARTITION}/part-1.parquet",
    ]
    got = duckdb.execute(f"SELECT event_id FROM read_parquet('{tmp_path}/e/year=2023/*.parquet')")
    assert [r[0] for r in got.fetchall()] == ["a:E1", "a:E4"]


def test_datetime_columns_partition_by_year(tmp_path: Path) -> None:
    t = pa.table(
        {"start_utc": pa.array([dt.datetime(2019, 12, 31, 23, 0)], pa.timestamp("s", tz="UTC"))}
    )
    files = write_partitioned(t, tmp_path / "t", "start_utc")
    assert files == [tmp_path / "t" / "year=2019" / "part-0.parquet"]


@pytest.mark.parametrize(
    ("by", "message"),
    [("nope", "no such column"), ("summary", "not a date")],
)
def test_bad_columns_are_refused(tmp_path: Path, by: str, message: str) -> None:
    with pytest.raises(FactpackError, match=message):
        write_partitioned(_events(), tmp_path / "e", by)


def test_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "old.parquet").write_bytes(b"")
    with pytest.raises(FactpackError, match="not empty"):
        write_partitioned(_events(), tmp_path / "e", "date_start")


# ----------------------------------------------------------- the release's partitioned copy

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"
TABLES = ("articles", "sources", "events", "claims")


def _undated_seed(seeds: Path) -> None:
    """Add 003_gamma: 002_beta without a publication date and with an undated event."""
    (seeds / "003_gamma.txt").write_bytes((seeds / "002_beta.txt").read_bytes())
    drop = ("published_date:", "date_start:", "date_end:", "date_note:")
    lines = [
        line.replace("published_date_basis: stated", "published_date_basis: unknown")
        .replace("date_precision: day", "date_precision: unknown")
        .replace("date_basis: inferred", "date_basis: unknown")
        .replace("example.org/beta", "example.org/gamma")
        for line in (seeds / "002_beta.yaml").read_text(encoding="utf-8").splitlines()
        if not line.strip().startswith(drop)
    ]
    (seeds / "003_gamma.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _build(root: Path, *, undated: bool = True, **kw: Any) -> release.BuildResult:
    if not (root / "seeds").exists():
        shutil.copytree(FIXTURE_SEEDS, root / "seeds")
        if undated:
            _undated_seed(root / "seeds")
    return release.build(root / "seeds", root / "dist", root / "build", **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("part")
    _build(root, partition_by_year=True)
    return root / "dist" / NAME


def _files(dist: Path) -> dict[str, bytes]:
    return {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in sorted(dist.rglob("*"))
        if p.is_file() and p.suffix != ".duckdb"
    }


def test_release_years_come_from_the_article_for_sources_and_claims() -> None:
    articles = pa.table(
        {
            "article_id": ["a", "b"],
            "published_date": pa.array([dt.date(2020, 1, 1), None], pa.date32()),
        }
    )
    events = pa.table(
        {"article_id": ["b"], "date_start": pa.array([dt.date(2019, 6, 1)], pa.date32())}
    )
    claims = pa.table({"article_id": ["b", "a", "zz"], "claim_id": ["b:C1", "a:C1", "zz:C1"]})
    years = release_years({"articles": articles, "events": events, "claims": claims})
    assert years["articles"].to_pylist() == [2020, None]
    assert years["events"].to_pylist() == [2019]
    assert years["claims"].to_pylist() == [None, 2020, None]


def test_years_given_apart_partition_a_table_without_a_date(tmp_path: Path) -> None:
    table = pa.table({"claim_id": ["x:C1", "x:C2", "y:C1"]})
    files = write_partitioned(table, tmp_path / "c", years=pa.array([2024, None, 2021]))
    assert [f.relative_to(tmp_path / "c").as_posix() for f in files] == [
        "year=2021/part-0.parquet",
        "year=2024/part-0.parquet",
        f"year={NULL_PARTITION}/part-0.parquet",
    ]
    assert pq.read_table(files[1]).column_names == ["claim_id"]  # no year column added


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "not both or neither"),
        ({"by": "x", "years": pa.array([1])}, "not both or neither"),
        ({"years": pa.array([1, 2])}, "one integer"),
        ({"years": pa.array(["2024"])}, "one integer"),
    ],
)
def test_by_or_years_exactly_one_and_the_right_length(
    tmp_path: Path, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(FactpackError, match=message):
        write_partitioned(pa.table({"x": pa.array([dt.date(2024, 1, 1)])}), tmp_path / "t", **kw)


def test_build_writes_a_partitioned_copy_of_every_table(built: Path) -> None:
    found = partition_files(built)
    assert found == {
        t: [
            f"data/partitioned/{t}/year=2024/part-0.parquet",
            f"data/partitioned/{t}/year={NULL_PARTITION}/part-0.parquet",
        ]
        for t in sorted(TABLES)
    }
    sums = (built / "SHA256SUMS").read_text()
    with zipfile.ZipFile(built.with_name(f"{NAME}.zip")) as zf:
        names = set(zf.namelist())
    for files in found.values():
        for rel in files:
            assert f"  {rel}\n" in sums
            assert f"{NAME}/{rel}" in names
    assert partition_failures(built) == []


@pytest.mark.parametrize("table", TABLES)
def test_duckdb_reads_the_partitions_back_equal_to_the_single_file(built: Path, table: str) -> None:
    con = duckdb.connect()
    single = f"read_parquet('{built}/data/{table}.parquet')"
    glob = f"{built}/data/partitioned/{table}/*/*.parquet"
    parts = f"read_parquet('{glob}', hive_partitioning = true)"
    cols = ", ".join(r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {single}").fetchall())
    for a, b in ((single, parts), (parts, single)):
        diff = con.sql(f"SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b}").fetchall()
        assert diff == []
    ((rows,),) = con.sql(f"SELECT count(*) FROM {single}").fetchall()
    # The undated article (003_gamma) and everything of it is in the null partition.
    by_year = con.sql(f"SELECT year, count(*) FROM {parts} GROUP BY year ORDER BY year").fetchall()
    expected = {"articles": 1, "sources": 2, "events": 1, "claims": 2}[table]
    assert by_year == [(2024, rows - expected), (None, expected)]
    undated = con.sql(
        f"SELECT article_id FROM '{built}/data/articles.parquet' WHERE published_date IS NULL"
    ).fetchall()
    nulls = con.sql(f"SELECT DISTINCT article_id FROM {parts} WHERE year IS NULL").fetchall()
    assert nulls == undated and len(undated) == 1


def test_pyarrow_reads_the_null_partition_as_null(built: Path) -> None:
    dataset = ds.dataset(built / "data/partitioned/events", format="parquet", partitioning="hive")
    table = dataset.to_table(filter=ds.field("year").is_null())
    assert table.column("date_start").to_pylist() == [None]


def test_single_files_are_as_without_the_option(tmp_path: Path, built: Path) -> None:
    plain = _build(tmp_path).release_dir
    assert not (plain / "data" / "partitioned").exists()
    with_copy = _files(built)
    for rel, data in _files(plain).items():
        if rel.startswith("data/"):
            assert with_copy[rel] == data, rel
    descriptor = json.loads((built / "datapackage.json").read_text())
    assert descriptor == json.loads((plain / "datapackage.json").read_text())
    assert "Partitioned copy" not in (plain / "README.md").read_text()
    card = (built / "README.md").read_text()
    assert "**Partitioned copy** (`data/partitioned/`)" in card
    assert "| `events` | 2024, none | 2 |" in card
    assert "hive_partitioning = true" in card


def test_two_builds_with_the_option_are_byte_identical(tmp_path: Path, built: Path) -> None:
    first = _files(built.parent)
    second_dist = _build(tmp_path / "elsewhere", partition_by_year=True).release_dir.parent
    second = _files(second_dist)
    assert list(first) == list(second)
    assert [n for n in first if first[n] != second[n]] == []


def test_switching_the_option_rebuilds(tmp_path: Path) -> None:
    rel = _build(tmp_path, undated=False).release_dir
    assert not (rel / "data" / "partitioned").exists()
    on = _build(tmp_path, partition_by_year=True)
    assert not on.up_to_date and (rel / "data" / "partitioned" / "claims").is_dir()
    off = _build(tmp_path)
    assert not off.up_to_date and not (rel / "data" / "partitioned").exists()


def _copy_release(built: Path, dest: Path) -> Path:
    shutil.copytree(built, dest / NAME)
    return dest / NAME


def test_a_partition_missing_a_row_fails_the_check(tmp_path: Path, built: Path) -> None:
    rel = _copy_release(built, tmp_path)
    path = rel / "data/partitioned/claims/year=2024/part-0.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path, **PARQUET_OPTIONS)
    problems = partition_failures(rel)
    assert problems == [
        "data/partitioned/claims: 1 row(s) of data/claims.parquet not in the partitioned copy"
    ]
    assert any("data/partitioned/claims" in p for p in check_release(rel))


def test_a_changed_value_fails_the_check(tmp_path: Path, built: Path) -> None:
    rel = _copy_release(built, tmp_path)
    path = rel / "data/partitioned/events/year=2024/part-0.parquet"
    table = pq.read_table(path)
    i = table.schema.get_field_index("summary")
    changed = table.set_column(i, "summary", pa.array(["Changed"] * table.num_rows))
    pq.write_table(changed, path, **PARQUET_OPTIONS)
    assert partition_failures(rel) == [
        f"data/partitioned/events: {table.num_rows} row(s) of data/events.parquet not in the "
        "partitioned copy",
        f"data/partitioned/events: {table.num_rows} row(s) of the partitioned copy not in "
        "data/events.parquet",
    ]


def test_a_row_in_the_wrong_year_fails_the_check(tmp_path: Path, built: Path) -> None:
    rel = _copy_release(built, tmp_path)
    src = rel / f"data/partitioned/sources/year={NULL_PARTITION}"
    src.rename(rel / "data/partitioned/sources/year=1999")
    assert partition_failures(rel) == [
        "data/partitioned/sources: 2 row(s) in the wrong year=... folder"
    ]


def test_a_missing_table_or_unreadable_file_fails_the_check(tmp_path: Path, built: Path) -> None:
    rel = _copy_release(built, tmp_path)
    shutil.rmtree(rel / "data/partitioned/articles")
    (rel / "data/partitioned/events/year=2024/part-0.parquet").write_bytes(b"not parquet")
    problems = partition_failures(rel)
    assert problems[0] == "data/partitioned/articles: missing"
    assert problems[1].startswith("data/partitioned/events: cannot read: ")
    assert len(problems) == 2


def test_a_release_without_a_copy_has_nothing_to_check(tmp_path: Path) -> None:
    rel = _build(tmp_path, undated=False).release_dir
    assert partition_failures(rel) == []


def test_a_bad_partitioned_copy_fails_the_build_and_dist_is_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = partition.write_release_partitions

    def drop_a_claim(tables: dict[str, pa.Table], release_dir: Path) -> list[str]:
        return original({**tables, "claims": tables["claims"].slice(1)}, release_dir)

    monkeypatch.setattr(partition, "write_release_partitions", drop_a_claim)
    with pytest.raises(release.BuildFailed) as info:
        _build(tmp_path, partition_by_year=True)
    assert info.value.lines == [
        "data/partitioned/claims: 1 row(s) of data/claims.parquet not in the partitioned copy"
    ]
    assert not (tmp_path / "dist" / NAME).exists()
    assert not (tmp_path / "dist" / f"{NAME}.zip").exists()


def test_cli_build_partition_by_year(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_SEEDS, tmp_path / "seeds")
    factpack = Path(sys.executable).parent / "factpack"
    args = ["build", "--seeds", "seeds", "--dist", "dist", "--build-dir", "build"]
    args += ["--schema-dir", str(versions.own_schema(tmp_path / "schema"))]  # not the record
    proc = subprocess.run(
        [str(factpack), *args, "--partition-by-year"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    rel = tmp_path / "dist" / NAME
    assert (rel / "data/partitioned/events/year=2024/part-0.parquet").is_file()
    assert "layer 4: checked all" in proc.stdout


def test_incremental_rebuild_with_the_option_equals_a_clean_build(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    _build(inc, partition_by_year=True)
    y = inc / "seeds" / "003_gamma.yaml"
    y.write_text(y.read_text().replace("Residents doubt the talks.", "Residents doubt it."))
    assert _build(inc, partition_by_year=True).loaded == 1
    clean = tmp_path / "clean"
    shutil.copytree(inc / "seeds", clean / "seeds")
    _build(clean, partition_by_year=True)
    assert _files(inc / "dist") == _files(clean / "dist")
