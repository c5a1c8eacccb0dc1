"""Download a released version: read the index, fetch the archive, verify, unpack safely.

Fetching and caching are pooch's (the archive is cached under ``cache_dir()/archives`` by its
sha256 and reused while it still matches); this module adds what a dataset needs on top:
only http(s), a size cap from the index, a member-by-member check of the zip before anything
is written, a check of every unpacked file against the release's own ``SHA256SUMS`` and
``datapackage.json``, and an unpack into a temporary directory beside the target that is
renamed into place only when everything matched. Nothing downloaded is executed or imported.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlsplit

from factpack.researcher.releases import (
    IndexEntry,
    cache_dir,
    cached_releases_dir,
    load_local_index,
    parse_index,
    version_key,
)
from factpack.shared import sums
from factpack.shared.problems import FactpackError, display_path
from factpack.shared.sums import sha256_file

SUMS_NAME = sums.FILE
INDEX_LIMIT = 16 * 1024 * 1024
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Downloaded:
    """The outcome of a download.

    Attributes:
        path: The verified release directory.
        entry: The index entry it was downloaded for.
        archive: The cached archive.
        reused: True when an already verified release directory was kept as it was.
        archive_reused: True when the cached archive matched the index (nothing fetched).
    """

    path: Path
    entry: IndexEntry
    archive: Path
    reused: bool
    archive_reused: bool = False


def check_url(url: str) -> None:
    """Refuse anything but an http(s) URL with a host.

    Raises:
        FactpackError: Another scheme (file://, ftp://, a bare path, ...).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise FactpackError(
            f"{url}: only http:// and https:// URLs are accepted; "
            "serve the directory over HTTP (e.g. python -m http.server) to use a local release"
        )


class _CappedWriter:
    """A file-like sink that hashes what it receives and refuses more than ``limit`` bytes."""

    def __init__(self, handle: Any, limit: int | None, label: str) -> None:
        self.handle = handle
        self.limit = limit
        self.label = label
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise FactpackError(
                f"{self.label}: the server sent more than the {self.limit} bytes declared; "
                "refusing it (nothing was kept)"
            )
        self.digest.update(chunk)
        return int(self.handle.write(chunk))

    def flush(self) -> None:
        self.handle.flush()


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's INFO log lines; the CLI prints its own."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def fetch_bytes(url: str, limit: int = INDEX_LIMIT) -> bytes:
    """Fetch a small file (the index) over http(s) with pooch's downloader, into memory."""
    import pooch
    import requests

    check_url(url)
    sink = _CappedWriter(io.BytesIO(), limit, url)
    try:
        pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT_SECONDS)(url, sink, None)
    except requests.exceptions.RequestException as error:
        raise FactpackError(f"{url}: cannot fetch ({error})") from None
    return bytes(sink.handle.getvalue())


def fetch_index(url: str) -> list[IndexEntry]:
    """Fetch and parse a releases index from an http(s) URL."""
    return parse_index(fetch_bytes(url), url)


def load_index(location: str | None, cwd: Path | None = None) -> list[IndexEntry]:
    """Read an index from an http(s) URL or a local path (default ``dist/releases.json``)."""
    if location is not None and "://" in location:
        return fetch_index(location)
    return load_local_index(location, cwd)


def choose(entries: list[IndexEntry], version: str | None, source: str) -> IndexEntry:
    """Return the entry for ``version`` (default: the newest).

    Raises:
        FactpackError: The index is empty or has no such version.
    """
    if not entries:
        raise FactpackError(f"{source}: the index lists no release")
    if version is None:
        return max(entries, key=lambda e: (version_key(e.version), e.name))
    for entry in entries:
        if version in (entry.version, f"{entry.name}-{entry.version}"):
            return entry
    known = ", ".join(sorted((e.version for e in entries), key=version_key))
    raise FactpackError(f"{source}: no version {version!r} (the index lists {known})")


