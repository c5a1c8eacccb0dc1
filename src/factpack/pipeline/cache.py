"""The build's one cache rule: content keys, and intermediates named by their own sha256.

An article's **key** is the sha256 of its two input files' bytes (``<stem>.yaml`` and
``<stem>.txt``) and one **build fingerprint**: the sha256 of what shapes its rows
(``schema/tables/*``, ``schema/vocabularies.yaml``, every file of ``src/factpack``, ``uv.lock``,
the Python version and the installed versions of :data:`LIBRARIES`). ``schema/package.yaml``
is not part of it: editing the package's metadata does not reload an article.

The only **intermediates** are the per-batch results of the article stage: one Arrow IPC file
per table and batch in ``build/cache/``, named ``<sha256 of its bytes>.arrow``. Each carries in
its schema metadata the batch id and the key of every article whose rows it holds. A file is
used only when its bytes still hash to its name, its metadata is whole and its Arrow schema is
the table's; an article's rows are taken from it only when the key recorded there equals the
article's key now and every table of its batch passed those checks. Anything else is rebuilt.
So a damaged, truncated, deleted or swapped file costs time, never a changed byte; and the
files written by the batches of an interrupted build are what the next build resumes from.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

import factpack
from factpack.pipeline.tables import build_arrow_schema
from factpack.shared.schema import Schema

FORMAT = "factpack-cache 1"
"""The layout of the cache files; part of the fingerprint."""
CACHE_DIR = "cache"
"""Folder of ``build/`` holding the intermediates."""
SUFFIX = ".arrow"
META_KEY = b"factpack_cache"
LIBRARIES = ("duckdb", "frictionless", "jsonschema", "pandas", "pandera", "pyarrow", "pyyaml")
"""Libraries whose installed versions are part of the fingerprint (and named in the card)."""
HASH_JOBS = 2
"""Threads that hash files (hashlib releases the GIL)."""


def library_versions() -> dict[str, str]:
    """Return the installed versions of :data:`LIBRARIES`."""
    return {name: importlib.metadata.version(name) for name in LIBRARIES}


def _source_files() -> list[tuple[str, Path]]:
    root = Path(factpack.__file__).parent
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(folder) / name
            out.append((path.relative_to(root).as_posix(), path))
    return sorted(out)


def uv_lock_path() -> Path:
    """``uv.lock`` of the checkout factpack runs from (``src/factpack`` -> the repo root)."""
    return Path(factpack.__file__).resolve().parents[2] / "uv.lock"


def fingerprint(schema: Schema) -> str:
    """Return the build fingerprint (see the module docstring)."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode() + data)

    add("format", FORMAT.encode())
    for path in schema.files:
        if path.name != "package.yaml":
            add(f"schema/{path.parent.name}/{path.name}", path.read_bytes())
    for rel, path in _source_files():
        add(f"src/{rel}", path.read_bytes())
    lock = uv_lock_path()
    add("uv.lock", lock.read_bytes() if lock.is_file() else b"")
    add("python", sys.version.encode())
    for name, version in sorted(library_versions().items()):
        add(f"lib/{name}", version.encode())
    return digest.hexdigest()


def article_key(fp: str, yaml_sha256: str, text_sha256: str | None) -> str:
    """Return an article's key from the fingerprint and its files' sha256 (None: no text)."""
    return hashlib.sha256(f"{fp}\0{yaml_sha256}\0{text_sha256 or '-'}".encode()).hexdigest()


def sha256_of(path: Path) -> str | None:
    """The sha256 of a file's bytes, None when it cannot be read.

    Plain ``os.read`` calls: for the few-KB files of a corpus they took 0.71 s per 50,000
    files against 1.21 s through ``hashlib.file_digest`` on a buffered file.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        digest = hashlib.sha256()
        while data := os.read(fd, 1 << 20):
            digest.update(data)
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def _key_of(fp: str, yaml_path: Path) -> str | None:
    yaml_sha = sha256_of(yaml_path)
    if yaml_sha is None:
        return None
    return article_key(fp, yaml_sha, sha256_of(yaml_path.with_suffix(".txt")))


def keys_by_path(fp: str, yaml_paths: Sequence[Path]) -> dict[Path, str]:
    """Return ``{yaml path: key}``, reading both files of every article.

    An article whose annotation cannot be read gets no key (it is loaded, and reports why).
    One thread: the files are small (a few KB), and two threads contending for the GIL took
    twice as long (100k articles, 1.7 GB, in the page cache: 13.1-16.1 s on a thread pool of
    2, 6.6-7.1 s in 2 threads of one batch each, 4.5-4.6 s in one).
    """
    keys = {p: _key_of(fp, p) for p in yaml_paths}
    return {p: k for p, k in keys.items() if k is not None}


def article_keys(fp: str, yaml_paths: Sequence[Path]) -> dict[str, str]:
    """Return ``{stem: key}`` of :func:`keys_by_path`."""
    return {p.stem: k for p, k in keys_by_path(fp, yaml_paths).items()}


def batch_id(articles: Mapping[str, str]) -> str:
    """The id of a batch: the sha256 of its articles' stems and keys."""
    return hashlib.sha256(json.dumps(sorted(articles.items())).encode()).hexdigest()


