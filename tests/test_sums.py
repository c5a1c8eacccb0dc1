"""shared/sums.py: SHA256SUMS written, parsed and verified in one place."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from factpack.shared import sums
from factpack.shared.problems import FactpackError


def _tree(root: Path) -> Path:
    for rel, data in {
        "README.md": b"card",
        "data/a.csv": b"a\n1\n",
        "demo.duckdb": b"db",
        "site/index.html": b"<p>",
        "site/articles/x.html": b"<p>x",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_listed_files_leave_out_the_sums_the_duckdb_and_the_site(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / sums.FILE).write_text("")
    assert sums.listed_files(root) == ["README.md", "data/a.csv"]
    assert sums.listed_files(root / "site", top=False) == ["articles/x.html", "index.html"]


def test_written_sums_pass_sha256sum_and_verify(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    written = sums.write(root)
    sums.write(root / "site", top=False)
    assert sums.read(root / sums.FILE) == written
    for folder in (root, root / "site"):
        done = subprocess.run(["sha256sum", "-c", "--quiet", sums.FILE], cwd=folder)
        assert done.returncode == 0
    assert sums.verify(root)[0] == [] and sums.verify(root / "site", top=False)[0] == []


def test_verify_names_changed_missing_and_unlisted_files(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    sums.write(root)
    sums.write(root / "site", top=False)
    (root / "README.md").write_bytes(b"Card")
    (root / "data" / "a.csv").unlink()
    (root / "data" / "b.csv").write_bytes(b"new")
    (root / "site" / "index.html").write_bytes(b"<P>")
    assert sums.verify(root)[0] == [
        "README.md: sha256 differs from SHA256SUMS; the file was changed",
        "data/a.csv: listed in SHA256SUMS but missing",
        "data/b.csv: not listed in SHA256SUMS",
    ]
    assert sums.verify(root / "site", top=False)[0] == [
        "site/index.html: sha256 differs from SHA256SUMS; the file was changed"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc  x\n", "SHA256SUMS:1: not a '<sha256>  <path>' line"),
        (f"{'a' * 64}  ../x\n", "SHA256SUMS:1: path '../x' leaves the folder"),
        (f"{'a' * 64}  x\n\n{'b' * 64}  x\n", "SHA256SUMS:3: x is listed twice"),
    ],
)
def test_a_bad_line_is_one_error_naming_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(FactpackError) as err:
        sums.parse(text, "SHA256SUMS")
    assert str(err.value).startswith(message)


def test_binary_marker_and_upper_case_are_read(tmp_path: Path) -> None:
    assert sums.parse(f"{'A' * 64} *x y\n", "S") == {"x y": "a" * 64}


def test_hashing_on_threads_gives_every_file_its_own_digest_in_order(tmp_path: Path) -> None:
    rels = [f"f{i:03d}" for i in range(101)]
    for i, rel in enumerate(rels):
        (tmp_path / rel).write_bytes(bytes([i]) * (i * 997))
    one = sums.hash_files(tmp_path, rels, jobs=1)
    assert list(sums.hash_files(tmp_path, rels, jobs=2).items()) == list(one.items())
    assert len(set(one.values())) == len(rels)


def test_digests_a_writer_gives_are_listed_and_verify_still_reads_every_file(
    tmp_path: Path,
) -> None:
    """A writer's own digests (the review pages') go into SHA256SUMS as given; the check
    hashes the files itself, so a wrong one is caught."""
    root = _tree(tmp_path) / "site"
    right = sums.sha256_file(root / "articles" / "x.html")
    assert sums.write(root, top=False, known={"articles/x.html": right}) == sums.hash_files(
        root, ["articles/x.html", "index.html"]
    )
    written = sums.write(root, top=False, known={"articles/x.html": "0" * 64})
    assert written["articles/x.html"] == "0" * 64
    assert sums.read(root / sums.FILE)["articles/x.html"] == "0" * 64
    assert sums.verify(root, top=False)[0] != []
