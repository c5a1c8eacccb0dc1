"""factpack diff: rows added, removed and changed by primary key between two releases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.researcher import diff, releases
from factpack.shared.problems import FactpackError
from releasefixture import ROWS, rows, write_release


def edited_claims() -> list[dict[str, object]]:
    claims = [dict(r) for r in ROWS["claims"]]
    claims[1]["claim_text"] = "I saw two drones"
    return claims


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dist/ with 0.1.0 and 0.2.0, which differ by one edited claim."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    write_release(tmp_path / "dist")
    write_release(tmp_path / "dist", rows(claims=edited_claims()), version="0.2.0")
    return tmp_path / "dist"


def test_one_edited_row(two: Path) -> None:
    result = diff.diff_releases(
        releases.resolve_release("0.1.0"), releases.resolve_release("0.2.0")
    )
    by_table = {t.table: t for t in result.tables}
    assert all(by_table[t].is_empty for t in ("articles", "sources", "events"))
    claims = by_table["claims"]
    assert (claims.added, claims.removed, claims.columns_added) == ([], [], [])
    assert [(c.key, c.columns) for c in claims.changed] == [
        ({"claim_id": "a1:C2"}, {"claim_text": ("I saw it", "I saw two drones")})
    ]


def test_cli_text_and_json(two: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", "0.1.0", "0.2.0"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    one, two_ = "dist/factpack-news-events-0.1.0", "dist/factpack-news-events-0.2.0"
    assert lines[0] == f"0.1.0 ({one}) -> 0.2.0 ({two_})"
    assert lines[1].split() == ["table", "added", "removed", "changed", "changed", "columns"]
    assert "claims        0        0        1  claim_text" in lines
    assert lines[-1] == "~ claims a1:C2: claim_text"
    result = CliRunner().invoke(cli, ["diff", "--format", "json", "0.1.0", "0.2.0"])
    body = json.loads(result.stdout)
    assert body["tables"]["claims"]["changed"] == [
        {
            "key": {"claim_id": "a1:C2"},
            "columns": {"claim_text": {"old": "I saw it", "new": "I saw two drones"}},
        }
    ]
    assert body["tables"]["sources"] == {
        "primary_key": ["source_id"],
        "added": [],
        "removed": [],
        "changed": [],
        "columns_added": [],
        "columns_removed": [],
    }


def test_added_removed_nulls_and_new_columns(tmp_path: Path) -> None:
    old = write_release(tmp_path / "a")
    sources = [dict(ROWS["sources"][0], country=None), {"source_id": "a1:S3", "country": "US"}]
    claims = [dict(r) for r in ROWS["claims"]]
    claims[0]["event_id"] = None  # value -> null is a change
    new = write_release(tmp_path / "b", rows(sources=sources, claims=claims), version="0.2.0")
    result = diff.diff_releases(releases.read_release(old), releases.read_release(new))
    by_table = {t.table: t for t in result.tables}
    s = by_table["sources"]
    assert s.added == [{"source_id": "a1:S3"}] and s.removed == [{"source_id": "a1:S2"}]
    assert s.columns_added == ["country"] and s.changed == []
    c = by_table["claims"]
    assert [(ch.key["claim_id"], ch.columns) for ch in c.changed] == [
        ("a1:C1", {"event_id": ("a1:E1", None)})
    ]  # a1:C2 has null event_id on both sides: unchanged


def test_same_release_has_no_differences(two: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", "0.1.0", str(two / "factpack-news-events-0.1.0")])
    assert result.exit_code == 0 and result.stdout.splitlines()[-1] == "no differences"
    assert result.stdout.splitlines()[1] == (
        "both are version 0.1.0 with the same content (identical SHA256SUMS)"
    )


def test_same_version_with_other_content_is_named(two: Path, tmp_path: Path) -> None:
    """A copy of 0.1.0 rebuilt with other data: the diff names both places and says so."""
    other = write_release(tmp_path / "elsewhere", rows(claims=edited_claims()))
    result = CliRunner().invoke(cli, ["diff", "0.1.0", str(other)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "0.1.0 (dist/factpack-news-events-0.1.0) -> 0.1.0 (elsewhere/factpack-news-events-0.1.0)"
    )
    assert lines[1].startswith("both are version 0.1.0 but their content differs")
    assert lines[-1] == "~ claims a1:C2: claim_text"
    body = json.loads(
        CliRunner().invoke(cli, ["diff", "--format", "json", "0.1.0", str(other)]).stdout
    )
    assert body["same_content"] is False


def test_table_without_primary_key(tmp_path: Path) -> None:
    old = write_release(tmp_path / "a")
    descriptor = old / "datapackage.json"
    package = json.loads(descriptor.read_text())
    for resource in package["resources"]:
        resource["schema"].pop("primaryKey")
    descriptor.write_text(json.dumps(package))
    release = releases.read_release(old)
    with pytest.raises(FactpackError, match="declares no primaryKey"):
        diff.diff_releases(release, release)


def test_unknown_release_is_a_clean_error(two: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", "0.1.0", "7.0.0"])
    assert result.exit_code == 1 and "no release '7.0.0'" in result.stderr
