"""Released versions never change: the record, `factpack bump`, the changelog."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline import release, versions
from factpack.researcher import releases
from factpack.shared.problems import FactpackError
from releasefixture import ROWS, rows, write_release

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
TEST_NAME = "factpack-test-versions"
SHA = "a" * 64


def _schema_copy(root: Path, name: str = TEST_NAME) -> Path:
    """A copy of the repository's schema/ under a package name of its own, nothing recorded."""
    schema_dir = versions.own_schema(root / "schema", name)
    assert f"\nname: {name}\n" in (schema_dir / "package.yaml").read_text(encoding="utf-8")
    assert versions.read_record(schema_dir / "releases.yaml") == []
    return schema_dir


# ------------------------------------------------------------------ the record


def test_committed_record_is_valid_and_rendered_as_written() -> None:
    path = versions.record_path(None)
    text = path.read_text(encoding="utf-8")
    assert versions.render_record(versions.parse_record(text, str(path))) == text


def test_record_round_trips_sorted_and_deterministic() -> None:
    entries = [
        versions.Recorded("pkg", "0.10.0", "2026-12-01", SHA),
        versions.Recorded("pkg", "0.9.0", "2026-11-01", "b" * 64),
    ]
    text = versions.render_record(entries)
    assert text.index("0.9.0") < text.index("0.10.0")
    assert versions.render_record(versions.parse_record(text, "r.yaml")) == text
    assert "'2026-12-01'" in text  # quoted: read back as text, never as a date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "releases:\n- name: pkg\n  version: 0.1.0\n  date: '2026-11-24'\n  sha256: xyz\n",
            "r.yaml:5: releases/0/sha256: 'xyz' does not match",
        ),
        (
            "releases:\n- name: pkg\n  version: 0.1.0\n  date: '2026-11-24'\n",
            "r.yaml:2: releases/0: 'sha256' is a required property",
        ),
        ("releases: [\n", "r.yaml:2: invalid YAML; fix the syntax"),
        ("{}\n", "r.yaml:1: the file: 'releases' is a required property"),
    ],
)
def test_bad_record_is_one_line_with_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(FactpackError) as info:
        versions.parse_record(text, "r.yaml")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_version_recorded_twice_is_refused() -> None:
    one = versions.Recorded("pkg", "0.1.0", "2026-11-24", SHA)
    text = versions.render_record([one]) + versions.render_record([one]).split("releases:\n")[1]
    with pytest.raises(FactpackError, match=r"r.yaml:\d+: pkg 0.1.0 is recorded twice"):
        versions.parse_record(text, "r.yaml")


def test_differing_files_names_changed_and_missing_files() -> None:
    assert versions.differing_files("1  a\n2  b\n", "1  a\n3  b\n4  c\n") == ["b", "c"]
    assert versions.differing_files("1  a\n", "1  a\n") == []


# ------------------------------------------------------------------ bump


def test_next_version() -> None:
    assert versions.next_version("0.1.3", "patch") == "0.1.4"
    assert versions.next_version("0.1.3", "minor") == "0.2.0"
    assert versions.next_version("0.1.3", "major") == "1.0.0"
    with pytest.raises(FactpackError, match=r"not MAJOR\.MINOR\.PATCH"):
        versions.next_version("0.1", "patch")


def test_bump_text_changes_two_lines_and_keeps_comments() -> None:
    text = (
        "# header comment\nname: pkg\nversion: 0.1.0  # the version\n"
        '# created comment\ncreated: "2026-11-24T00:00:00Z"\nkeywords: [a]\n'
    )
    new, old, bumped = versions.bump_text(text, "minor", dt.date(2026, 12, 6), "p.yaml")
    assert (old, bumped) == ("0.1.0", "0.2.0")
    assert new == text.replace("0.1.0", "0.2.0").replace("2026-11-24", "2026-12-06")


def test_bump_text_without_version_line() -> None:
    with pytest.raises(FactpackError, match=r"^p.yaml: no top-level `version: "):
        versions.bump_text("name: pkg\n  version: 1.0.0\n", "patch", dt.date(2026, 1, 1), "p.yaml")
    with pytest.raises(FactpackError, match=r"^p.yaml:2: version '1.0' is not"):
        versions.bump_text("name: pkg\nversion: 1.0\n", "patch", dt.date(2026, 1, 1), "p.yaml")


