"""factpack download against hostile servers and archives: nothing is let in.

Complements tests/test_download.py (which covers tampering, truncation, ``..`` and absolute
members, links, FIFOs and char devices, size caps) with the rest of the catalogue: every URL
scheme but http(s), Windows paths, block devices and sockets, duplicate and encrypted members,
a member that inflates past its declared size, a DuckDB file smuggled into the archive, and a
release full of Python files that must never be imported or run. Loopback HTTP only.
"""

from __future__ import annotations

import json
import stat
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.researcher import download, releases
from factpack.shared.problems import FactpackError
from releasefixture import NAME, serve, write_sums, write_zip

TOP = f"{NAME}-0.1.0"


@pytest.fixture
def index(dist: Path) -> Iterator[str]:
    with serve(dist) as (base, _):
        yield base + "releases.json"


def reindex(dist: Path, **fields: object) -> None:
    """Point the index at the zip as it is now (so only the archive checks can catch it)."""
    zip_path = dist / f"{TOP}.zip"
    path = dist / "releases.json"
    body = json.loads(path.read_text())
    body["releases"][0].update(
        sha256=releases.sha256_file(zip_path), bytes=zip_path.stat().st_size, unpacked_bytes=None
    )
    body["releases"][0].update(fields)
    path.write_text(json.dumps(body))


def add_members(dist: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> None:
    write_zip(dist / TOP)
    with zipfile.ZipFile(dist / f"{TOP}.zip", "a") as zf:
        for info, data in members:
            zf.writestr(info, data)
    reindex(dist)


def refused(index: str, to: Path, match: str) -> None:
    with pytest.raises(FactpackError, match=match) as info:
        download.download(index, to=to, retries=0)
    assert "\n" not in str(info.value)
    assert not to.exists() or list(to.iterdir()) == []


# --------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/releases.json",
        "sftp://127.0.0.1/releases.json",
        "gopher://127.0.0.1/",
        "javascript:alert(1)",
        "data:application/json,{}",
        "//127.0.0.1/releases.json",
        "http:///releases.json",
        "/tmp/releases.json",
        "releases.json",
        "",
    ],
)
def test_only_http_and_https_urls(url: str) -> None:
    with pytest.raises(FactpackError, match="only http:// and https:// URLs are accepted"):
        download.check_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1/x.json", "HTTPS://example.org/r.json"])
def test_http_and_https_are_accepted(url: str) -> None:
    download.check_url(url)


@pytest.mark.parametrize("archive", ["file:///etc/passwd", "ftp://127.0.0.1/x.zip"])
def test_the_index_cannot_point_the_archive_elsewhere(
    dist: Path, index: str, tmp_path: Path, archive: str
) -> None:
    reindex(dist, archive=archive)
    refused(index, tmp_path / "out", "only http:// and https://")


def test_cli_refuses_a_file_url_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["download", "--index", "file:///etc/passwd"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------- members


def _info(name: str, kind: int = stat.S_IFREG) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (kind | 0o644) << 16
    return info


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (_info("C:/evil.txt"), "absolute or non-portable path"),
        (_info("C:\\evil.txt"), "absolute or non-portable path"),
        (_info(f"{TOP}/data/..\\..\\evil.txt"), "absolute or non-portable path"),
        (_info(f"{TOP}/./data/evil.txt"), "not listed in SHA256SUMS"),  # zipfile drops ./
        (_info(f"{TOP}/data/../../evil.txt"), "leaves the release"),
        (_info(f"{TOP}/data/disk", stat.S_IFBLK), "link or device"),
        (_info(f"{TOP}/data/sock", stat.S_IFSOCK), "link or device"),
        (_info(f"{TOP}/data", stat.S_IFLNK), "link or device"),
    ],
    ids=lambda v: v.filename if isinstance(v, zipfile.ZipInfo) else v,
)
def test_hostile_members_are_refused_before_anything_is_written(
    dist: Path, index: str, tmp_path: Path, member: zipfile.ZipInfo, why: str
) -> None:
    add_members(dist, [(member, b"/etc/passwd")])
    refused(index, tmp_path / "out", f"member .* refused: .*{why}|{why}")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_member_is_refused(dist: Path, index: str, tmp_path: Path) -> None:
    add_members(dist, [(f"{TOP}/README.md", b"# second README, different bytes\n")])
    refused(index, tmp_path / "out", "appears twice")


def test_encrypted_member_is_refused(dist: Path, index: str, tmp_path: Path) -> None:
    name = f"{TOP}/data/secret.csv".encode()
    add_members(dist, [(name.decode(), b"x")])
    data = bytearray((dist / f"{TOP}.zip").read_bytes())
    at = data.rindex(name) - 46  # the central directory header of the member
    assert data[at : at + 4] == b"PK\x01\x02"
    data[at + 8] |= 0x1  # general purpose flag: encrypted
    (dist / f"{TOP}.zip").write_bytes(bytes(data))
    reindex(dist)
    refused(index, tmp_path / "out", "refused: encrypted")


