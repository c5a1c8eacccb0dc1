"""Fixtures shared by several test files."""

from __future__ import annotations

from pathlib import Path

import pytest

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
