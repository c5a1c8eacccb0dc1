"""The release's metadata files: datapackage.json, the data card, CITATION.cff, SHA256SUMS, zip.

Pure text builders plus small writers; every output is a function of its inputs only (the
``created`` time comes from ``schema/package.yaml`` or ``SOURCE_DATE_EPOCH``), so two builds of
the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import struct
import time
import zlib
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from factpack.pipeline import datafacts
from factpack.researcher.releases import sha256_file
from factpack.shared.schema import Schema, table_schema_descriptor

DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
SUMS_FILE = "SHA256SUMS"

ZIP_LEVEL = 5
"""Deflate level of the zip, chosen by measurement (docs/release.md, "The zip"): on a
10k-article release level 5 costs 25% less CPU than 6 for a zip 2.5% larger; 9 costs 1.7x
as much as 6 for 1% less."""
ZIP_PAGE_LEVEL = 3
"""Deflate level of the review site's files (``site/``) in the zip. The pages are 3/4 of the
bytes deflated at 100k articles (3.9 GB): level 3 deflates them 1.7x faster than 5 (238
against 137 MB/s of CPU here) for 8% more compressed bytes, 12 CPU-seconds of a 100k build;
the data files keep level 5."""
ZIP_PAGE_PREFIX = "site/"
ZIP_STORED_SUFFIXES: Sequence[str] = (".parquet",)
"""Entries stored, not deflated: Parquet is zstd-compressed already (deflate saves 0.5%)."""
ZIP_JOBS = 2
"""Threads that deflate zip entries (zlib releases the GIL); the bytes do not depend on it."""
HASH_JOBS = 2
"""Threads that hash files for SHA256SUMS (hashlib releases the GIL)."""

PARQUET_MISSING_VALUES = ["", "nan"]
"""missingValues of the Parquet resources: frictionless reads a Parquet null in a number (or
nullable integer) column as NaN and then reports false type/constraint errors. NaN is never a
valid value here (layer 2 rejects it), so declaring it missing keeps ``frictionless validate``
exact for real nulls."""

EXAMPLE_QUERIES: Sequence[tuple[str, str]] = (
    (
        "Denials, who made them and the claim they answer",
        """SELECT c.claim_id, s.name AS source, c.cue, c.claim_text, r.claim_text AS answers
FROM 'data/claims.parquet' c
JOIN 'data/sources.parquet' s ON s.source_id = c.source_id
JOIN 'data/claims.parquet' r ON r.claim_id = c.responds_to
WHERE c.relation = 'denies'
ORDER BY c.claim_id;""",
    ),
    (
        "Events by type and how the article presents them",
        """SELECT event_type, factuality, count(*) AS events
FROM 'data/events.parquet'
GROUP BY event_type, factuality
ORDER BY events DESC, event_type, factuality;""",
    ),
    (
        "Every claim about an event, with its evidence and the event's UTC start",
        """SELECT e.event_id, e.start_utc, e.location_name, c.claim_kind, c.evidence_text
