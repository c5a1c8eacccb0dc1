"""SHA256SUMS digests: threads and the (device, inode, size, mtime) digest cache."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from factpack.pipeline import package

OLD = 30  # seconds: files this old are trusted by the cache


def _write(path: Path, data: bytes, age: float | None = OLD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age is not None:
        when = time.time_ns() - int(age * 1e9)
        os.utime(path, ns=(when, when))


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files file_digests actually reads."""
    seen: list[Path] = []
    real: Callable[[Path], str] = package.sha256_file

    def counting(path: Path) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(package, "sha256_file", counting)
    return seen


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_threads_give_the_same_digests(tmp_path: Path) -> None:
    rels = [f"site/{i}.html" for i in range(50)]
    for i, rel in enumerate(rels):
        _write(tmp_path / rel, b"x" * i)
    one = package.file_digests(tmp_path, rels, jobs=1)
    assert one == package.file_digests(tmp_path, rels, jobs=2)
    assert one["site/7.html"] == _sha(b"x" * 7)


def test_unchanged_old_files_are_not_read_again(tmp_path: Path, hashed: list[Path]) -> None:
    cache = tmp_path / "build" / "digests"
    _write(tmp_path / "r" / "a.html", b"alpha")
    _write(tmp_path / "r" / "b.html", b"beta")
    first = package.file_digests(tmp_path / "r", ["a.html", "b.html"], cache=cache)
    assert first == {"a.html": _sha(b"alpha"), "b.html": _sha(b"beta")}
    assert len(hashed) == 2
    hashed.clear()
    assert package.file_digests(tmp_path / "r", ["a.html", "b.html"], cache=cache) == first
    assert hashed == []


def test_a_hard_link_elsewhere_keeps_its_digest(tmp_path: Path, hashed: list[Path]) -> None:
    cache = tmp_path / "digests"
    _write(tmp_path / "one" / "p.html", b"page")
    package.file_digests(tmp_path / "one", ["p.html"], cache=cache)
    (tmp_path / "two").mkdir()
    os.link(tmp_path / "one" / "p.html", tmp_path / "two" / "p.html")
    hashed.clear()
    assert package.file_digests(tmp_path / "two", ["p.html"], cache=cache) == {
        "p.html": _sha(b"page")
    }
    assert hashed == []


def test_a_new_file_is_not_trusted_so_a_rewrite_in_the_same_tick_is_seen(
    tmp_path: Path,
) -> None:
    """Rewritten in place, same size, same mtime (as within one mtime tick): new digest."""
    cache = tmp_path / "digests"
    page = tmp_path / "r" / "p.html"
    _write(page, b"first", age=None)
    before = page.stat()
    assert package.file_digests(page.parent, ["p.html"], cache=cache)["p.html"] == _sha(b"first")
    with page.open("r+b") as fh:
        fh.write(b"FIRST")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert page.stat().st_ino == before.st_ino and page.stat().st_mtime_ns == before.st_mtime_ns
    assert package.file_digests(page.parent, ["p.html"], cache=cache)["p.html"] == _sha(b"FIRST")


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    cache = tmp_path / "digests"
    page = tmp_path / "r" / "p.html"
    _write(page, b"first")
    package.file_digests(page.parent, ["p.html"], cache=cache)
    with page.open("r+b") as fh:
        fh.write(b"FIRST")  # same size, in place; the mtime is now
    assert package.file_digests(page.parent, ["p.html"], cache=cache)["p.html"] == _sha(b"FIRST")


def test_a_file_changed_while_it_is_hashed_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "digests"
    page = tmp_path / "r" / "p.html"
    _write(page, b"first")
    real = package.sha256_file

    def racing(path: Path) -> str:
        digest = real(path)
        _write(path, b"other", age=OLD / 2)
        return digest

    monkeypatch.setattr(package, "sha256_file", racing)
    package.file_digests(page.parent, ["p.html"], cache=cache)
    assert cache.read_text() == package.DIGEST_CACHE_FORMAT + "\n"


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage\n", b"\xff\xfe", (package.DIGEST_CACHE_FORMAT + "\n1 2 3\n").encode()],
)
def test_a_damaged_cache_is_ignored(tmp_path: Path, content: bytes) -> None:
    cache = tmp_path / "digests"
    cache.write_bytes(content)
    _write(tmp_path / "r" / "p.html", b"page")
    assert package.file_digests(tmp_path / "r", ["p.html"], cache=cache) == {
        "p.html": _sha(b"page")
    }
    assert cache.read_text().startswith(package.DIGEST_CACHE_FORMAT + "\n")