def fetch_archive(
    url: str, entry: IndexEntry, progress: bool = False, retries: int = 2
) -> tuple[Path, bool]:
    """Fetch the archive into the cache with pooch, or reuse a cached copy with the same sha256.

    Returns:
        The cached archive and whether it was already there.

    Raises:
        FactpackError: Fetch failed, the server sent more than declared, or the sha256 differs
            from the index (the message names the file and both hashes; nothing is kept).
    """
    import pooch
    import requests

    check_url(url)
    fname = f"{entry.name}-{entry.version}.zip"
    where = cache_dir() / "archives"
    cached = where / fname
    reused = cached.is_file() and sha256_file(cached) == entry.sha256
    last: list[_CappedWriter] = []

    def downloader(link: str, output: str, pup: Any, check_only: bool = False) -> Any:
        http = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_SECONDS)
        if check_only:
            return http(link, output, pup, check_only=True)
        with open(output, "w+b") as handle:
            sink = _CappedWriter(handle, entry.bytes, fname)
            last.append(sink)
            return http(link, sink, pup)

    store = pooch.create(
        path=where,
        base_url="",
        registry={fname: f"sha256:{entry.sha256}"},
        urls={fname: url},
        retry_if_failed=retries,
    )
    try:
        with _quiet_pooch():
            fetched = Path(store.fetch(fname, downloader=downloader))
        fetched.chmod(0o644)  # pooch moves a 0600 temporary file into place
        return fetched, reused
    except requests.exceptions.RequestException as error:
        raise FactpackError(f"{url}: download failed ({error})") from None
    except OSError as error:
        raise FactpackError(f"{where}: cannot write the download cache ({error})") from None
    except ValueError:
        got = last[-1].digest.hexdigest() if last else "unknown"
        raise FactpackError(
            f"{fname}: sha256 mismatch: the index declares {entry.sha256}, "
            f"the downloaded file has {got}; nothing was kept (re-run, or report a broken release)"
        ) from None


def _member_problem(info: zipfile.ZipInfo, top: str) -> str | None:
    """Return why a zip member must not be unpacked, or None when it is a plain file/dir."""
    name = info.filename
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name:
        return "absolute or non-portable path"
    parts = PurePosixPath(name).parts
    if ".." in parts or "." in parts:
        return "path leaves the release ('..')"
    if parts[0] != top:
        return f"outside the top folder {top}/"
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "a link or device file, not a plain file"
    if info.flag_bits & 0x1:
        return "encrypted"
    if name.lower().endswith(".duckdb"):
        return "a DuckDB file (a release never zips or hashes one, so it cannot be verified)"
    return None


def check_members(archive: Path, entry: IndexEntry) -> list[zipfile.ZipInfo]:
    """Check every member of the archive before anything is written.

    Raises:
        FactpackError: A member is absolute, leaves the top folder, is a link or device,
            appears twice, or the members add up to more than the index declares.
    """
    top = f"{entry.name}-{entry.version}"
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as error:
        raise FactpackError(f"{archive.name}: not a readable zip ({error})") from None
    seen: set[str] = set()
    for info in infos:
        why = _member_problem(info, top)
        if why:
            raise FactpackError(f"{archive.name}: member {info.filename!r} refused: {why}")
        key = info.filename.rstrip("/")
        if key in seen:
            raise FactpackError(f"{archive.name}: member {info.filename!r} appears twice")
        seen.add(key)
    total = sum(i.file_size for i in infos)
    if entry.unpacked_bytes is not None and total > entry.unpacked_bytes:
        raise FactpackError(
            f"{archive.name}: members add up to {total} bytes, more than the "
            f"{entry.unpacked_bytes} the index declares; refusing to unpack"
        )
    return infos


def _declared_hashes(release: Path) -> dict[str, tuple[str | None, int | None]]:
    """Return path -> (sha256 hex or None, bytes or None) declared by ``datapackage.json``."""
    try:
        package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FactpackError(f"{release.name}/datapackage.json: cannot read ({error})") from None
    declared: dict[str, tuple[str | None, int | None]] = {}
    for resource in package.get("resources", []) if isinstance(package, dict) else []:
        if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
            continue
        text = str(resource.get("hash", ""))
        digest = text.split(":", 1)[1] if text.startswith("sha256:") else None
        size = resource.get("bytes")
        declared[resource["path"]] = (digest, size if isinstance(size, int) else None)
    return declared


