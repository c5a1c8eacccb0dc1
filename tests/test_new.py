"""factpack new: the annotation skeleton of a verbatim text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.pipeline.annotations import load_article

TEXT = "Putin blames US for ‘assassination bid’\nRUSSIA has blitzed Kyiv.\n"


def test_new_writes_a_skeleton_that_passes_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "001_abc.txt").write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["new", "seeds/001_abc.txt"])
    assert result.exit_code == 0, result.output
    assert "wrote seeds/001_abc.yaml" in result.output
    written = (tmp_path / "seeds" / "001_abc.yaml").read_text(encoding="utf-8")
    lines = written.splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schema/annotation.schema.json"
    assert "docs/annotation-guide.md" in lines[1]
    assert "format: factpack-annotation/1" in lines
    sha = hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert f"  text_sha256: {sha}" in lines
    article, problems = load_article(tmp_path / "seeds" / "001_abc.yaml")
    assert problems == []
    assert article is not None
    assert article.article_id == "abc"
    assert article.doc["article"]["title"] == "Putin blames US for ‘assassination bid’"
    assert article.doc["article"]["published_date_basis"] == "unknown"
    assert article.doc["article"]["language"] == "en"
    assert [article.doc[k] for k in ("sources", "events", "claims")] == [[], [], []]
    check = CliRunner().invoke(cli, ["check", "seeds"])
    assert check.exit_code == 0, check.output


def test_new_language_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("Заголовок\nТекст.\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["new", "a.txt", "--language", "ru"]).exit_code == 0
    article, _ = load_article(tmp_path / "a.yaml")
    assert article is not None
    assert article.doc["article"]["language"] == "ru"
    assert article.doc["article"]["title"] == "Заголовок"


def test_new_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "a.yaml").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["new", "a.txt"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "a.yaml: the annotation exists already; edit it, or remove it to start again"
    )
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.txt", b"\xef\xbb\xbfTitle\n", "a.txt:1:1: text starts with a UTF-8 byte-order mark"),
        ("a.txt", b"Title\n\xff\n", "a.txt:2:1: text is not valid UTF-8 (byte 0xff)"),
        ("a.txt", b"Ti\x00tle\n", "a.txt:1:3: text contains a NUL character"),
        ("a.txt", b"  \n", "a.txt: the text is empty"),
        ("Bad Name.txt", b"Title\n", "Bad Name.txt: file name 'Bad Name' is not a safe stem"),
        ("a.md", b"Title\n", "a.md: expected the article text, a .txt file"),
    ],
)
def test_new_rejects_bad_texts(
    name: str, content: bytes, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(cli, ["new", name])
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.yaml"))


def test_new_missing_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new", "nothing.txt"])
    assert result.exit_code == 1
    assert result.output.strip() == "nothing.txt: no such file"


def test_new_bad_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["new", "a.txt", "--language", "English"])
    assert result.exit_code == 1
    assert "give an ISO 639-1 code" in result.output
