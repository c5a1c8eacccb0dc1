"""Review pages reused from the release a build replaces (pipeline/cache.PageCache, the
build_site seam).

A published page is reused only when its key (the article's key, its id, the text policy of
schema/package.yaml and what the page shows of the package) is in the index of
build/cache/pages and its bytes still hash to the sha256 the index records; a reused page is
byte for byte the page a build renders from scratch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factpack.pipeline import cache, release, versions
from factpack.researcher import site

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"


def _work(root: Path) -> Path:
    """seeds/ (the fixture's two articles, three times over) and an own schema/."""
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    for i in range(3):
        for p in FIXTURE_SEEDS.iterdir():
            shutil.copy(p, seeds / f"{i:03d}{p.name[3:]}".replace("_", f"_c{i}", 1))
    versions.own_schema(root / "schema")
    return root


def _build(root: Path, **kwargs: Any) -> release.BuildResult:
    return release.build(
        root / "seeds", root / "dist", root / "build", root / "schema", jobs=1, **kwargs
    )


def _site(root: Path) -> dict[str, str]:
    (folder,) = [p for p in (root / "dist").iterdir() if p.is_dir()]
    pages = folder / "site"
    return {
        p.relative_to(pages).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(pages.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the article pages rendered (not reused) from now on."""
    calls: list[str] = []
    real: Callable[..., str] = site.article_page

    def counting(article: dict[str, Any], *args: Any) -> str:
        calls.append(str(article["article_id"]))
        return real(article, *args)

    monkeypatch.setattr(site, "article_page", counting)
    return calls


def test_unchanged_articles_reuse_their_pages_and_an_edited_one_is_rendered(
    tmp_path: Path, rendered: list[str]
) -> None:
    root = _work(tmp_path)
    _build(root)
    assert len(rendered) == 6
    first = _site(root)
    rendered.clear()
    _build(root, force=True)
    assert rendered == []  # every page came from the release it replaced
    assert _site(root) == first
    edited = root / "seeds" / "001_c1alpha.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    _build(root)
    assert rendered == ["c1alpha"]  # its key changed (its file did): rendered again


def test_a_reused_page_equals_a_freshly_rendered_one(tmp_path: Path, rendered: list[str]) -> None:
    kept, fresh = _work(tmp_path / "kept"), _work(tmp_path / "fresh")
    _build(kept)
    _build(kept, force=True)  # all six pages reused
    rendered.clear()
    _build(fresh, reuse_pages=False)
    assert len(rendered) == 6
    assert _site(kept) == _site(fresh)
    rendered.clear()
    _build(fresh, force=True)  # the pages a build without reuse published are reused next
    assert rendered == []


def test_what_the_page_shows_of_the_package_is_in_its_key(
    tmp_path: Path, rendered: list[str]
) -> None:
    root = _work(tmp_path)
    _build(root)
    package = root / "schema" / "package.yaml"
    text = package.read_text(encoding="utf-8")
    package.write_text(
        text.replace("\ntitle: ", "\ntitle: Renamed ", 1), encoding="utf-8", newline="\n"
    )
    rendered.clear()
    _build(root)
    assert len(rendered) == 6
    (folder,) = [p for p in (root / "dist").iterdir() if p.is_dir()]
    assert "— Renamed factpack" in (folder / "site" / "articles" / "c0alpha.html").read_text()


def _page_cache(tmp_path: Path, keys: dict[str, str], policy: str = "null", **kw: Any) -> Any:
    return cache.PageCache(tmp_path / "pages", tmp_path / "published", keys, policy, **kw)


def _cache_with_one_page(tmp_path: Path) -> tuple[Path, str]:
    """A published page of ``a1`` and its index (key ``k``, policy ``null``, shown ``s``)."""
    published = tmp_path / "published"
    published.mkdir()
    (published / "a1.html").write_bytes(b"<p>page</p>")
    pages = _page_cache(tmp_path, {"a1": "k"})
    assert pages.lookup("a1", "s") is None  # no index yet
    pages.commit({"a1.html": hashlib.sha256(b"<p>page</p>").hexdigest()})
    return tmp_path / "pages", "s"


def test_a_page_is_reused_only_for_its_key(tmp_path: Path) -> None:
    _, shown = _cache_with_one_page(tmp_path)
    assert _page_cache(tmp_path, {"a1": "k"}).lookup("a1", shown) == b"<p>page</p>"
    assert _page_cache(tmp_path, {"a1": "k2"}).lookup("a1", shown) is None
    assert _page_cache(tmp_path, {"a1": "k"}, '"withhold"').lookup("a1", shown) is None
    assert _page_cache(tmp_path, {"a1": "k"}).lookup("a1", shown + "x") is None
    assert _page_cache(tmp_path, {"a2": "k"}).lookup("a2", shown) is None
    assert _page_cache(tmp_path, {"a1": "k"}, reuse=False).lookup("a1", shown) is None


def test_a_page_whose_bytes_changed_is_not_reused(tmp_path: Path) -> None:
    folder, shown = _cache_with_one_page(tmp_path)
    page = tmp_path / "published" / "a1.html"
    page.write_bytes(b"<p>pagE</p>")
    assert _page_cache(tmp_path, {"a1": "k"}).lookup("a1", shown) is None
    page.unlink()
    assert _page_cache(tmp_path, {"a1": "k"}).lookup("a1", shown) is None
    page.write_bytes(b"<p>page</p>")
    assert _page_cache(tmp_path, {"a1": "k"}).lookup("a1", shown) == b"<p>page</p>"
    (index,) = folder.glob("*.json")
    index.write_bytes(index.read_bytes().replace(b"pages", b"pageZ"))
    assert _page_cache(tmp_path, {"a1": "k"}).lookup("a1", shown) is None


def test_commit_keeps_only_the_index_of_this_build(tmp_path: Path) -> None:
    """The index names the pages asked for and found among the digests given; every other
    file of build/cache/pages (an older index, strays, half-written files) goes."""
    folder, shown = _cache_with_one_page(tmp_path)
    (folder / "stray.pack").write_bytes(b"x")
    (folder / ".half.json.1.tmp").write_bytes(b"x")
    pages = _page_cache(tmp_path, {"b1": "k", "c1": "k"}, reuse=False)
    assert pages.lookup("b1", shown) is None
    pages.commit({"b1.html": "0" * 64, "d1.html": "1" * 64})
    (index,) = folder.iterdir()
    assert hashlib.sha256(index.read_bytes()).hexdigest() == index.stem
    assert list(json.loads(index.read_bytes())["pages"].values()) == ["0" * 64]


def test_the_adjudication_link_is_part_of_what_a_page_shows() -> None:
    data = site.ReleaseData(
        {"name": "n", "version": "1", "title": "t"},
        {},
        {t: [] for t in site.TABLES},
        [],
        {},
        {t: ["id"] for t in site.TABLES},
    )
    assert site.page_shown(data, True) != site.page_shown(data, False)
    renamed = site.ReleaseData(
        {"name": "n", "version": "2", "title": "t"}, {}, data.fields, [], {}, data.keys
    )
    assert site.page_shown(renamed, False) != site.page_shown(data, False)


def test_the_package_text_policy_is_in_the_key(tmp_path: Path, rendered: list[str]) -> None:
    root = _work(tmp_path)
    versions.own_schema(root / "schema", text_policy="include")
    _build(root)
    versions.own_schema(root / "schema", text_policy="withhold")
    rendered.clear()
    _build(root)
    assert len(rendered) == 6
