"""factpack download: fetch over loopback HTTP, verify, unpack safely, reuse the cache."""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.researcher import download, releases
from factpack.shared.problems import FactpackError
from releasefixture import NAME, serve, write_zip

TOP = f"{NAME}-0.1.0"


@pytest.fixture
def server(dist: Path) -> Iterator[tuple[str, list[str]]]:
    with serve(dist) as (base, requests):
        yield base + "releases.json", requests


def fetch(index: str, to: Path) -> download.Downloaded:
    return download.download(index, to=to, retries=0)


def set_index(dist: Path, **fields: object) -> None:
    """Edit the one entry of dist/releases.json."""
    path = dist / "releases.json"
    body = json.loads(path.read_text())
    body["releases"][0].update(fields)
    path.write_text(json.dumps(body))


def reindex_zip(dist: Path) -> None:
    """Point the index at the zip as it is now (so only the later checks can catch it)."""
    zip_path = dist / f"{TOP}.zip"
    set_index(dist, sha256=releases.sha256_file(zip_path), bytes=zip_path.stat().st_size)


def assert_nothing_left(to: Path) -> None:
    assert not to.exists() or list(to.iterdir()) == []


def test_download_verifies_and_unpacks(server: tuple[str, list[str]], tmp_path: Path) -> None:
    index, _ = server
    got = fetch(index, tmp_path / "out")
    assert got.path == tmp_path / "out" / TOP
    assert not got.reused
    assert (got.path / "data" / "claims.parquet").is_file()
    assert not (got.path / f"{NAME}.duckdb").exists()
    download.verify_release(got.path)
    assert releases.resolve_release(tmp_path / "out").version == "0.1.0"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [TOP]


def test_default_target_is_the_cache(server: tuple[str, list[str]], tmp_path: Path) -> None:
    got = fetch(server[0], None)  # type: ignore[arg-type]
    assert got.path == tmp_path / "cache" / "releases" / TOP
    assert got.archive == tmp_path / "cache" / "archives" / f"{TOP}.zip"


def test_cache_is_reused(server: tuple[str, list[str]], tmp_path: Path) -> None:
    index, requests = server
    fetch(index, tmp_path / "out")
    assert requests.count(f"/{TOP}.zip") == 1
    again = fetch(index, tmp_path / "out")
    assert again.reused and again.archive_reused
    assert requests.count(f"/{TOP}.zip") == 1
    fetch(index, tmp_path / "elsewhere")  # a new target, still the cached archive
    assert requests.count(f"/{TOP}.zip") == 1


