"""The per-article load path: the cyclic garbage collector is paused while an article loads."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factpack.pipeline import annotations
from factpack.shared.yamlload import Loaded

FIXTURES = Path(__file__).parent / "fixtures" / "check"


@pytest.fixture
def article(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "article.txt", tmp_path / "valid.txt")
    shutil.copy(FIXTURES / "valid.yaml", tmp_path / "valid.yaml")
    return tmp_path / "valid.yaml"


@pytest.fixture
def gc_state() -> Iterator[None]:
    was_on = gc.isenabled()
    yield
    if was_on:
        gc.enable()
    else:
        gc.disable()


def _spy(monkeypatch: pytest.MonkeyPatch, seen: list[bool], fail: bool = False) -> None:
    real = annotations.load_yaml

    def spy(text: str) -> Loaded:
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("boom")
        return real(text)

    monkeypatch.setattr(annotations, "load_yaml", spy)


def test_collector_is_paused_while_loading_and_back_on_after(
    article: Path, monkeypatch: pytest.MonkeyPatch, gc_state: Any
) -> None:
    gc.enable()
    seen: list[bool] = []
    _spy(monkeypatch, seen)
    loaded, problems = annotations.load_article(article)
    assert loaded is not None and problems == []
    assert seen == [False]
    assert gc.isenabled()


def test_collector_back_on_after_an_exception(
    article: Path, monkeypatch: pytest.MonkeyPatch, gc_state: Any
) -> None:
    gc.enable()
    seen: list[bool] = []
    _spy(monkeypatch, seen, fail=True)
    with pytest.raises(RuntimeError):
        annotations.load_article(article)
    assert seen == [False]
    assert gc.isenabled()


def test_collector_left_off_when_the_caller_had_it_off(
    article: Path, monkeypatch: pytest.MonkeyPatch, gc_state: Any
) -> None:
    gc.disable()
    seen: list[bool] = []
    _spy(monkeypatch, seen)
    annotations.load_article(article)
    assert seen == [False]
    assert not gc.isenabled()