def test_a_forged_cache_line_for_another_inode_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "digests"
    _write(tmp_path / "r" / "p.html", b"page")
    info = (tmp_path / "r" / "p.html").stat()
    cache.write_text(
        f"{package.DIGEST_CACHE_FORMAT}\n"
        f"{info.st_dev} {info.st_ino + 1} {info.st_size} {info.st_mtime_ns} {'0' * 64}\n"
    )
    assert package.file_digests(tmp_path / "r", ["p.html"], cache=cache) == {
        "p.html": _sha(b"page")
    }


def test_sha256sums_with_a_cache_equals_without(tmp_path: Path, hashed: list[Path]) -> None:
    release = tmp_path / "demo-1.0"
    _write(release / "README.md", b"# demo\n")
    _write(release / "data" / "a.csv", b"a\n1\n")
    _write(release / "site" / "articles" / "x.html", b"<p>x</p>\n")
    _write(release / "demo.duckdb", b"not listed")
    plain = package.sha256sums_text(release)
    cache = tmp_path / "digests"
    given = {"data/a.csv": _sha(b"a\n1\n")}
    assert package.sha256sums_text(release, given, cache=cache) == plain
    hashed.clear()
    assert package.sha256sums_text(release, given, cache=cache) == plain
    assert hashed == []


def _release_with_sums(root: Path) -> Path:
    _write(root / "site" / "a.html", b"alpha")
    _write(root / "site" / "b.html", b"beta")
    _write(root / "data" / "t.csv", b"x\n1\n")
    (root / package.SUMS_FILE).write_text(package.sha256sums_text(root))
    return root


@pytest.mark.parametrize("reuse", [True, False], ids=["sampled", "full"])
def test_layer_4_reads_what_it_must_and_records_it_for_the_next_build(
    tmp_path: Path, hashed: list[Path], reuse: bool
) -> None:
    """A sampled check takes unchanged files from the cache, a full one reads every file;
    both record what they hashed, so the next sampled check reads nothing."""
    from factpack.pipeline.checks import sums_failures

    release = _release_with_sums(tmp_path / "r")
    cache = tmp_path / "build" / "digests"
    package.file_digests(release, ["site/a.html", "site/b.html"], cache=cache)
    hashed.clear()
    reused: set[str] = set()
    assert sums_failures(release, None, cache, reused, reuse=reuse) == []
    if reuse:
        assert reused == {"site/a.html", "site/b.html"}
        assert [p.name for p in hashed] == ["t.csv"]
    else:
        assert reused == set()
        assert sorted(p.name for p in hashed) == ["a.html", "b.html", "t.csv"]
    hashed.clear()
    reused.clear()
    assert sums_failures(release, None, cache, reused) == []
    assert reused == {"site/a.html", "site/b.html", "data/t.csv"} and hashed == []


def test_sampled_layer_4_reads_a_file_changed_since_it_was_cached(tmp_path: Path) -> None:
    from factpack.pipeline.checks import sums_failures

    release = _release_with_sums(tmp_path / "r")
    cache = tmp_path / "build" / "digests"
    package.file_digests(release, ["site/a.html", "site/b.html"], cache=cache)
    _write(release / "site" / "a.html", b"ALPHA", age=None)  # same size, new mtime
    reused: set[str] = set()
    assert sums_failures(release, None, cache, reused) == [
        "site/a.html: sha256 differs from SHA256SUMS; the file was changed"
    ]
    assert reused == {"site/b.html"}


def test_release_files_lists_every_file_but_the_sums_and_the_duckdb(tmp_path: Path) -> None:
    release = tmp_path / "demo-1.0"
    for rel in ("README.md", "SHA256SUMS", "demo.duckdb", "data/a.csv", "site/articles/x.html"):
        _write(release / rel, b"x")
    _write(release / "site" / "SHA256SUMS", b"only the top one is left out")
    (release / "empty").mkdir()
    assert package.release_files(release) == [
        "README.md",
        "data/a.csv",
        "site/SHA256SUMS",
        "site/articles/x.html",
    ]
    assert "demo.duckdb" in package.release_files(release, exclude_suffixes=())