def test_progress_bar(
    server: tuple[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    download.download(server[0], to=tmp_path / "out", progress=True, retries=0)
    assert "100%" in capsys.readouterr().err


def test_corrupted_cache_is_fetched_again(server: tuple[str, list[str]], tmp_path: Path) -> None:
    index, requests = server
    got = fetch(index, tmp_path / "out")
    got.archive.write_bytes(b"garbage")
    fetch(index, tmp_path / "out2")
    assert requests.count(f"/{TOP}.zip") == 2
    assert releases.sha256_file(got.archive) == releases.sha256_file(
        Path.cwd() / "dist" / f"{TOP}.zip"
    )


def test_cli_download_then_query(server: tuple[str, list[str]], tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["download", "--index", server[0], "--to", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    assert "verified" in result.stdout
    release = str(tmp_path / "out" / TOP)
    result = runner.invoke(cli, ["query", "--release", release, "select count(*) as n from claims"])
    assert result.exit_code == 0 and result.stdout.splitlines()[2].strip() == "2"


def test_flipped_byte_in_served_archive(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    zip_path = dist / f"{TOP}.zip"
    data = bytearray(zip_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    zip_path.write_bytes(bytes(data))
    result = CliRunner().invoke(
        cli, ["download", "--index", server[0], "--to", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    declared = json.loads((dist / "releases.json").read_text())["releases"][0]["sha256"]
    assert f"{TOP}.zip: sha256 mismatch" in result.stderr
    assert declared in result.stderr and releases.sha256_file(zip_path) in result.stderr
    assert "Traceback" not in result.output
    assert_nothing_left(tmp_path / "out")
    assert list((tmp_path / "cache" / "archives").iterdir()) == []


def test_tampered_file_inside_the_archive(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    csv = dist / TOP / "data" / "claims.csv"
    expected = releases.sha256_file(csv)
    csv.write_text(csv.read_text().replace("I saw it", "I saw IT"))
    write_zip(dist / TOP)
    reindex_zip(dist)
    with pytest.raises(FactpackError) as error:
        fetch(server[0], tmp_path / "out")
    message = str(error.value)
    assert message.startswith(f"{TOP}/data/claims.csv: sha256 mismatch")
    assert expected in message and releases.sha256_file(csv) in message
    assert_nothing_left(tmp_path / "out")


def test_truncated_archive(dist: Path, server: tuple[str, list[str]], tmp_path: Path) -> None:
    zip_path = dist / f"{TOP}.zip"
    zip_path.write_bytes(zip_path.read_bytes()[: zip_path.stat().st_size // 2])
    with pytest.raises(FactpackError, match="sha256 mismatch"):
        fetch(server[0], tmp_path / "out")
    reindex_zip(dist)  # even when the index agrees with the truncated file
    with pytest.raises(FactpackError, match="not a readable zip"):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def test_corrupted_member_data(dist: Path, server: tuple[str, list[str]], tmp_path: Path) -> None:
    zip_path = dist / f"{TOP}.zip"
    with zipfile.ZipFile(zip_path) as zf:
        info = zf.getinfo(f"{TOP}/data/claims.parquet")
    data = bytearray(zip_path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF
    zip_path.write_bytes(bytes(data))
    reindex_zip(dist)  # the index agrees with the damaged archive: the unpack must still catch it
    with pytest.raises(FactpackError, match=f"cannot unpack {TOP}.zip"):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def rezip(dist: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> None:
    """Rebuild the served zip with the release's files plus ``extra`` members; reindex it."""
    write_zip(dist / TOP)
    with zipfile.ZipFile(dist / f"{TOP}.zip", "a") as zf:
        for name, data in extra:
            zf.writestr(name, data)
    reindex_zip(dist)
    set_index(dist, unpacked_bytes=None)


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (f"{TOP}/../evil.txt", "leaves the release"),
        ("../evil.txt", "leaves the release"),
        ("/tmp/evil.txt", "absolute"),
        (f"{TOP}\\..\\evil.txt", "non-portable"),
        ("elsewhere/evil.txt", "outside the top folder"),
    ],
)
def test_unsafe_member_paths_are_refused(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path, member: str, why: str
) -> None:
    rezip(dist, [(member, b"evil")])
    with pytest.raises(FactpackError, match=why):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("kind", [stat.S_IFLNK, stat.S_IFCHR, stat.S_IFIFO])
def test_links_and_devices_are_refused(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path, kind: int
) -> None:
    info = zipfile.ZipInfo(f"{TOP}/data/link")
    info.external_attr = (kind | 0o777) << 16
    rezip(dist, [(info, b"/etc/passwd")])
    with pytest.raises(FactpackError, match="link or device"):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def test_extra_file_not_in_sums_is_refused(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    rezip(dist, [(f"{TOP}/data/extra.csv", b"a\n1\n")])
    with pytest.raises(FactpackError, match=f"{TOP}/data/extra.csv: not listed in SHA256SUMS"):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def test_more_bytes_than_declared_are_refused(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    size = (dist / f"{TOP}.zip").stat().st_size
    set_index(dist, bytes=size - 10)
    with pytest.raises(FactpackError, match=f"more than the {size - 10} bytes declared"):
        fetch(server[0], tmp_path / "out")
    set_index(dist, bytes=size, unpacked_bytes=100)
    with pytest.raises(FactpackError, match="more than the 100 the index declares"):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")
    assert list((tmp_path / "cache" / "archives").iterdir()) == [
        tmp_path / "cache" / "archives" / f"{TOP}.zip"
    ]


def test_datapackage_hash_is_checked(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    descriptor = dist / TOP / "datapackage.json"
    package = json.loads(descriptor.read_text())
    package["resources"][0]["hash"] = "sha256:" + "0" * 64
    descriptor.write_text(json.dumps(package))
    from releasefixture import write_sums

    write_sums(dist / TOP)
    rezip(dist, [])
    with pytest.raises(FactpackError, match=r"datapackage\.json says 0000"):
        fetch(server[0], tmp_path / "out")


def test_a_different_release_at_the_target_is_not_replaced(
    server: tuple[str, list[str]], tmp_path: Path
) -> None:
    (tmp_path / "out" / TOP).mkdir(parents=True)
    (tmp_path / "out" / TOP / "mine.txt").write_text("keep me")
    with pytest.raises(FactpackError, match="already exists"):
        fetch(server[0], tmp_path / "out")
    assert (tmp_path / "out" / TOP / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("url", ["file:///tmp/releases.json", "ftp://127.0.0.1/x", "dist/x"])
def test_only_http_urls(url: str, tmp_path: Path) -> None:
    with pytest.raises(FactpackError, match="only http:// and https://"):
        download.download(url, to=tmp_path / "out")


def test_archive_url_must_be_http(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    set_index(dist, archive=f"file://{dist / TOP}.zip")
    with pytest.raises(FactpackError, match="only http:// and https://"):
        fetch(server[0], tmp_path / "out")


def test_missing_archive_and_unknown_version(
    dist: Path, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    with pytest.raises(FactpackError, match=r"no version '9\.9'"):
        download.download(server[0], version="9.9", to=tmp_path / "out")
    (dist / f"{TOP}.zip").unlink()
    with pytest.raises(FactpackError, match="404"):
        fetch(server[0], tmp_path / "out")
    assert_nothing_left(tmp_path / "out")


def test_cli_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACTPACK_INDEX_URL", raising=False)
    result = CliRunner().invoke(cli, ["download"])
    assert result.exit_code == 2 and "--index" in result.stderr
    result = CliRunner().invoke(cli, ["download", "--index", "file:///x/releases.json"])
    assert result.exit_code == 1 and "only http:// and https://" in result.stderr