def encode_batch(tables: Mapping[str, pa.Table], articles: Mapping[str, str]) -> dict[str, bytes]:
    """Return each table of a batch as Arrow IPC file bytes, tagged with the batch's articles.

    Runs where the batch was loaded (a worker): only bytes travel back to the driver.
    """
    meta = {"format": FORMAT, "batch": batch_id(articles), "articles": dict(articles)}
    out = {}
    for name, table in tables.items():
        tag = json.dumps({**meta, "table": name}, sort_keys=True).encode()
        tagged = table.replace_schema_metadata({META_KEY: tag})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, tagged.schema) as writer:
            writer.write_table(tagged)
        out[name] = sink.getvalue().to_pybytes()
    return out


def store(cache_dir: Path, blobs: Iterable[bytes]) -> list[Path]:
    """Write each blob as ``cache_dir/<sha256>.arrow`` (atomically); return the paths."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for data in blobs:
        path = cache_dir / f"{hashlib.sha256(data).hexdigest()}{SUFFIX}"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        paths.append(path)
    return paths


@dataclass(frozen=True)
class Entry:
    """A verified cache file: where it is, its table, its batch and its articles' keys."""

    path: Path
    table: str
    batch: str
    articles: Mapping[str, str]


def _verify(path: Path, schema: Schema) -> Entry | None:
    """The entry of one cache file, or None when anything about it is wrong."""
    if sha256_of(path) != path.name.removesuffix(SUFFIX):
        return None
    try:
        with pa.memory_map(str(path)) as source:
            arrow_schema_read = pa.ipc.open_file(source).schema
        meta = json.loads((arrow_schema_read.metadata or {})[META_KEY])
        table = meta["table"]
        articles = meta["articles"]
        if (
            meta.get("format") != FORMAT
            or table not in schema.tables
            or not isinstance(articles, dict)
            or meta.get("batch") != batch_id(articles)
            or arrow_schema_read.remove_metadata() != build_arrow_schema(schema.tables[table])
        ):
            return None
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    return Entry(path, table, str(meta["batch"]), articles)


def scan(cache_dir: Path, schema: Schema, jobs: int = HASH_JOBS) -> list[Entry]:
    """Return every verified cache file whose batch has a verified file for every table.

    Files that fail (bytes not matching their name, not ours, half-written) are deleted.
    """
    try:
        paths = sorted(cache_dir.glob(f"*{SUFFIX}"))
    except OSError:
        return []
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        found = list(pool.map(lambda p: _verify(p, schema), paths, chunksize=64))
    by_batch: dict[str, dict[str, Entry]] = {}
    for path, entry in zip(paths, found, strict=True):
        if entry is None:
            path.unlink(missing_ok=True)
        else:
            by_batch.setdefault(entry.batch, {})[entry.table] = entry
    whole = [e for b in by_batch.values() if set(b) == set(schema.tables) for e in b.values()]
    return sorted(whole, key=lambda e: e.path)


def reusable(entries: Sequence[Entry], keys: Mapping[str, str]) -> dict[str, str]:
    """Return ``{stem: batch id}`` of the articles whose current key a whole batch holds."""
    out: dict[str, str] = {}
    for entry in entries:
        for stem, key in entry.articles.items():
            if keys.get(stem) == key:
                out.setdefault(stem, entry.batch)
    return out


def remove_unused(cache_dir: Path, keep: Iterable[Path]) -> None:
    """Delete every cache file but ``keep`` (and leftovers of killed builds); folders stay."""
    kept = {p.name for p in keep}
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return
    for entry in entries:
        if entry.name not in kept and not entry.is_dir(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)


def read_table(path: Path) -> pa.Table:
    """A cache file's table, memory-mapped (no copy), without the cache's metadata."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all().replace_schema_metadata(None)


# --- results of `factpack check`, under the same rule -------------------------------------

CHECK_DIR = "check"
"""Folder of ``build/cache/`` holding ``factpack check``'s results (JSON, named by sha256)."""
CHECK_FORMAT = f"{FORMAT} check 2"
CHECK_COMPACT = 64
"""More result files than this are merged into one (their union: nothing is lost)."""


def read_results(folder: Path) -> dict[str, dict[str, Any]]:
    """Return ``{key: result}`` of every result file whose bytes still hash to its name.

    Files that fail are deleted; a key found in several files has the same result in each
    (it is a function of the key), the last one read wins.
    """
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = path.read_bytes()
            ok = hashlib.sha256(data).hexdigest() == path.stem
            doc = json.loads(data) if ok else None
        except (OSError, ValueError):
            doc = None
        if not isinstance(doc, dict) or doc.get("format") != CHECK_FORMAT:
            path.unlink(missing_ok=True)
            continue
        results = doc.get("results")
        if isinstance(results, dict):
            out.update(results)
    return out


