"""Faults during a build: killed builds, concurrent builds, a full disk, a read-only dist/.

A generated corpus (bench/generate.py) is built once (release v1); then builds of an edited
corpus (v2) are killed with SIGINT and SIGKILL at several points, and after each kill the v1
release in dist/ must be byte for byte what it was. The next build must succeed, and give the
same files as a build from scratch. Builds run as real processes (``factpack build``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline import cache, release, versions, write
from factpack.researcher import site
from factpack.shared.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
N_ARTICLES = 20
NAME = "factpack-news-events-0.1.0"
CLI = [sys.executable, "-c", "from factpack.cli import main; main()"]


def build_cmd(work: Path, *extra: str, jobs: int = 1) -> list[str]:
    """`factpack build` in ``work``; one process unless ``jobs`` (a pool costs seconds)."""
    args = ["--seeds", "seeds", "--dist", "dist", "--build-dir", "build", "--jobs", str(jobs)]
    if not (work / "schema").is_dir():  # the repository's schema/ without its record
        versions.own_schema(work / "schema")
    return [*CLI, "build", *args, "--schema-dir", "schema", *extra]


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative POSIX path -> hex)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def release_state(work: Path) -> dict[str, str]:
    """The published release: its folder's files and its zip."""
    dist = work / "dist"
    state = {f"{NAME}/{k}": v for k, v in tree_digest(dist / NAME).items()}
    state[f"{NAME}.zip"] = hashlib.sha256((dist / f"{NAME}.zip").read_bytes()).hexdigest()
    return state