def test_duckdb_file_in_the_archive_is_refused(dist: Path, index: str, tmp_path: Path) -> None:
    """A release's .duckdb is never zipped nor hashed: one in an archive is unverifiable."""
    add_members(dist, [(f"{TOP}/{NAME}.duckdb", b"attacker's database")])
    refused(index, tmp_path / "out", "DuckDB file")


def _lying_zip(path: Path, top: str, real: bytes, declared: int) -> None:
    """Rewrite the zip at ``path`` with one extra member that declares ``declared`` bytes but
    inflates to ``real``: the sizes in both headers are patched, the CRC is the real one."""
    write_zip(path.with_suffix(""), path)
    name = f"{top}/data/bomb.csv".encode()
    with zipfile.ZipFile(path) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(real) + compressor.flush()
    crc = zlib.crc32(real)
    out = bytearray()
    central = bytearray()
    entries = [(i.filename.encode(), d, zlib.crc32(d)) for i, d in members]
    for fname, data, dcrc in entries:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = comp.compress(data) + comp.flush()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, dcrc, len(body), len(data), len(fname), 0
        )
        out += fname + body
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0x21,
            dcrc,
            len(body),
            len(data),
            len(fname),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += fname
    offset = len(out)
    out += struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(packed), declared, len(name), 0
    )
    out += name + packed
    central += struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0x21,
        crc,
        len(packed),
        declared,
        len(name),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    central += name
    cd_offset = len(out)
    out += central
    n = len(entries) + 1
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), cd_offset, 0)
    path.write_bytes(bytes(out))


def test_member_that_inflates_past_its_declared_size_is_refused(
    dist: Path, index: str, tmp_path: Path
) -> None:
    """A zip bomb that lies in its headers: 20 MB of zeros declared as 100 bytes."""
    _lying_zip(dist / f"{TOP}.zip", TOP, b"\0" * (20 * 1024 * 1024), 100)
    reindex(dist)
    refused(index, tmp_path / "out", "cannot unpack|bigger than declared|Bad CRC")
    assert not any((tmp_path / "cache").rglob("bomb.csv"))


def test_archive_bigger_than_the_index_declares_is_cut_off(
    dist: Path, index: str, tmp_path: Path
) -> None:
    add_members(dist, [(f"{TOP}/data/padding.bin", bytes(range(256)) * 4096)])
    size = (dist / f"{TOP}.zip").stat().st_size
    reindex(dist, bytes=1000)
    refused(index, tmp_path / "out", "more than the 1000 bytes declared")
    assert size > 1000
    assert not list((tmp_path / "cache" / "archives").glob("*.zip"))


# --------------------------------------------------------------------- nothing is run


PAYLOAD = "import pathlib; pathlib.Path({marker!r}).write_text('ran')\n"


def test_downloaded_python_files_are_never_imported_or_run(
    dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release that carries Python files (listed in SHA256SUMS, so it verifies): download
    and query it; the files are data, never imported, never on sys.path."""
    marker = tmp_path / "ran.txt"
    release = dist / TOP
    for name in ("__init__.py", "sitecustomize.py", "usercustomize.py", "conftest.py"):
        (release / name).write_text(PAYLOAD.format(marker=str(marker)))
    (release / "data" / "__init__.py").write_text(PAYLOAD.format(marker=str(marker)))
    (release / "evil.pth").write_text("import os; " + PAYLOAD.format(marker=str(marker)))
    write_sums(release)
    write_zip(release)
    releases.update_index(dist)
    modules = set(sys.modules)
    with serve(dist) as (base, _):
        runner = CliRunner()
        out = tmp_path / "out"
        got = runner.invoke(cli, ["download", "--index", base + "releases.json", "--to", str(out)])
        assert got.exit_code == 0, got.stderr
        query = runner.invoke(
            cli, ["query", "--release", str(out / TOP), "select count(*) as n from claims"]
        )
        assert query.exit_code == 0, query.stderr
    assert (out / TOP / "sitecustomize.py").is_file()  # kept as data...
    assert not marker.exists()  # ...never run
    assert not any(str(out) in p for p in sys.path)
    new = {m for m in set(sys.modules) - modules if m in ("sitecustomize", "usercustomize")}
    assert new == set()
    for mod in set(sys.modules) - modules:
        origin = getattr(sys.modules[mod], "__file__", None) or ""
        assert not origin.startswith(str(out)), mod
