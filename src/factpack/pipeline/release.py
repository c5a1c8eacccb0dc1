"""Build a release: seeds/ -> per-article rows (cached in build/) -> checks -> dist/, atomically.

One process builds everything; articles whose inputs changed are loaded on up to ``jobs``
worker processes, the others come from the columnar cache ``build/tables/`` (or, after an
interrupted build, the batches' resume files ``build/articles/*.rows``), keyed by the sha256
of (annotation bytes, text bytes, schema/ files, factpack's own source, library versions).
The release is written into a staging folder inside ``dist/``, checked (all four validation
layers), and only then renamed into place; a lock file in ``build/`` serialises builds.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import pickle
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import factpack
from factpack.pipeline import extras, package, partition, versions, write
from factpack.pipeline.annotations import FileRead, id_collisions
from factpack.pipeline.card import data_card
from factpack.pipeline.checks import (
    Failure,
    ReleaseCheck,
    check_release_detail,
    cross_checks,
    should_sample,
    validate_tables,
)
from factpack.pipeline.formulas import FormulaCell, formula_cells
from factpack.pipeline.formulas import describe as describe_formulas
from factpack.pipeline.tables import Row, article_rows, article_tables, combine_table
from factpack.shared.problems import FactpackError, Problem, display_path
from factpack.shared.schema import Schema, arrow_schema, load_schema

LIBRARIES = ("duckdb", "frictionless", "jsonschema", "pandas", "pandera", "pyarrow", "pyyaml")
"""Libraries whose versions are part of the cache key and named in the data card."""

ARTICLE_MODULES = (
    "pipeline/annotations.py",
    "pipeline/article.py",
    "shared/problems.py",
    "shared/schema.py",
    "pipeline/selectors.py",
    "pipeline/tables.py",
    "shared/yamlload.py",
)
"""The modules that turn one article pair into rows: their source is part of the cache key."""

POOL_THRESHOLD = 16
"""Fewer uncached articles than this are loaded in-process (a pool costs its start-up)."""

BATCH_SIZE = 32
"""Articles per worker task (fewer when there are few): results travel as Arrow tables."""

CACHE_FORMAT = "rows-1"
"""Version of the cache files' layout (part of every article's cache key)."""

MANIFEST = "manifest.json"


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
    pandera free hundreds of MB at 100k articles that malloc otherwise keeps, and the site's
    workers and the zip run after it (at 100k: 790 MB resident before the site without it,
    310 MB with it). A no-op for malloc where the C library has no ``malloc_trim``.
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


def library_versions() -> dict[str, str]:
    """Return the installed versions of :data:`LIBRARIES`."""
    return {name: importlib.metadata.version(name) for name in LIBRARIES}


def environment_key(schema: Schema) -> str:
    """Return the part of every cache key that does not depend on the article.

    The schema files, factpack's version, the source of :data:`ARTICLE_MODULES` and the
    library versions.
    """
    digest = hashlib.sha256()
    for path in schema.files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(factpack.__version__.encode() + b"\0" + CACHE_FORMAT.encode() + b"\0")
    for name, version in sorted(library_versions().items()):
        digest.update(f"{name}={version}\0".encode())
    package_dir = Path(factpack.__file__).parent
    for module in ARTICLE_MODULES:
        path = package_dir / module
        data = path.read_bytes() if path.exists() else b""
        digest.update(module.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def package_key() -> str:
    """Return the sha256 of every file of the factpack package (the release depends on all)."""
    digest = hashlib.sha256()
    root = Path(factpack.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(root).as_posix()
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def article_key(env_key: str, yaml_digest: str, text_digest: str | None) -> str:
    """Return the cache key of one article pair from its files' sha256 (None: no text)."""
    return hashlib.sha256(f"{env_key}\0{yaml_digest}\0{text_digest or '-'}".encode()).hexdigest()