FROM 'data/events.parquet' e
JOIN 'data/claims.parquet' c ON c.event_id = e.event_id
ORDER BY e.start_utc NULLS LAST, e.event_id, c.claim_id;""",
    ),
)
"""Queries shown in the data card and the README; the test suite runs them on a release."""


def release_name(schema: Schema) -> str:
    """Return ``<name>-<version>`` of the release."""
    return f"{schema.package['name']}-{schema.package['version']}"


def created_timestamp(schema: Schema, environ: Mapping[str, str] | None = None) -> str:
    """Return the release's ``created`` time (ISO 8601 UTC, ``Z``).

    ``SOURCE_DATE_EPOCH`` (seconds) wins over ``created`` in ``schema/package.yaml``.
    """
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH")
    if epoch:
        when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    else:
        value = schema.package.get("created")
        if isinstance(value, dt.datetime):
            when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        else:
            when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(value: Any) -> Any:
    """Drop empty strings / None from metadata (frictionless rejects an empty path)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v not in ("", None)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def datapackage_descriptor(
    schema: Schema,
    release_dir: Path,
    created: str,
    digests: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return the Data Package v2 descriptor of a release whose data/ files are written.

    Each table is two resources: ``<table>`` (Parquet) and ``<table>_csv`` (CSV, whose foreign
    keys point at the CSV resources). ``bytes`` only on CSV (frictionless reports a false
    error for Parquet); ``hash`` on both (frictionless checks it for CSV only; SHA256SUMS and
    ``factpack validate`` cover every file). ``digests`` (relative path -> sha256) is used and
    filled, so :func:`sha256sums_text` need not read the data files again. Keywords (the
    maintainers' plus the event types present), ``sources`` (publishers with their article
    counts), coverage and row counts come from the data (:mod:`factpack.pipeline.datafacts`);
    ``dataBytes`` is the size of the data files (Parquet and CSV) together.
    """
    known = {} if digests is None else digests
    pkg = schema.package
    facts = datafacts.read_facts(release_dir, schema.tables)
    resources = []
    for name, table in schema.tables.items():
        for fmt, suffix in (("parquet", ""), ("csv", "_csv")):
            rel = f"data/{name}.{fmt}"
            path = release_dir / rel
            res: dict[str, Any] = {
                "name": name + suffix,
                "type": "table",
                "title": f"{table.title} ({fmt.upper() if fmt == 'csv' else 'Parquet'})",
                "description": table.description,
                "path": rel,
                "scheme": "file",
                "format": fmt,
                "mediatype": "text/csv" if fmt == "csv" else PARQUET_MEDIATYPE,
            }
            if fmt == "csv":
                res["encoding"] = "utf-8"
                res["bytes"] = path.stat().st_size
            if rel not in known:
                known[rel] = sha256_file(path)
            res["hash"] = f"sha256:{known[rel]}"
            res["schema"] = table_schema_descriptor(table, suffix)
            if fmt == "parquet":
                res["schema"]["missingValues"] = list(PARQUET_MISSING_VALUES)
            resources.append(res)
    descriptor: dict[str, Any] = {
        "$schema": DATAPACKAGE_PROFILE,
        "name": pkg["name"],
        "title": pkg.get("title"),
        "description": pkg.get("description"),
        "version": str(pkg["version"]),
        "created": created,
        "homepage": pkg.get("homepage"),
        "keywords": datafacts.keywords(pkg, facts),
        "licenses": pkg.get("licenses") or [],
        "contributors": pkg.get("contributors") or [],
        "sources": datafacts.sources(facts),
        **datafacts.coverage_properties(facts),
    }
    descriptor["dataBytes"] = sum((release_dir / str(r["path"])).stat().st_size for r in resources)
    descriptor = _clean(descriptor)
    descriptor["resources"] = resources
    return descriptor


def json_text(data: Any) -> str:
    """Return canonical JSON text (2-space indent, UTF-8, trailing newline)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _authors(schema: Schema) -> list[str]:
    cit = schema.package.get("citation") or {}
    return [str(a.get("name")) for a in cit.get("authors") or [] if a.get("name")]


def citation_cff(schema: Schema, created: str) -> str:
    """Return the release's CITATION.cff (Citation File Format 1.2.0, type dataset)."""
    pkg = schema.package
    cit = pkg.get("citation") or {}
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        f"title: {json.dumps(cit.get('title') or pkg.get('title'), ensure_ascii=False)}",
        f"version: {json.dumps(str(pkg['version']))}",
        f"date-released: {json.dumps(created[:10])}",
        "authors:",
    ]
    lines += [f"  - name: {json.dumps(a, ensure_ascii=False)}" for a in _authors(schema)]
    licenses = pkg.get("licenses") or []
    if licenses:
        lines.append(f"license: {json.dumps(licenses[0]['name'])}")
    if pkg.get("description"):
        lines.append(f"abstract: {json.dumps(pkg['description'], ensure_ascii=False)}")
    keywords = pkg.get("keywords") or []
    if keywords:
        lines.append("keywords:")
        lines += [f"  - {json.dumps(k, ensure_ascii=False)}" for k in keywords]
    if pkg.get("homepage"):
        lines.append(f"url: {json.dumps(pkg['homepage'])}")
    return "\n".join(lines) + "\n"


