"""The releases index (factpack release-index, make release) and factpack releases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.researcher import releases
from factpack.shared.problems import FactpackError
from releasefixture import NAME, rows, serve, write_release


def test_index_entry_describes_the_archive(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_release(dist)
    index = releases.update_index(dist)
    assert index == dist / "releases.json"
    [entry] = json.loads(index.read_text())["releases"]
    archive = dist / f"{NAME}-0.1.0.zip"
    assert entry == {
        "name": NAME,
        "version": "0.1.0",
        "date": "2026-11-24",
        "archive": f"{NAME}-0.1.0.zip",
        "sha256": releases.sha256_file(archive),
        "bytes": archive.stat().st_size,
        "unpacked_bytes": entry["unpacked_bytes"],
        "tables": {"articles": 1, "sources": 2, "events": 1, "claims": 2},
    }
    assert entry["unpacked_bytes"] > 0


def test_new_versions_are_added_newest_first_and_history_kept(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_release(dist)
    releases.update_index(dist)
    first = (dist / "releases.json").read_text()
    releases.update_index(dist)
    assert (dist / "releases.json").read_text() == first  # idempotent
    write_release(dist, rows(claims=[]), version="0.10.0", created="2027-01-02T00:00:00Z")
    (dist / f"{NAME}-0.1.0.zip").unlink()  # an older archive removed from dist/ stays listed
    releases.update_index(dist)
    entries = releases.read_index_file(dist / "releases.json")
    assert [(e.version, e.date, e.tables["claims"]) for e in entries] == [
        ("0.10.0", "2027-01-02", 0),
        ("0.1.0", "2026-11-24", 2),
    ]


def test_release_index_without_archives_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    result = CliRunner().invoke(cli, ["release-index", str(tmp_path / "dist")])
    assert result.exit_code == 1
    assert "no <name>-<version>.zip" in result.stderr and "Traceback" not in result.output


def test_releases_lists_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "dist"
    write_release(dist)
    write_release(dist, rows(events=[]), version="0.2.0", created="2026-12-01T00:00:00Z")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["release-index"])
    assert result.exit_code == 0 and "dist/releases.json (2 releases)" in result.stdout
    result = CliRunner().invoke(cli, ["releases"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "version",
        "date",
        "bytes",
        "articles",
        "sources",
        "events",
        "claims",
    ]
    assert lines[2].split()[:2] == ["0.2.0", "2026-12-01"]
    assert lines[2].split()[3:] == ["1", "2", "0", "2"]
    assert lines[3].split()[:2] == ["0.1.0", "2026-11-24"]
    with serve(dist) as (base, _):
        over_http = CliRunner().invoke(cli, ["releases", "--index", base + "releases.json"])
    assert over_http.stdout == result.stdout


def test_releases_without_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["releases"])
    assert result.exit_code == 1 and "no releases index" in result.stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"version": "../../x"}, "unsafe name or version"),
        ({"sha256": "abc"}, "not 64 hex digits"),
        ({"bytes": "many"}, "malformed"),
    ],
)
def test_parse_index_rejects_bad_entries(entry: dict[str, object], message: str) -> None:
    good = {"name": NAME, "version": "0.1.0", "archive": "x.zip", "sha256": "a" * 64, "bytes": 1}
    text = json.dumps({"releases": [{**good, **entry}]})
    with pytest.raises(FactpackError, match=message):
        releases.parse_index(text, "releases.json")
    assert releases.parse_index(json.dumps({"releases": [good]}), "x")[0].version == "0.1.0"


def test_parse_index_rejects_non_json() -> None:
    with pytest.raises(FactpackError, match="not a releases index"):
        releases.parse_index("<html>", "http://127.0.0.1/releases.json")


def test_datapackage_paths_may_not_leave_the_release(tmp_path: Path) -> None:
    release = write_release(tmp_path)
    descriptor = release / "datapackage.json"
    package = json.loads(descriptor.read_text())
    package["resources"][0]["path"] = "../../secret.parquet"
    descriptor.write_text(json.dumps(package))
    with pytest.raises(FactpackError, match="leaves the release"):
        releases.read_release(release)
