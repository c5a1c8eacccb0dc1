"""Build a release: seeds/ -> per-article rows (cached in build/) -> checks -> dist/, atomically.

One process drives everything; the article stage (:func:`load_batch`) runs on an executor
(``jobs`` local processes by default) for the articles that ``build/cache/`` does not hold
under their content key (the one cache rule, :mod:`factpack.pipeline.cache`). The release is
written into a staging folder inside ``dist/``, checked (all four validation layers, the last
one also opening the finished zip), and only then renamed into place; a lock file in
``build/`` serialises builds.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from factpack.pipeline import cache, extras, package, partition, versions, write
from factpack.pipeline.annotations import FileRead, article_id_of, id_collisions
from factpack.pipeline.card import data_card
from factpack.pipeline.checks import (
    Failure,
    ReleaseCheck,
    check_release_detail,
    cross_checks,
    should_sample,
    validate_tables,
    zip_failures,
)
from factpack.pipeline.formulas import FormulaCell, formula_cells
from factpack.pipeline.formulas import describe as describe_formulas
from factpack.pipeline.tables import (
    Row,
    apply_text_policy,
    article_rows,
    article_tables,
    combine_table,
)
from factpack.shared import sums
from factpack.shared.problems import FactpackError, Problem, display_path
from factpack.shared.schema import Schema, load_schema

POOL_THRESHOLD = 16
"""Fewer articles to load than this are loaded in-process (a pool costs its start-up)."""

BATCH_SIZE = 32
"""Articles per task (fewer when there are few): results travel as Arrow IPC bytes."""

library_versions = cache.library_versions


class BuildFailed(FactpackError):
    """The build found problems; ``lines`` holds one line per problem (all of them)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass
class BuildResult:
    """What a build did."""

    release_dir: Path
    zip_path: Path
    counts: dict[str, int]
    articles: int
    loaded: int
    cached: int
    up_to_date: bool = False
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds per stage (load, assemble, validate, write, package, site, duckdb,
    frictionless), for ``factpack build --timings`` and bench/."""
    check: str = ""
    """What layer 4 read (``layer 4: sampled N of M rows; ...`` or ``... all N rows``)."""


@contextlib.contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall time of the ``with`` body to ``timings[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def release_memory() -> None:
    """Give the memory of dropped objects back to the system.

    Collects reference cycles (pandas frames from pandera), returns Arrow's unused pool
    memory and asks glibc's malloc to return its free pages too (``malloc_trim``): pandas and
    pandera free hundreds of MB at 100k articles that malloc otherwise keeps. A no-op for
    malloc where the C library has no ``malloc_trim``.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``build/factpack.lock`` (waits for a concurrent build)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / "factpack.lock").open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@lru_cache(maxsize=4)
def _schema(root: str | None) -> Schema:
    return load_schema(Path(root) if root else None)


def process_article(
    task: tuple[str, str | None], reads: dict[Path, FileRead] | None = None
) -> tuple[str, dict[str, list[Row]] | None, list[Problem]]:
    """Load, check and tabulate one article.

    Args:
        task: ``(yaml path, schema root)``.
        reads: Gets what was read of each file (see
        :func:`factpack.pipeline.annotations.load_article`).

    Returns:
        The yaml path, the article's rows per table (None when the article has errors) and its
        problems.
    """
    from factpack.pipeline.annotations import load_article

    yaml_path, schema_root = task
    article, problems = load_article(Path(yaml_path), reads)
    if article is None:
        return yaml_path, None, problems
    try:
        rows = article_rows(article, _schema(schema_root))
    except FactpackError as exc:
        return yaml_path, None, [*problems, _rows_problem(yaml_path, exc)]
    return yaml_path, rows, problems


def _rows_problem(yaml_path: str, exc: FactpackError) -> Problem:
    return Problem(display_path(yaml_path), 0, 0, str(exc), code="rows")


def rows_to_tables(
    rows: dict[str, dict[str, list[Row]]], schema: Schema
) -> tuple[dict[str, pa.Table], dict[str, Problem]]:
    """Turn many articles' rows (by yaml path) into Arrow tables, all at once.

    One conversion for the whole batch is ~10x cheaper than one per article; only when it fails
    is each article converted on its own, to name the articles whose values do not fit.

    Returns:
        The tables of the articles that convert, and a problem per article that does not.
    """
    try:
        return article_tables(rows.values(), schema), {}
    except FactpackError:
        pass
    good: list[dict[str, list[Row]]] = []
    bad: dict[str, Problem] = {}
    for path, article in rows.items():
        try:
            article_tables([article], schema)
        except FactpackError as exc:
            bad[path] = _rows_problem(path, exc)
        else:
            good.append(article)
    return article_tables(good, schema), bad


