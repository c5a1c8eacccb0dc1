"""Review pages kept between builds (pipeline/cache.PageCache, the build_site seam).

A page is reused only when its key (the article's key, its id, the text policy of
schema/package.yaml and what the page shows of the package) matches and its bytes still hash
to their name; a reused page is byte for byte the page a build renders from scratch.
"""

from __future__ import annotations

import hashlib
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
    assert rendered == []  # every page came from build/cache/pages
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
    assert not (fresh / "build" / cache.CACHE_DIR / cache.PAGES_DIR).exists()


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


def _cache_with_one_page(tmp_path: Path) -> tuple[Path, str]:
    """build/cache/pages holding the page of ``a1`` (key ``k``, policy ``null``, shown ``s``)."""
    folder = tmp_path / "pages"
    staged = tmp_path / "site"
    staged.mkdir()
    (staged / "a1.html").write_bytes(b"<p>page</p>")
    pages = cache.PageCache(folder, {"a1": "k"}, "null")
    assert pages.lookup("a1", "s") is None
    pages.commit(staged)
    return folder, "s"


def test_a_page_is_reused_only_for_its_key(tmp_path: Path) -> None:
    folder, shown = _cache_with_one_page(tmp_path)
    assert cache.PageCache(folder, {"a1": "k"}, "null").lookup("a1", shown) == b"<p>page</p>"
    assert cache.PageCache(folder, {"a1": "k2"}, "null").lookup("a1", shown) is None
    assert cache.PageCache(folder, {"a1": "k"}, '"withhold"').lookup("a1", shown) is None
    assert cache.PageCache(folder, {"a1": "k"}, "null").lookup("a1", shown + "x") is None
    assert cache.PageCache(folder, {"a2": "k"}, "null").lookup("a2", shown) is None


def test_a_page_whose_bytes_changed_is_not_reused(tmp_path: Path) -> None:
    folder, shown = _cache_with_one_page(tmp_path)
    (page,) = folder.glob("*.pack")
    page.write_bytes(b"<p>pagE</p>")
    assert cache.PageCache(folder, {"a1": "k"}, "null").lookup("a1", shown) is None
    (index,) = folder.glob("*.json")
    page.write_bytes(b"<p>page</p>")
    index.write_bytes(index.read_bytes().replace(b"pages", b"pageZ"))
    assert cache.PageCache(folder, {"a1": "k"}, "null").lookup("a1", shown) is None


def test_commit_keeps_only_the_pages_of_this_build(tmp_path: Path) -> None:
    folder, shown = _cache_with_one_page(tmp_path)
    (folder / "stray.html").write_bytes(b"x")
    (folder / ".half.html.1.tmp").write_bytes(b"x")
    pages = cache.PageCache(folder, {"b1": "k"}, "null")
    assert pages.lookup("b1", shown) is None
    staged = tmp_path / "site2"
    staged.mkdir()
    (staged / "b1.html").write_bytes(b"<p>other</p>")
    pages.commit(staged)
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2
    for path in folder.iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem


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


def test_packs_are_merged_when_there_are_many(tmp_path: Path) -> None:
    """Each build adds a pack of its new pages; past MAX_PACKS the pages in use are written
    again as one pack, and every page stays what it was."""
    folder = tmp_path / "pages"
    staged = tmp_path / "site"
    staged.mkdir()
    for n in range(1, cache.MAX_PACKS + 3):
        ids = [f"a{i}" for i in range(n)]
        for i in ids:
            (staged / f"{i}.html").write_bytes(f"<p>{i}</p>".encode())
        pages = cache.PageCache(folder, dict.fromkeys(ids, "k"), "null")
        found = {i: pages.lookup(i, "s") for i in ids}
        assert found == {i: (f"<p>{i}</p>".encode() if i != ids[-1] else None) for i in ids}
        pages.commit(staged)
        assert 1 <= len(list(folder.glob("*.pack"))) <= cache.MAX_PACKS
    assert len(list(folder.glob("*.pack"))) < cache.MAX_PACKS


def test_the_package_text_policy_is_in_the_key(tmp_path: Path, rendered: list[str]) -> None:
    root = _work(tmp_path)
    versions.own_schema(root / "schema", text_policy="include")
    _build(root)
    versions.own_schema(root / "schema", text_policy="withhold")
    rendered.clear()
    _build(root)
    assert len(rendered) == 6
