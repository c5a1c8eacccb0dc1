"""How problems show file paths: relative to the working directory when below it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from factpack.shared.problems import display_path


def test_paths_below_the_working_directory_are_shown_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seeds").mkdir()
    monkeypatch.chdir(tmp_path)
    assert display_path("seeds/a.yaml") == "seeds/a.yaml"
    assert display_path(tmp_path / "seeds" / "a.yaml") == "seeds/a.yaml"
    assert display_path("seeds/../seeds/a.yaml") == "seeds/a.yaml"
    assert display_path(".") == "."
    assert display_path("seeds/..") == "."


def test_paths_elsewhere_are_shown_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert display_path(tmp_path / "other" / "a.yaml") == str(tmp_path / "other" / "a.yaml")
    assert display_path("../other/a.yaml") == "../other/a.yaml"


def test_a_new_working_directory_is_taken_into_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("one", "two"):
        (tmp_path / name / "seeds").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "one")
    assert display_path("seeds/a.yaml") == "seeds/a.yaml"
    assert display_path(tmp_path / "two" / "seeds" / "a.yaml") == str(
        tmp_path / "two" / "seeds" / "a.yaml"
    )
    monkeypatch.chdir(tmp_path / "two")
    assert display_path(tmp_path / "two" / "seeds" / "a.yaml") == "seeds/a.yaml"
    assert display_path("seeds/a.yaml") == "seeds/a.yaml"


def test_a_folder_reached_through_a_link_is_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real" / "seeds").mkdir(parents=True)
    os.symlink(tmp_path / "real", tmp_path / "link")
    monkeypatch.chdir(tmp_path / "real")
    assert display_path(tmp_path / "link" / "seeds" / "a.yaml") == "seeds/a.yaml"


def test_display_paths_shows_each_path_as_display_path_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factpack.shared.problems import display_path, display_paths

    (tmp_path / "seeds").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    paths = [
        Path("a.yaml"),
        Path("seeds/b.yaml"),
        tmp_path / "seeds" / "c.yaml",
        Path("link/d.yaml"),
        Path("/elsewhere/e.yaml"),
        Path("seeds/../f.yaml"),
    ]
    assert display_paths(paths) == [display_path(p) for p in paths]
    assert display_paths(paths)[:3] == ["a.yaml", "seeds/b.yaml", "seeds/c.yaml"]
