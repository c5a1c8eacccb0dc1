"""Two clean builds of the same inputs give byte-identical files (the .duckdb too, with the
same DuckDB: factpack.shared.write.write_duckdb)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from factpack.pipeline import release

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"


def _build(root: Path) -> Path:
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    release.build(root / "seeds", root / "dist", root / "build")
    return root / "dist"


def _files(dist: Path) -> dict[str, bytes]:
    return {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in sorted(dist.rglob("*"))
        if p.is_file()
    }


def test_two_clean_builds_are_byte_identical(tmp_path: Path) -> None:
    first = _files(_build(tmp_path / "one"))
    second = _files(_build(tmp_path / "two-in-another-place"))
    assert f"{NAME}.zip" in first and f"{NAME}/data/claims.parquet" in first
    assert f"{NAME}/factpack-news-events.duckdb" in first
    assert list(first) == list(second)
    differ = [name for name in first if first[name] != second[name]]
    assert differ == []


def test_source_date_epoch_sets_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dist = _build(tmp_path)
    dp = json.loads((dist / NAME / "datapackage.json").read_text())
    assert dp["created"] == "2023-11-14T22:13:20Z"


def _edit(seeds: Path) -> None:
    y = seeds / "002_beta.yaml"
    y.write_text(y.read_text().replace("Residents doubt the talks.", "Residents doubt it."))


def test_incremental_rebuild_equals_a_clean_build(tmp_path: Path) -> None:
    """Edit one annotation and remove another article: the rebuild (cached batches + one
    article loaded) gives the same bytes as a clean build of the same seeds."""
    inc = tmp_path / "inc"
    _build(inc)
    _edit(inc / "seeds")
    result = release.build(inc / "seeds", inc / "dist", inc / "build")
    assert (result.loaded, result.cached) == (1, 1)
    clean = tmp_path / "clean"
    shutil.copytree(inc / "seeds", clean / "seeds")
    release.build(clean / "seeds", clean / "dist", clean / "build")
    assert _files(inc / "dist") == _files(clean / "dist")
    (inc / "seeds" / "001_alpha.yaml").unlink()
    (inc / "seeds" / "001_alpha.txt").unlink()
    shutil.copytree(inc / "seeds", tmp_path / "clean2" / "seeds")
    removed = release.build(inc / "seeds", inc / "dist", inc / "build")
    assert (removed.loaded, removed.counts["articles"]) == (0, 1)
    release.build(tmp_path / "clean2" / "seeds", tmp_path / "clean2" / "dist", tmp_path / "b2")
    assert _files(inc / "dist") == _files(tmp_path / "clean2" / "dist")


def test_a_build_killed_after_loading_resumes_from_the_cached_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build killed after loading, while it combines the tables, leaves the batches in
    build/cache/: the next build loads nothing again, and the result is the same."""
    clean = _build(tmp_path / "clean")
    root = tmp_path / "r"
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(release, "combine_table", killed)
        with pytest.raises(KeyboardInterrupt):
            release.build(root / "seeds", root / "dist", root / "build")
    assert not (root / "dist").exists() or not any((root / "dist").iterdir())
    again = release.build(root / "seeds", root / "dist", root / "build")
    assert (again.loaded, again.cached) == (0, 2)
    assert _files(root / "dist") == _files(clean)