def release_files(release_dir: Path, exclude_suffixes: Sequence[str] = (".duckdb",)) -> list[str]:
    """Return every file of a release (POSIX relative paths, sorted) but SHA256SUMS and .duckdb.

    Walks with :func:`os.scandir`, whose entries know their type without a ``stat`` per file
    (``Path.rglob`` + ``is_file`` took ~1.5 s for a 100k-page release here).
    """
    out = []
    skip = tuple(exclude_suffixes)
    folders = [("", os.fspath(release_dir))]
    while folders:
        prefix, folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    folders.append((rel + "/", entry.path))
                elif entry.is_file() and rel != SUMS_FILE and not entry.name.endswith(skip):
                    out.append(rel)
    return sorted(out)


DIGEST_CACHE_FORMAT = "factpack-digest-cache 1"
DIGEST_CACHE_MARGIN_NS = 2_000_000_000
"""A cached digest is kept only for a file whose mtime was this much older than the moment
hashing began (see :func:`file_digests`)."""

StatKey = tuple[int, int, int, int]


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _read_digest_cache(cache: Path) -> dict[StatKey, str]:
    """Return the digest cache (stat key -> sha256); ``{}`` if missing or not ours."""
    try:
        lines = cache.read_text("ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    if not lines or lines[0] != DIGEST_CACHE_FORMAT:
        return {}
    out: dict[StatKey, str] = {}
    for line in lines[1:]:
        parts = line.split(" ")
        if len(parts) != 5 or not re.fullmatch(r"[0-9a-f]{64}", parts[4]):
            return {}
        try:
            dev, ino, size, mtime = (int(x) for x in parts[:4])
        except ValueError:
            return {}
        out[(dev, ino, size, mtime)] = parts[4]
    return out


def cacheable(before: os.stat_result, after: os.stat_result, start_ns: int) -> bool:
    """Whether a digest taken between two stats of a file may enter the digest cache.

    The file must not have changed while it was read (same stat key before and after), and
    its mtime must be more than :data:`DIGEST_CACHE_MARGIN_NS` older than ``start_ns``, the
    moment hashing began (see :func:`file_digests`).
    """
    return (
        stat_key(before) == stat_key(after)
        and before.st_mtime_ns < start_ns - DIGEST_CACHE_MARGIN_NS
    )


@dataclass(frozen=True)
class ReadDigest:
    """The sha256 of a file as a reader read it (the zip writer), and its stat key when that
    read may enter the digest cache (:func:`cacheable`), else None."""

    sha256: str
    cache_key: StatKey | None


def digest_cache_lines(entries: Mapping[StatKey, str]) -> str:
    """The lines of the digest cache for ``entries`` (stat key -> sha256), sorted."""
    return "".join(f"{d} {n} {s} {m} {h}\n" for (d, n, s, m), h in sorted(entries.items()))


def write_digest_cache(
    cache: Path, entries: Mapping[StatKey, str] | None = None, *, lines: str = ""
) -> None:
    """Replace the digest ``cache`` with ``entries`` (stat key -> sha256) and ``lines`` (of
    :func:`digest_cache_lines`), atomically."""
    text = digest_cache_lines(entries or {}) + lines
    temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_text(f"{DIGEST_CACHE_FORMAT}\n{text}", "ascii")
    os.replace(temporary, cache)


def _hash_unchanged(path: Path, before: os.stat_result) -> tuple[str, bool]:
    """Return the sha256 of ``path`` and whether its stat key was the same after hashing."""
    digest = sha256_file(path)
    return digest, stat_key(path.stat()) == stat_key(before)


def _hash_all(pairs: Sequence[tuple[Path, os.stat_result]]) -> list[tuple[str, bool]]:
    return [_hash_unchanged(path, info) for path, info in pairs]


def file_digests(
    release_dir: Path,
    rels: Sequence[str],
    jobs: int = HASH_JOBS,
    cache: Path | None = None,
    *,
    update: bool = True,
    reuse: bool = True,
    hits: set[str] | None = None,
    record: Mapping[StatKey, str] | None = None,
) -> dict[str, str]:
    """Return the sha256 (hex) of each of ``rels`` (relative to ``release_dir``).

    hashlib releases the GIL, so ``jobs`` threads hash at once (1 MiB reads).

    ``cache`` (a file of the build directory, rewritten on every call) keeps a digest per
    (device, inode, size, mtime in ns). A digest is reused when those four are unchanged, and
    recorded only when the file's mtime was more than :data:`DIGEST_CACHE_MARGIN_NS` older
    than the moment hashing began and its stat was the same after hashing. That is git's
    answer to the "racy clean" problem: a file written again later gets an mtime of that
    later time (the kernel's clock, coarse by milliseconds at most), which is then newer than
    any recorded mtime, so it can never keep an old digest, even when rewritten in place with
    the same size within the same mtime tick. What it does not survive is somebody setting a
    file's mtime back to an older value by hand (``touch -d``, ``cp -p`` onto an inode of
    the same size); factpack never does, and layer 4 hashes every file against SHA256SUMS
    anyway. Cache hits come from files that outlive a build: the site's pages, hard-linked
    from ``build/site/``; the data files are new each build and their digests are passed in.

    With ``update=False`` the cache is only read; with ``reuse=False`` it is not read, every
    file is hashed, and the cache is rewritten with what qualifies (layer 4's full check).
    ``hits`` receives the paths whose digest came from the cache; ``record`` holds more
    entries to write into it (digests another reader took under the same rule).
    """
    start = time.time_ns()
    known = _read_digest_cache(cache) if cache is not None and reuse else {}
    paths = [release_dir / rel for rel in rels]
    infos = [path.stat() for path in paths]
    out: dict[str, str] = {}
    keep: dict[StatKey, str] = {}
    todo: list[int] = []
    for i, info in enumerate(infos):
        hexd = known.get(stat_key(info))
        if hexd is None:
            todo.append(i)
        else:
            out[rels[i]] = hexd
            keep[stat_key(info)] = hexd
            if hits is not None:
                hits.add(rels[i])
    pairs = [(paths[i], infos[i]) for i in todo]
    if jobs <= 1 or len(todo) < 2:
        results = _hash_all(pairs)
    else:
        # One contiguous share per thread: a future per file costs more than hashing it.
        size = -(-len(pairs) // jobs)
        with ThreadPoolExecutor(jobs) as pool:
            shares = pool.map(_hash_all, [pairs[i : i + size] for i in range(0, len(pairs), size)])
            results = [r for share in shares for r in share]
    for i, (hexd, unchanged) in zip(todo, results, strict=True):
        out[rels[i]] = hexd
        if unchanged and infos[i].st_mtime_ns < start - DIGEST_CACHE_MARGIN_NS:
            keep[stat_key(infos[i])] = hexd
    if cache is not None and update:
        write_digest_cache(cache, {**(record or {}), **keep})
    return {rel: out[rel] for rel in rels}


def sha256sums_text(
    release_dir: Path,
    digests: Mapping[str, str] | None = None,
    *,
    jobs: int = HASH_JOBS,
    cache: Path | None = None,
) -> str:
    """Return SHA256SUMS (``sha256sum`` format, sorted by path) of a release.

    ``digests`` holds sha256s already computed (relative path -> hex) for files written once;
    the others are hashed on ``jobs`` threads, with the digest ``cache`` when given
    (:func:`file_digests`).
    """
    known = dict(digests or {})
    rels = release_files(release_dir)
    todo = [r for r in rels if not known.get(r)]
    known.update(file_digests(release_dir, todo, jobs, cache))
    return "".join(f"{known[rel]}  {rel}\n" for rel in rels)


# --- the zip ------------------------------------------------------------------------------
#
# A small zip writer of our own (not zipfile) so that an entry's bytes are a function of its
# name, content and the recipe alone: compressed on worker threads, written in order, and
# copied raw from the previous zip when the content is unchanged.

_STORED = 0
_DEFLATED = 8
_ZIP64_LIMIT = (1 << 31) - 1
"""Sizes and offsets above this get Zip64 fields (as zipfile: some readers read them signed)."""
_ZIP_COUNT_LIMIT = 0xFFFF
"""More entries than this need the Zip64 end record (a 100k-article release has them)."""
_CHUNK = 1 << 20


def _pieces(src: BinaryIO) -> Iterator[bytes]:
    """Yield a file's bytes as ``src.read(_CHUNK)`` would, without a 1 MiB buffer per read.

    ``read(n)`` allocates ``n`` bytes before reading: for a 20 KB site page that is ~0.15 ms
    of allocator work, 7x the cost of hashing it. A file shorter than ``_CHUNK`` is read in
    one piece of its own size, a longer one in ``_CHUNK`` pieces: the same pieces as before.
    """
    want = min(_CHUNK, os.fstat(src.fileno()).st_size + 1)
    while chunk := src.read(want):
        yield chunk
        want = _CHUNK if len(chunk) == want else 1


_BATCH = 2 << 20
"""Small files go to the workers in batches of about this many bytes."""
_WINDOW = 64 << 20
"""Uncompressed bytes handed to the workers ahead of the writer (bounds the memory)."""
_COMMENT_RE = re.compile(r"^(?P<recipe>.*); data (?P<size>\d+) sha256 (?P<sha>[0-9a-f]{64})$")


@functools.lru_cache(maxsize=16)
def _probe(level: int) -> int:
    """CRC-32 of a fixed text deflated at ``level`` by the running zlib (~300 KB, a few ms)."""
    text = b"".join(b"%d factpack %d probe\n" % (i, i * 7919 % 10007) for i in range(20000))
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    return zlib.crc32(comp.compress(text) + comp.flush())


def zip_recipe(level: int | None = None, page_level: int | None = None) -> str:
    """Return what decides the compressed bytes of a zip entry; the zip's comment starts so.

    Deflate is deterministic for one zlib build, level and way of feeding it (1 MiB pieces,
    one compressobj per entry, raw deflate, default memLevel/strategy), so two zips whose
    recipe is equal hold equal compressed bytes for equal content. The recipe names the zlib
    the bytes came from (``zlib.ZLIB_RUNTIME_VERSION``) and the CRC-32 of a fixed text
    deflated by it: forks such as Cloudflare's or Chromium's zlib report the upstream version
    yet deflate differently, and the probe tells them apart. ``1`` is this writer's format;
    change it with anything else that changes the bytes (the stored suffixes included).
    Files under :data:`ZIP_PAGE_PREFIX` are deflated at ``page_level``, the others at
    ``level``.
    """
    lv = ZIP_LEVEL if level is None else level
    pl = ZIP_PAGE_LEVEL if page_level is None else page_level
    stored = ",".join(ZIP_STORED_SUFFIXES) or "-"
    return (
        f"factpack-zip 2: stored {stored}, deflate level {lv}, {ZIP_PAGE_PREFIX} level {pl} "
        f"(zlib {zlib.ZLIB_RUNTIME_VERSION}, probe {_probe(lv):08x} {_probe(pl):08x})"
    )


def _dos_time(created: str) -> tuple[int, int]:
    """Return (DOS time, DOS date) of ``created``, not before 1980 (the zip epoch)."""
    when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    y, mo, d, h, mi, s = max(
        (when.year, when.month, when.day, when.hour, when.minute, when.second),
        (1980, 1, 1, 0, 0, 0),
    )
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _method(rel: str) -> int:
    return _STORED if rel.endswith(tuple(ZIP_STORED_SUFFIXES)) else _DEFLATED


@dataclass(frozen=True)
class _Old:
    """An entry of the previous zip: where its compressed bytes are and what they hold."""

    method: int
    crc: int
    size: int
    csize: int
    offset: int
    sha256: str


@dataclass
class _Entry:
    """One entry ready to write: its header fields and where its (compressed) bytes are."""

    name: bytes
    method: int
    crc: int
    size: int
    csize: int
    chunks: list[bytes] | None = None
    stored_from: Path | None = None
    old_offset: int | None = None
    read: ReadDigest | None = None
    """The sha256 of the file as read for this entry (None: copied from the previous zip)."""


def _parse_sums(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        hexd, sep, rel = line.partition("  ")
        if sep and len(hexd) == 64:
            out[rel] = hexd
    return out


def _read_old(previous: Path, recipe: str) -> dict[str, _Old]:
    """Return the reusable entries of a zip this writer made with ``recipe`` (path -> entry).

    Returns ``{}`` unless everything checks: the end record and comment are intact, the
    comment's recipe equals ``recipe``, and the sha256 of every byte before the central
    directory equals the one the comment records (so a corrupt or truncated zip, or one made
    by anything else, is never reused). Entries are found by walking the local headers (which
    that sha256 covers), not by trusting the central directory; each one carries the sha256
    its SHA256SUMS entry (also covered) lists for it. Keys are paths inside the release
    folder: the folder's name (the version) does not change the compressed bytes.
    """
    try:
        with previous.open("rb") as fh:
            return _read_old_open(fh, recipe)
    except (OSError, ValueError, struct.error, zlib.error, UnicodeDecodeError):
        return {}


def _read_old_open(fh: BinaryIO, recipe: str) -> dict[str, _Old]:
    end = fh.seek(0, os.SEEK_END)
    tail_len = min(end, 22 + 0xFFFF)
    fh.seek(end - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return {}
    comment_len = struct.unpack_from("<H", tail, at + 20)[0]
    if at + 22 + comment_len != len(tail):
        return {}
    match = _COMMENT_RE.match(tail[at + 22 :].decode("utf-8"))
    if not match or match["recipe"] != recipe:
        return {}
    data_len = int(match["size"])
    if data_len > end - len(tail) + at:
        return {}
    fh.seek(0)
    digest = hashlib.sha256()
    left = data_len
    while left:
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:
            return {}
        digest.update(chunk)
        left -= len(chunk)
    if digest.hexdigest() != match["sha"]:
        return {}
    found: dict[str, tuple[int, int, int, int, int]] = {}
    tops: set[str] = set()
    pos = 0
    while pos < data_len:
        fh.seek(pos)
        head = fh.read(30)
        sig, _, flags, method, _, _, crc, csize, size, nlen, elen = struct.unpack("<4s5H3L2H", head)
        if sig != b"PK\x03\x04" or flags & 0x08:
            return {}
        name = fh.read(nlen).decode("utf-8")
        extra = fh.read(elen)
        if csize == 0xFFFFFFFF or size == 0xFFFFFFFF:
            tag, _, size, csize = struct.unpack_from("<HHQQ", extra)
            if tag != 1:
                return {}
        start = pos + 30 + nlen + elen
        top, _, rel = name.partition("/")
        tops.add(top)
        found[rel] = (method, crc, size, csize, start)
        pos = start + csize
    sums_at = found.get(SUMS_FILE)
    if pos != data_len or sums_at is None or len(tops) != 1:
        return {}
    method, crc, size, csize, start = sums_at
    fh.seek(start)
    raw = fh.read(csize)
    text = zlib.decompress(raw, -15) if method == _DEFLATED else raw
    if len(text) != size or zlib.crc32(text) != crc:
        return {}
    sums = _parse_sums(text.decode("utf-8"))
    out = {}
    for rel, hexd in sums.items():
        if rel in found:
            method, crc, size, csize, start = found[rel]
            out[rel] = _Old(method, crc, size, csize, start, hexd)
    return out


def _batches(release_dir: Path, rels: Sequence[str]) -> list[tuple[list[str], int]]:
    """Group consecutive files into tasks of about :data:`_BATCH` bytes (few futures)."""
    out: list[tuple[list[str], int]] = []
    batch: list[str] = []
    total = 0
    for rel in rels:
        size = (release_dir / rel).stat().st_size
        if batch and total + size > _BATCH:
            out.append((batch, total))
            batch, total = [], 0
        batch.append(rel)
        total += size
    if batch:
        out.append((batch, total))
    return out


def _prepare_batch(
    batch: list[tuple[bytes, Path, str, _Old | None]], levels: tuple[int, int], start_ns: int
) -> list[_Entry]:
    """Prepare a batch of entries; ``levels`` is (data level, ``site/`` level)."""
    return [
        _prepare(name, path, _method(rel), _level(rel, levels), old, start_ns)
        for name, path, rel, old in batch
    ]


def _level(rel: str, levels: tuple[int, int]) -> int:
    return levels[1] if rel.startswith(ZIP_PAGE_PREFIX) else levels[0]


def _prepare(
    name: bytes, path: Path, method: int, level: int, old: _Old | None, start_ns: int = 0
) -> _Entry:
    """Read one file: its CRC-32, size and sha256, and its deflated bytes unless ``old``
    holds them.

    ``old`` is given only when its sha256 is the one the new SHA256SUMS lists for the file:
    with the same method and size, its bytes are copied raw and the file is not read at all
    (a rebuild of 100k articles reads the one changed page, not 5 GB).

    Runs on a worker thread (zlib, hashlib and the reads release the GIL). Stored entries
    are copied from the file by the writer (which checks their CRC-32 again), so their bytes
    are not held here. The sha256 lets layer 4 check the file without reading it once more;
    ``start_ns`` (when zipping began) decides whether it may enter the digest cache.
    """
    if old is not None and old.method == method and old.size == path.stat().st_size:
        return _Entry(name, method, old.crc, old.size, old.csize, old_offset=old.offset)
    crc = size = 0
    digest = hashlib.sha256()
    comp = zlib.compressobj(level, zlib.DEFLATED, -15) if method == _DEFLATED else None
    chunks = []
    with path.open("rb") as src:
        before = os.fstat(src.fileno())
        for chunk in _pieces(src):
            crc = zlib.crc32(chunk, crc)
            digest.update(chunk)
            size += len(chunk)
            if comp is not None and (piece := comp.compress(chunk)):
                chunks.append(piece)
        after = os.fstat(src.fileno())
    read = ReadDigest(
        digest.hexdigest(), stat_key(before) if cacheable(before, after, start_ns) else None
    )
    if comp is None:
        return _Entry(name, method, crc, size, size, stored_from=path, read=read)
    chunks.append(comp.flush())
    return _Entry(name, method, crc, size, sum(map(len, chunks)), chunks=chunks, read=read)


class _ZipWriter:
    """Write entries in the order given, then the central directory and end record."""

    def __init__(self, out: BinaryIO, dos_time: tuple[int, int]) -> None:
        self.out = out
        self.time, self.date = dos_time
        self.digest = hashlib.sha256()
        self.pos = 0
        self.central: list[bytes] = []

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.pos += len(data)

    def add(self, entry: _Entry, old_zip: BinaryIO | None) -> None:
        offset = self.pos
        flags = 0 if entry.name.isascii() else 0x800
        big = entry.size > _ZIP64_LIMIT or entry.csize > _ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, entry.size, entry.csize) if big else b""
        version = 45 if big else 20
        self._write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                version,
                flags,
                entry.method,
                self.time,
                self.date,
                entry.crc,
                0xFFFFFFFF if big else entry.csize,
                0xFFFFFFFF if big else entry.size,
                len(entry.name),
                len(extra),
            )
            + entry.name
            + extra
        )
        if entry.chunks is not None:
            for piece in entry.chunks:
                self._write(piece)
        elif entry.stored_from is not None:
            crc = 0
            with entry.stored_from.open("rb") as src:
                for chunk in _pieces(src):
                    crc = zlib.crc32(chunk, crc)
                    self._write(chunk)
            if crc != entry.crc or self.pos - offset - 30 - len(entry.name) - len(extra) != (
                entry.size
            ):
                raise RuntimeError(f"{entry.stored_from}: changed while it was zipped")
        else:
            assert old_zip is not None and entry.old_offset is not None
            old_zip.seek(entry.old_offset)
            left = entry.csize
            while left:
                chunk = old_zip.read(min(_CHUNK, left))
                if not chunk:
                    raise RuntimeError("the previous zip was truncated while it was read")
                self._write(chunk)
                left -= len(chunk)
        cextra = b""
        if entry.size > _ZIP64_LIMIT:
            cextra += struct.pack("<Q", entry.size)
        if entry.csize > _ZIP64_LIMIT:
            cextra += struct.pack("<Q", entry.csize)
        if offset > _ZIP64_LIMIT:
            cextra += struct.pack("<Q", offset)
        if cextra:
            cextra = struct.pack("<HH", 1, len(cextra)) + cextra
            version = 45
        self.central.append(
            struct.pack(
                "<4s2B5H3L5H2L",
                b"PK\x01\x02",
                version,
                3,
                version,
                flags,
                entry.method,
                self.time,
                self.date,
                entry.crc,
                0xFFFFFFFF if entry.csize > _ZIP64_LIMIT else entry.csize,
                0xFFFFFFFF if entry.size > _ZIP64_LIMIT else entry.size,
                len(entry.name),
                len(cextra),
                0,
                0,
                0,
                0o100644 << 16,
                0xFFFFFFFF if offset > _ZIP64_LIMIT else offset,
            )
            + entry.name
            + cextra
        )

    def close(self, recipe: str) -> None:
        data_len = self.pos
        comment = f"{recipe}; data {data_len} sha256 {self.digest.hexdigest()}".encode()
        central = b"".join(self.central)
        self.out.write(central)
        count, size = len(self.central), len(central)
        if count > _ZIP_COUNT_LIMIT or size > _ZIP64_LIMIT or data_len > _ZIP64_LIMIT:
            end64 = data_len + size
            self.out.write(
                struct.pack(
                    "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, data_len
                )
            )
            self.out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1))
            count, size, data_len = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
        self.out.write(
            struct.pack(
                "<4s4H2LH",
                b"PK\x05\x06",
                0,
                0,
                count,
                count,
                size,
                data_len,
                len(comment),
            )
            + comment
        )


