"""partition.write_partitioned: hive layout by year, read back by DuckDB, deterministic bytes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from factpack.partition import NULL_PARTITION, write_partitioned
from factpack.problems import FactpackError


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
    got = duckdb.sql(f"SELECT event_id FROM read_parquet('{tmp_path}/e/year=2023/*.parquet')")
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
