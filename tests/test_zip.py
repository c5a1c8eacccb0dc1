"""The release zip: deterministic bytes, threads, raw reuse of a previous zip, and SHA256SUMS."""

from __future__ import annotations

import functools
import hashlib
import os
import random
import shutil
import subprocess
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from factpack.pipeline import package

TOP = "demo-1.0"
CREATED = "2024-05-06T07:08:09Z"


def _csv(rows: int, seed: int = 0) -> bytes:
    rnd = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "said", "the", "minister", "on", "Tuesday"]
    return "".join(
        f"r{i},{' '.join(rnd.choice(words) for _ in range(12))},{rnd.randint(0, 9999)}\n"
        for i in range(rows)
    ).encode()


def _files() -> dict[str, bytes]:
    return dict(_files_once())


@functools.cache
def _files_once() -> dict[str, bytes]:
    rnd = random.Random(7)
    files = {
        "README.md": b"# demo\n" * 50,
        "data/a.csv": _csv(30_000),  # > 1 MiB: several read pieces, its own batch
        "data/a.parquet": rnd.randbytes(300_000),
        "data/b.csv": _csv(200, seed=1),
        "datapackage.json": b'{"name": "demo"}\n',
        "demo.duckdb": b"never zipped",
    }
    for i in range(40):
        files[f"site/articles/{i:03d}.html"] = f"<p>page {i}</p>\n".encode() * (i + 1)
    return files


def _release(root: Path, files: dict[str, bytes]) -> Path:
    rel = root / TOP
    if rel.exists():
        shutil.rmtree(rel)
    for name, data in files.items():
        (rel / name).parent.mkdir(parents=True, exist_ok=True)
        (rel / name).write_bytes(data)
    (rel / package.SUMS_FILE).write_text(package.sha256sums_text(rel))
    return rel


def _zip(rel: Path, out: Path, **kwargs: Any) -> bytes:
    package.write_zip(rel, out, CREATED, **kwargs)
    return out.read_bytes()


