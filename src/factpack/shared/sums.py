"""SHA256SUMS: written, parsed and verified in one place (the build and the researcher side).

The format is ``sha256sum``'s: one ``<64 hex>  <path>`` line per file, sorted by path, paths
relative to the folder holding the SHA256SUMS file. A release's top-level SHA256SUMS lists
every file of the release but itself, the ``.duckdb`` (DuckDB never writes the same bytes
twice) and ``site/``; the review site has its own ``site/SHA256SUMS`` over its pages (the
site is published as a folder beside the data, not in the zip). Check either with
``sha256sum -c SHA256SUMS`` from its folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from factpack.shared.problems import FactpackError, display_path

FILE = "SHA256SUMS"
SITE_DIR = "site"
"""The review site's folder in a release: not in the top-level SHA256SUMS, it has its own."""
UNHASHED_SUFFIXES = (".duckdb",)
HASH_JOBS = 2
"""Threads that hash files (hashlib releases the GIL)."""
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
WHOLE_READ_BYTES = 1 << 22
"""Files up to this size (4 MiB) are hashed from one read of their exact size."""


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file: small files in one read, larger ones in chunks."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size <= WHOLE_READ_BYTES:
            # One allocation of the file's size: file_digest's 256 KiB buffer costs more than
            # hashing a 10 KB page.
            digest = hashlib.sha256(handle.read())
            while chunk := handle.read(1 << 20):  # it grew since
                digest.update(chunk)
            return digest.hexdigest()
        return hashlib.file_digest(handle, "sha256").hexdigest()


def listed_files(folder: Path, *, top: bool = True) -> list[str]:
    """Return the files a SHA256SUMS in ``folder`` lists (POSIX relative paths, sorted).

    Every file but SHA256SUMS itself and ``*.duckdb``; with ``top`` (a release's own
    SHA256SUMS) not ``site/`` either, which has its own.
    """
    out = []
    folders = [("", os.fspath(folder))]
    while folders:
        prefix, where = folders.pop()
        with os.scandir(where) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if not (top and rel == SITE_DIR):
                        folders.append((rel + "/", entry.path))
                elif rel != FILE and not entry.name.endswith(UNHASHED_SUFFIXES):
                    out.append(rel)
    return sorted(out)


def hash_files(folder: Path, rels: Sequence[str], jobs: int = HASH_JOBS) -> dict[str, str]:
    """Return ``{rel: sha256}`` of files under ``folder``, read on ``jobs`` threads.

    Each thread takes every ``jobs``-th file (large data files spread over the threads) in
    one task: a task per file cost more in handing work between threads than the hashing of
    a page (10k review pages and the data: 1.1-1.4 s against 0.5 s).
    """
    if jobs <= 1 or len(rels) < 2:
        return {rel: sha256_file(folder / rel) for rel in rels}
    parts = [rels[i::jobs] for i in range(jobs)]
    with ThreadPoolExecutor(jobs) as pool:
        done = pool.map(lambda part: [sha256_file(folder / rel) for rel in part], parts)
        found = {
            rel: d
            for part, digests in zip(parts, done, strict=True)
            for rel, d in zip(part, digests, strict=True)
        }
    return {rel: found[rel] for rel in rels}


def text(digests: Mapping[str, str]) -> str:
    """Return SHA256SUMS text of ``{rel: sha256}``, sorted by path."""
    return "".join(f"{digests[rel]}  {rel}\n" for rel in sorted(digests))


def write(
    folder: Path,
    *,
    top: bool = True,
    jobs: int = HASH_JOBS,
    known: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Hash every file :func:`listed_files` names and write ``folder/SHA256SUMS``.

    ``known``: ``{rel: sha256}`` the writer of those files computed from the bytes it wrote
    (the review pages: reading 4 GB of pages back cost ~12 s at 100k articles); they are
    taken as they are here, and layer 4 hashes every file itself against this list.
    """
    rels = listed_files(folder, top=top)
    given = {rel: known[rel] for rel in rels if known and rel in known}
    digests = {**hash_files(folder, [r for r in rels if r not in given], jobs), **given}
    digests = {rel: digests[rel] for rel in rels}
    (folder / FILE).write_text(text(digests), encoding="utf-8")
    return digests


def parse(data: str, where: str) -> dict[str, str]:
    """Parse SHA256SUMS text into ``{rel: sha256}``.

    Raises:
        FactpackError: a line that is not ``<sha256>  <path>``, a path leaving the folder or
            listed twice; the message names ``where`` and the line.
    """
    out: dict[str, str] = {}
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise FactpackError(f"{where}:{n}: not a '<sha256>  <path>' line; regenerate it")
        rel = match[2]
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            raise FactpackError(f"{where}:{n}: path {rel!r} leaves the folder")
        if rel in out:
            raise FactpackError(f"{where}:{n}: {rel} is listed twice")
        out[rel] = match[1].lower()
    return out


def read(path: Path) -> dict[str, str]:
    """Parse the SHA256SUMS file at ``path`` (see :func:`parse`)."""
    try:
        data = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FactpackError(f"{display_path(path)}: cannot read ({exc})") from None
    return parse(data, display_path(path))


def compare(
    listed: Mapping[str, str], actual: Mapping[str, str | None], prefix: str = ""
) -> list[str]:
    """Problems between what SHA256SUMS lists and the sha256 of the files present.

    ``actual`` maps every present file to its sha256 (None: cannot be read).
    """
    out = []
    for rel in sorted(listed):
        got = actual.get(rel)
        if rel not in actual:
            out.append(f"{prefix}{rel}: listed in {FILE} but missing")
        elif got != listed[rel]:
            out.append(f"{prefix}{rel}: sha256 differs from {FILE}; the file was changed")
    out += [f"{prefix}{rel}: not listed in {FILE}" for rel in sorted(set(actual) - set(listed))]
    return out


def verify(
    folder: Path, *, top: bool = True, jobs: int = HASH_JOBS
) -> tuple[list[str], dict[str, str]]:
    """Hash every file of ``folder`` and compare with its SHA256SUMS.

    Returns:
        One line per problem (paths relative to ``folder``), and the sha256 of every file read.
    """
    path = folder / FILE
    if not path.is_file():
        return [f"{FILE}: missing"], {}
    try:
        listed = read(path)
    except FactpackError as exc:
        return [str(exc)], {}
    digests = hash_files(folder, listed_files(folder, top=top), jobs)
    return compare(listed, digests, "" if top else f"{folder.name}/"), digests


def digests_of(entries: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """``{name: sha256}`` of in-memory bytes (small helper for tests and the zip check)."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in entries}
