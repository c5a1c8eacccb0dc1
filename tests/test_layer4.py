"""Layer 4: a routine build of a large release checks a sample, a full check reads every row."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline import checks, release
from factpack.pipeline.checks import check_release_detail

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("l4")
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    release.build(root / "seeds", root / "dist", root / "build")
    return root / "dist" / NAME


@pytest.fixture
def rel(built: Path, tmp_path: Path) -> Path:
    out = tmp_path / NAME
    shutil.copytree(built, out)
    return out


def _descriptor(rel: Path) -> dict:
    return json.loads((rel / "datapackage.json").read_text())


def _set_csv_cell(rel: Path, table: str, column: str, row: int, value: str) -> None:
    """Rewrite one CSV cell (all cells kept as text)."""
    path = rel / "data" / f"{table}.csv"
    read = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={column: pa.string()}, strings_can_be_null=True
        ),
    )
    cells = read.column(column).to_pylist()
    cells[row] = value
    read = read.set_column(read.column_names.index(column), column, pa.array(cells, pa.string()))
    pacsv.write_csv(read, path)


def test_sample_indices_take_the_head_and_evenly_spaced_rows_to_the_last() -> None:
    assert checks.sample_indices(5, 10) == [0, 1, 2, 3, 4]
    rows = checks.sample_indices(100_000, 1_000)
    assert len(rows) == len(set(rows)) == 1_000
    assert rows == sorted(rows)
    assert rows[:200] == list(range(200)) and rows[-1] == 99_999
    assert checks.sample_indices(4, 2) == [0, 3]


def test_only_routine_builds_of_large_releases_sample() -> None:
    big = checks.SAMPLE_THRESHOLD + 1
    assert checks.should_sample(big, full=False)
    assert not checks.should_sample(big, full=True)
    assert not checks.should_sample(checks.SAMPLE_THRESHOLD, full=False)


def test_small_release_is_checked_in_full_and_the_card_says_so(built: Path) -> None:
    card = (built / "README.md").read_text()
    assert "the finished package (in full: `frictionless validate` of every CSV row" in card
    assert checks.check_release_detail(built).summary() == "layer 4: checked all 12 rows"


def test_large_routine_build_samples_says_so_and_full_check_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "SAMPLE_THRESHOLD", 0)
    monkeypatch.setattr(release, "should_sample", checks.should_sample)
    shutil.copytree(FIXTURE_SEEDS, tmp_path / "seeds")
    args = (tmp_path / "seeds", tmp_path / "dist", tmp_path / "build")
    routine = release.build(*args)
    assert routine.check.startswith("layer 4: sampled 12 of 12 rows; run `make release`")
    card = (routine.release_dir / "README.md").read_text()
    assert "(a routine build: `frictionless validate` on a sample" in card
    # A full check is not satisfied by the sampled release: it builds again, in full.
    full = release.build(*args, full_check=True)
    assert not full.up_to_date and full.check == "layer 4: checked all 12 rows"
    assert "(in full: `frictionless validate`" in (full.release_dir / "README.md").read_text()
    # ... and a routine build is satisfied by the fully checked one.
    assert release.build(*args).up_to_date
    assert release.build(*args, full_check=True).up_to_date


def test_cli_build_full_check_prints_what_layer_4_read(tmp_path: Path) -> None:
    args = ["--seeds", str(FIXTURE_SEEDS), "--dist", str(tmp_path / "d")]
    result = CliRunner().invoke(
        cli, ["build", *args, "--build-dir", str(tmp_path / "b"), "--full-check"]
    )
    assert result.exit_code == 0, result.output
    assert "layer 4: checked all 12 rows" in result.stdout


def test_full_check_reads_every_csv_row(rel: Path) -> None:
    _set_csv_cell(rel, "claims", "claim_kind", 1, "gossip")
    problems = checks.check_release(rel)
    assert any("claims_csv: constraint-error" in p and "gossip" in p for p in problems), problems


def test_sample_misses_rows_it_does_not_read_and_names_the_file_row(rel: Path) -> None:
    """claims has 4 rows; a sample of 2 reads rows 0 and 3 (file rows 2 and 5)."""
    _set_csv_cell(rel, "claims", "claim_kind", 1, "gossip")
    found, checked, total = checks.sample_failures(rel, _descriptor(rel), {"csv": 2})
    assert found == [] and (checked, total) == (8, 12)
    _set_csv_cell(rel, "claims", "claim_kind", 3, "gossip")
    found, _, _ = checks.sample_failures(rel, _descriptor(rel), {"csv": 2})
    assert len(found) == 1 and "gossip" in found[0] and found[0].endswith("(file row 5)")


def test_sample_check_reads_parquet_through_frictionless(rel: Path) -> None:
    desc = _descriptor(rel)
    for res in desc["resources"]:
        if res["name"] == "claims":
            for f in res["schema"]["fields"]:
                if f["name"] == "char_start":
                    f["type"] = "date"
    found, _, _ = checks.sample_failures(rel, desc, {"parquet": 2})
    assert any(p.startswith("claims: type-error") for p in found), found


def test_parquet_must_equal_its_csv_twin(rel: Path) -> None:
    assert checks.parquet_csv_failures(rel, _descriptor(rel)) == []
    _set_csv_cell(rel, "events", "summary", 0, "A different summary")
    found = checks.parquet_csv_failures(rel, _descriptor(rel))
    assert found == [
        "events: 1 row(s) of the Parquet file differ from the other file "
        "(data/events.parquet vs data/events.csv)",
        "events: 1 row(s) of the CSV file differ from the other file "
        "(data/events.parquet vs data/events.csv)",
    ]
    assert any("events: 1 row(s)" in p for p in checks.check_release_detail(rel, True).problems)


def test_descriptor_hash_of_a_parquet_file_is_checked(rel: Path) -> None:
    desc = _descriptor(rel)
    desc["resources"][0]["hash"] = "sha256:" + "0" * 64
    (rel / "datapackage.json").write_text(json.dumps(desc))
    problems = checks.check_release_detail(rel, sample=True).problems
    assert "articles: hash in datapackage.json differs from data/articles.parquet" in problems


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_sample_is_read_batch_by_batch_and_equals_the_rows_it_names(
    rel: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(checks, "SAMPLE_BATCH_ROWS", 1)
    monkeypatch.setattr(checks, "SAMPLE_CSV_BLOCK", 2_048)
    path = rel / "data" / f"claims.{fmt}"
    names = pq.read_schema(rel / "data" / "claims.parquet").names
    sample, rows, total = checks.read_sample(path, fmt, names, 2)
    if fmt == "parquet":
        whole = pq.read_table(path)
    else:
        whole = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    assert (rows, total) == ([0, 3], 4)
    assert sample.equals(whole.take(rows))
    empty, rows, total = checks.read_sample(path, fmt, names, 0)
    assert (empty.num_rows, rows, total) == (0, [], 4) and empty.schema == whole.schema


def test_duckdb_file_is_compared_with_the_parquet_files(rel: Path) -> None:
    (rel / "data" / "claims.parquet").write_bytes((rel / "data" / "events.parquet").read_bytes())
    problems = checks.check_release_detail(rel, sample=True).problems
    assert any(p.startswith("factpack-news-events.duckdb: claims: value") for p in problems)


def test_csv_sample_reads_the_file_once_when_the_hint_is_right(
    rel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    path = rel / "data" / "claims.csv"
    names = pq.read_schema(rel / "data" / "claims.parquet").names
    reads: list[Path] = []
    batches = checks._batches

    def counting(p: Path, fmt: str, n: list[str]):  # type: ignore[no-untyped-def]
        reads.append(p)
        return batches(p, fmt, n)

    monkeypatch.setattr(checks, "_batches", counting)
    expected = checks.read_sample(path, "csv", names, 2)
    assert len(reads) == 2 and expected[1:] == ([0, 3], 4)
    for hint, passes in ((4, 1), (3, 3), (9, 3)):
        reads.clear()
        got = checks.read_sample(path, "csv", names, 2, rows_hint=hint)
        assert got[0].equals(expected[0]) and got[1:] == expected[1:]
        assert len(reads) == passes
    reads.clear()
    checks.sample_failures(rel, _descriptor(rel), {"csv": 2})
    assert len(reads) == len(set(reads)) == 4  # every CSV file read once


def test_even_a_sampled_check_hashes_every_file_itself(rel: Path) -> None:
    """A page changed in place with its mtime set back (same inode, size and mtime) fails a
    sampled check as it fails the full one: layer 4 trusts no stat and no cached digest."""
    page = sorted((rel / "site" / "articles").glob("*.html"))[0]
    info = page.stat()
    data = page.read_bytes()
    with page.open("r+b") as fh:  # same inode, same size
        fh.write(b"X" if data[:1] != b"X" else b"Y")
    os.utime(page, ns=(info.st_atime_ns, info.st_mtime_ns))
    name = page.relative_to(rel).as_posix()
    changed = f"{name}: sha256 differs from SHA256SUMS; the file was changed"
    assert changed in check_release_detail(rel, sample=True).problems
    assert changed in check_release_detail(rel, sample=False).problems
