"""Build a release: seeds/ -> per-article rows (cached in build/) -> checks -> dist/, atomically.

One process builds everything; articles whose inputs changed are loaded on up to ``jobs``
worker processes, the others come from ``build/articles/<stem>.pickle``, keyed by the sha256
of (annotation bytes, text bytes, schema/ files, factpack's own source, library versions).
The release is written into a staging folder inside ``dist/``, checked (all four validation
layers), and only then renamed into place; a lock file in ``build/`` serialises builds.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import multiprocessing
import os
import pickle
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import factpack
from factpack import package, write
from factpack.annotations import id_collisions
from factpack.checks import Failure, check_release, cross_checks, validate_tables
from factpack.formulas import FormulaCell, formula_cells
from factpack.formulas import describe as describe_formulas
from factpack.problems import FactpackError, Problem, display_path
from factpack.schema import Schema, load_schema
from factpack.tables import Row, article_rows, assemble

LIBRARIES = ("duckdb", "frictionless", "jsonschema", "pandas", "pandera", "pyarrow", "pyyaml")
"""Libraries whose versions are part of the cache key and named in the data card."""

ARTICLE_MODULES = (
    "annotations.py",
    "article.py",
    "problems.py",
    "schema.py",
    "selectors.py",
    "tables.py",
    "yamlload.py",
)
"""The modules that turn one article pair into rows: their source is part of the cache key."""

POOL_THRESHOLD = 16
"""Fewer uncached articles than this are loaded in-process (a pool costs its start-up)."""

Rows = dict[str, list[Row]]


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


@contextlib.contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall time of the ``with`` body to ``timings[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


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
    digest.update(factpack.__version__.encode() + b"\0")
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


def article_key(env_key: str, yaml_path: Path) -> str:
    """Return the cache key of one article pair."""
    digest = hashlib.sha256(env_key.encode())
    txt = yaml_path.with_suffix(".txt")
    for path in (yaml_path, txt):
        data = path.read_bytes() if path.exists() else b""
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


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


def process_article(task: tuple[str, str | None]) -> tuple[str, Rows | None, list[Problem]]:
    """Load, check and tabulate one article (runs in a worker process).

    Returns:
        The yaml path, the rows (None when the article has errors) and its problems.
    """
    from factpack.annotations import load_article

    yaml_path, schema_root = task
    article, problems = load_article(Path(yaml_path))
    if article is None:
        return yaml_path, None, problems
    try:
        rows = article_rows(article, _schema(schema_root))
    except FactpackError as exc:
        shown = display_path(yaml_path)
        return yaml_path, None, [*problems, Problem(shown, 0, 0, str(exc), code="rows")]
    return yaml_path, rows, problems


def _worker_init() -> None:
    """Workers ignore Ctrl-C: the main process stops them (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cache_path(build_dir: Path, yaml_path: Path) -> Path:
    return build_dir / "articles" / f"{yaml_path.stem}.pickle"


def _read_cache(path: Path, key: str) -> Rows | None:
    try:
        with path.open("rb") as fh:
            entry = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    rows = entry.get("rows")
    return rows if isinstance(rows, dict) else None


def _remove_partial_cache_files(build_dir: Path) -> None:
    """Delete cache files half-written by a killed build (runs under the lock)."""
    for tmp in (build_dir / "articles").glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_rows(
    yaml_paths: list[Path],
    build_dir: Path,
    env_key: str,
    schema_root: Path | None,
    jobs: int = 2,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Rows], int, list[Problem]]:
    """Return every article's rows (cached or freshly loaded), how many were loaded, problems.

    Raises:
        BuildFailed: an article has errors (all errors of all articles are listed).
    """
    cache_dir = build_dir / "articles"
    cache_dir.mkdir(parents=True, exist_ok=True)
    keys = {p: article_key(env_key, p) for p in yaml_paths}
    rows: dict[Path, Rows] = {}
    todo = []
    for p in yaml_paths:
        cached = _read_cache(_cache_path(build_dir, p), keys[p])
        if cached is None:
            todo.append(p)
        else:
            rows[p] = cached
            if progress:
                progress(p.stem)
    tasks = [(str(p), str(schema_root) if schema_root else None) for p in todo]
    problems: list[Problem] = []
    failed = False

    def take(result: tuple[str, Rows | None, list[Problem]]) -> None:
        nonlocal failed
        path_s, article_rows_, probs = result
        path = Path(path_s)
        problems.extend(probs)
        if article_rows_ is None:
            failed = True
        else:
            rows[path] = article_rows_
            entry = {"key": keys[path], "rows": article_rows_}
            _write_atomic(_cache_path(build_dir, path), pickle.dumps(entry, protocol=5))
        if progress:
            progress(path.stem)

    if jobs > 1 and len(tasks) >= POOL_THRESHOLD:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(min(jobs, len(tasks)), initializer=_worker_init) as pool:
            for result in pool.imap_unordered(process_article, tasks, chunksize=8):
                take(result)
    else:
        for task in tasks:
            take(process_article(task))
    stems = {p.stem for p in yaml_paths}
    for stale in cache_dir.glob("*.pickle"):
        if stale.stem not in stems:
            stale.unlink(missing_ok=True)
    if failed:
        raise BuildFailed([p.format() for p in sorted(problems)])
    return [rows[p] for p in yaml_paths], len(todo), problems


