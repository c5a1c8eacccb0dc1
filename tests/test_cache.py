"""pipeline/cache.py: the one cache rule, and the article stage's executor seam."""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from factpack.pipeline import cache, release
from factpack.shared.schema import load_schema

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
SCHEMA = Path(__file__).resolve().parents[1] / "schema"


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".duckdb"
    }


def _seeds(root: Path, copies: int = 1) -> Path:
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    for i in range(copies):
        for p in FIXTURE_SEEDS.iterdir():
            name = p.name if copies == 1 else f"{i:03d}{p.name[3:]}".replace("_", f"_c{i}", 1)
            shutil.copy(p, seeds / name)
    return seeds


def test_the_fingerprint_follows_the_tables_and_vocabularies_not_package_yaml(
    tmp_path: Path,
) -> None:
    schema_dir = tmp_path / "schema"
    shutil.copytree(SCHEMA, schema_dir)
    first = cache.fingerprint(load_schema(schema_dir))
    package = schema_dir / "package.yaml"
    package.write_text(package.read_text() + "\n# edited\n")
    assert cache.fingerprint(load_schema(schema_dir)) == first
    vocab = schema_dir / "vocabularies.yaml"
    vocab.write_text(vocab.read_text() + "\n# edited\n")
    assert cache.fingerprint(load_schema(schema_dir)) != first


def test_an_article_key_follows_both_files(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)
    yaml_path = sorted(seeds.glob("*.yaml"))[0]
    first = cache.article_keys("fp", [yaml_path])
    assert cache.article_keys("fp2", [yaml_path]) != first
    text = yaml_path.with_suffix(".txt")
    text.write_bytes(text.read_bytes() + b" ")
    assert cache.article_keys("fp", [yaml_path]) != first


def test_editing_package_yaml_does_not_reload_articles(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)
    schema_dir = tmp_path / "schema"
    shutil.copytree(SCHEMA, schema_dir)
    release.build(seeds, tmp_path / "dist", tmp_path / "build", schema_dir)
    package = schema_dir / "package.yaml"
    package.write_text(package.read_text().replace("title:", "title: Edited", 1))
    again = release.build(seeds, tmp_path / "dist", tmp_path / "build", schema_dir)
    assert (again.loaded, again.cached, again.up_to_date) == (0, 2, False)


def test_cache_files_are_named_by_their_sha256_and_record_their_articles(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)
    release.build(seeds, tmp_path / "dist", tmp_path / "build")
    folder = tmp_path / "build" / cache.CACHE_DIR
    files = sorted(p for p in folder.iterdir() if p.is_file())  # pages/ beside
    assert files and all(
        p.name == hashlib.sha256(p.read_bytes()).hexdigest() + ".arrow" for p in files
    )
    entries = cache.scan(folder, load_schema(None))
    tables = ["articles", "claims", "events", "sources"]
    assert sorted(e.table for e in entries) == sorted(tables * (len(entries) // 4))
    keys = cache.article_keys(cache.fingerprint(load_schema(None)), sorted(seeds.glob("*.yaml")))
    assert cache.reusable(entries, keys).keys() == keys.keys()


def test_a_batch_missing_a_table_is_not_used(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)
    release.build(seeds, tmp_path / "dist", tmp_path / "build")
    folder = tmp_path / "build" / cache.CACHE_DIR
    entries = cache.scan(folder, load_schema(None))
    next(e for e in entries if e.table == "sources").path.unlink()
    assert len(cache.scan(folder, load_schema(None))) < len(entries) - 1


def test_a_thread_pool_executor_gives_the_same_bytes(tmp_path: Path) -> None:
    """The seam: the article stage mapped over any Executor (here threads) gives the same
    release as the default process pool."""
    seeds = _seeds(tmp_path, copies=9)  # 18 articles: more than POOL_THRESHOLD
    assert len(list(seeds.glob("*.yaml"))) >= release.POOL_THRESHOLD
    procs = release.build(seeds, tmp_path / "p" / "dist", tmp_path / "p" / "build", jobs=2)
    with ThreadPoolExecutor(2) as pool:
        threads = release.build(
            seeds, tmp_path / "t" / "dist", tmp_path / "t" / "build", jobs=2, executor=pool
        )
    assert procs.loaded == threads.loaded == 18
    assert _files(tmp_path / "p" / "dist") == _files(tmp_path / "t" / "dist")


def test_an_interrupted_load_resumes_from_the_stored_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = _seeds(tmp_path)
    real = release.load_batch
    calls: list[tuple[str, ...]] = []

    def interrupted(task: release.BatchTask) -> Any:
        calls.append(tuple(Path(p).stem for p in task.paths))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the second batch never finishes
        return real(task)

    monkeypatch.setattr(release, "load_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        release.build(seeds, tmp_path / "dist", tmp_path / "build", jobs=1)
    calls.clear()
    result = release.build(seeds, tmp_path / "dist", tmp_path / "build", jobs=1)
    assert (result.loaded, result.cached) == (1, 1)
    assert calls == [("002_beta",)]


def test_progress_counts_every_article_cached_or_loaded(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)
    seen: list[int] = []
    release.build(seeds, tmp_path / "dist", tmp_path / "build", progress=seen.append)
    assert sum(seen) == 2
    seen.clear()
    release.build(seeds, tmp_path / "dist", tmp_path / "build", progress=seen.append, force=True)
    assert seen == [2]


def test_check_reuses_the_results_of_unchanged_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factpack.pipeline import annotations

    seeds = _seeds(tmp_path)
    y = seeds / "002_beta.yaml"
    y.write_text(y.read_text().replace("source_kind:", "source_kind: nonsense #", 1))
    folder = tmp_path / "build" / cache.CACHE_DIR / cache.CHECK_DIR
    uncached = annotations.check_paths([seeds])
    assert uncached  # the broken article has problems
    real = annotations.load_article
    loaded: list[str] = []

    def counting(path: Path, *args: Any) -> Any:
        loaded.append(path.stem)
        return real(path, *args)

    monkeypatch.setattr(annotations, "load_article", counting)
    assert annotations.check_paths([seeds], folder) == uncached
    assert sorted(loaded) == ["001_alpha", "002_beta"]
    loaded.clear()
    assert annotations.check_paths([seeds], folder) == uncached  # problems come back too
    assert loaded == []
    a = seeds / "001_alpha.yaml"
    a.write_text(a.read_text() + "\n")
    annotations.check_paths([seeds], folder)
    assert loaded == ["001_alpha"]
    # A damaged result file is not trusted: deleted, and the articles checked again.
    for path in folder.glob("*.json"):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    loaded.clear()
    assert annotations.check_paths([seeds], folder) == uncached
    assert sorted(loaded) == ["001_alpha", "002_beta"]
    # The build keeps the check's results (its cache cleanup leaves folders alone).
    y.write_text(y.read_text().replace("source_kind: nonsense #", "source_kind:", 1))
    release.build(seeds, tmp_path / "dist", tmp_path / "build")
    assert list(folder.glob("*.json"))
