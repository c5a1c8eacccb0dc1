"""Fixtures shared by several test files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factpack.pipeline import versions
from factpack.researcher import releases
from releasefixture import write_release


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dist/ with one fixture release, its zip and releases.json; the cache under tmp_path."""
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    dist = tmp_path / "dist"
    write_release(dist)
    releases.update_index(dist)
    return dist


@pytest.fixture(autouse=True, scope="session")
def _no_repository_record() -> Iterator[None]:
    """Builds in tests never see the repository's record of released versions.

    Tests build their own fixture seeds, often with the repository's schema/ (its package
    name): the versions recorded in schema/releases.yaml are of the real seeds, so a test build
    must not be held to them. Tests of the record use schema directories of their own.
    """
    real = versions.read_record
    repository = versions.record_path(None).resolve()

    def read_record(path: Path) -> list[versions.Recorded]:
        return [] if Path(path).resolve() == repository else real(path)

    with pytest.MonkeyPatch.context() as patch:  # session-wide: module fixtures build too
        patch.setattr(versions, "read_record", read_record)
        yield
