"""`factpack preview <stem>`: one article's page from its annotation alone, as built."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline import preview, release

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
STEMS = {"001_alpha": "alpha", "002_beta": "beta"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the fixture seeds, built once: its root."""
    root = tmp_path_factory.mktemp("preview")
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    release.build(root / "seeds", root / "dist", root / "build")
    return root


def _published(root: Path, article_id: str) -> bytes:
    (page,) = (root / "dist").glob(f"*/site/articles/{article_id}.html")
    return page.read_bytes()


@pytest.mark.parametrize("stem", sorted(STEMS))
def test_preview_is_byte_identical_to_the_published_page(
    built: Path, stem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(built)
    result = CliRunner().invoke(cli, ["preview", stem])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == Path("build") / "preview" / f"{stem}.html"
    assert path.read_bytes() == _published(built, STEMS[stem])


def test_preview_follows_an_edit_without_a_build(built: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(built / "seeds", seeds)
    yaml_path = seeds / "001_alpha.yaml"
    before = preview.preview("001_alpha", seeds, tmp_path / "out").read_bytes()
    text = yaml_path.read_text("utf-8")
    assert "factuality: alleged" in text
    yaml_path.write_text(text.replace("factuality: alleged", "factuality: reported", 1), "utf-8")
    after = preview.preview("001_alpha", seeds, tmp_path / "out").read_bytes()
    assert before != after and b"<dd>reported</dd>" in after


def test_preview_accepts_the_annotation_path(built: Path, tmp_path: Path) -> None:
    path = preview.preview(str(built / "seeds" / "002_beta.yaml"), out_dir=tmp_path)
    assert path == tmp_path / "002_beta.html"
    assert path.read_bytes() == _published(built, "beta")


def test_a_broken_annotation_prints_its_problems_and_writes_nothing(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(built / "seeds", seeds)
    yaml_path = seeds / "002_beta.yaml"
    yaml_path.write_text(yaml_path.read_text("utf-8") + "\nbogus_key: 1\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["preview", "002_beta"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "seeds/002_beta.yaml:" in result.output
    assert not (tmp_path / "build" / "preview" / "002_beta.html").exists()


def test_a_missing_annotation_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["preview", "404_nothing"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "seeds/404_nothing.yaml: no such annotation; give the stem of a pair in seeds/ "
        "(<stem>.yaml + <stem>.txt)"
    ]


def test_preview_of_a_doubly_annotated_article_links_its_adjudication_page(
    tmp_path: Path,
) -> None:
    """The build publishes an adjudication page for it: the preview links it the same way."""
    seeds = tmp_path / "seeds"
    shutil.copytree(FIXTURE_SEEDS, seeds)
    for name in ("ann1", "ann2"):
        (seeds / "annotators" / name).mkdir(parents=True)
        shutil.copy(seeds / "001_alpha.yaml", seeds / "annotators" / name / "001_alpha.yaml")
    release.build(seeds, tmp_path / "dist", tmp_path / "build")
    page = preview.preview("001_alpha", seeds, tmp_path / "out").read_bytes()
    assert b"adjudication/alpha.html" in page
    assert page == _published(tmp_path, "alpha")
    assert b"adjudication/" not in preview.preview("002_beta", seeds, tmp_path / "out").read_bytes()
