"""release.py end to end on the fixture seeds: the files, the checks, the guarantees."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from factpack.pipeline import release
from factpack.pipeline.checks import Failure, check_release
from factpack.pipeline.package import EXAMPLE_QUERIES

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
REPO = Path(__file__).resolve().parents[1]
NAME = "factpack-news-events-0.1.0"
DB = "factpack-news-events.duckdb"


def copy_seeds(dest: Path) -> Path:
    seeds = dest / "seeds"
    shutil.copytree(FIXTURE_SEEDS, seeds)
    return seeds


def cached_articles(root: Path) -> dict[str, str]:
    """``{stem: key}`` of the articles the build's cache holds now."""
    from factpack.pipeline import cache
    from factpack.shared.schema import load_schema

    entries = cache.scan(root / "build" / cache.CACHE_DIR, load_schema(None))
    return {s: k for e in entries for s, k in e.articles.items()}


def run_build(root: Path, **kw: object) -> release.BuildResult:
    return release.build(root / "seeds", root / "dist", root / "build", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, release.BuildResult]:
    root = tmp_path_factory.mktemp("rel")
    copy_seeds(root)
    return root, run_build(root)


def test_release_holds_every_file(built: tuple[Path, release.BuildResult]) -> None:
    root, result = built
    rel = root / "dist" / NAME
    assert result.release_dir == rel
    assert result.zip_path == root / "dist" / f"{NAME}.zip"
    for table in ("articles", "sources", "events", "claims"):
        assert (rel / "data" / f"{table}.parquet").is_file()
        assert (rel / "data" / f"{table}.csv").is_file()
    for name in ("datapackage.json", DB, "README.md", "CITATION.cff", "SHA256SUMS"):
        assert (rel / name).is_file(), name
    assert result.counts == {"articles": 2, "sources": 4, "events": 2, "claims": 4}
    assert sorted(p.name for p in (root / "dist").iterdir()) == [NAME, f"{NAME}.zip"]


def test_frictionless_cli_and_sha256sum_pass(built: tuple[Path, release.BuildResult]) -> None:
    root, _ = built
    rel = root / "dist" / NAME
    frictionless = Path(sys.executable).parent / "frictionless"
    proc = subprocess.run(
        [str(frictionless), "validate", "datapackage.json"], cwd=rel, capture_output=True
    )
    assert proc.returncode == 0, proc.stdout.decode()[-2000:]
    if shutil.which("sha256sum"):
        proc = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=rel, capture_output=True)
        assert proc.returncode == 0, proc.stdout
    assert check_release(rel) == []


def test_sha256sums_sorted_and_excludes_itself_and_duckdb(
    built: tuple[Path, release.BuildResult],
) -> None:
    root, _ = built
    lines = (root / "dist" / NAME / "SHA256SUMS").read_text().splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    assert paths == sorted(paths)
    assert "SHA256SUMS" not in paths and DB not in paths
    assert "data/claims.parquet" in paths and "datapackage.json" in paths
    assert all(re.fullmatch(r"[0-9a-f]{64}  \S.*", line) for line in lines)