def write_zip(
    release_dir: Path,
    zip_path: Path,
    created: str,
    *,
    previous: Path | None = None,
    jobs: int = ZIP_JOBS,
) -> dict[str, ReadDigest]:
    """Write the release as a zip: entries under ``<folder>/``, sorted, fixed time and mode.

    The ``.duckdb`` file stays out. Every entry gets the ``created`` time (not before 1980, the
    zip epoch) and mode 0644; files ending in :data:`ZIP_STORED_SUFFIXES` (Parquet, already
    zstd-compressed) are stored, the site's files deflated at :data:`ZIP_PAGE_LEVEL`, the
    others at :data:`ZIP_LEVEL`. ``jobs`` threads
    compress entries (each with its own compressor, so the bytes do not depend on ``jobs``)
    while this thread writes them in order; memory stays bounded (about 64 MiB ahead).
    The zip comment is :func:`zip_recipe` plus the size and sha256 of the entries' bytes.

    ``previous`` (the zip of the previous release) makes a rebuild cheap: an entry whose name,
    method and size equal the new file's, and whose sha256 in the previous zip's SHA256SUMS
    equals the one in the new SHA256SUMS, is copied raw (no recompression, and the new file
    is not even read). So the new SHA256SUMS must be right: the build writes the zip while
    layer 4 checks every file against it, and publishes neither when a digest is wrong. The
    result is byte-identical to a clean zip because the raw bytes are only taken from a zip
    whose recipe (zlib build, level, stored suffixes, writer format) equals this one's and
    whose bytes still hash to the sha256 its comment records; anything else (an older or
    foreign zip, a corrupt or truncated one, ``previous`` being ``zip_path`` itself) is
    silently ignored and every entry compressed.

    Returns:
        The sha256 of every file it read, by path in the release (the entries copied from
        ``previous`` were not read): layer 4 checks them against SHA256SUMS without reading
        the files again.
    """
    start_ns = time.time_ns()
    levels = (ZIP_LEVEL, ZIP_PAGE_LEVEL)
    recipe = zip_recipe(*levels)
    top = release_dir.name
    rels = sorted({*release_files(release_dir), SUMS_FILE})
    old: dict[str, _Old] = {}
    if previous is not None and previous.is_file():
        same = zip_path.exists() and previous.samefile(zip_path)
        old = {} if same else _read_old(previous, recipe)
    new_sums = _parse_sums((release_dir / SUMS_FILE).read_text("utf-8")) if old else {}
    reads: dict[str, ReadDigest] = {}

    def add(entries: list[_Entry]) -> None:
        for entry in entries:
            writer.add(entry, old_zip)
            if entry.read is not None:
                reads[entry.name.decode("utf-8").partition("/")[2]] = entry.read

    with contextlib.ExitStack() as stack:
        old_zip = stack.enter_context(previous.open("rb")) if old and previous else None
        out = stack.enter_context(zip_path.open("wb"))
        pool = stack.enter_context(ThreadPoolExecutor(max(1, jobs)))
        writer = _ZipWriter(out, _dos_time(created))
        pending: deque[tuple[int, Future[list[_Entry]]]] = deque()
        ahead = 0
        for batch, size in _batches(release_dir, rels):
            jobs_batch = []
            for rel in batch:
                candidate = old.get(rel)
                if candidate is not None and candidate.sha256 != new_sums.get(rel):
                    candidate = None
                jobs_batch.append((f"{top}/{rel}".encode(), release_dir / rel, rel, candidate))
            pending.append((size, pool.submit(_prepare_batch, jobs_batch, levels, start_ns)))
            ahead += size
            while pending and (ahead > _WINDOW or len(pending) > 8 * max(1, jobs)):
                done, task = pending.popleft()
                ahead -= done
                add(task.result())
        for _, task in pending:
            add(task.result())
        writer.close(recipe)
    return reads
