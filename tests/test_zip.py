"""The release zip (stdlib zipfile): deterministic bytes, what it holds, and layer 4 on it."""

from __future__ import annotations

import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from factpack.pipeline import package
from factpack.pipeline.checks import zip_failures
from factpack.shared import sums

TOP = "demo-1.0"
CREATED = "2024-05-06T07:08:09Z"


def _files() -> dict[str, bytes]:
    rnd = random.Random(7)
    words = ["alpha", "beta", "gamma", "said", "the", "minister", "on", "Tuesday"]
    csv = "".join(f"r{i},{' '.join(rnd.choice(words) for _ in range(12))}\n" for i in range(20_000))
    files = {
        "README.md": b"# demo\n" * 50,
        "data/a.csv": csv.encode(),  # > 1 MiB: streamed in pieces
        "data/a.parquet": rnd.randbytes(300_000),
        "data/partitioned/a/year=2024/part-0.parquet": rnd.randbytes(1000),
        "datapackage.json": b'{"name": "demo"}\n',
        "demo.duckdb": b"never zipped",
    }
    for i in range(5):
        files[f"site/articles/{i:03d}.html"] = f"<p>page {i}</p>\n".encode() * (i + 1)
    return files


def _release(root: Path, files: dict[str, bytes]) -> Path:
    rel = root / TOP
    for name, data in files.items():
        (rel / name).parent.mkdir(parents=True, exist_ok=True)
        (rel / name).write_bytes(data)
    sums.write(rel)
    if (rel / "site").is_dir():
        sums.write(rel / "site", top=False)
    return rel


def _zip(rel: Path, out: Path, created: str = CREATED) -> bytes:
    package.write_zip(rel, out, created)
    return out.read_bytes()


def test_zip_holds_the_summed_files_sorted_with_fixed_time_mode_and_methods(
    tmp_path: Path,
) -> None:
    files = _files()
    rel = _release(tmp_path / "r", files)
    out = tmp_path / "x.zip"
    _zip(rel, out)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        expected = sorted(
            [n for n in files if not n.endswith(".duckdb") and not n.startswith("site/")]
            + [sums.FILE]
        )
        assert names == [f"{TOP}/{n}" for n in expected]  # no site/, no .duckdb
        for info in zf.infolist():
            rel_name = info.filename.removeprefix(f"{TOP}/")
            assert zf.read(info) == (rel / rel_name).read_bytes()
            assert info.date_time == (2024, 5, 6, 7, 8, 8)
            assert info.external_attr >> 16 == 0o100644
            assert info.create_system == 3
            stored = rel_name.endswith(".parquet")
            assert info.compress_type == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    assert zip_failures(out, rel) == []


def test_unzip_reads_the_zip(tmp_path: Path) -> None:
    if shutil.which("unzip") is None:
        pytest.skip("no unzip on this machine")
    rel = _release(tmp_path / "r", _files())
    _zip(rel, tmp_path / "x.zip")
    done = subprocess.run(["unzip", "-tq", str(tmp_path / "x.zip")], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zip_bytes_are_the_same_across_builds_and_file_times(tmp_path: Path) -> None:
    rel = _release(tmp_path / "r", _files())
    first = _zip(rel, tmp_path / "1.zip")
    again = _release(tmp_path / "again", _files())
    for path in again.rglob("*"):
        path.touch()
    assert _zip(again, tmp_path / "2.zip") == first
    assert _zip(again, tmp_path / "3.zip", "2025-01-01T00:00:00Z") != first


def test_the_data_is_deflated_at_the_zip_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = _release(tmp_path / "r", _files())
    sizes = []
    for level in (1, 9):
        monkeypatch.setattr(package, "ZIP_LEVEL", level)
        _zip(rel, tmp_path / f"{level}.zip")
        with zipfile.ZipFile(tmp_path / f"{level}.zip") as zf:
            info = zf.getinfo(f"{TOP}/data/a.csv")
            assert zf.read(info) == (rel / "data" / "a.csv").read_bytes()
            sizes.append(info.compress_size)
    assert sizes[1] < sizes[0]


def test_dates_before_1980_become_the_zip_epoch(tmp_path: Path) -> None:
    rel = _release(tmp_path / "r", {"a.txt": b"a"})
    _zip(rel, tmp_path / "x.zip", "1970-01-01T00:00:00Z")
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_layer_4_opens_the_zip_and_names_each_wrong_entry(tmp_path: Path) -> None:
    rel = _release(tmp_path / "r", _files())
    out = tmp_path / "x.zip"
    _zip(rel, out)
    # Another zip of the same names whose one entry holds other bytes.
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("README.md"):
                data = data.replace(b"demo", b"dem0")
            if not info.filename.endswith("datapackage.json"):  # one entry missing
                dst.writestr(info, data)
        dst.writestr(f"{TOP}/extra.txt", b"not listed")
    assert zip_failures(bad, rel) == [
        f"bad.zip: {TOP}/extra.txt is not listed in SHA256SUMS",
        f"bad.zip: {TOP}/datapackage.json is missing",
        f"bad.zip: {TOP}/README.md differs from SHA256SUMS",
    ]
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    assert zip_failures(truncated, rel)[0].startswith("cut.zip: cannot read the zip")