@pytest.fixture
def compressions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count the deflate compressors write_zip makes (one per compressed entry)."""
    package.zip_recipe()  # the probe is cached before counting starts
    made: list[int] = []
    real: Callable[..., Any] = zlib.compressobj

    def counting(*args: Any) -> Any:
        made.append(1)
        return real(*args)

    monkeypatch.setattr(zlib, "compressobj", counting)
    yield made


def test_clean_zip_holds_every_file_sorted_with_fixed_time_mode_and_methods(
    tmp_path: Path,
) -> None:
    files = _files()
    rel = _release(tmp_path / "r", files)
    out = tmp_path / "x.zip"
    _zip(rel, out)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        expected = sorted([n for n in files if not n.endswith(".duckdb")] + [package.SUMS_FILE])
        assert names == [f"{TOP}/{n}" for n in expected]
        for info in zf.infolist():
            rel_name = info.filename.removeprefix(f"{TOP}/")
            assert zf.read(info) == (rel / rel_name).read_bytes()
            assert info.date_time == (2024, 5, 6, 7, 8, 8)
            assert info.external_attr >> 16 == 0o100644
            assert info.create_system == 3
            stored = rel_name.endswith(".parquet")
            assert info.compress_type == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        assert zf.comment.decode().startswith(package.zip_recipe() + "; data ")


def test_unzip_reads_the_zip(tmp_path: Path) -> None:
    if shutil.which("unzip") is None:
        pytest.skip("no unzip on this machine")
    rel = _release(tmp_path / "r", _files())
    _zip(rel, tmp_path / "x.zip")
    done = subprocess.run(["unzip", "-tq", str(tmp_path / "x.zip")], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zip_bytes_are_the_same_across_builds_and_thread_counts(tmp_path: Path) -> None:
    rel = _release(tmp_path / "r", _files())
    first = _zip(rel, tmp_path / "1.zip", jobs=1)
    assert _zip(rel, tmp_path / "2.zip", jobs=2) == first
    assert _zip(rel, tmp_path / "3.zip", jobs=3) == first
    again = _release(tmp_path / "again", _files())
    assert _zip(again, tmp_path / "4.zip") == first


def test_dates_before_1980_become_the_zip_epoch(tmp_path: Path) -> None:
    rel = _release(tmp_path / "r", {"a.txt": b"a"})
    package.write_zip(rel, tmp_path / "x.zip", "1970-01-01T00:00:00Z")
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def _edited(files: dict[str, bytes]) -> dict[str, bytes]:
    new = dict(files)
    new["data/a.csv"] = files["data/a.csv"].replace(b"r20000,", b"r20000,edited ", 1)
    new["site/articles/005.html"] = b"<p>changed</p>\n"
    del new["site/articles/017.html"]
    new["site/articles/999.html"] = b"<p>added</p>\n"
    return new


def test_rebuild_with_previous_copies_unchanged_entries_and_equals_a_clean_zip(
    tmp_path: Path, compressions: list[int]
) -> None:
    old = _release(tmp_path / "old", _files())
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    new = _release(tmp_path / "new", _edited(_files()))
    compressions.clear()
    clean = _zip(new, tmp_path / "clean.zip")
    all_deflated = len(compressions)
    compressions.clear()
    assert _zip(new, tmp_path / "inc.zip", previous=previous) == clean
    # a.csv, 005 (changed), 999 (added) and SHA256SUMS (changed) are compressed; no others.
    assert len(compressions) == 4 < all_deflated
    # again from the incremental zip: only SHA256SUMS (not listed in itself) is compressed
    compressions.clear()
    assert _zip(new, tmp_path / "inc2.zip", previous=tmp_path / "inc.zip") == clean
    assert len(compressions) == 1


def test_a_rebuild_reads_only_the_files_whose_sha256_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _release(tmp_path / "old", _files())
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    new = _release(tmp_path / "new", _edited(_files()))
    read: list[str] = []
    real = package._pieces

    def pieces(src: Any) -> Iterator[bytes]:
        read.append(Path(src.name).relative_to(new).as_posix())
        return real(src)

    clean = _zip(new, tmp_path / "clean.zip")
    monkeypatch.setattr(package, "_pieces", pieces)
    assert _zip(new, tmp_path / "inc.zip", previous=previous) == clean
    changed = ["SHA256SUMS", "data/a.csv", "site/articles/005.html", "site/articles/999.html"]
    assert sorted(set(read)) == changed


def test_the_zip_gives_the_sha256_of_every_file_it_read(tmp_path: Path) -> None:
    """Layer 4 checks SHA256SUMS with these instead of reading the files again."""
    old = _release(tmp_path / "old", _files())
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    then = time.time_ns() - 60_000_000_000
    os.utime(old / "data" / "a.csv", ns=(then, then))
    reads = package.write_zip(old, tmp_path / "again.zip", CREATED)
    sums = package.sha256sums_text(old).splitlines()
    listed = {rel: d for d, rel in (line.split("  ") for line in sums)}
    listed["SHA256SUMS"] = package.sha256_file(old / "SHA256SUMS")
    assert {rel: r.sha256 for rel, r in reads.items()} == listed
    # Only a file older than the digest cache's margin may enter it, under its own stat.
    assert reads["data/a.csv"].cache_key == package.stat_key((old / "data" / "a.csv").stat())
    assert reads["site/articles/005.html"].cache_key is None
    new = _release(tmp_path / "new", _edited(_files()))
    reads = package.write_zip(new, tmp_path / "inc.zip", CREATED, previous=previous)
    # The entries copied from the previous zip were not read.
    changed = ["SHA256SUMS", "data/a.csv", "site/articles/005.html", "site/articles/999.html"]
    assert sorted(reads) == changed
    assert reads["data/a.csv"].sha256 == package.sha256_file(new / "data" / "a.csv")


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x55
    path.write_bytes(bytes(data))


def _flip_in_entry(path: Path, name: str = f"{TOP}/site/articles/020.html") -> None:
    """Flip a byte in the middle of the compressed bytes of an entry that would be reused."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    _flip(path, info.header_offset + 30 + len(name) + info.compress_size // 2)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_flip_in_entry, id="byte-in-reused-entry-data"),
        pytest.param(lambda p: _flip(p, p.stat().st_size // 3), id="byte-in-the-middle"),
        pytest.param(lambda p: _flip(p, 12), id="byte-in-first-local-header"),
        pytest.param(lambda p: _flip(p, p.stat().st_size - 30), id="byte-in-comment"),
        pytest.param(
            lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), id="truncated"
        ),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-1]), id="last-byte-cut"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.write_bytes(b"PK\x05\x06" + b"\0" * 18), id="empty-zip"),
        pytest.param(lambda p: p.unlink(), id="missing"),
    ],
)
def test_a_damaged_previous_zip_is_ignored_and_never_gives_a_wrong_zip(
    tmp_path: Path, compressions: list[int], damage: Callable[[Path], None]
) -> None:
    old = _release(tmp_path / "old", _files())
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    damage(previous)
    new = _release(tmp_path / "new", _edited(_files()))
    clean = _zip(new, tmp_path / "clean.zip")
    compressions.clear()
    assert _zip(new, tmp_path / "inc.zip", previous=previous) == clean
    with zipfile.ZipFile(tmp_path / "inc.zip") as zf:
        assert zf.testzip() is None