def edit_corpus(seeds: Path, tag: str) -> None:
    """Change every article's first event summary (the release's content changes)."""
    for path in sorted(seeds.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert 'summary: "' in text
        path.write_text(text.replace('summary: "', f'summary: "{tag} ', 1), encoding="utf-8")


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], bytes]]:
    """A work folder with seeds/, dist/ and build/ after a successful build (v1), and the
    SHA256SUMS of the edited corpus (v2) built from scratch elsewhere (both built at once)."""
    work = tmp_path_factory.mktemp("faults")
    fresh = tmp_path_factory.mktemp("fresh")
    subprocess.run(
        [sys.executable, "-m", "bench.generate", str(N_ARTICLES), str(work / "seeds")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    shutil.copytree(work / "seeds", fresh / "seeds")
    edit_corpus(fresh / "seeds", "v2")
    procs = [
        subprocess.Popen(build_cmd(w), cwd=w, stderr=subprocess.PIPE, text=True)
        for w in (work, fresh)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.communicate()[1]
        proc.communicate()
    yield work, release_state(work), (fresh / "dist" / NAME / "SHA256SUMS").read_bytes()


def copy_work(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def run_and_kill(
    work: Path,
    when: Callable[[Path], bool],
    sig: signal.Signals,
    jobs: int = 1,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Start a build, send ``sig`` as soon as ``when(work)`` holds, and wait for the end.

    The build runs in its own session, so the signal reaches it and its workers only.
    """
    proc = subprocess.Popen(
        build_cmd(work, "--force", jobs=jobs),
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while not when(work):
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"the build ended before the kill point: {err}")
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.002)
        # To the whole process group, as Ctrl-C in a terminal (or kill -9 of the job) does.
        os.killpg(proc.pid, sig)
        out, err = proc.communicate(timeout=timeout)
    finally:
        # The build's own worker processes (same session, which this test started).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def loading_half(work: Path) -> bool:
    """Half of the edited corpus's batches are in build/cache/ (beside v1's: 2 articles per
    batch, 4 tables per batch, so v1 left 2 * N_ARTICLES files)."""
    return len(list((work / "build" / cache.CACHE_DIR).glob("*.arrow"))) >= 3 * N_ARTICLES


def staging(work: Path) -> bool:
    return any((work / "dist").glob(".staging-*/*/data/*.parquet"))


def checking(work: Path) -> bool:
    """The release is written (SHA256SUMS comes last) and being checked and zipped."""
    return any((work / "dist").glob(".staging-*/*/SHA256SUMS"))


POINTS = {"loading": loading_half, "staging": staging, "checking": checking}


@pytest.mark.parametrize(
    ("point", "sig"),
    [
        ("loading", signal.SIGINT),  # Ctrl-C while workers load articles
        ("staging", signal.SIGKILL),  # kill -9 while the release is being written
        ("checking", signal.SIGKILL),  # kill -9 while frictionless checks it
    ],
)
def test_killed_build_leaves_the_previous_release_intact(
    v1: tuple[Path, dict[str, str], bytes], tmp_path: Path, point: str, sig: signal.Signals
) -> None:
    work = copy_work(v1[0], tmp_path / "work")
    edit_corpus(work / "seeds", "v2")
    # While loading, the build runs its worker pool (the one place with child processes).
    done = run_and_kill(work, POINTS[point], sig, jobs=2 if point == "loading" else 1)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    if sig == signal.SIGINT:
        assert done.returncode in (1, 130), done.stderr
    assert release_state(work) == v1[1]
    # The next build succeeds, cleans up, and equals a build from scratch.
    again = subprocess.run(build_cmd(work), cwd=work, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (work / "dist").iterdir()) == [NAME, f"{NAME}.zip"]
    assert release_state(work) != v1[1]
    assert "v2 " in (work / "dist" / NAME / "data" / "events.csv").read_text(encoding="utf-8")
    assert (work / "dist" / NAME / "SHA256SUMS").read_bytes() == v1[2]


def test_two_builds_at_once(v1: tuple[Path, dict[str, str], bytes], tmp_path: Path) -> None:
    """Two `factpack build` at once: the lock serialises them (the second finds the first's
    release up to date); both succeed; dist/ and build/ hold one release and its cache."""
    work = copy_work(v1[0], tmp_path / "work")
    edit_corpus(work / "seeds", "v2")
    procs = [
        subprocess.Popen(
            build_cmd(work),
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert sorted(p.name for p in (work / "dist").iterdir()) == [NAME, f"{NAME}.zip"]
    entries = cache.scan(work / "build" / cache.CACHE_DIR, load_schema(None))
    stems = sorted({s for e in entries for s in e.articles})
    assert stems == sorted(p.stem for p in (work / "seeds").glob("*.yaml"))
    assert len(entries) == len(list((work / "build" / cache.CACHE_DIR).glob("*.arrow")))
    check = subprocess.run(
        [*CLI, "validate", f"dist/{NAME}"], cwd=work, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


# ------------------------------------------------------------- damaged build/ files


def _flip(path: Path) -> None:
    """Flip one byte in the middle and put the mtime back (a stat cannot see it)."""
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _swap(a: Path, b: Path) -> None:
    """Swap two files' bytes, each keeping its name and mtime."""
    ia, ib = a.stat(), b.stat()
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    os.utime(a, ns=(ia.st_atime_ns, ia.st_mtime_ns))
    os.utime(b, ns=(ib.st_atime_ns, ib.st_mtime_ns))


def _articles_files(work: Path) -> list[Path]:
    """Two cache files of the same table holding different articles."""
    found = cache.scan(work / "build" / cache.CACHE_DIR, load_schema(None))
    events = [e.path for e in found if e.table == "events"]
    return events[:2]


def _page_index(work: Path) -> Path:
    (index,) = (work / "build" / cache.CACHE_DIR / cache.PAGES_DIR).glob("*.json")
    return index


def _published_pages(work: Path) -> list[Path]:
    """The published article pages (what the next build may reuse), in name order."""
    return sorted((work / "dist" / NAME / "site" / "articles").glob("*.html"))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "flip": lambda work: _flip(_articles_files(work)[0]),
    "truncate": lambda work: _truncate(_articles_files(work)[0]),
    "delete": lambda work: _articles_files(work)[0].unlink(),
    "swap": lambda work: _swap(*_articles_files(work)),
    "key-flip": lambda work: _flip(work / "build" / "release.key"),
    "key-truncate": lambda work: _truncate(work / "build" / "release.key"),
    "key-delete": lambda work: (work / "build" / "release.key").unlink(),
    "lock-garbage": lambda work: (work / "build" / "factpack.lock").write_bytes(b"\x00junk"),
    "stray-tmp": lambda work: (work / "build" / cache.CACHE_DIR / ".x.arrow.1.tmp").write_bytes(
        b"half"
    ),
    "page-flip": lambda work: _flip(_published_pages(work)[0]),
    "page-truncate": lambda work: _truncate(_published_pages(work)[0]),
    "page-delete": lambda work: _published_pages(work)[0].unlink(),
    "page-swap": lambda work: _swap(*_published_pages(work)[:2]),
    "page-index-flip": lambda work: _flip(_page_index(work)),
    "page-index-delete": lambda work: _page_index(work).unlink(),
}


def _published(work: Path) -> dict[str, str]:
    """The published release but the .duckdb (DuckDB never writes the same bytes twice)."""
    return {k: v for k, v in release_state(work).items() if not k.endswith(".duckdb")}


RENDERED = {
    "page-flip": range(1, 2),
    "page-truncate": range(1, 2),
    "page-delete": range(1, 2),
    "page-swap": range(2, 3),
    "page-index-flip": range(N_ARTICLES, N_ARTICLES + 1),
    "page-index-delete": range(N_ARTICLES, N_ARTICLES + 1),
}
"""How many pages are rendered again after each damage of a published page (dist/) or of
their index (build/cache/pages); none after the others."""


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaging_a_file_of_build_never_changes_what_is_published(
    v1: tuple[Path, dict[str, str], bytes],
    tmp_path: Path,
    damage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a clean build, damage one file of build/ (or one published review page: the next
    build reuses those) and build again (--force, so the cache is read, not the up-to-date
    shortcut): the result equals the clean build byte for byte. Published pages are reused but
    for those damaged (all of them when their index is)."""
    work = copy_work(v1[0], tmp_path / "work")
    expected = {k: v for k, v in v1[1].items() if not k.endswith(".duckdb")}
    rendered: list[object] = []
    real = site.article_page
    monkeypatch.setattr(site, "article_page", lambda *a: rendered.append(a) or real(*a))
    DAMAGES[damage](work)
    force = not damage.startswith("key")  # a damaged key must itself lead to a rebuild
    result = release.build(work / "seeds", work / "dist", work / "build", jobs=1, force=force)
    assert not result.up_to_date
    assert _published(work) == expected
    assert len(rendered) in RENDERED.get(damage, range(1)), len(rendered)
    if damage in ("flip", "truncate", "delete", "swap"):
        assert result.loaded > 0  # the damaged batch was loaded again, not trusted
    else:
        assert result.loaded == 0
    # The cache holds only files whose bytes match their names, nothing half-written.
    folder = work / "build" / cache.CACHE_DIR
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert names == sorted(e.path.name for e in cache.scan(folder, load_schema(None)))
    (index,) = (folder / cache.PAGES_DIR).iterdir()  # one index, named by its sha256
    assert hashlib.sha256(index.read_bytes()).hexdigest() == index.stem


# --------------------------------------------------------------------- disk faults


SMALL = Path(__file__).parent / "fixtures" / "build" / "seeds"


def _cli_build(tmp_path: Path, dist: Path, *extra: str) -> tuple[int, str, str]:
    args = ["--seeds", str(SMALL), "--dist", str(dist), "--build-dir", str(tmp_path / "b")]
    result = CliRunner().invoke(cli, ["build", *args, *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("err", "words"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
)
def test_disk_errors_are_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int, words: str
) -> None:
    """A write that fails (full disk, read-only) is one line, exit 1, dist/ as it was."""
    monkeypatch.chdir(tmp_path)
    code, _, _ = _cli_build(tmp_path, tmp_path / "dist")
    assert code == 0
    before = tree_digest(tmp_path / "dist")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(write, "write_parquet", fail)
    monkeypatch.setattr(release.write, "write_parquet", fail)
    code, _, stderr = _cli_build(tmp_path, tmp_path / "dist", "--force")
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], stderr
    assert "dist" in lines[0]
    assert tree_digest(tmp_path / "dist") == before


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _can_mount(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    if not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)):
        return False
    subprocess.run(["umount", str(probe)], check=True)
    return True


def test_real_full_disk_and_read_only_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With root: dist/ on a 64 kB tmpfs, then dist/ bind-mounted read-only."""
    if not _can_mount(tmp_path):
        pytest.skip("needs root and mount (tmpfs, bind)")
    monkeypatch.chdir(tmp_path)
    full = tmp_path / "full"
    full.mkdir()
    assert _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full))
    try:
        code, _, stderr = _cli_build(tmp_path, full)
        assert code == 1
        assert "No space left on device" in stderr and len(stderr.strip().splitlines()) == 1
        assert list(full.iterdir()) == []
    finally:
        subprocess.run(["umount", str(full)], check=True)
    dist = tmp_path / "dist"
    code, _, _ = _cli_build(tmp_path, dist)
    assert code == 0
    before = tree_digest(dist)
    assert _mount("--bind", "-o", "ro", str(dist), str(dist))
    try:
        code, _, stderr = _cli_build(tmp_path, dist, "--force")
        assert code == 1
        assert "Read-only file system" in stderr and len(stderr.strip().splitlines()) == 1
    finally:
        subprocess.run(["umount", str(dist)], check=True)
    assert tree_digest(dist) == before