def test_bump_command_edits_package_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    schema_dir = _schema_copy(tmp_path)
    before = (schema_dir / "package.yaml").read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["bump", "minor", "--schema-dir", str(schema_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("schema/package.yaml: version 0.1.0 -> 0.2.0;")
    after = (schema_dir / "package.yaml").read_text(encoding="utf-8")
    assert "version: 0.2.0\n" in after
    assert [line for line in after.splitlines() if line.startswith("#")] == [
        line for line in before.splitlines() if line.startswith("#")
    ]


def test_bump_refuses_a_recorded_version(tmp_path: Path) -> None:
    schema_dir = _schema_copy(tmp_path)
    recorded = versions.Recorded(TEST_NAME, "0.1.1", "2026-11-24", SHA)
    (schema_dir / "releases.yaml").write_text(versions.render_record([recorded]))
    with pytest.raises(FactpackError, match=r"0\.1\.1 is released already"):
        versions.bump("patch", dt.date(2026, 12, 6), schema_dir)


# ------------------------------------------------------------------ the build's check


def test_recorded_version_never_changes(tmp_path: Path) -> None:
    """Record a build; the same inputs rebuild; an edited annotation fails in one line naming
    the version and the first differing files, and dist/ keeps the recorded release."""
    schema_dir = _schema_copy(tmp_path)
    seeds, dist = tmp_path / "seeds", tmp_path / "dist"
    shutil.copytree(FIXTURE_SEEDS, seeds)
    args = (seeds, dist, tmp_path / "build", schema_dir)
    built = release.build(*args, jobs=1)
    assert (built.release_dir / "CHANGELOG.md").read_text() == versions.CHANGELOG_HEADER
    path, changed = versions.record_release(built.release_dir, schema_dir)
    assert changed and versions.record_release(built.release_dir, schema_dir) == (path, False)
    [entry] = versions.read_record(path)
    assert (entry.name, entry.version, entry.date) == (TEST_NAME, "0.1.0", "2026-11-24")
    sums = (built.release_dir / "SHA256SUMS").read_bytes()

    assert not release.build(*args, jobs=1, force=True).up_to_date  # same bytes: allowed

    y = seeds / "002_beta.yaml"
    y.write_text(y.read_text().replace("Residents doubt the talks.", "Residents doubt it."))
    with pytest.raises(FactpackError) as info:
        release.build(*args, jobs=1)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{schema_dir / 'releases.yaml'}: {TEST_NAME} 0.1.0 was released")
    files = "README.md, croissant.json, data/claims.csv"  # the card states the data size
    assert f"first differing files: {files}" in message
    assert "`factpack bump patch`" in message
    assert (built.release_dir / "SHA256SUMS").read_bytes() == sums

    result = CliRunner().invoke(cli, ["bump", "patch", "--schema-dir", str(schema_dir)])
    assert result.exit_code == 0, result.output
    bumped = release.build(*args, jobs=1)
    assert bumped.release_dir.name == f"{TEST_NAME}-0.1.1"
    assert built.release_dir.is_dir()  # the first version stays beside it


def test_record_refuses_other_bytes(tmp_path: Path) -> None:
    schema_dir = _schema_copy(tmp_path, "factpack-news-events")
    one = write_release(tmp_path / "dist")
    recorded = versions.Recorded("factpack-news-events", "0.1.0", "2026-11-24", SHA)
    (schema_dir / "releases.yaml").write_text(versions.render_record([recorded]))
    with pytest.raises(FactpackError, match=r"0\.1\.0 is recorded with other bytes"):
        versions.record_release(one, schema_dir)


# ------------------------------------------------------------------ the changelog


def test_changelog_lists_changed_rows_by_id(tmp_path: Path) -> None:
    schema_dir = _schema_copy(tmp_path, "factpack-news-events")
    dist = tmp_path / "dist"
    first = write_release(dist)
    claims = [dict(ROWS["claims"][0], claim_text="Ukraine did it"), ROWS["claims"][1]]
    claims.append({"claim_id": "a1:C3", "source_id": "a1:S1", "event_id": None, "claim_text": "x"})
    second = write_release(dist, rows(claims=claims, events=[]), "0.2.0", "2026-12-06T00:00:00Z")

    path, changed, previous = versions.write_changelog(first, dist, None, schema_dir)
    assert (changed, previous) == (True, None)
    path, changed, previous = versions.write_changelog(second, dist, "Fixed a1:C1.", schema_dir)
    assert (changed, previous) == (True, "0.1.0")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(versions.CHANGELOG_HEADER)
    assert text.index("## 0.2.0 (2026-12-06)") < text.index("## 0.1.0 (2026-11-24)")
    assert "Fixed a1:C1.\n\nChanges against 0.1.0:" in text
    assert "| claims | 1 | 0 | 1 | claim_text |" in text
    assert "- claims added: `a1:C3`" in text
    assert "- claims changed: `a1:C1` (claim_text)" in text
    assert "- events removed: `a1:E1`" in text
    assert "First release: every row is new." in text
    # again: the same file (the section is replaced, not added twice)
    assert versions.write_changelog(second, dist, "Fixed a1:C1.", schema_dir)[1] is False


def test_note_comes_from_package_yaml(tmp_path: Path) -> None:
    schema_dir = _schema_copy(tmp_path, "factpack-news-events")
    with (schema_dir / "package.yaml").open("a", encoding="utf-8") as fh:
        fh.write('release_notes:\n  "0.1.0": First public version.\n')
    one = write_release(tmp_path / "dist")
    path, _, _ = versions.write_changelog(one, tmp_path / "dist", None, schema_dir)
    assert "## 0.1.0 (2026-11-24)\n\nFirst public version.\n" in path.read_text()


def test_section_without_note_says_so() -> None:
    section = versions.changelog_section("0.1.0", "2026-11-24", "", None)
    assert "No note from the maintainers for this version." in section


def test_card_section_of_a_version() -> None:
    text = versions.merge_section("", "0.1.0", "## 0.1.0 (2026-11-24)\n\nFirst.\n")
    assert versions.card_section(text, "0.1.0").startswith("## Changelog\n\n### 0.1.0 (2026")
    assert "No changelog entry for 0.2.0 yet" in versions.card_section(text, "0.2.0")


def test_changelog_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    schema_dir = _schema_copy(tmp_path, "factpack-news-events")
    write_release(tmp_path / "dist")
    two = write_release(tmp_path / "dist", rows(events=[]), "0.2.0")
    args = ["changelog", str(two), "--note", "Dropped E1.", "--schema-dir", str(schema_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output == "wrote: schema/changelog.md (changes against 0.1.0)\n"


# ------------------------------------------------------------------ releases.json


def test_releases_json_is_world_readable(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_release(tmp_path)
        index = releases.update_index(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(index.stat().st_mode) == 0o644


def test_cached_archive_is_world_readable(dist: Path, tmp_path: Path) -> None:
    from factpack.researcher import download
    from releasefixture import serve

    with serve(dist) as (base, _):
        got = download.download(base + "releases.json", to=tmp_path / "out", retries=0)
    assert got.archive.parent == tmp_path / "cache" / "archives"
    assert stat.S_IMODE(got.archive.stat().st_mode) == 0o644


def test_changelog_needs_the_last_recorded_version(tmp_path: Path) -> None:
    """A fresh clone without the previous release in dist/ gets no made-up "first release"."""
    schema_dir = _schema_copy(tmp_path, "factpack-news-events")
    dist = tmp_path / "dist"
    first = write_release(dist)
    recorded = versions.Recorded("factpack-news-events", "0.1.0", "2026-11-24", SHA)
    (schema_dir / "releases.yaml").write_text(versions.render_record([recorded]))
    second = write_release(tmp_path / "new", rows(events=[]), "0.2.0")
    with pytest.raises(FactpackError, match=r"not the release recorded as 0\.1\.0"):
        versions.write_changelog(second, dist, None, schema_dir)
    shutil.rmtree(first)
    with pytest.raises(FactpackError, match=r"last released version 0\.1\.0, but it has no older"):
        versions.write_changelog(second, dist, None, schema_dir)


# ------------------------------------------------------------------ messages a new user sees


def test_check_prints_a_summary_when_clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(FIXTURE_SEEDS.parent)
    result = CliRunner().invoke(cli, ["check", "seeds", "--build-dir", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # stdout holds problems only
    assert result.stderr == "no problems: 2 files, 4 sources, 2 events, 4 claims\n"


def test_file_level_problem_has_no_zero_position() -> None:
    from factpack.shared.problems import Problem

    assert Problem("a.txt", 0, 0, "text has no annotation", "start one").format() == (
        "a.txt: text has no annotation; start one"
    )
    assert Problem("a.yaml", 3, 0, "bad").format() == "a.yaml:3: bad"
    assert Problem("a.yaml", 3, 7, "bad").format() == "a.yaml:3:7: bad"


def test_no_release_hint_names_make_dataset_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["query", "select 1"])
    assert result.exit_code == 1
    hint = result.stderr.split("; ", 1)[1]
    assert hint.startswith("run `make dataset` to build one, or `factpack download")
    assert hint.rstrip().endswith("pass --release PATH|VERSION")


def test_python_api_errors_speak_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from factpack.researcher import api

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    for call in (lambda: api.connect(), lambda: api.load("claims", release="9.9.9")):
        with pytest.raises(FactpackError) as info:
            call()
        assert 'release="path/to/release"' in str(info.value)
        assert "--release" not in str(info.value)


def test_downloaded_release_is_found_inside_it_and_by_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`factpack download --to ~/data`: query works in the release, in ~/data, by version."""
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    got = write_release(data, version="0.3.0")
    for where in (got, got / "data", data):
        monkeypatch.chdir(where)
        result = CliRunner().invoke(
            cli, ["query", "--format", "csv", "select count(*) from claims"]
        )
        assert (result.exit_code, result.stdout.splitlines()[-1]) == (0, "2"), result.output
    monkeypatch.chdir(data)
    assert releases.resolve_release("0.3.0").path == got
    monkeypatch.chdir(got)
    assert releases.resolve_release("0.3.0").path == got


def test_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(versions)
    assert result.attempted >= 3 and result.failed == 0


def test_bench_builds_under_a_package_name_of_its_own(tmp_path: Path) -> None:
    from bench.run import _build_cmd

    cmd = _build_cmd(tmp_path / "corpus", tmp_path, tmp_path / "t.json", [])
    schema_dir = Path(cmd[cmd.index("--schema-dir") + 1])
    assert "\nname: factpack-bench\n" in (schema_dir / "package.yaml").read_text()
    assert versions.read_record(schema_dir / "releases.yaml") == []
