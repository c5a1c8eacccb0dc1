"""Released dataset versions: find and read release directories, write and read the index.

A release directory holds ``datapackage.json`` whose resources with a ``.parquet`` path are the
tables (table name = file stem). The releases index (``releases.json``, published beside the
archives) lists one entry per version: version, date, archive, sha256, bytes, unpacked_bytes
and row counts per table.

This module is on the researcher's side: it reads releases only and never imports the build.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from factpack.shared.problems import FactpackError, display_path
from factpack.shared.sums import sha256_file

INDEX_NAME = "releases.json"
CACHE_ENV = "FACTPACK_CACHE_DIR"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class Release:
    """One release directory as its ``datapackage.json`` describes it.

    Attributes:
        path: The release directory.
        name: Package name (e.g. ``factpack-news-events``).
        version: Package version (e.g. ``0.1.0``).
        created: The ``created`` timestamp of the package ("" when absent).
        tables: Table name -> Parquet file, in descriptor order.
        primary_keys: Table name -> primary key columns (empty when undeclared).
        hydrated: True for a copy made by ``factpack hydrate`` (``<name>-<version>+text/``):
            it holds texts its user supplied; a command picks it only when it is named.
    """

    path: Path
    name: str
    version: str
    created: str
    tables: dict[str, Path]
    primary_keys: dict[str, list[str]]
    hydrated: bool = False


@dataclass(frozen=True)
class IndexEntry:
    """One version listed in a releases index."""

    name: str
    version: str
    date: str
    archive: str
    sha256: str
    bytes: int
    unpacked_bytes: int | None
    tables: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """Return the entry as written to ``releases.json``."""
        entry: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "date": self.date,
            "archive": self.archive,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }
        if self.unpacked_bytes is not None:
            entry["unpacked_bytes"] = self.unpacked_bytes
        entry["tables"] = dict(self.tables)
        return entry


def cache_dir() -> Path:
    """Return the download cache: ``$FACTPACK_CACHE_DIR`` or the user cache directory."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("factpack", appauthor=False))


def cached_releases_dir() -> Path:
    """Return where ``factpack download`` unpacks releases by default."""
    return cache_dir() / "releases"


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Return a sort key that orders ``0.10.0`` after ``0.9.1`` (numbers compare as numbers).

    >>> sorted(["0.10.0", "0.9.1", "0.9.0"], key=version_key)
    ['0.9.0', '0.9.1', '0.10.0']
    """
    parts = re.split(r"[.+-]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _inside(base: Path, relative: str) -> Path | None:
    """Return ``base/relative`` when ``relative`` is a plain relative path below ``base``."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relative or ":" in relative:
        return None
    return base / pure