def verify_release(release: Path) -> None:
    """Check every file of an unpacked release against its ``SHA256SUMS`` and datapackage.json.

    Every listed file must exist with that sha256; every other file (but ``SHA256SUMS`` and
    the ``.duckdb``, which releases do not hash) must be listed; a resource's declared
    sha256 ``hash`` and ``bytes`` must match.

    Raises:
        FactpackError: The first mismatch, naming the file and both hashes.
    """
    sums_path = release / SUMS_NAME
    if not sums_path.is_file():
        raise FactpackError(f"{release.name}: no {SUMS_NAME}; cannot verify the release")
    listed = sums.read(sums_path)
    for rel, expected in listed.items():
        file = release / PurePosixPath(rel)
        if not file.is_file() or file.is_symlink():
            raise FactpackError(f"{release.name}/{rel}: listed in {SUMS_NAME} but missing")
        actual = sha256_file(file)
        if actual != expected:
            raise FactpackError(
                f"{release.name}/{rel}: sha256 mismatch: {SUMS_NAME} says {expected}, "
                f"the file has {actual}"
            )
    for file in sorted(release.rglob("*")):
        rel = file.relative_to(release).as_posix()
        if file.is_dir() or rel == SUMS_NAME or file.suffix == ".duckdb":
            continue
        if rel not in listed:
            raise FactpackError(f"{release.name}/{rel}: not listed in {SUMS_NAME}")
    for rel, (digest, size) in _declared_hashes(release).items():
        if rel not in listed:
            raise FactpackError(f"{release.name}/{rel}: a resource not listed in {SUMS_NAME}")
        if digest is not None and digest.lower() != listed[rel]:
            raise FactpackError(
                f"{release.name}/{rel}: sha256 mismatch: datapackage.json says {digest}, "
                f"the file has {listed[rel]}"
            )
        if size is not None and size != (release / rel).stat().st_size:
            raise FactpackError(
                f"{release.name}/{rel}: datapackage.json says {size} bytes, "
                f"the file has {(release / rel).stat().st_size}"
            )


def _extract(archive: Path, infos: list[zipfile.ZipInfo], into: Path) -> None:
    """Write the checked members under ``into``, never more bytes than each declares."""
    with zipfile.ZipFile(archive) as zf:
        for info in infos:
            target = into / PurePosixPath(info.filename)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(target, "xb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size:
                        raise FactpackError(
                            f"{archive.name}: member {info.filename!r} is bigger than declared"
                        )
                    dst.write(chunk)


def _matches_existing(final: Path, archive: Path, top: str) -> bool:
    """True when ``final`` holds exactly this archive's release, verified."""
    with zipfile.ZipFile(archive) as zf:
        try:
            listed = zf.read(f"{top}/{SUMS_NAME}")
        except KeyError:
            return False
    if (final / SUMS_NAME).read_bytes() != listed:
        return False
    verify_release(final)
    return True


def unpack(archive: Path, entry: IndexEntry, dest: Path) -> tuple[Path, bool]:
    """Unpack a verified archive to ``dest/<name>-<version>`` atomically, then verify it.

    The members are checked first, unpacked into a temporary directory beside the target,
    verified against ``SHA256SUMS`` and datapackage.json, and only then renamed into place.
    On any failure the temporary directory is removed (and ``dest`` too if this created it).

    Returns:
        The release directory and whether an existing verified copy was reused.

    Raises:
        FactpackError: A refused member, a mismatched file, or a different release already
            at the target.
    """
    top = f"{entry.name}-{entry.version}"
    final = dest / top
    infos = check_members(archive, entry)
    if final.exists():
        if (final / SUMS_NAME).is_file() and _matches_existing(final, archive, top):
            return final, True
        raise FactpackError(
            f"{display_path(final)}: already exists and is not this release; "
            "remove it or pick another --to"
        )
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top}-", suffix=".part", dir=dest))
    try:
        _extract(archive, infos, tmp)
        verify_release(tmp / top)
        os.rename(tmp / top, final)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        if isinstance(error, OSError | zipfile.BadZipFile):
            raise FactpackError(
                f"{display_path(final)}: cannot unpack {archive.name} ({error}); nothing was kept"
            ) from None
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return final, False


def archive_url(index_url: str, entry: IndexEntry) -> str:
    """Resolve the entry's archive (URL or path relative to the index) to an http(s) URL."""
    url = urljoin(index_url, entry.archive)
    check_url(url)
    return url


def download(
    index_url: str,
    version: str | None = None,
    to: Path | None = None,
    progress: bool = False,
    retries: int = 2,
) -> Downloaded:
    """Download, verify and unpack a release listed in an http(s) releases index.

    Args:
        index_url: The ``releases.json`` URL.
        version: Version to fetch (default: the newest in the index).
        to: Directory to unpack into (default: the download cache's releases directory).
        progress: Show a progress bar (tqdm) while fetching.
        retries: How many times pooch retries a failed fetch.

    Raises:
        FactpackError: Any fetch, size, hash or unpacking problem; nothing half-written is left.
    """
    check_url(index_url)
    entry = choose(fetch_index(index_url), version, index_url)
    url = archive_url(index_url, entry)
    archive, cached = fetch_archive(url, entry, progress=progress, retries=retries)
    path, reused = unpack(archive, entry, to if to is not None else cached_releases_dir())
    return Downloaded(path=path, entry=entry, archive=archive, reused=reused, archive_reused=cached)
