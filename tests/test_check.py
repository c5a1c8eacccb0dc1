"""factpack check: every rule against a broken fixture, with the exact file:line:col message."""

# ruff: noqa: E501 (the expected messages are kept whole, one per line)

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline.annotations import (
    _schema_parts,
    article_id_of,
    check_paths,
    fast_validator,
    load_article,
)

FIXTURES = Path(__file__).parent / "fixtures" / "check"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"

# One fixture per rule: tests/fixtures/check/<name>.yaml annotates article.txt (copied beside it
EXPECTED = {
    "after_publication": [
        "after_publication.yaml:48:17: events[0].date_start 2023-05-06 is after the publication date 2023-05-04; correct it, or explain it in date_note",
    ],
    "bad_date_form": [
        "bad_date_form.yaml:48:17: events[0].date_start: '2023-5-2' does not match ^\\d{4}-\\d{2}-\\d{2}$; write the date as \"YYYY-MM-DD\" (in quotes)",
    ],
    "bad_enum": [
        "bad_enum.yaml:35:18: sources[2].source_kind: 'gruop' is not a valid value; did you mean 'group'? valid: person, government, organisation, group, media, footage, document",
    ],
    "bad_timezone": [
        "bad_timezone.yaml:54:15: events[0].timezone 'Europe/Kyev' is not an IANA time zone name; did you mean 'Europe/Kyiv'? use a name like Europe/Moscow",
    ],
    "basis_unknown_with_date": [
        "basis_unknown_with_date.yaml:9:25: article: published_date_basis is unknown but a date is given; set the basis to stated or inferred, or remove the date",
    ],
    "cue_not_in_quote": [
        "cue_not_in_quote.yaml:91:10: claims[2].cue 'claimed' does not occur in the claim's quote; the cue is the attributing word inside the evidence; widen the quote or correct the cue",
    ],
    "date_order": [
        "date_order.yaml:49:15: events[0]: date_end 2023-05-01 is before date_start 2023-05-02; swap them, or correct the wrong one",
    ],
    "duplicate_id": [
        "duplicate_id.yaml:33:16: duplicate source_id 'S2' (first at line 24); give every item its own id",
        "duplicate_id.yaml:87:16: claims[2].source_id: no source with id 'S3'; did you mean 'S2'? sources: S1, S2",
    ],
    "duplicate_key": [
        "duplicate_key.yaml:7:3: duplicate key 'publisher' (first at line 6); keep one of them: YAML would silently keep only the last",
    ],
    "evidence_in_furniture": [
        'evidence_in_furniture.yaml:62:20: events[0] evidence lies in page furniture ("MORE ON THIS", line 3); quote the article\'s own text, not navigation or adverts',
    ],
    "impossible_date": [
        "impossible_date.yaml:8:19: article.published_date: 2023-02-30 is not a calendar date; give a day that exists (YYYY-MM-DD)",
    ],
    "inferred_without_note": [
        "inferred_without_note.yaml:9:25: article: published_date_basis is inferred but published_date_note is empty; say in published_date_note how the date was derived",
    ],
    "missing_claim": [
        "missing_claim.yaml:83:18: claims[1].responds_to: no claim with id 'C5'; did you mean 'C3'? claims: C1, C2, C3",
    ],
    "missing_event": [
        "missing_event.yaml:88:15: claims[2].event_id: no event with id 'E7'; did you mean 'E1'? events: E1",
    ],
    "missing_required": [
        "missing_required.yaml:43:5: missing required key 'summary' in events[0]; add summary: (see docs/annotation-guide.md)",
    ],
    "missing_source": [
        "missing_source.yaml:65:16: claims[0].source_id: no source with id 'S9'; did you mean 'S3'? sources: S1, S2, S3",
    ],
    "prefix_mismatch": [
        'prefix_mismatch.yaml:23:20: sources[0].quote: "ministry" is in the text but its prefix matches none of its 2 occurrence(s); copy the text right before/after it from the .txt; occurrences: line 2 "The ministry", line 4 "…the Russian defence ministry"',
    ],
    "quote_ambiguous": [
        'quote_ambiguous.yaml:23:20: sources[0].quote: "ministry" occurs 2 times; add a prefix or suffix (the text right before/after it) to pick one; occurrences: line 2 "The ministry", line 4 "…the Russian defence ministry"',
    ],
    "quote_not_found": [
        'quote_not_found.yaml:41:20: sources[2].quote: not found in the text: "Residents of Odesa"; copy the exact characters from the .txt; nearest: line 5 "Residents said they", line 2 "hit the port of Odesa", line 2 "Tuesday that two drones"',
    ],
    "relation_without_reply": [
        "relation_without_reply.yaml:84:15: claims[1] has a relation but no responds_to; name the claim it answers in responds_to, or set relation: null",
    ],
    "reply_without_relation": [
        "reply_without_relation.yaml:83:18: claims[1] has responds_to but no relation; add relation: denies | disputes | supports",
    ],
    "responds_to_cycle": [
        "responds_to_cycle.yaml:72:18: responds_to forms a cycle: C1 -> C2 -> C1; a claim answers an earlier claim; break the cycle",
    ],
    "responds_to_itself": [
        "responds_to_itself.yaml:83:18: claims[1].responds_to: claim C2 answers itself; point at the earlier claim it answers, or null",
    ],
    "sha256_mismatch": [
        "sha256_mismatch.yaml:4:16: text_sha256 does not match sha256_mismatch.txt (its sha256 is 168b63d0005f15a331ca9b5cd0fd1acabd9602bdb873a4ce72f9a22003de3ad4); the text must stay verbatim: restore it, or re-check every quote and then record the new sha256",
    ],
    "sub_event_parent": [
        "sub_event_parent.yaml:45:21: events[0].sub_event_type 'Armed clash' does not belong to event_type 'Explosions/Remote violence'; 'Armed clash' is a sub-event type of 'Battles'; change one of the two",
    ],
    "three_problems": [
        "three_problems.yaml:18:5: unknown key 'rol' in sources[0]; did you mean 'role'?",
        'three_problems.yaml:41:20: sources[2].quote: not found in the text: "Residents of Odesa"; copy the exact characters from the .txt; nearest: line 5 "Residents said they", line 2 "hit the port of Odesa", line 2 "Tuesday that two drones"',
        "three_problems.yaml:65:16: claims[0].source_id: no source with id 'S9'; did you mean 'S3'? sources: S1, S2, S3",
    ],
    "time_without_zone": [
        "time_without_zone.yaml:53:17: events[0].time_local needs timezone; give the event's IANA time zone and date, or remove time_local",
    ],
    "unknown_key": [
        "unknown_key.yaml:65:5: unknown key 'sorce_id' in claims[0]; did you mean 'source_id'?",
    ],
    "wrong_format": [
        "wrong_format.yaml:2:9: format must be 'factpack-annotation/1'; write format: factpack-annotation/1",
    ],
    "wrong_type": [
        "wrong_type.yaml:30:15: sources[1].is_named: expected boolean, got string 'yes'; write true or false, without quotes",
    ],
    "yaml_syntax": [
        "yaml_syntax.yaml:24:3: YAML syntax error: while parsing a flow mapping did not find expected ',' or '}'; fix the YAML syntax here",
    ],
}