def test_datapackage_descriptor(built: tuple[Path, release.BuildResult]) -> None:
    root, _ = built
    dp = json.loads((root / "dist" / NAME / "datapackage.json").read_text())
    assert dp["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    for key in ("name", "title", "version", "created", "licenses", "contributors", "keywords"):
        assert dp[key], key
    assert dp["created"] == "2026-11-24T00:00:00Z"
    res = {r["name"]: r for r in dp["resources"]}
    assert list(res) == [
        "articles",
        "articles_csv",
        "sources",
        "sources_csv",
        "events",
        "events_csv",
        "claims",
        "claims_csv",
    ]
    assert res["claims"]["path"] == "data/claims.parquet"
    assert res["claims"]["mediatype"] == "application/vnd.apache.parquet"
    assert "bytes" not in res["claims"] and res["claims_csv"]["bytes"] > 0
    assert res["claims_csv"]["hash"].startswith("sha256:")
    fks = {
        fk["fields"][0]: fk["reference"]["resource"]
        for fk in res["claims_csv"]["schema"]["foreignKeys"]
    }
    assert fks == {
        "article_id": "articles_csv",
        "source_id": "sources_csv",
        "event_id": "events_csv",
        "responds_to": "claims_csv",
    }
    assert res["claims"]["schema"]["primaryKey"] == ["claim_id"]


def test_csv_dialect(built: tuple[Path, release.BuildResult]) -> None:
    root, _ = built
    raw = (root / "dist" / NAME / "data" / "events.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    alpha, beta = rows
    assert alpha["event_id"] == "alpha:E1"
    assert alpha["date_start"] == "2024-03-04"
    assert alpha["start_utc"] == "2024-03-04T19:30:00Z"
    assert alpha["char_start"] == "50"  # integers stay integers
    assert alpha["latitude"] == "" and beta["start_utc"] == ""  # null = empty cell
    assert beta["latitude"] == "12.5"


def test_duckdb_file_has_tables_and_comments(built: tuple[Path, release.BuildResult]) -> None:
    root, _ = built
    con = duckdb.connect(str(root / "dist" / NAME / DB), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM claims").fetchall() == [(4,)]
        ((comment,),) = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name='claims' AND column_name='cue'"
        ).fetchall()
        assert comment.startswith("The word or phrase that attributes")
    finally:
        con.close()


def test_zip_layout_is_fixed(built: tuple[Path, release.BuildResult]) -> None:
    root, _ = built
    with zipfile.ZipFile(root / "dist" / f"{NAME}.zip") as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert all(n.startswith(f"{NAME}/") for n in names)
    assert f"{NAME}/SHA256SUMS" in names and f"{NAME}/data/claims.parquet" in names
    assert not any(n.endswith(".duckdb") for n in names)
    assert {i.date_time for i in infos} == {(2026, 11, 24, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_example_queries_run_on_the_release(built: tuple[Path, release.BuildResult]) -> None:
    root, _ = built
    con = duckdb.connect()
    rel = root / "dist" / NAME
    con.execute(f"SET file_search_path = '{rel}'")
    results = [con.execute(sql).fetchall() for _, sql in EXAMPLE_QUERIES]
    assert results[0] == [
        (
            "alpha:C2",
            "The army",
            "denied",
            "any attack took place",
            "A drone hit a fuel depot in Testville.",
        )
    ]
    assert len(results[1]) == 2 and len(results[2]) == 3


def test_readme_queries_run_on_the_release(built: tuple[Path, release.BuildResult]) -> None:
    """The repository README's DuckDB examples (```sql blocks) run on a release."""
    root, _ = built
    blocks = re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert len(blocks) >= 3
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{root / 'dist' / NAME}'")
    for sql in blocks:
        con.execute(sql).fetchall()


def test_data_card_has_counts_dictionary_and_citation(
    built: tuple[Path, release.BuildResult],
) -> None:
    root, _ = built
    card = (root / "dist" / NAME / "README.md").read_text()
    assert "| `claims` | 4 |" in card
    assert "| `evidence_text` | string | yes |" in card
    assert "## How to cite" in card and "## How to query" in card
    assert "import pandas as pd" in card
    cff = (root / "dist" / NAME / "CITATION.cff").read_text()
    assert "cff-version: 1.2.0" in cff and "type: dataset" in cff


def _snapshot(dist: Path) -> dict[str, bytes]:
    return {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in sorted(dist.rglob("*"))
        if p.is_file()
    }


def test_broken_annotation_fails_and_leaves_dist_untouched(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    run_build(tmp_path)
    before = _snapshot(tmp_path / "dist")
    y = seeds / "002_beta.yaml"
    y.write_text(y.read_text().replace("exact: Residents doubt it.", "exact: Nobody says this."))
    with pytest.raises(release.BuildFailed) as info:
        run_build(tmp_path)
    assert "002_beta.yaml" in str(info.value)
    assert _snapshot(tmp_path / "dist") == before
    assert not list((tmp_path / "dist").glob(".*"))


def test_article_id_collision_fails_early_and_leaves_dist_untouched(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    run_build(tmp_path)
    before = _snapshot(tmp_path / "dist")
    # a second article with the same article id: the ids collide across articles
    for suffix in (".txt", ".yaml"):
        shutil.copy(seeds / f"002_beta{suffix}", seeds / f"003_beta{suffix}")
    with pytest.raises(release.BuildFailed, match=r"003_beta\.yaml: article id 'beta' is also"):
        run_build(tmp_path)
    assert _snapshot(tmp_path / "dist") == before


def test_cross_table_failure_leaves_dist_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_seeds(tmp_path)
    run_build(tmp_path)
    before = _snapshot(tmp_path / "dist")
    failure = Failure("claims", "source_id", 0, "x:C1", "x:S9", "foreign key", "cross")
    monkeypatch.setattr(release, "cross_checks", lambda tables, schema: [failure])
    with pytest.raises(release.BuildFailed, match=r"claims\.source_id"):
        run_build(tmp_path, force=True)
    assert _snapshot(tmp_path / "dist") == before


def test_cache_reloads_only_the_changed_article(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    first = run_build(tmp_path)
    assert (first.loaded, first.cached) == (2, 0)
    again = run_build(tmp_path)
    assert again.up_to_date and again.loaded == 0
    y = seeds / "002_beta.yaml"
    y.write_text(y.read_text().replace("Residents doubt the talks.", "Residents doubt it."))
    third = run_build(tmp_path)
    assert (third.loaded, third.cached) == (1, 1)
    assert not third.up_to_date
    assert sorted(cached_articles(tmp_path)) == ["001_alpha", "002_beta"]
    csv_text = (tmp_path / "dist" / NAME / "data" / "claims.csv").read_text()
    assert "Residents doubt it." in csv_text


def test_removed_article_drops_its_cache_and_rows(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    run_build(tmp_path)
    (seeds / "002_beta.yaml").unlink()
    (seeds / "002_beta.txt").unlink()
    result = run_build(tmp_path)
    assert result.counts["articles"] == 1
    assert sorted(cached_articles(tmp_path)) == ["001_alpha"]


def test_many_articles_use_the_worker_pool(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    n = release.POOL_THRESHOLD + 1
    for i in range(n):
        for suffix in (".txt", ".yaml"):
            shutil.copy(FIXTURE_SEEDS / f"002_beta{suffix}", seeds / f"{i:03d}_b{i}{suffix}")
    seen: list[int] = []
    result = run_build(tmp_path, jobs=2, progress=seen.append)
    assert result.counts["articles"] == n and result.loaded == n
    assert sum(seen) == n


def test_validate_detects_a_changed_file(tmp_path: Path) -> None:
    copy_seeds(tmp_path)
    rel = run_build(tmp_path).release_dir
    csv_path = rel / "data" / "claims.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"said", b"says"))
    problems = check_release(rel)
    assert any("data/claims.csv: sha256 differs" in p for p in problems)


def test_validate_detects_a_changed_duckdb(tmp_path: Path) -> None:
    copy_seeds(tmp_path)
    rel = run_build(tmp_path).release_dir
    con = duckdb.connect(str(rel / DB))
    con.execute("DELETE FROM claims WHERE claim_id = 'beta:C2'")
    con.close()
    assert any(DB in p for p in check_release(rel))


def test_interrupted_publish_is_recovered(tmp_path: Path) -> None:
    copy_seeds(tmp_path)
    run_build(tmp_path)
    dist = tmp_path / "dist"
    # as if killed between moving the old release aside and moving the new one in
    (dist / NAME).rename(dist / f".old-{NAME}-999")
    (dist / ".staging-999").mkdir()
    result = run_build(tmp_path, force=True)
    assert result.release_dir.is_dir()
    assert sorted(p.name for p in dist.iterdir()) == [NAME, f"{NAME}.zip"]


def test_build_lock_is_a_file_in_build(tmp_path: Path) -> None:
    with release.build_lock(tmp_path / "build"):
        assert (tmp_path / "build" / "factpack.lock").exists()


def test_no_seeds_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    with pytest.raises(release.FactpackError, match="no annotation files"):
        run_build(tmp_path)


def test_cli_build_failure_is_one_line_per_problem_and_exit_1(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    y = seeds / "002_beta.yaml"
    y.write_text(y.read_text().replace("exact: Residents doubt it.", "exact: Nobody says this."))
    factpack = Path(sys.executable).parent / "factpack"
    proc = subprocess.run(
        [str(factpack), "build", "--seeds", "seeds", "--dist", "dist", "--build-dir", "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert re.search(r"seeds/002_beta\.yaml:\d+:\d+: ", proc.stderr), proc.stderr
    assert not (tmp_path / "dist" / NAME).exists()


def test_readme_shows_the_data_card_queries() -> None:
    readme = (REPO / "README.md").read_text()
    for _, sql in EXAMPLE_QUERIES:
        assert f"```sql\n{sql}\n```" in readme


def test_zip_uses_the_set_deflate_level_and_matches_the_files(
    built: tuple[Path, release.BuildResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factpack.pipeline import package

    rel = built[0] / "dist" / NAME
    sizes = []
    for level in (0, 9):
        monkeypatch.setattr(package, "ZIP_LEVEL", level)
        out = tmp_path / f"{level}.zip"
        package.write_zip(rel, out, "2024-01-01T00:00:00Z")
        with zipfile.ZipFile(out) as zf:
            info = zf.getinfo(f"{NAME}/data/articles.csv")
            assert zf.read(info) == (rel / "data" / "articles.csv").read_bytes()
            sizes.append(info.compress_size)
    assert sizes[1] < sizes[0]


def test_batch_conversion_names_the_article_whose_values_do_not_fit() -> None:
    from factpack.shared.schema import load_schema

    schema = load_schema()
    good = {"articles": [], "sources": [], "events": [], "claims": []}
    row = {f.name: None for f in schema.table("sources").fields}
    row.update(source_id="b:S1", article_id="b", char_start="not a number")
    bad = {**good, "sources": [row]}
    tables, problems = release.rows_to_tables({"seeds/a.yaml": good, "seeds/b.yaml": bad}, schema)
    assert list(problems) == ["seeds/b.yaml"]
    assert problems["seeds/b.yaml"].code == "rows"
    assert "sources" in problems["seeds/b.yaml"].message
    assert tables["sources"].num_rows == 0


def test_large_old_release_is_deleted_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("deleted in the build process")

    monkeypatch.setattr(release.shutil, "rmtree", refuse)
    old = tmp_path / "dist" / f".old-{NAME}-1"
    (old / "site" / "articles").mkdir(parents=True)
    for i in range(5):
        (old / "site" / "articles" / f"a{i}.html").write_text("x")
    release.discard(old, threshold=3)
    deadline = time.monotonic() + 60
    while old.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not old.exists()


def test_small_old_release_is_deleted_before_publish_returns(tmp_path: Path) -> None:
    old = tmp_path / f".old-{NAME}-1"
    (old / "site" / "articles").mkdir(parents=True)
    (old / "site" / "articles" / "a.html").write_text("x")
    release.discard(old, threshold=3)
    assert not old.exists()


def _age(seeds: Path, seconds: int = 60) -> None:
    """Set every seed file's mtime ``seconds`` back (older than the digest cache's margin)."""
    then = time.time_ns() - seconds * 1_000_000_000
    for path in seeds.iterdir():
        os.utime(path, ns=(then, then))


def test_a_page_changed_after_sha256sums_fails_the_build_and_keeps_the_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layer 4 hashes every page itself: a page changed after site/SHA256SUMS fails."""
    copy_seeds(tmp_path)
    first = run_build(tmp_path)
    before = (first.release_dir / "site" / "SHA256SUMS").read_bytes()
    real = release.stage_site_and_sums

    def tamper(out: Path, *args: Any, **kw: Any) -> None:
        real(out, *args, **kw)
        page = sorted((out / "site" / "articles").iterdir())[0]
        data = bytearray(page.read_bytes())
        data[len(data) // 2] ^= 0x01  # same size, other content
        page.write_bytes(bytes(data))

    monkeypatch.setattr(release, "stage_site_and_sums", tamper)
    with pytest.raises(release.BuildFailed) as failed:
        run_build(tmp_path, force=True)
    changed = "sha256 differs from SHA256SUMS; the file was changed"
    assert any(changed in line for line in failed.value.lines)
    assert (first.release_dir / "site" / "SHA256SUMS").read_bytes() == before


RELEASE_MEMORY_PROBE = """
from factpack.pipeline import release

def rss_mb():
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024

big, kept = [], []
for i in range(3000):
    big.append(bytes(60_000) + bytes([i % 256]))
    kept.append(bytes(600) + bytes([i % 256]))
del big
before = rss_mb()
release.release_memory()
print(before - rss_mb(), len(kept))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or release._malloc_trim() is None,
    reason="needs /proc and glibc's malloc_trim",
)
def test_release_memory_returns_what_malloc_keeps() -> None:
    # 170 MB of freed blocks between live ones, in a fresh process (the heap's history
    # decides what malloc keeps): malloc cannot shrink its heap from the top, so they stay
    # resident until malloc_trim gives their pages back.
    out = subprocess.run(
        [sys.executable, "-c", RELEASE_MEMORY_PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) > 100, out
    assert out[1] == "3000"


def test_the_article_stage_lets_each_batch_go_once_it_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A finished batch is not kept by the driver after it is handed on (at 100k articles
    keeping them all held the whole corpus, 1.6 GB, until the last batch)."""
    import gc
    import weakref
    from concurrent.futures import ThreadPoolExecutor

    def fake(task: release.BatchTask) -> release.BatchOutput:
        return release.BatchOutput(len(task.paths), {"t": b"x" * 1000}, [], False)

    monkeypatch.setattr(release, "load_batch", fake)
    tasks = [release.BatchTask((f"{i}.yaml",), None, "fp") for i in range(4)]
    seen: list[weakref.ref[release.BatchOutput]] = []
    with ThreadPoolExecutor(1) as pool:
        for out in release._run(tasks, pool, 2):
            seen.append(weakref.ref(out))
            del out
            gc.collect()
            assert [ref() for ref in seen[:-1]] == [None] * (len(seen) - 1)
    assert len(seen) == 4