def store_results(folder: Path, results: Mapping[str, dict[str, Any]]) -> None:
    """Store ``{key: result}`` as one file named by its sha256; merge when there are many."""
    if not results:
        return
    folder.mkdir(parents=True, exist_ok=True)
    old = sorted(folder.glob("*.json"))
    merged = {**read_results(folder), **results} if len(old) >= CHECK_COMPACT else dict(results)
    data = json.dumps({"format": CHECK_FORMAT, "results": merged}, sort_keys=True).encode()
    path = folder / f"{hashlib.sha256(data).hexdigest()}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    if len(old) >= CHECK_COMPACT:
        for stale in old:
            if stale != path:
                stale.unlink(missing_ok=True)


# --- review pages, under the same rule ----------------------------------------------------

PAGES_DIR = "pages"
"""Folder of ``build/cache/`` holding the index of the published review pages."""
PAGES_FORMAT = f"{FORMAT} pages 3"
INDEX_SUFFIX = ".json"


def page_key(article_id: str, key: str, policy: str, shown: str) -> str:
    """Return a review page's key.

    Args:
        article_id: The page's article (two articles with the same files have one key).
        key: The article's key (:func:`article_key`): its files and the build fingerprint,
            which covers the templates and every source of factpack.
        policy: What ``schema/package.yaml`` says of the texts (JSON; it shapes the article's
            row but is not part of the article's key).
        shown: What the page shows besides the article's rows (the site's JSON of the
            package's name, version and title, the columns, the adjudication link).
    """
    parts = (PAGES_FORMAT, article_id, key, policy, shown)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class PageCache:
    """Review pages reused from the release this build replaces, under the cache rule.

    The kept pages are the published ones, ``dist/<name>-<version>/site/articles/<id>.html``:
    nothing is stored twice. ``build/cache/pages/`` holds one **index**, ``<sha256 of its
    bytes>.json``: page key -> the sha256 of the published page's bytes, written once the
    release holding those pages is published (:meth:`commit`). A page is reused only when the
    index (whose bytes hash to its name) maps the page's key now to a sha256 that the
    published page's bytes still hash to; anything else is rendered again. A published page
    that was edited, damaged or deleted costs its rendering, no more, and the next release
    has the page a clean build renders.

    The site asks through :meth:`lookup` (the seam of
    :func:`factpack.researcher.site.build_site`, which never imports the build side).

    Args:
        folder: ``build/cache/pages``.
        published: ``site/articles`` of the release this build replaces (it may not exist).
        keys: Article id -> the article's key.
        policy: The text policy of ``schema/package.yaml`` (JSON).
        reuse: False: never reuse a page (every page is rendered; the index is still written).
    """

    def __init__(
        self,
        folder: Path,
        published: Path,
        keys: Mapping[str, str],
        policy: str,
        reuse: bool = True,
    ) -> None:
        self.folder = folder
        self.published = published
        self._keys = keys
        self._policy = policy
        self._index = self._read_index() if reuse else {}
        self._asked: dict[str, str] = {}  # article id -> page key

    def _read_index(self) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            found = sorted(self.folder.glob(f"*{INDEX_SUFFIX}"))
        except OSError:
            return out
        for path in found:
            try:
                data = path.read_bytes()
                ok = hashlib.sha256(data).hexdigest() == path.name.removesuffix(INDEX_SUFFIX)
                doc = json.loads(data) if ok else None
                if not isinstance(doc, dict) or doc.get("format") != PAGES_FORMAT:
                    continue
                out.update({str(k): str(v) for k, v in doc["pages"].items()})
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
        return out

    def lookup(self, article_id: str, shown: str) -> bytes | None:
        """Return the published bytes of the page of ``article_id`` showing ``shown``, or None.

        None when the article has no key, the index has no page for its key, or the
        published page is missing or no longer hashes to the sha256 recorded for it.
        """
        key = self._keys.get(article_id)
        if key is None:
            return None
        page = page_key(article_id, key, self._policy, shown)
        self._asked[article_id] = page
        sha = self._index.get(page)
        if sha is None:
            return None
        try:
            data = (self.published / f"{article_id}.html").read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha else None

    def commit(self, digests: Mapping[str, str]) -> None:
        """Record the pages of the release just published: ``digests`` maps each article
        page's file name (``<article_id>.html``) to the sha256 of its bytes (the site's
        own, :func:`factpack.researcher.site.build_site`). Writes the index of every page
        :meth:`lookup` was asked for; deletes every other file of the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        pages = {
            self._asked[a]: digests[f"{a}.html"] for a in self._asked if f"{a}.html" in digests
        }
        doc = {"format": PAGES_FORMAT, "pages": dict(sorted(pages.items()))}
        data = json.dumps(doc).encode()
        name = hashlib.sha256(data).hexdigest()
        path = self.folder / f"{name}{INDEX_SUFFIX}"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        for entry in os.scandir(self.folder):
            if entry.name != path.name and not entry.is_dir(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)
