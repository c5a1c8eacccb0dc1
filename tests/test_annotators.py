"""Several annotations of one article: seeds/annotators/<name>/<stem>.yaml, checked, compared
by `factpack agree`, never built; adjudication notes in the published annotation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline import agreement, release
from factpack.pipeline.annotations import annotator_files, check_paths, load_article
from factpack.shared.schema import load_schema

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
STEM = "001_alpha"


def seeds_with_annotators(tmp_path: Path) -> Path:
    """The build fixture's seeds plus two annotators' files of 001_alpha (bob differs)."""
    seeds = tmp_path / "seeds"
    shutil.copytree(FIXTURE_SEEDS, seeds)
    text = (seeds / f"{STEM}.yaml").read_text(encoding="utf-8")
    for name, body in (
        ("ann", text),
        ("bob", text.replace("is_named: true", "is_named: false")),
    ):
        folder = seeds / "annotators" / name
        folder.mkdir(parents=True)
        (folder / f"{STEM}.yaml").write_text(body, encoding="utf-8")
    return seeds


def messages(seeds: Path) -> list[tuple[str, str]]:
    return [(p.code, Path(p.path).name) for p in check_paths([seeds])]


def test_annotator_files_are_found_and_read_against_the_shared_text(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    found, problems = annotator_files(seeds)
    assert problems == []
    assert [(n, p.relative_to(seeds).as_posix()) for n, p in found] == [
        ("ann", f"annotators/ann/{STEM}.yaml"),
        ("bob", f"annotators/bob/{STEM}.yaml"),
    ]
    article, problems = load_article(found[1][1])
    assert problems == [] and article is not None
    assert article.text == (seeds / f"{STEM}.txt").read_text(encoding="utf-8")
    assert messages(seeds) == []


def test_check_reports_problems_in_an_annotators_file(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    bad = seeds / "annotators" / "bob" / f"{STEM}.yaml"
    bad.write_text(bad.read_text().replace("factuality: alleged", "factuality: Alleged"))
    problems = check_paths([seeds])
    assert [(p.code, p.path.endswith(f"annotators/bob/{STEM}.yaml")) for p in problems] == [
        ("vocabulary", True)
    ]


def test_an_unsafe_annotator_name_is_one_problem(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    (seeds / "annotators" / "bob").rename(seeds / "annotators" / "Bob Smith")
    problems = check_paths([seeds])
    assert [p.code for p in problems] == ["annotator-name"]
    line = problems[0].format()
    assert "annotators/Bob Smith:0:0: annotator name 'Bob Smith' is not a safe folder name" in line
    assert "\n" not in line


def test_stray_files_in_annotators_are_problems_hidden_files_are_not(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    (seeds / "annotators" / "notes.yaml").write_text("x: 1\n")
    (seeds / "annotators" / "ann" / f"{STEM}.txt").write_text("copy\n")
    (seeds / "annotators" / "ann" / ".gitkeep").write_text("")
    assert sorted(messages(seeds)) == [
        ("annotator-layout", f"{STEM}.txt"),
        ("annotator-layout", "notes.yaml"),
    ]


def test_an_annotators_file_without_the_shared_text(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    folder = seeds / "annotators" / "ann"
    shutil.copy(folder / f"{STEM}.yaml", folder / "009_gone.yaml")
    problems = [p for p in check_paths([seeds]) if p.code == "missing-text"]
    assert len(problems) == 1
    assert "no text " in problems[0].message and "009_gone.txt for the annotation" in (
        problems[0].message
    )


def test_annotators_do_not_collide_with_the_published_annotation(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    assert "id-collision" not in [c for c, _ in messages(seeds)]


def test_the_build_reads_seeds_yaml_only(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    # A broken annotator's file, and one for an article that is not published: neither counts.
    (seeds / "annotators" / "bob" / f"{STEM}.yaml").write_text("format: nonsense\n")
    shutil.copy(seeds / "002_beta.yaml", seeds / "annotators" / "ann" / "003_gamma.yaml")
    result = release.build(seeds, tmp_path / "dist", tmp_path / "build", None, 1, None, False)
    plain = tmp_path / "plain"
    shutil.copytree(FIXTURE_SEEDS, plain / "seeds")
    expected = release.build(plain / "seeds", plain / "dist", plain / "build", None, 1, None, False)
    assert result.counts == expected.counts
    assert result.counts["articles"] == 2


ADJUDICATION = """adjudication:
  - items: [S2]
    decision: is_named true
    reason: The article names the army as the speaker.
    evidence:
      - title: Army denies depot strike
        publisher: Test Gazette
        date: "2024-03-06"
        url: https://example.org/a