def article_keys(
    env_key: str, yaml_paths: Sequence[Path], cache: Path | None = None
) -> dict[str, str]:
    """Return ``{stem: article key}`` of every annotation and the text beside it.

    The files' sha256 come from :func:`factpack.pipeline.package.file_digests`: with ``cache`` (in
    ``build/``) a file whose device, inode, size and mtime are unchanged since it was hashed
    is not read again (git's rule against racy edits), so an incremental build of 100,000
    articles does not read their 2 GB to find the one that changed.
    """
    by_dir: dict[Path, list[Path]] = {}
    for p in yaml_paths:
        by_dir.setdefault(p.parent, []).append(p)
    keys: dict[str, str] = {}
    for folder, paths in by_dir.items():
        rels = [p.name for p in paths]
        texts = [p.with_suffix(".txt").name for p in paths]
        present = [t for t in texts if (folder / t).is_file()]
        one_cache = cache if len(by_dir) == 1 else None
        digests = package.file_digests(folder, rels + present, cache=one_cache)
        for p, rel, text in zip(paths, rels, texts, strict=True):
            keys[p.stem] = article_key(env_key, digests[rel], digests.get(text))
    return keys


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
    """Load, check and tabulate one article (runs in a worker process).

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


@dataclass
class BatchResult:
    """What a worker sends back for a batch of articles: small, and columnar."""

    done: list[str]
    """The stems of every article of the batch (for the progress line)."""
    tables: dict[str, str]
    """Where the rows of the batch's good articles are: an Arrow IPC file per table, in
    ``build/batches/`` (the build memory-maps them when it combines that table, so the rows
    of tables not being combined are on disk, not in memory)."""
    problems: list[Problem]
    failed: bool
    """Some article of the batch has errors (its rows are left out)."""
    keys: dict[str, str] = field(default_factory=dict)
    """Stem -> cache key of the good articles that came without one (computed here)."""
    digests: str = ""
    """Lines of the input digest cache (:func:`factpack.pipeline.package.digest_cache_lines`) for
    the files hashed here that qualify (:func:`factpack.pipeline.package.cacheable`): text, not a
    dict, so 200,000 entries do not leave 80 MB of small objects in the building process."""


def _key_from_reads(
    env_key: str, yaml_path: Path, reads: dict[Path, FileRead], start_ns: int
) -> tuple[str | None, dict[package.StatKey, str]]:
    """The cache key of an article from the bytes its load read, and its digest-cache entries.

    None when a file was not read whole (the article has errors then, and is not cached).
    """
    yaml_read = reads.get(yaml_path)
    text_read = reads.get(yaml_path.with_suffix(".txt"))
    if yaml_read is None or text_read is None:
        return None, {}
    entries = {
        package.stat_key(r.before): r.sha256
        for r in (yaml_read, text_read)
        if package.cacheable(r.before, r.after, start_ns)
    }
    return article_key(env_key, yaml_read.sha256, text_read.sha256), entries


def process_batch(
    task: tuple[list[tuple[str, str | None]], str | None, str, str, int],
) -> BatchResult:
    """Load a batch of articles and write the batch's resume file (runs in a worker process).

    Args:
        task: ``([(yaml path, cache key or None), ...], schema root, build dir, environment
            key, start ns)``. An article without a key gets it here, from the sha256 of the
            bytes its load read (:func:`article_key`), so a clean build reads each input once;
            ``start ns`` is when the build began hashing (the digest cache's racy rule).
    """
    items, schema_root, build_dir, env_key, start_ns = task
    loaded: dict[str, dict[str, list[Row]]] = {}
    keys: dict[str, str] = {}
    computed: dict[str, str] = {}
    digests: dict[package.StatKey, str] = {}
    problems: list[Problem] = []
    for yaml_path, given in items:
        reads: dict[Path, FileRead] | None = None if given else {}
        _, rows, probs = process_article((yaml_path, schema_root), reads)
        problems.extend(probs)
        if rows is None:
            continue
        key = given
        if reads is not None:
            key, entries = _key_from_reads(env_key, Path(yaml_path), reads, start_ns)
            if key is None:  # not expected: a good article has read both files whole
                key = article_keys(env_key, [Path(yaml_path)])[Path(yaml_path).stem]
            computed[yaml_path] = key
            digests.update(entries)
        assert key is not None
        loaded[yaml_path] = rows
        keys[yaml_path] = key
    tables, bad = rows_to_tables(loaded, _schema(schema_root))
    problems.extend(bad.values())
    stems = [Path(p).stem for p, _ in items]
    resume = {
        Path(path).stem: {"key": keys[path], "rows": rows}
        for path, rows in loaded.items()
        if path not in bad
    }
    if resume:
        entry = {"format": RESUME_FORMAT, "articles": resume}
        _write_atomic(_resume_path(Path(build_dir), stems[0]), pickle.dumps(entry, protocol=5))
    files = write_batch_tables(Path(build_dir) / BATCH_DIR, stems[0], tables)
    failed = len(loaded) - len(bad) < len(items)
    good = {Path(path).stem: key for path, key in computed.items() if path not in bad}
    return BatchResult(stems, files, problems, failed, good, package.digest_cache_lines(digests))


BATCH_DIR = "batches"
"""Folder of ``build/`` where workers leave their batches' tables for the build to combine."""


def write_batch_tables(folder: Path, name: str, tables: dict[str, pa.Table]) -> dict[str, str]:
    """Write each non-empty table as ``folder/<name>.<table>.arrow``; return table -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for table_name, arrow in tables.items():
        if arrow.num_rows:
            path = folder / f"{name}.{table_name}.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, arrow.schema) as out:
                out.write_table(arrow)
            files[table_name] = str(path)
    return files


def _pieces_size(pieces: list[dict[str, pa.Table | str]], name: str) -> int:
    """Bytes of one table's pieces (in memory, or the size of their batch files)."""
    total = 0
    for piece in pieces:
        part = piece.get(name)
        if isinstance(part, pa.Table):
            total += part.nbytes
        elif part is not None:
            total += os.path.getsize(part)
    return total


def map_table(piece: pa.Table | str) -> pa.Table:
    """A piece of a table: in memory already, or a batch file, memory-mapped (no copy)."""
    if isinstance(piece, pa.Table):
        return piece
    with pa.memory_map(piece) as source:
        return pa.ipc.open_file(source).read_all()


def _worker_init() -> None:
    """Workers ignore Ctrl-C: the main process stops them (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


INPUT_DIGESTS = "input-digests.txt"
"""The digest cache of the input files in ``build/`` (see :func:`article_keys`)."""


RESUME_DIR = "articles"
"""Folder of ``build/`` with the rows of the batches loaded since the columnar cache."""
RESUME_SUFFIX = ".rows"
RESUME_FORMAT = f"{CACHE_FORMAT} batch 1"


def _resume_path(build_dir: Path, first_stem: str) -> Path:
    return build_dir / RESUME_DIR / f"{first_stem}{RESUME_SUFFIX}"


def read_resume_files(folder: Path) -> dict[str, tuple[str, dict[str, list[Row]]]]:
    """Return ``{stem: (article key, rows per table)}`` of every intact resume file.

    A worker writes one file per batch of good articles (``build/articles/<first
    stem>.rows``, a pickle written atomically) so that a build killed while loading resumes
    where it stopped; files that are unreadable or of another format are ignored, an
    article found in several takes the one read last (the caller checks its key).
    """
    found: dict[str, tuple[str, dict[str, list[Row]]]] = {}
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(RESUME_SUFFIX))
    except OSError:
        return {}
    for name in names:
        try:
            with (folder / name).open("rb") as fh:
                entry = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            continue
        if not isinstance(entry, dict) or entry.get("format") != RESUME_FORMAT:
            continue
        articles = entry.get("articles")
        if not isinstance(articles, dict):
            continue
        for stem, article in articles.items():
            rows = article.get("rows") if isinstance(article, dict) else None
            key = article.get("key") if isinstance(article, dict) else None
            if (
                isinstance(key, str)
                and isinstance(rows, dict)
                and all(isinstance(r, list) for r in rows.values())
            ):
                found[stem] = (key, rows)
    return found


def remove_resume_files(folder: Path) -> None:
    """Delete the resume files (and the per-article ``*.pickle`` of older versions)."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith((RESUME_SUFFIX, ".pickle")):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _remove_partial_cache_files(build_dir: Path) -> None:
    """Delete cache files half-written by a killed build (runs under the lock)."""
    shutil.rmtree(build_dir / BATCH_DIR, ignore_errors=True)
    for folder in (build_dir, build_dir / "articles", build_dir / "tables"):
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ------------------------------------------------------------------ the columnar cache


def _manifest_token(articles: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(articles, sort_keys=True).encode()).hexdigest()


def read_table_cache(build_dir: Path, schema: Schema) -> tuple[dict[str, str], dict[str, pa.Table]]:
    """Return the columnar cache: ``{stem: article key}`` and the assembled tables of them.

    ``build/tables/<table>.arrow`` (Arrow IPC) hold the last build's sorted tables and
    ``build/tables/manifest.json`` the key of every article in them; each table file carries
    the manifest's token, so a half-written cache is never mixed with another. Anything
    missing or inconsistent gives an empty cache (``{}``, ``{}``).
    """
    folder = build_dir / "tables"
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        articles = manifest["articles"]
        if manifest.get("format") != CACHE_FORMAT or not isinstance(articles, dict):
            return {}, {}
        token = _manifest_token(articles).encode()
        tables = {}
        for name, table in schema.tables.items():
            with pa.memory_map(str(folder / f"{name}.arrow")) as source:
                arrow = pa.ipc.open_file(source).read_all()
            if (arrow.schema.metadata or {}).get(b"factpack_manifest") != token:
                return {}, {}
            arrow = arrow.replace_schema_metadata(None)
            if arrow.schema != arrow_schema(table):
                return {}, {}
            tables[name] = arrow
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowInvalid):
        return {}, {}
    return articles, tables