def read_descriptor(path: Path) -> dict[str, Any]:
    """Return the ``datapackage.json`` of the release in directory ``path``.

    Raises:
        FactpackError: It is missing, not JSON, or has no resources list.
    """
    descriptor = path / "datapackage.json"
    where = display_path(descriptor)
    try:
        package = json.loads(descriptor.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FactpackError(
            f"{display_path(path)}: not a release (no datapackage.json); "
            "run `make dataset`, or pass a release directory or a version"
        ) from None
    except (OSError, ValueError) as error:
        raise FactpackError(f"{where}: cannot read the descriptor: {error}") from None
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        raise FactpackError(f"{where}: no resources list; is this a Data Package?")
    return package


def read_release(path: Path) -> Release:
    """Read the release in directory ``path`` from its ``datapackage.json``.

    Raises:
        FactpackError: The descriptor is missing, not JSON, or names a file outside the release.
    """
    package = read_descriptor(path)
    where = display_path(path / "datapackage.json")
    tables: dict[str, Path] = {}
    keys: dict[str, list[str]] = {}
    for resource in package["resources"]:
        rel = resource.get("path") if isinstance(resource, dict) else None
        if not isinstance(rel, str) or not rel.endswith(".parquet"):
            continue
        file = _inside(path, rel)
        if file is None:
            raise FactpackError(f"{where}: resource path {rel!r} leaves the release")
        table = PurePosixPath(rel).stem
        tables[table] = file
        schema = resource.get("schema")
        pk = schema.get("primaryKey", []) if isinstance(schema, dict) else []
        keys[table] = [pk] if isinstance(pk, str) else [str(c) for c in pk]
    return Release(
        path=path,
        name=str(package.get("name", "")),
        version=str(package.get("version", "")),
        created=str(package.get("created", "")),
        tables=tables,
        primary_keys=keys,
        hydrated=isinstance(policy := package.get("text_policy"), dict) and "hydrated" in policy,
    )


def find_releases(root: Path) -> list[Release]:
    """Return the releases directly under ``root``, oldest first (empty if there is none).

    A hydrated copy sorts just before the release it was made from, so that the newest release
    and a version looked up are the published release, never the copy beside it.
    """
    if not root.is_dir():
        return []
    found = [read_release(d) for d in sorted(root.iterdir()) if (d / "datapackage.json").is_file()]
    return sorted(found, key=lambda r: (version_key(r.version), r.name, not r.hydrated))


def enclosing_release(cwd: Path) -> Release | None:
    """Return the release whose folder is ``cwd`` or one of its parents, if any."""
    for folder in (cwd, *cwd.parents):
        if (folder / "datapackage.json").is_file():
            return read_release(folder)
    return None


CLI_HOW = "--release PATH|VERSION"
"""How the command line picks a release (the Python API says ``release=``)."""


def resolve_release(
    spec: str | Path | None = None, cwd: Path | None = None, how: str = CLI_HOW
) -> Release:
    """Find the release a command should read.

    Args:
        spec: None for the release the working directory is in, else the newest in ``dist/``,
            else the newest directly in the working directory (``factpack download --to .``),
            else the newest in the download cache; a release directory (or a directory of
            releases: the newest); or a version, looked up in the same places.
        cwd: The working directory (default: the process's).
        how: How the caller passes a release, for the error messages.

    Raises:
        FactpackError: Nothing matches.
    """
    here = cwd or Path.cwd()
    dist = here / "dist"
    places = [dist, here, cached_releases_dir()]
    inside = enclosing_release(here)
    searched = f"{display_path(dist)}/, this folder or the download cache {places[2]}"
    if spec is None:
        if inside is not None:
            return inside
        for place in places:
            found = find_releases(place)
            if found:
                return found[-1]
        raise FactpackError(
            f"no release in {searched}; run `make dataset` to build one, or "
            f"`factpack download --index URL` to fetch one, or pass {how}"
        )
    path = Path(spec)
    if path.is_file() and path.name == "datapackage.json":
        return read_release(path.parent)
    if path.is_dir():
        if (path / "datapackage.json").is_file():
            return read_release(path)
        found = find_releases(path)
        if found:
            return found[-1]
        raise FactpackError(f"{display_path(path)}: no release (datapackage.json) in it")
    text = str(spec)
    candidates = [inside] if inside is not None else []
    for place in places:
        candidates += reversed(find_releases(place))
    for release in candidates:
        if text in (release.version, f"{release.name}-{release.version}"):
            return release
    raise FactpackError(
        f"no release {text!r}: not a directory, and no such version in {searched}; "
        f"run `make dataset`, or `factpack download {text} --index URL`, or pass {how} "
        "with a release directory"
    )


def index_entry(archive: Path, release_dir: Path, index_dir: Path) -> IndexEntry:
    """Describe one release for the index: archive hash and size, row counts per table.

    Args:
        archive: The release's zip.
        release_dir: The unpacked release beside it (for the descriptor and row counts).
        index_dir: Where ``releases.json`` lives; the archive is recorded relative to it.
    """
    import pyarrow.parquet as pq

    release = read_release(release_dir)
    with zipfile.ZipFile(archive) as zf:
        unpacked = sum(info.file_size for info in zf.infolist())
    rows = {name: pq.read_metadata(file).num_rows for name, file in release.tables.items()}
    rel = os.path.relpath(archive.resolve(), index_dir.resolve())
    return IndexEntry(
        name=release.name,
        version=release.version,
        date=release.created[:10],
        archive=PurePosixPath(Path(rel)).as_posix(),
        sha256=sha256_file(archive),
        bytes=archive.stat().st_size,
        unpacked_bytes=unpacked,
        tables=rows,
    )


def render_index(entries: list[IndexEntry]) -> str:
    """Return ``releases.json`` text: newest version first, stable formatting."""
    ordered = sorted(entries, key=lambda e: (version_key(e.version), e.name), reverse=True)
    body = {"releases": [e.to_json() for e in ordered]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def update_index(dist: Path) -> Path:
    """Add or refresh every ``<name>-<version>.zip`` of ``dist`` in ``dist/releases.json``.

    Entries for versions whose archive is no longer in ``dist`` are kept: the index is the
    published history. The file is replaced atomically.

    Raises:
        FactpackError: ``dist`` holds no release archive with its directory beside it.
    """
    index = dist / INDEX_NAME
    entries = {(e.name, e.version): e for e in read_index_file(index)} if index.is_file() else {}
    added = 0
    for archive in sorted(dist.glob("*.zip")):
        release_dir = archive.with_suffix("")
        if not (release_dir / "datapackage.json").is_file():
            continue
        entry = index_entry(archive, release_dir, dist)
        entries[(entry.name, entry.version)] = entry
        added += 1
    if not added:
        raise FactpackError(
            f"{display_path(dist)}: no <name>-<version>.zip beside its release directory; "
            "run `make dataset` first"
        )
    text = render_index(list(entries.values()))
    fd, tmp = tempfile.mkstemp(prefix=".releases-", suffix=".json", dir=dist)
    os.fchmod(fd, 0o644)  # published for others to read (mkstemp creates it 0600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, index)
    return index


def parse_index(text: str | bytes, source: str) -> list[IndexEntry]:
    """Parse and check a releases index.

    Raises:
        FactpackError: Not JSON, or an entry lacks a field or has an unsafe value.
    """
    try:
        body = json.loads(text)
    except ValueError as error:
        raise FactpackError(f"{source}: not a releases index (invalid JSON: {error})") from None
    items = body.get("releases") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise FactpackError(f"{source}: not a releases index (no 'releases' list)")
    entries = []
    for n, item in enumerate(items, 1):
        try:
            entry = IndexEntry(
                name=str(item["name"]),
                version=str(item["version"]),
                date=str(item.get("date", "")),
                archive=str(item["archive"]),
                sha256=str(item["sha256"]).lower(),
                bytes=int(item["bytes"]),
                unpacked_bytes=(
                    int(item["unpacked_bytes"]) if item.get("unpacked_bytes") is not None else None
                ),
                tables={str(k): int(v) for k, v in dict(item.get("tables", {})).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise FactpackError(f"{source}: release #{n} is malformed ({error!r})") from None
        if not (_SAFE_NAME.match(entry.name) and _SAFE_NAME.match(entry.version)):
            raise FactpackError(f"{source}: release #{n} has an unsafe name or version")
        if not _HEX64.match(entry.sha256):
            raise FactpackError(f"{source}: release #{n} sha256 is not 64 hex digits")
        entries.append(entry)
    return entries


def read_index_file(path: Path) -> list[IndexEntry]:
    """Read a local releases index."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FactpackError(f"{display_path(path)}: cannot read the index ({error})") from None
    return parse_index(text, display_path(path))


def load_local_index(location: str | None, cwd: Path | None = None) -> list[IndexEntry]:
    """Read an index from a local path (default ``dist/releases.json``); an http(s) URL is
    :func:`factpack.researcher.download.load_index`'s (this module never imports it)."""
    if location is None:
        path = (cwd or Path.cwd()) / "dist" / INDEX_NAME
        if not path.is_file():
            raise FactpackError(
                f"{display_path(path)}: no releases index; pass --index URL or run `make release`"
            )
        return read_index_file(path)
    return read_index_file(Path(location))


def index_table(entries: list[IndexEntry]) -> Any:
    """Return the index as a ``pyarrow.Table``: version, date, bytes and each table's rows.

    A table a release does not have is null in its row; tables appear in the order first met.
    """
    import pyarrow as pa

    tables = list(dict.fromkeys(t for e in entries for t in e.tables))
    columns: dict[str, list[object]] = {
        "version": [e.version for e in entries],
        "date": [e.date for e in entries],
        "bytes": [e.bytes for e in entries],
    }
    for t in tables:
        columns[t] = [e.tables.get(t) for e in entries]
    return pa.table(columns)