def _failure_lines(failures: list[Failure]) -> list[str]:
    return [f.format() for f in failures]


def stage_release(
    tables: dict[str, Any],
    schema: Schema,
    staging: Path,
    created: str,
    timings: dict[str, float] | None = None,
    formulas: Sequence[FormulaCell] = (),
) -> tuple[Path, Path]:
    """Write a complete release into ``staging/<name>-<version>/`` and its zip beside it."""
    name = package.release_name(schema)
    out = staging / name
    data = out / "data"
    data.mkdir(parents=True)
    with _timed(timings, "write"):
        for table_name in schema.tables:
            write.write_parquet(tables[table_name], data / f"{table_name}.parquet")
            write.write_csv(tables[table_name], data / f"{table_name}.csv")
    with _timed(timings, "package"):
        descriptor = package.datapackage_descriptor(schema, out, created)
        (out / "datapackage.json").write_text(package.json_text(descriptor), encoding="utf-8")
        counts = {n: tables[n].num_rows for n in schema.tables}
        card = package.data_card(schema, counts, created, library_versions(), formulas)
        (out / "README.md").write_text(card, encoding="utf-8")
        (out / "CITATION.cff").write_text(package.citation_cff(schema, created), encoding="utf-8")
    try:
        from factpack import site
    except ImportError:  # pragma: no cover - the review site is optional
        site = None  # type: ignore[assignment]
    if site is not None:
        with _timed(timings, "site"):
            site.build_site(out)
    with _timed(timings, "package"):
        (out / package.SUMS_FILE).write_text(package.sha256sums_text(out), encoding="utf-8")
        zip_path = staging / f"{name}.zip"
        package.write_zip(out, zip_path, created)
    with _timed(timings, "duckdb"):
        write.write_duckdb(tables, schema, out / f"{schema.package['name']}.duckdb")
    return out, zip_path


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


def publish(staged_dir: Path, staged_zip: Path, dist_dir: Path) -> tuple[Path, Path]:
    """Move a checked release into ``dist/``, replacing the previous one of the same name."""
    target = dist_dir / staged_dir.name
    zip_target = dist_dir / staged_zip.name
    old = dist_dir / f".old-{staged_dir.name}-{os.getpid()}"
    if target.exists():
        os.rename(target, old)
    os.rename(staged_dir, target)
    os.replace(staged_zip, zip_target)
    shutil.rmtree(old, ignore_errors=True)
    return target, zip_target


def build(
    seeds_dir: Path,
    dist_dir: Path,
    build_dir: Path,
    schema_root: Path | None = None,
    jobs: int = 2,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
) -> BuildResult:
    """Build the release of ``seeds_dir`` into ``dist_dir`` (see the module docstring).

    Raises:
        BuildFailed: any validation layer failed; ``dist/`` is left as it was.
        FactpackError: bad input (no annotations, unreadable schema/), or a disk error (full
            disk, read-only ``dist/``) as one line naming the path.
    """
    try:
        return _build(seeds_dir, dist_dir, build_dir, schema_root, jobs, progress, force)
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
        with _timed(timings, "load"):
            rows, loaded, problems = load_rows(
                yaml_paths, build_dir, env_key, schema_root, jobs, progress
            )
        warnings = [p.format() for p in problems]
        release_key = hashlib.sha256(
            "\0".join(
                [env_key, created, package_key(), *(article_key(env_key, p) for p in yaml_paths)]
            ).encode()
        ).hexdigest()
        key_file = build_dir / "release.key"
        target, zip_target = dist_dir / name, dist_dir / f"{name}.zip"
        if (
            not force
            and loaded == 0
            and target.is_dir()
            and zip_target.is_file()
            and key_file.is_file()
            and key_file.read_text() == f"{name} {release_key}\n"
        ):
            zip_target.touch()
            return BuildResult(
                target, zip_target, {}, len(yaml_paths), 0, len(yaml_paths), True, timings=timings
            )
        with _timed(timings, "assemble"):
            tables = assemble(rows, schema)
        with _timed(timings, "validate"):
            failures = validate_tables(tables, schema)
            failures += cross_checks(tables, schema)
        if failures:
            raise BuildFailed(_failure_lines(failures))
        formulas = formula_cells(tables)
        warnings += describe_formulas(formulas)
        staging = dist_dir / f".staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staged_dir, staged_zip = stage_release(
                tables, schema, staging, created, timings, formulas
            )
            with _timed(timings, "frictionless"):
                problems_4 = check_release(staged_dir)
            if problems_4:
                raise BuildFailed(problems_4)
            target, zip_target = publish(staged_dir, staged_zip, dist_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _write_atomic(key_file, f"{name} {release_key}\n".encode())
        counts = {n: tables[n].num_rows for n in schema.tables}
        return BuildResult(
            target,
            zip_target,
            counts,
            len(yaml_paths),
            loaded,
            len(yaml_paths) - loaded,
            warnings=warnings,
            timings=timings,
        )