@dataclass(frozen=True)
class BatchTask:
    """One task of the article stage: plain data, so any executor can carry it."""

    paths: tuple[str, ...]
    schema_root: str | None
    fingerprint: str


@dataclass
class BatchOutput:
    """What the article stage returns for a batch: bytes and problems, no paths to write."""

    done: int
    """How many articles the batch held (for the progress bar)."""
    blobs: dict[str, bytes]
    """Table -> Arrow IPC file bytes of the batch's good articles (:func:`cache.encode_batch`);
    empty when none is good."""
    problems: list[Problem]
    failed: bool
    """Some article of the batch has errors (its rows are left out)."""


def load_batch(task: BatchTask) -> BatchOutput:
    """The article stage: load, check and tabulate a batch of articles.

    A plain function of its task (it writes nothing), mapped over a
    :class:`concurrent.futures.Executor` by :func:`load_tables`; each article's key comes from
    the bytes its load read (:func:`factpack.pipeline.cache.article_key`), so every input is
    read once.
    """
    loaded: dict[str, dict[str, list[Row]]] = {}
    keys: dict[str, str] = {}
    problems: list[Problem] = []
    for yaml_path in task.paths:
        reads: dict[Path, FileRead] = {}
        _, rows, probs = process_article((yaml_path, task.schema_root), reads)
        problems.extend(probs)
        yaml_read = reads.get(Path(yaml_path))
        text_read = reads.get(Path(yaml_path).with_suffix(".txt"))
        if rows is None or yaml_read is None or text_read is None:
            continue
        loaded[yaml_path] = rows
        keys[yaml_path] = cache.article_key(task.fingerprint, yaml_read.sha256, text_read.sha256)
    tables, bad = rows_to_tables(loaded, _schema(task.schema_root))
    problems.extend(bad.values())
    articles = {Path(p).stem: k for p, k in keys.items() if p not in bad}
    blobs = cache.encode_batch(tables, articles) if articles else {}
    return BatchOutput(len(task.paths), blobs, problems, len(articles) < len(task.paths))


def _worker_init() -> None:
    """Workers ignore Ctrl-C: the main process stops them (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_executor(jobs: int) -> Executor:
    """A local pool of ``jobs`` spawned processes (the article stage's default executor)."""
    return ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init
    )