def _pair(tmp_path: Path, name: str) -> Path:
    """Copy fixture <name>.yaml and the fixture text as <name>.txt into tmp_path."""
    shutil.copy(FIXTURES / "article.txt", tmp_path / f"{name}.txt")
    shutil.copy(FIXTURES / f"{name}.yaml", tmp_path / f"{name}.yaml")
    return tmp_path / f"{name}.yaml"


def test_every_fixture_has_an_expectation() -> None:
    names = {p.stem for p in FIXTURES.glob("*.yaml")} - {"valid"}
    assert names == set(EXPECTED)


def test_valid_fixture_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    article, problems = load_article(_pair(tmp_path, "valid"))
    assert problems == []
    assert article is not None
    assert article.article_id == "valid"
    # the straight-quoted claim quote resolves onto the curly-quoted text
    start, end = article.spans[("claims", "C2")]
    assert (
        article.text[start:end]
        == "“We did not attack the port,” the Russian defence ministry said."
    )
    assert article.doc["article"]["published_date"] == "2023-05-04"  # stays a string


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rule(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    article, problems = load_article(_pair(tmp_path, name))
    assert article is None
    assert [p.format() for p in problems] == EXPECTED[name]


def test_acceptance_three_problems_via_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt key, a quote not in the text and a missing source: exit 1, all three named."""
    monkeypatch.chdir(tmp_path)
    _pair(tmp_path, "three_problems")
    result = CliRunner().invoke(cli, ["check", "three_problems.yaml"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("three_problems.yaml:18:5: unknown key 'rol' in sources[0]")
    assert lines[1].startswith("three_problems.yaml:41:20: sources[2].quote: not found in the text")
    assert lines[2].startswith("three_problems.yaml:65:16: claims[0].source_id: no source with id")
    assert len(lines) == 3


def test_check_directory_reports_all_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    for name in ("valid", "unknown_key", "missing_source"):
        _pair(tmp_path / "seeds", name)
    (tmp_path / "seeds" / "orphan.txt").write_text("Headline\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check"])  # default: seeds/
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "seeds/orphan.txt: text has no annotation; start one with `factpack new seeds/orphan.txt`",
        *[f"seeds/{line}" for line in EXPECTED["missing_source"]],
        *[f"seeds/{line}" for line in EXPECTED["unknown_key"]],
    ]


def test_check_clean_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _pair(tmp_path, "valid")
    result = CliRunner().invoke(cli, ["check", "valid.yaml", "valid.txt"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_bad_usage_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["check", "nowhere"]).exit_code == 2
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "notes.md"])
    assert result.exit_code == 2
    assert "expected a directory, a .yaml annotation or a .txt text" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty.yaml:1:1: the annotation is empty; it must be a mapping"),
        (b"- a\n- b\n", "empty.yaml:1:1: the annotation is a list, not a mapping"),
        (
            b"a: \xff\n",
            "empty.yaml:1:4: annotation is not valid UTF-8 (byte 0xff); save it as UTF-8",
        ),
        (b"a: !!python/object x\n", "empty.yaml:1:4: unsupported YAML tag"),
        (b"a: &x [*x]\n", "empty.yaml:1:4: recursive YAML alias"),
    ],
)
def test_garbage_never_tracebacks(
    content: bytes, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("Headline\n", encoding="utf-8")
    (tmp_path / "empty.yaml").write_bytes(content)
    article, problems = load_article(tmp_path / "empty.yaml")
    assert article is None
    assert any(p.format().startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"\xef\xbb\xbfHeadline\n", "t.txt:1:1: text starts with a UTF-8 byte-order mark"),
        (b"Headline\nbad \xc3(\n", "t.txt:2:5: text is not valid UTF-8 (byte 0xc3)"),
        (b"Head\x00line\n", "t.txt:1:5: text contains a NUL character"),
        (b"Headline\r\n", "t.txt:1:9: text contains a carriage return (CR)"),
    ],
)
def test_text_problems(
    text: bytes, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_bytes(text)
    shutil.copy(FIXTURES / "valid.yaml", tmp_path / "t.yaml")
    _, problems = load_article(tmp_path / "t.yaml")
    assert any(p.format().startswith(expected) for p in problems), problems


def test_unsafe_stem_and_missing_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES / "valid.yaml", tmp_path / "Bad Name.yaml")
    _, problems = load_article(tmp_path / "Bad Name.yaml")
    assert [p.format().split(";")[0] for p in problems[:2]] == [
        "Bad Name.yaml: file name 'Bad Name' is not a safe stem (it becomes an id and a path)",
        "Bad Name.yaml: no text Bad Name.txt beside the annotation",
    ]


def test_article_id_strips_sequence_prefix() -> None:
    assert article_id_of("000_a4c96cb10ee97359") == "a4c96cb10ee97359"
    assert article_id_of("a4c96cb10ee97359") == "a4c96cb10ee97359"
    assert article_id_of("12_x_3") == "x_3"


def test_the_seed_passes() -> None:
    seeds = sorted(SEEDS.glob("*.yaml"))
    assert seeds, "seeds/*.yaml is missing"
    assert check_paths([SEEDS]) == []
    article, problems = load_article(SEEDS / "000_a4c96cb10ee97359.yaml")
    assert problems == []
    assert article is not None
    assert article.article_id == "a4c96cb10ee97359"
    start, end = article.spans[("claims", "C6")]
    assert article.text[start:end] == "Washington denies this"


@pytest.mark.parametrize("name", ["valid", *sorted(EXPECTED)])
def test_fast_schema_path_agrees_with_jsonschema(name: str) -> None:
    """The fast path for clean files never passes what jsonschema rejects."""
    from factpack.shared.yamlload import load_yaml

    loaded = load_yaml((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    if loaded.data is None:
        return
    validator, _ = _schema_parts()
    clean = not list(validator.iter_errors(loaded.data))
    assert fast_validator()(loaded.data) == clean


def test_positions_follow_the_data_path() -> None:
    """Positions are found on demand in the node tree: values, keys, the first of duplicate
    keys, and the nearest existing ancestor of a path the data does not have."""
    from factpack.shared.yamlload import load_yaml

    loaded = load_yaml("a:\n  b: [x, {c: 1}]\n  b: 2\nd: 'e'\n")
    assert loaded.where(("a", "b", 1, "c")) == (2, 14)
    assert loaded.where(("a", "b", 1, "c"), key=True) == (2, 11)
    assert loaded.where(("a", "b"), key=True) == (2, 3)
    assert loaded.where(("a", "b", 0)) == (2, 7)
    assert loaded.where(("a", "b", 5)) == (2, 6)
    assert loaded.where(("a", "missing", "deeper")) == (2, 3)
    assert loaded.where(("d",), key=True) == (4, 1)
    assert loaded.where(()) == (1, 1)
    assert load_yaml("").where(("a",)) == (1, 1)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096])
def test_read_takes_files_up_to_the_limit_whole(tmp_path: Path, size: int) -> None:
    from factpack.pipeline.annotations import _read

    path = tmp_path / "a.yaml"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    assert _read(path, "a.yaml", 4096, "annotation") == (path.read_bytes(), None)


def test_read_reports_a_file_over_the_limit(tmp_path: Path) -> None:
    from factpack.pipeline.annotations import _read

    path = tmp_path / "a.yaml"
    path.write_bytes(b"x" * 4097)
    data, problem = _read(path, "a.yaml", 4096, "annotation")
    assert data is None and problem is not None and problem.code == "too-large"


@pytest.mark.parametrize(("size", "code"), [(3000, None), (5000, "too-large")])
def test_read_a_file_that_grew_after_its_size_was_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, code: str | None
) -> None:
    """The size is only a hint for the buffer: a file longer than it is still read whole."""
    import os

    from factpack.pipeline import annotations

    path = tmp_path / "a.yaml"
    path.write_bytes(b"y" * size)
    real = os.fstat

    def stale(fd: int) -> os.stat_result:
        info = real(fd)
        return os.stat_result((*info[:6], 10, *info[7:]))  # st_size is field 6

    monkeypatch.setattr(annotations.os, "fstat", stale)
    data, problem = annotations._read(path, "a.yaml", 4096, "annotation")
    if code is None:
        assert data == b"y" * size and problem is None
    else:
        assert data is None and problem is not None and problem.code == code


def test_a_large_folder_is_checked_on_a_process_per_cpu_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From CHECK_POOL_MIN files the check runs in worker processes (when there are 2 CPUs or
    more); every problem is the one a check in one process reports, in the same order."""
    from factpack.pipeline import annotations

    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    for name in EXPECTED:
        _pair(tmp_path / "seeds", name)
    serial = CliRunner().invoke(cli, ["check", "--build-dir", "b1"])
    calls: list[int] = []
    real = annotations.load_article
    monkeypatch.setattr(annotations, "load_article", lambda p: calls.append(1) or real(p))
    monkeypatch.setattr(annotations, "CHECK_POOL_MIN", 2)
    pooled = CliRunner().invoke(cli, ["check", "--build-dir", "b2"])
    assert pooled.exception is None or isinstance(pooled.exception, SystemExit), repr(
        pooled.exception
    )
    assert pooled.stdout == serial.stdout and pooled.exit_code == serial.exit_code == 1
    assert len(serial.stdout.splitlines()) >= len(EXPECTED)
    if len(os.sched_getaffinity(0)) >= 2:
        assert calls == []  # the workers checked them, not this process