def test_a_corrupt_central_directory_does_not_matter(tmp_path: Path) -> None:
    """Entries are found from the local headers (hashed), not the central directory."""
    old = _release(tmp_path / "old", _files())
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    data = bytearray(previous.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 16 : central + 20] = b"\0\0\0\0"  # the first entry's CRC-32
    previous.write_bytes(bytes(data))
    new = _release(tmp_path / "new", _edited(_files()))
    assert _zip(new, tmp_path / "inc.zip", previous=previous) == _zip(new, tmp_path / "clean.zip")


def test_a_previous_zip_made_with_another_recipe_is_not_reused(
    tmp_path: Path, compressions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _release(tmp_path / "old", _files())
    previous = tmp_path / "old.zip"
    monkeypatch.setattr(package, "ZIP_LEVEL", 1)
    _zip(old, previous)
    monkeypatch.setattr(package, "ZIP_LEVEL", 5)
    clean = _zip(old, tmp_path / "clean.zip")
    compressions.clear()
    assert _zip(old, tmp_path / "inc.zip", previous=previous) == clean
    assert len(compressions) > 0


def test_the_recipe_names_the_zlib_and_the_level() -> None:
    recipe = package.zip_recipe(5, 3)
    assert f"zlib {zlib.ZLIB_RUNTIME_VERSION}" in recipe and "level 5" in recipe
    assert "site/ level 3" in recipe
    assert package.zip_recipe(5) != package.zip_recipe(6)
    assert package.zip_recipe(5, 3) != package.zip_recipe(5, 1)


def _deflated(data: bytes, level: int) -> int:
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    return len(
        b"".join(comp.compress(data[i : i + (1 << 20)]) for i in range(0, len(data), 1 << 20))
        + comp.flush()
    )


def test_the_site_is_deflated_at_the_page_level_and_the_data_at_the_zip_level(
    tmp_path: Path,
) -> None:
    files = _files()
    page = "<li>a row of the article, its columns and a highlighted quote</li>\n" * 400
    files["site/articles/big.html"] = page.encode()
    rel = _release(tmp_path / "r", files)
    _zip(rel, tmp_path / "out.zip")
    assert (package.ZIP_LEVEL, package.ZIP_PAGE_LEVEL) == (5, 3)
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        for name, want in (("data/a.csv", 5), ("site/articles/big.html", 3)):
            data = files[name]
            assert _deflated(data, want) != _deflated(data, 8 - want)  # the levels differ here
            assert zf.getinfo(f"{TOP}/{name}").compress_size == _deflated(data, want), name


def test_a_foreign_zip_of_the_same_files_is_not_reused(
    tmp_path: Path, compressions: list[int]
) -> None:
    rel = _release(tmp_path / "r", _files())
    previous = tmp_path / "foreign.zip"
    with zipfile.ZipFile(previous, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(rel.rglob("*")):
            if path.is_file():
                zf.write(path, f"{TOP}/{path.relative_to(rel).as_posix()}")
    clean = _zip(rel, tmp_path / "clean.zip")
    compressions.clear()
    assert _zip(rel, tmp_path / "inc.zip", previous=previous) == clean
    assert len(compressions) > 0


def _same_crc(data: bytes, at: int, want: int) -> bytes:
    """Return ``data`` with the 4 bytes at ``at`` changed so that its CRC-32 is ``want``."""
    zeros = bytes(len(data))
    base = zlib.crc32(zeros)

    def effect(delta: int) -> int:
        probe = bytearray(zeros)
        probe[at : at + 4] = delta.to_bytes(4, "little")
        return zlib.crc32(bytes(probe)) ^ base

    # CRC is affine over GF(2): solve effect(delta) == crc(data) ^ want by elimination.
    rows = [(effect(1 << bit), 1 << bit) for bit in range(32)]
    target, delta = zlib.crc32(data) ^ want, 0
    for bit in range(32):
        pivot = next(i for i in range(bit, 32) if rows[i][0] >> bit & 1)
        rows[bit], rows[pivot] = rows[pivot], rows[bit]
        for i in range(32):
            if i != bit and rows[i][0] >> bit & 1:
                rows[i] = (rows[i][0] ^ rows[bit][0], rows[i][1] ^ rows[bit][1])
    for bit in range(32):
        if target >> bit & 1:
            delta ^= rows[bit][1]
    out = bytearray(data)
    for i, byte in enumerate(delta.to_bytes(4, "little")):
        out[at + i] ^= byte
    return bytes(out)


def test_same_name_size_and_crc_but_other_content_is_recompressed(tmp_path: Path) -> None:
    """CRC-32 alone would reuse the old bytes; the sha256 in SHA256SUMS tells them apart."""
    files = _files()
    old = _release(tmp_path / "old", files)
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    page = files["site/articles/009.html"]
    forged = _same_crc(b"<p>FORGED</p>\n" + page[14:], 20, zlib.crc32(page))
    assert len(forged) == len(page) and zlib.crc32(forged) == zlib.crc32(page) and forged != page
    new = _release(tmp_path / "new", {**files, "site/articles/009.html": forged})
    out = tmp_path / "inc.zip"
    assert _zip(new, out, previous=previous) == _zip(new, tmp_path / "clean.zip")
    with zipfile.ZipFile(out) as zf:
        assert zf.read(f"{TOP}/site/articles/009.html") == forged


def test_previous_may_be_the_zip_being_written(tmp_path: Path) -> None:
    old = _release(tmp_path / "old", _files())
    out = tmp_path / "x.zip"
    _zip(old, out)
    new = _release(tmp_path / "new", _edited(_files()))
    assert _zip(new, out, previous=out) == _zip(new, tmp_path / "clean.zip")


def test_zip64_fields_and_reuse_through_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limits (lowered here) sizes, offsets and the entry count go to Zip64 fields."""
    monkeypatch.setattr(package, "_ZIP64_LIMIT", 1000)
    monkeypatch.setattr(package, "_ZIP_COUNT_LIMIT", 5)
    files = _files()
    old = _release(tmp_path / "old", files)
    previous = tmp_path / "old.zip"
    _zip(old, previous)
    with zipfile.ZipFile(previous) as zf:
        assert zf.testzip() is None
        assert len(zf.infolist()) > 5
        assert zf.read(f"{TOP}/data/a.csv") == files["data/a.csv"]
    if shutil.which("unzip"):
        done = subprocess.run(["unzip", "-tq", str(previous)], capture_output=True)
        assert done.returncode == 0, done.stdout + done.stderr
    new = _release(tmp_path / "new", _edited(files))
    assert _zip(new, tmp_path / "inc.zip", previous=previous) == _zip(new, tmp_path / "clean.zip")


def test_file_digests_and_sha256sums_on_threads(tmp_path: Path) -> None:
    files = _files()
    rel = _release(tmp_path / "r", files)
    rels = package.release_files(rel)
    one = package.file_digests(rel, rels, jobs=1)
    assert one == package.file_digests(rel, rels, jobs=2)
    assert one["data/a.csv"] == hashlib.sha256(files["data/a.csv"]).hexdigest()
    text = package.sha256sums_text(rel, jobs=2)
    assert text == package.sha256sums_text(rel, jobs=1)
    assert text.splitlines()[0] == f"{hashlib.sha256(files['README.md']).hexdigest()}  README.md"
    assert "duckdb" not in text


def test_a_previous_release_of_another_version_is_reused(
    tmp_path: Path, compressions: list[int]
) -> None:
    old = _release(tmp_path / "old", _files()).rename(tmp_path / "old" / "demo-0.9")
    previous = tmp_path / "demo-0.9.zip"
    _zip(old, previous)
    new = _release(tmp_path / "new", _edited(_files()))
    clean = _zip(new, tmp_path / "clean.zip")
    compressions.clear()
    assert _zip(new, tmp_path / "inc.zip", previous=previous) == clean
    assert len(compressions) == 4


def test_a_flipped_byte_anywhere_in_the_previous_zip_never_gives_a_wrong_zip(
    tmp_path: Path,
) -> None:
    files = {f"site/{i}.html": f"<p>{i}</p>\n".encode() * 40 for i in range(6)}
    files["data/t.parquet"] = b"PAR1" * 50
    old = _release(tmp_path / "old", files)
    good = tmp_path / "good.zip"
    _zip(old, good)
    new = _release(tmp_path / "new", {**files, "site/9.html": b"<p>new</p>\n"})
    clean = _zip(new, tmp_path / "clean.zip")
    data = good.read_bytes()
    previous = tmp_path / "old.zip"
    for at in range(0, len(data), 7):
        previous.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
        assert _zip(new, tmp_path / "inc.zip", previous=previous) == clean, at