def _batches(paths: list[str], jobs: int) -> list[tuple[str, ...]]:
    """Split the work into batches: small enough to keep every worker busy to the end."""
    size = max(1, min(BATCH_SIZE, len(paths) // (jobs * 8) or 1))
    return [tuple(paths[i : i + size]) for i in range(0, len(paths), size)]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _run(tasks: list[BatchTask], executor: Executor | None, jobs: int) -> Iterator[BatchOutput]:
    """Map :func:`load_batch` over the executor (given, a local pool, or in-process)."""
    if executor is None and (jobs <= 1 or sum(len(t.paths) for t in tasks) < POOL_THRESHOLD):
        yield from map(load_batch, tasks)
        return
    owned = executor is None
    # Workers are spawned at the first submit: with SIGINT ignored meanwhile they start with
    # it ignored (a Ctrl-C while one still imports would print its traceback), and the main
    # process, which gets it back at once, stops them.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main and owned else None
    try:
        pool = default_executor(min(jobs, len(tasks))) if executor is None else executor
        futures = {pool.submit(load_batch, task) for task in tasks}
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        for future in as_completed(futures):
            # A done future holds its batch's rows: let it go once they are stored, or the
            # whole corpus stays in memory until the last batch (1.6 GB at 100k articles).
            futures.discard(future)
            result = future.result()
            del future
            yield result
            del result
    finally:
        if owned:
            pool.shutdown(cancel_futures=True)


def load_tables(
    yaml_paths: list[Path],
    build_dir: Path,
    fp: str,
    schema: Schema,
    schema_root: Path | None,
    jobs: int = 2,
    progress: Callable[[int], None] | None = None,
    timings: dict[str, float] | None = None,
    executor: Executor | None = None,
) -> tuple[dict[str, pa.Table], int, list[Problem], dict[str, str]]:
    """Return the assembled tables, how many articles were loaded, problems, the article keys.

    The cache rule is :mod:`factpack.pipeline.cache`'s: articles whose key a verified batch
    in ``build/cache/`` holds come from it; the others are loaded by :func:`load_batch` on
    ``executor`` (default: a pool of ``jobs`` processes), and the driver stores each batch's
    bytes in the cache as it returns (an interrupted build resumes from them). Each table is
    then combined from its pieces, memory-mapped, and sorted by primary key: the result is
    the same as a clean build's. Cache files no build needs any more are deleted.

    ``progress`` gets the number of articles done, as they are; ``timings`` gets ``load``
    and ``assemble``.

    Raises:
        BuildFailed: an article has errors (all errors of all articles are listed).
    """
    from factpack.pipeline.annotations import article_id_of

    cache_dir = build_dir / cache.CACHE_DIR
    with _timed(timings, "load"):
        entries = cache.scan(cache_dir, schema)
        keys = cache.article_keys(fp, yaml_paths) if entries else {}
        chosen = cache.reusable(entries, keys)
        if progress and chosen:
            progress(len(chosen))
        todo = [str(p) for p in yaml_paths if p.stem not in chosen]
        root = str(schema_root) if schema_root else None
        tasks = [BatchTask(batch, root, fp) for batch in _batches(todo, jobs)]
        problems: list[Problem] = []
        failed = False
        new: list[cache.Entry] = []
        for out in _run(tasks, executor, jobs):
            problems.extend(out.problems)
            failed = failed or out.failed
            if out.blobs:
                paths = cache.store(cache_dir, out.blobs.values())
                articles = cache_articles(out.blobs)
                batch = cache.batch_id(articles)
                new += [
                    cache.Entry(path, name, batch, articles)
                    for name, path in zip(out.blobs, paths, strict=True)
                ]
                keys.update(articles)
            if progress:
                progress(out.done)
        if failed:
            raise BuildFailed([p.format() for p in sorted(problems)])
    with _timed(timings, "assemble"):
        release_memory()
        wanted: dict[str, set[str]] = {}  # batch -> article ids taken from it
        for stem, batch in chosen.items():
            wanted.setdefault(batch, set()).add(article_id_of(stem))
        used = [e for e in entries if e.batch in wanted] + new
        # Largest table first: combining one holds two copies of it besides the tables
        # already combined (peak memory at 100k articles: 1.7 GB in this order, 2.1 GB in
        # the schema's).
        size = {
            name: sum(e.path.stat().st_size for e in used if e.table == name)
            for name in schema.tables
        }
        tables = {}
        for name in sorted(schema.tables, key=lambda n: -size[n]):
            parts = (_part(e, wanted.get(e.batch)) for e in used if e.table == name)
            tables[name] = combine_table(parts, schema.tables[name])
            pa.default_memory_pool().release_unused()
        tables = {name: tables[name] for name in schema.tables}
        cache.remove_unused(cache_dir, [e.path for e in used])
    return tables, len(todo), problems, keys


def cache_articles(blobs: Mapping[str, bytes]) -> dict[str, str]:
    """The ``{stem: key}`` a batch's blobs record (the same in each of them)."""

    first = next(iter(blobs.values()))
    reader = pa.ipc.open_file(pa.BufferReader(first))
    meta = json.loads((reader.schema.metadata or {})[cache.META_KEY])
    return dict(meta["articles"])


def _part(entry: cache.Entry, article_ids: set[str] | None) -> pa.Table:
    """A cache file's rows: all of them (a new batch), or those of ``article_ids``."""
    arrow = cache.read_table(entry.path)
    if article_ids is None or len(article_ids) == len(entry.articles):
        return arrow
    keep = pa.array(sorted(article_ids), pa.string())
    return arrow.filter(pc.is_in(arrow.column("article_id"), value_set=keep))


def _failure_lines(failures: list[Failure]) -> list[str]:
    return [f.format() for f in failures]


def stage_data(
    tables: dict[str, pa.Table],
    schema: Schema,
    staging: Path,
    created: str,
    timings: dict[str, float] | None = None,
    formulas: Sequence[FormulaCell] = (),
    sampled: bool = False,
    partition_by_year: bool = False,
    seeds_dir: Path | None = None,
) -> Path:
    """Write the tables part of a release into ``staging/<name>-<version>/``.

    Parquet and CSV files, the DuckDB file (written on a thread meanwhile: DuckDB and
    pyarrow's writers release the GIL), ``datapackage.json``, the data card and
    ``CHANGELOG.md`` (``CITATION.cff`` comes from
    :func:`factpack.pipeline.extras.write_release_extras`). After this the Arrow tables are no
    longer needed. ``partition_by_year``
    adds ``data/partitioned/`` (:func:`factpack.pipeline.partition.write_release_partitions`).

    Returns:
        The release dir.
    """
    name = package.release_name(schema)
    out = staging / name
    data = out / "data"
    data.mkdir(parents=True)
    counts = {n: tables[n].num_rows for n in schema.tables}
    db_path = out / f"{schema.package['name']}.duckdb"
    with ThreadPoolExecutor(1) as pool:
        db = pool.submit(
            _timed_call, timings, "duckdb", write.write_duckdb, tables, schema, db_path
        )
        with _timed(timings, "write"):
            for table_name in schema.tables:
                write.write_parquet(tables[table_name], data / f"{table_name}.parquet")
                write.write_csv(tables[table_name], data / f"{table_name}.csv")
            if partition_by_year:
                partition.write_release_partitions({n: tables[n] for n in schema.tables}, out)
        _duckdb_result(db, db_path)
    with _timed(timings, "package"):
        descriptor = package.datapackage_descriptor(schema, out, created)
        (out / "datapackage.json").write_text(package.json_text(descriptor), encoding="utf-8")
        card = data_card(
            schema,
            counts,
            created,
            library_versions(),
            formulas,
            sampled=sampled,
            partitions=partition.partition_files(out),
            extra=extras.card_extra(schema, tables, seeds_dir, out),
        )
        (out / "README.md").write_text(card, encoding="utf-8")
        (out / versions.RELEASE_CHANGELOG).write_text(versions.release_changelog(schema), "utf-8")
    return out


def _duckdb_result(future: Future[None], db_path: Path) -> None:
    """Wait for the DuckDB file; its I/O errors (full disk...) become one line, as OSError do."""
    import duckdb

    try:
        future.result()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FactpackError(
            f"{display_path(db_path)}: cannot write the DuckDB file ({first}); free some space "
            f"or fix the permissions and build again (a half-written release is never published)"
        ) from None


def page_cache(
    build_dir: Path,
    schema: Schema,
    yaml_paths: Sequence[Path],
    keys: Mapping[str, str],
    published: Path,
    reuse: bool = True,
) -> cache.PageCache:
    """The review pages of ``published`` (the release this build replaces) that the articles
    of ``yaml_paths`` may reuse (``keys``: stem -> article key), under the index in
    ``build/cache/pages/``; the text policy of ``schema/package.yaml`` is part of every page's
    key (it decides whether a page shows its text). ``reuse`` False: none is reused."""
    ids = {article_id_of(p.stem): keys[p.stem] for p in yaml_paths if p.stem in keys}
    policy = json.dumps(schema.text_policy)
    folder = build_dir / cache.CACHE_DIR / cache.PAGES_DIR
    return cache.PageCache(folder, published / sums.SITE_DIR / "articles", ids, policy, reuse)


def stage_site_and_sums(
    out: Path, timings: dict[str, float] | None = None, pages: cache.PageCache | None = None
) -> dict[str, str]:
    """Write ``SHA256SUMS`` of the release, then the review site and its ``site/SHA256SUMS``.

    The top-level SHA256SUMS lists every file of the release but itself, the ``.duckdb`` and
    ``site/`` (:func:`factpack.shared.sums.listed_files`): exactly what the zip holds. The
    site is published as a folder beside the data and has its own SHA256SUMS. ``pages``: the
    article pages of the release this build replaces that the site may reuse.

    Returns:
        Article page file name (``<article_id>.html``) -> the sha256 of its bytes.
    """
    with _timed(timings, "package"):
        sums.write(out)
    try:
        from factpack.researcher import site
    except ImportError:  # pragma: no cover - the review site is optional
        return {}
    digests: dict[str, str] = {}
    with _timed(timings, "site"):
        site.build_site(out, reuse=pages, digests=digests)
    site_dir = f"{sums.SITE_DIR}/"
    with _timed(timings, "package"):
        if (out / sums.SITE_DIR).is_dir():  # the pages' digests from the bytes written
            known = {k.removeprefix(site_dir): v for k, v in digests.items()}
            sums.write(out / sums.SITE_DIR, top=False, known=known)
    prefix = f"{site_dir}articles/"
    return {k.removeprefix(prefix): v for k, v in digests.items() if k.startswith(prefix)}


def check_and_zip(
    out: Path, created: str, sampled: bool, timings: dict[str, float] | None = None
) -> tuple[ReleaseCheck, Path]:
    """Write the zip on a thread while layer 4 checks the staged release, then check the zip.

    A release that fails layer 4 is never published, zip included. Layer 4 hashes every file
    itself; once the zip is written it opens it and checks every entry against SHA256SUMS
    (:func:`factpack.pipeline.checks.zip_failures`).
    """
    zip_path = out.parent / f"{out.name}.zip"
    with ThreadPoolExecutor(1) as pool:
        zipped = pool.submit(
            _timed_call, timings, "package", package.write_zip, out, zip_path, created
        )
        with _timed(timings, "frictionless"):
            checked = check_release_detail(out, sample=sampled)
            checked.problems += partition.partition_failures(out)
        zipped.result()
    with _timed(timings, "frictionless"):
        checked.problems += zip_failures(zip_path, out)
    return checked, zip_path


def _timed_call(
    timings: dict[str, float] | None, stage: str, func: Callable[..., Any], *args: Any
) -> Any:
    """Call ``func(*args)`` adding its wall time to ``timings[stage]`` (for a thread)."""
    start = time.perf_counter()
    try:
        return func(*args)
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def _recover(dist_dir: Path, name: str) -> None:
    """Undo what an interrupted build left in dist/ (runs under the lock)."""
    target = dist_dir / name
    for old in sorted(dist_dir.glob(f".old-{name}-*")):
        if not target.exists():
            os.rename(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for staging in dist_dir.glob(".staging-*"):
        shutil.rmtree(staging, ignore_errors=True)


DEFER_DELETE_FILES = 2_000
"""An old release with more site pages than this is deleted by a background process."""


def publish(staged_dir: Path, staged_zip: Path, dist_dir: Path) -> tuple[Path, Path]:
    """Move a checked release into ``dist/``, replacing the previous one of the same name.

    The previous release is renamed aside first and deleted once the new one is in place; a
    large one (tens of thousands of site pages take seconds to unlink) is deleted by a detached
    process, so the build returns as soon as the new release is published. Whatever such a
    process has not finished is removed by the next build (:func:`_recover`).
    """
    target = dist_dir / staged_dir.name
    zip_target = dist_dir / staged_zip.name
    old = dist_dir / f".old-{staged_dir.name}-{os.getpid()}"
    if target.exists():
        os.rename(target, old)
    os.rename(staged_dir, target)
    os.replace(staged_zip, zip_target)
    if old.exists():
        discard(old)
    return target, zip_target


def _page_count(release_dir: Path) -> int:
    try:
        with os.scandir(release_dir / "site" / "articles") as entries:
            return sum(1 for _ in entries)
    except OSError:
        return 0


def discard(old: Path, threshold: int = DEFER_DELETE_FILES) -> None:
    """Delete a release directory moved aside: now, or in a detached process when it is large."""
    if _page_count(old) <= threshold:
        shutil.rmtree(old, ignore_errors=True)
        return
    import subprocess
    import sys

    try:
        subprocess.Popen(
            [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], True)", old],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(old, ignore_errors=True)


def build(
    seeds_dir: Path,
    dist_dir: Path,
    build_dir: Path,
    schema_root: Path | None = None,
    jobs: int = 2,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    full_check: bool = False,
    partition_by_year: bool = False,
    executor: Executor | None = None,
    reuse_pages: bool = True,
) -> BuildResult:
    """Build the release of ``seeds_dir`` into ``dist_dir`` (see the module docstring).

    Layer 4 reads a sample of the rows when the release has more than
    :data:`factpack.pipeline.checks.SAMPLE_THRESHOLD` rows, unless ``full_check``; the data card
    says which check the release passed. ``partition_by_year`` adds a hive-partitioned copy of
    every table (``data/partitioned/<table>/year=YYYY/part-N.parquet``, docs/scaling.md).
    ``executor`` runs the article stage (:func:`load_batch`; default a local process pool of
    ``jobs``); ``progress`` is called with the number of articles done as they are.
    ``reuse_pages``: reuse the review pages of unchanged articles from the release this
    build replaces, as the index in ``build/cache/pages/`` allows
    (:class:`factpack.pipeline.cache.PageCache`); off, every page is rendered again (the
    output is the same).

    Raises:
        BuildFailed: any validation layer failed; ``dist/`` is left as it was.
        FactpackError: bad input (no annotations, unreadable schema/), or a disk error (full
            disk, read-only ``dist/``) as one line naming the path.
    """
    try:
        return _build(
            seeds_dir,
            dist_dir,
            build_dir,
            schema_root,
            jobs,
            progress,
            force,
            full_check,
            partition_by_year,
            executor,
            reuse_pages,
        )
    except OSError as exc:
        where = display_path(exc.filename) if exc.filename else display_path(dist_dir)
        raise FactpackError(
            f"{where}: cannot write ({exc.strerror or exc}); free some space or fix the "
            f"permissions and build again (a half-written release is never published)"
        ) from None


def _build(
    seeds_dir: Path,
    dist_dir: Path,
    build_dir: Path,
    schema_root: Path | None,
    jobs: int,
    progress: Callable[[int], None] | None,
    force: bool,
    full_check: bool,
    partition_by_year: bool = False,
    executor: Executor | None = None,
    reuse_pages: bool = True,
) -> BuildResult:
    schema = load_schema(schema_root)
    name = package.release_name(schema)
    yaml_paths = sorted(seeds_dir.glob("*.yaml"))
    if not yaml_paths:
        raise FactpackError(f"{display_path(seeds_dir)}: no annotation files (*.yaml) found")
    collisions = id_collisions(yaml_paths)
    if collisions:
        raise BuildFailed([p.format() for p in collisions])
    created = package.created_timestamp(schema)
    with build_lock(build_dir):
        dist_dir.mkdir(parents=True, exist_ok=True)
        _recover(dist_dir, name)
        fp = cache.fingerprint(schema)
        timings: dict[str, float] = {}
        tables, loaded, problems, keys = load_tables(
            yaml_paths, build_dir, fp, schema, schema_root, jobs, progress, timings, executor
        )
        warnings = [p.format() for p in problems]
        meta = [sums.sha256_file(p) for p in schema.files if p.name == "package.yaml"]
        parts = [fp, created, *meta, *(keys[p.stem] for p in yaml_paths)]
        if partition_by_year:  # the same seeds give another release with the option
            parts.append("partition-by-year")
        release_key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
        key_file = build_dir / "release.key"
        target, zip_target = dist_dir / name, dist_dir / f"{name}.zip"
        previous = key_file.read_text().split() if key_file.is_file() else []
        if (
            not force
            and loaded == 0
            and target.is_dir()
            and zip_target.is_file()
            and previous[:2] == [name, release_key]
            and (previous[2:] == ["full"] or not full_check)
        ):
            zip_target.touch()
            return BuildResult(
                target, zip_target, {}, len(yaml_paths), 0, len(yaml_paths), True, timings=timings
            )
        with _timed(timings, "validate"):
            # Layers 2 and 3 check the articles with every text (seeds/ holds them all); the
            # release gets them as the text policy leaves them (withheld: articles.text null).
            tables["articles"], published, _ = apply_text_policy(
                tables["articles"], schema.text_policy
            )
            failures = validate_tables(tables, schema)
            failures += cross_checks(tables, schema)
            tables["articles"] = published
            del published
            release_memory()  # pandera's frames, before the writers' buffers
        if failures:
            raise BuildFailed(_failure_lines(failures))
        formulas = formula_cells(tables)
        warnings += describe_formulas(formulas)
        sampled = should_sample(sum(t.num_rows for t in tables.values()), full_check)
        counts = {n: tables[n].num_rows for n in schema.tables}
        staging = dist_dir / f".staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staged_dir = stage_data(
                tables,
                schema,
                staging,
                created,
                timings,
                formulas,
                sampled,
                partition_by_year,
                seeds_dir,
            )
            warnings += extras.write_release_extras(staged_dir, schema, seeds_dir)
            del tables  # the rest reads the staged files: peak memory is one copy of the data
            release_memory()
            pages = page_cache(build_dir, schema, yaml_paths, keys, target, reuse_pages)
            digests = stage_site_and_sums(staged_dir, timings, pages)
            versions.enforce_recorded(schema, staged_dir, dist_dir / name)
            checked, staged_zip = check_and_zip(staged_dir, created, sampled, timings)
            if checked.problems:
                raise BuildFailed(checked.problems)
            target, zip_target = publish(staged_dir, staged_zip, dist_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        pages.commit(digests)  # the published pages are what the next build may reuse
        mode = "sample" if sampled else "full"
        _write_atomic(key_file, f"{name} {release_key} {mode}\n".encode())
        return BuildResult(
            target,
            zip_target,
            counts,
            len(yaml_paths),
            loaded,
            len(yaml_paths) - loaded,
            warnings=warnings,
            timings=timings,
            check=checked.summary(),
        )