"""


def test_adjudication_notes_are_checked(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    path = seeds / f"{STEM}.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + ADJUDICATION, encoding="utf-8")
    assert messages(seeds) == []
    path.write_text(original + ADJUDICATION.replace("[S2]", "[S2, E9]"), encoding="utf-8")
    (problem,) = check_paths([seeds])
    assert problem.code == "reference"
    assert "adjudication[0].items: no event with id 'E9'" in problem.message
    path.write_text(original + ADJUDICATION.replace("[S2]", "[]"), encoding="utf-8")
    assert [p.code for p in check_paths([seeds])] == ["reference"]
    path.write_text(original + ADJUDICATION.replace("    reason:", "    why:"), encoding="utf-8")
    assert sorted(p.code for p in check_paths([seeds])) == ["missing-key", "unknown-key"]
    path.write_text(original + ADJUDICATION.replace('"2024-03-06"', "March"), encoding="utf-8")
    assert [p.code for p in check_paths([seeds])] == ["pattern"]


def test_agree_prints_tables_and_json(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    articles, problems = agreement.load_annotations(seeds)
    assert problems == [] and list(articles) == [STEM] and sorted(articles[STEM]) == ["ann", "bob"]
    runner = CliRunner()
    result = runner.invoke(cli, ["agree", str(seeds)])
    assert result.exit_code == 0, result.output
    assert "== sources ==" in result.output and "== claims ==" in result.output
    assert "n/a (2 items)" in result.output  # is_named over 2 matched sources
    assert "claim -> source" in result.output
    result = runner.invoke(cli, ["agree", str(seeds), "--json"])
    figures = json.loads(result.output)
    assert figures == agreement.agreement(articles, load_schema())
    assert figures["tables"]["sources"]["codes"]["is_named"]["agreement"] == 0.5


def test_agree_reports_bad_files_and_fails(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    (seeds / "annotators" / "Bad").mkdir()
    result = CliRunner().invoke(cli, ["agree", str(seeds)])
    assert result.exit_code == 1
    assert "annotator name 'Bad' is not a safe folder name" in result.output


def test_agree_without_annotators_says_so(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(FIXTURE_SEEDS, seeds)
    result = CliRunner().invoke(cli, ["agree", str(seeds)])
    assert result.exit_code == 0
    assert "has two or more annotations" in result.output
    result = CliRunner().invoke(cli, ["agree", str(tmp_path / "nowhere")])
    assert result.exit_code == 2


def test_the_guide_documents_every_adjudication_field() -> None:
    from factpack.shared import guide
    from factpack.shared.schema import annotation_json_schema

    schema = load_schema()
    section = guide.render_adjudication(schema)
    assert section.startswith("## Double annotation and adjudication")
    defs = annotation_json_schema(schema)["$defs"]
    for name in (*defs["adjudication_note"]["properties"], *defs["citation"]["properties"]):
        assert f"| `{name}` |" in section
    text = guide.GUIDE_PATH.read_text(encoding="utf-8")
    assert section in text


def test_checking_part_of_annotators_checks_that_part(tmp_path: Path) -> None:
    seeds = seeds_with_annotators(tmp_path)
    bad = seeds / "annotators" / "bob" / f"{STEM}.yaml"
    bad.write_text(bad.read_text().replace("factuality: alleged", "factuality: Alleged"))
    (seeds / "annotators" / "Bad Name").mkdir()
    shutil.copy(bad, seeds / "annotators" / "Bad Name" / f"{STEM}.yaml")
    root = seeds / "annotators"
    assert sorted(p.code for p in check_paths([root])) == ["annotator-name", "vocabulary"]
    assert [p.code for p in check_paths([root / "bob"])] == ["vocabulary"]
    assert [p.code for p in check_paths([bad])] == ["vocabulary"]
    assert check_paths([root / "ann"]) == []
    assert [p.code for p in check_paths([root / "Bad Name" / f"{STEM}.yaml"])] == ["annotator-name"]