def write_table_cache(
    build_dir: Path, articles: dict[str, str], tables: dict[str, pa.Table]
) -> None:
    """Write the columnar cache (see :func:`read_table_cache`); the manifest goes last."""
    folder = build_dir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    token = _manifest_token(articles).encode()
    for name, arrow in tables.items():
        path = folder / f"{name}.arrow"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tagged = arrow.replace_schema_metadata({b"factpack_manifest": token})
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, tagged.schema) as writer:
            writer.write_table(tagged)
        os.replace(tmp, path)
    text = json.dumps({"format": CACHE_FORMAT, "articles": articles}, sort_keys=True)
    _write_atomic(folder / MANIFEST, text.encode())


def _without_articles(tables: dict[str, pa.Table], article_ids: list[str]) -> dict[str, pa.Table]:
    """Return the tables without the rows of the given article ids."""
    if not article_ids:
        return tables
    drop = pa.array(sorted(article_ids), pa.string())
    return {
        name: arrow.filter(pc.invert(pc.is_in(arrow.column("article_id"), value_set=drop)))
        for name, arrow in tables.items()
    }


def _batches(items: list[tuple[str, str | None]], jobs: int) -> list[list[tuple[str, str | None]]]:
    """Split the work into batches: small enough to keep every worker busy to the end."""
    size = max(1, min(BATCH_SIZE, len(items) // (jobs * 8) or 1))
    return [items[i : i + size] for i in range(0, len(items), size)]


def load_tables(
    yaml_paths: list[Path],
    build_dir: Path,
    env_key: str,
    schema: Schema,
    schema_root: Path | None,
    jobs: int = 2,
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[dict[str, pa.Table], int, list[Problem], dict[str, str]]:
    """Return the assembled tables, how many articles were loaded, problems, the cache keys.

    Articles whose key equals the columnar cache's come from it (their rows are kept, the
    others' filtered out, with :mod:`pyarrow.compute`); the rest come from a resume file
    (:func:`read_resume_files`: one per batch, written by the worker that loaded it, so an
    interrupted build resumes; removed once the columnar cache holds every article) or are
    loaded on ``jobs`` worker processes, which leave each
    batch's tables as Arrow files in ``build/batches/``; they are memory-mapped when their
    table is combined (largest table first) and removed after, so the rows of the other
    tables wait on disk. The result is the same as a clean build's: rows are sorted by
    primary key again.

    ``timings`` gets ``load`` (up to the articles' tables) and ``assemble`` (sorting, the
    columnar cache).

    Raises:
        BuildFailed: an article has errors (all errors of all articles are listed).
    """
    with _timed(timings, "load"):
        pieces, loaded, problems, keys, stale = _load_pieces(
            yaml_paths, build_dir, env_key, schema, schema_root, jobs, progress
        )
    with _timed(timings, "assemble"):
        release_memory()  # the load's bookkeeping (keys, digests, results) before the peak
        # Table by table, dropping each one's pieces once combined: the workers' batches are
        # memory-mapped files, so peak memory is the tables combined so far plus one table's
        # pieces and its sorted copy, not everything twice.
        # The largest table first: while it is combined nothing else is in memory yet.
        sizes = {name: _pieces_size(pieces, name) for name in schema.tables}
        combined = {}
        try:
            for name in sorted(schema.tables, key=lambda n: -sizes[n]):
                parts = [map_table(piece.pop(name)) for piece in pieces if name in piece]
                combined[name] = combine_table(parts, schema.tables[name])
                del parts
                pa.default_memory_pool().release_unused()
        finally:
            del pieces
            shutil.rmtree(build_dir / BATCH_DIR, ignore_errors=True)
        tables = {name: combined.pop(name) for name in schema.tables}
        if stale:
            write_table_cache(build_dir, keys, tables)
        # The columnar cache now holds every article: the resume files are not needed.
        remove_resume_files(build_dir / RESUME_DIR)
    return tables, loaded, problems, keys


def _load_pieces(
    yaml_paths: list[Path],
    build_dir: Path,
    env_key: str,
    schema: Schema,
    schema_root: Path | None,
    jobs: int,
    progress: Callable[[str], None] | None,
) -> tuple[list[dict[str, pa.Table | str]], int, list[Problem], dict[str, str], bool]:
    """The pieces of :func:`load_tables`; the last item says the columnar cache is stale."""
    from factpack.pipeline.annotations import article_id_of

    resume_dir = build_dir / RESUME_DIR
    resume_dir.mkdir(parents=True, exist_ok=True)
    digest_cache = build_dir / INPUT_DIGESTS
    start_ns = time.time_ns()
    cached_keys, base = read_table_cache(build_dir, schema)
    resume = read_resume_files(resume_dir)
    if cached_keys:
        # Keys first, to find the articles the columnar cache holds (unchanged files are
        # not read: their digests come from the digest cache by their stat).
        keys = article_keys(env_key, yaml_paths, digest_cache)
    else:
        # Nothing to match keys against but the resume files (an interrupted build): only
        # their articles are hashed here, the workers key the others from the bytes they
        # read anyway (a clean build of 100k articles read 1.7 GB twice).
        keys = article_keys(env_key, [p for p in yaml_paths if p.stem in resume])
    if cached_keys:
        kept = {stem for stem, key in keys.items() if cached_keys.get(stem) == key}
        gone = [article_id_of(stem) for stem in cached_keys if stem not in kept]
        base = _without_articles(base, gone)
    else:
        kept, base = set(), {}
    pieces: list[dict[str, pa.Table | str]] = [dict(base)] if base else []
    todo: list[tuple[str, str | None]] = []
    resumed: list[dict[str, list[Row]]] = []
    for p in yaml_paths:
        if p.stem in kept:
            if progress:
                progress(p.stem)
            continue
        known = keys.get(p.stem)
        own = resume.get(p.stem)
        if own is None or known is None or own[0] != known:
            todo.append((str(p), known))
        else:
            resumed.append(own[1])
            if progress:
                progress(p.stem)
    del resume
    if resumed:
        pieces.append(dict(article_tables(resumed, schema)))
    problems: list[Problem] = []
    failed = False
    root = str(schema_root) if schema_root else None
    new_digests: list[str] = []

    def take(result: BatchResult) -> None:
        nonlocal failed
        problems.extend(result.problems)
        failed = failed or result.failed
        keys.update(result.keys)
        new_digests.append(result.digests)
        if result.tables:
            pieces.append(dict(result.tables))
        if progress:
            for stem in result.done:
                progress(stem)

    if jobs > 1 and len(todo) >= POOL_THRESHOLD:
        ctx = multiprocessing.get_context("spawn")
        tasks = [(batch, root, str(build_dir), env_key, start_ns) for batch in _batches(todo, jobs)]
        with ctx.Pool(min(jobs, len(tasks)), initializer=_worker_init) as pool:
            for result in pool.imap_unordered(process_batch, tasks):
                take(result)
    else:
        for item in todo:
            take(process_batch(([item], root, str(build_dir), env_key, start_ns)))
    if not cached_keys:
        # The digests the workers took, for the next build's keys (the articles hashed
        # above are hashed again then: only after an interrupted build).
        package.write_digest_cache(digest_cache, lines="".join(new_digests))
    new_digests.clear()
    if failed:
        raise BuildFailed([p.format() for p in sorted(problems)])
    return pieces, len(todo), problems, keys, cached_keys != keys


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
) -> tuple[Path, dict[str, str]]:
    """Write the tables part of a release into ``staging/<name>-<version>/``.

    Parquet and CSV files, the DuckDB file (written on a thread meanwhile: DuckDB and
    pyarrow's writers release the GIL), ``datapackage.json``, the data card and
    ``CITATION.cff``. After this the Arrow tables are no longer needed. ``partition_by_year``
    adds ``data/partitioned/`` (:func:`factpack.pipeline.partition.write_release_partitions`).

    Returns:
        The release dir and the sha256 of the data files (relative path -> hex), computed once.
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
        digests: dict[str, str] = {}
        descriptor = package.datapackage_descriptor(schema, out, created, digests)
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
        (out / "CITATION.cff").write_text(package.citation_cff(schema, created), encoding="utf-8")
        (out / versions.RELEASE_CHANGELOG).write_text(versions.release_changelog(schema), "utf-8")
    return out, digests


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


def stage_site_and_sums(
    out: Path,
    digests: Mapping[str, str],
    timings: dict[str, float] | None = None,
    digest_cache: Path | None = None,
) -> None:
    """Write the review site (from the staged tables) and ``SHA256SUMS`` of the release.

    The site is rendered whole from the staged release
    (:func:`factpack.researcher.site.build_site`); ``digest_cache`` keeps the sha256 of files
    whose inode is unchanged.
    """
    try:
        from factpack.researcher import site
    except ImportError:  # pragma: no cover - the review site is optional
        site = None  # type: ignore[assignment]
    known = dict(digests)
    if site is not None:
        with _timed(timings, "site"):
            # The pages' sha256 come from the bytes the site wrote: SHA256SUMS does not read
            # 4 GB of pages back at 100k articles.
            site.build_site(out, digests=known)
    with _timed(timings, "package"):
        sums = package.sha256sums_text(out, known, cache=digest_cache)
        (out / package.SUMS_FILE).write_text(sums, encoding="utf-8")


def check_and_zip(
    out: Path,
    created: str,
    sampled: bool,
    timings: dict[str, float] | None = None,
    previous: Path | None = None,
    digest_cache: Path | None = None,
) -> tuple[ReleaseCheck, Path]:
    """Layer 4 on the staged release while its zip is written beside it on a thread.

    The zip is written from the staged files (zlib releases the GIL, so the two overlap); a
    release that fails layer 4 is never published, zip included. ``previous`` is the zip of
    the release being replaced: its unchanged entries are copied, not compressed again.
    ``digest_cache`` spares a sampled check from reading unchanged files again
    (:func:`factpack.pipeline.checks.check_release_detail`).
    """
    zip_path = out.parent / f"{out.name}.zip"
    with ThreadPoolExecutor(1) as pool:
        zipped = pool.submit(
            _timed_call, timings, "package", _write_zip, out, zip_path, created, previous
        )
        with _timed(timings, "frictionless"):
            # The zip reads every new file anyway: layer 4 checks SHA256SUMS last, with the
            # sha256 the zip took of what it read, instead of reading 5 GB a second time.
            checked = check_release_detail(
                out, sample=sampled, digest_cache=digest_cache, read_digests=zipped.result
            )
            checked.problems += partition.partition_failures(out)
        zipped.result()
    return checked, zip_path


def _write_zip(
    out: Path, zip_path: Path, created: str, previous: Path | None
) -> dict[str, package.ReadDigest]:
    return package.write_zip(out, zip_path, created, previous=previous)


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
    progress: Callable[[str], None] | None = None,
    force: bool = False,
    full_check: bool = False,
    partition_by_year: bool = False,
) -> BuildResult:
    """Build the release of ``seeds_dir`` into ``dist_dir`` (see the module docstring).

    Layer 4 reads a sample of the rows when the release has more than
    :data:`factpack.pipeline.checks.SAMPLE_THRESHOLD` rows, unless ``full_check``; the data card
    says which check the release passed. ``partition_by_year`` adds a hive-partitioned copy of
    every table (``data/partitioned/<table>/year=YYYY/part-N.parquet``, docs/scaling.md).

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
    progress: Callable[[str], None] | None,
    force: bool,
    full_check: bool,
    partition_by_year: bool = False,
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
        _remove_partial_cache_files(build_dir)
        env_key = environment_key(schema)
        timings: dict[str, float] = {}
        tables, loaded, problems, keys = load_tables(
            yaml_paths, build_dir, env_key, schema, schema_root, jobs, progress, timings
        )
        warnings = [p.format() for p in problems]
        code_key = package_key()
        parts = [env_key, created, code_key, *(keys[p.stem] for p in yaml_paths)]
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
            failures = validate_tables(tables, schema)
            failures += cross_checks(tables, schema)
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
            staged_dir, digests = stage_data(
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
            warnings += extras.write_release_extras(staged_dir, schema, digests, seeds_dir)
            del tables  # the rest reads the staged files: peak memory is one copy of the data
            release_memory()
            stage_site_and_sums(
                staged_dir,
                digests,
                timings,
                build_dir / "digests.txt",
            )
            versions.enforce_recorded(schema, staged_dir, dist_dir / name)
            old_zip = zip_target if zip_target.is_file() else None
            checked, staged_zip = check_and_zip(
                staged_dir, created, sampled, timings, old_zip, build_dir / "digests.txt"
            )
            if checked.problems:
                raise BuildFailed(checked.problems)
            target, zip_target = publish(staged_dir, staged_zip, dist_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
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
