"""factpack import inception: XMI through cassis, WebAnno TSV 3.3, a project's annotators."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from formats_helpers import FIXTURES, REPO, invoke, one_line_error

PROJECT = FIXTURES / "inception" / "project"
DOC = PROJECT / "annotation" / "kyiv-calm.txt"
MAPPING = REPO / "docs" / "mappings" / "inception.yaml"


def _run(tmp_path: Path, *paths: Path) -> object:
    out = tmp_path / "seeds"
    args = [str(p) for p in paths] or [str(PROJECT)]
    return invoke("import", "inception", *args, "--mapping", str(MAPPING), "--to", str(out))


def _doc(tmp_path: Path, who: str) -> dict:
    path = tmp_path / "seeds" / "annotators" / who / "kyiv-calm.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_project_export_puts_each_annotator_in_a_folder(tmp_path: Path) -> None:
    result = _run(tmp_path)
    alice, bob = _doc(tmp_path, "alice"), _doc(tmp_path, "bob")  # XMI and TSV
    for doc in (alice, bob):
        assert doc["sources"][0]["name"] == "Mayor Klitschko"
        assert doc["sources"][0]["source_kind"] == "person"
        assert doc["claims"][0]["source_id"] == "S1"
        assert doc["claims"][0]["quote"] == {"exact": "Mayor Klitschko said “calm”."}
        assert doc["events"][0]["quote"] == {"exact": "hit"}
    assert alice["claims"][0]["claim_kind"] == "observation"
    assert bob["claims"][0]["claim_kind"] == "assertion"
    text = (tmp_path / "seeds" / "kyiv-calm.txt").read_text(encoding="utf-8")
    assert text == (PROJECT / "source" / "kyiv-calm.txt").read_text(encoding="utf-8")
    assert "Token annotations (segmentation)" in result.output


def test_tsv_stacked_multi_token_spans(tmp_path: Path) -> None:
    # Tokens 2-1 and 2-2 carry Source[1]|Claim[2]: two stacked spans of different extents.
    _run(tmp_path, DOC / "bob.tsv")
    bob = _doc(tmp_path, "bob")
    assert bob["sources"][0]["quote"]["exact"] == "Mayor Klitschko"
    assert bob["claims"][0]["quote"]["exact"] == "Mayor Klitschko said “calm”."


def _tsv_copy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "in" / "annotation" / "kyiv-calm.txt"
    folder.mkdir(parents=True)
    shutil.copytree(PROJECT / "source", tmp_path / "in" / "source")
    text = (DOC / "bob.tsv").read_text(encoding="utf-8")
    assert old in text
    (folder / "bob.tsv").write_text(text.replace(old, new), encoding="utf-8")
    return folder / "bob.tsv"


def test_tsv_offsets_are_utf16_units(tmp_path: Path) -> None:
    # The rocket is one code point but two UTF-16 units (5-7); 5-6 ends inside it.
    line = one_line_error(_run(tmp_path, _tsv_copy(tmp_path, "5-7\t", "5-6\t")))
    assert "bob.tsv:8" in line and "offset 6" in line and "utf-16" in line


def test_tsv_token_must_equal_the_text(tmp_path: Path) -> None:
    line = one_line_error(_run(tmp_path, _tsv_copy(tmp_path, "\tKlitschko\t", "\tKlitschka\t")))
    assert '"Klitschka"' in line and '"Klitschko"' in line


def test_tsv_without_its_text_is_one_line_error(tmp_path: Path) -> None:
    lone = tmp_path / "bob.tsv"
    shutil.copy(DOC / "bob.tsv", lone)
    line = one_line_error(_run(tmp_path, lone))
    assert "bob.txt" in line and "between sentences" in line


def test_malformed_tsv_is_one_line_error(tmp_path: Path) -> None:
    line = one_line_error(
        _run(tmp_path, _tsv_copy(tmp_path, "#FORMAT=WebAnno TSV 3.3", "#FORMAT=WebAnno TSV 3.2"))
    )
    assert "not WebAnno TSV 3.3" in line


def test_malformed_xmi_is_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DOC / "TypeSystem.xml", folder / "TypeSystem.xml")
    (folder / "doc.xmi").write_text("<xmi:XMI><unclosed", encoding="utf-8")
    line = one_line_error(_run(tmp_path, folder / "doc.xmi"))
    assert "doc.xmi" in line and "cassis" in line


def test_xmi_without_type_system_is_one_line_error(tmp_path: Path) -> None:
    lone = tmp_path / "alice.xmi"
    shutil.copy(DOC / "alice.xmi", lone)
    assert "TypeSystem.xml" in one_line_error(_run(tmp_path, lone))


def test_curation_is_the_adjudicated_annotation(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    curated = project / "curation" / "kyiv-calm.txt"
    curated.mkdir(parents=True)
    for name in ("alice.xmi", "TypeSystem.xml"):
        shutil.copy(DOC / name, curated / ("CURATION_USER.xmi" if name == "alice.xmi" else name))
    _run(tmp_path, project / "curation")
    assert (tmp_path / "seeds" / "kyiv-calm.yaml").is_file()
    assert not (tmp_path / "seeds" / "annotators").exists()


def test_chain_layers_are_reported_not_dropped_silently(tmp_path: Path) -> None:
    tsv = _tsv_copy(
        tmp_path,
        "#T_RL=",
        "#T_CH=de.tudarmstadt.ukp.dkpro.core.api.coref.type.CoreferenceLink|referenceType\n#T_RL=",
    )
    text = tsv.read_text(encoding="utf-8").replace("\t_\t_\t\n", "\t_\t_\t_\t\n")
    text = text.replace("\tspeaker\t2-1[2_1]\t\n", "\t_\tspeaker\t2-1[2_1]\t\n")
    text = text.replace("[2]\t_\t_\t\n", "[2]\t_\t_\t_\t\n")
    tsv.write_text(text, encoding="utf-8")
    result = _run(tmp_path, tsv)
    assert "chain layer CoreferenceLink" in result.output, result.output


def test_xmi_external_entity_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DOC / "TypeSystem.xml", folder / "TypeSystem.xml")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET", encoding="utf-8")
    xmi = (DOC / "alice.xmi").read_text(encoding="utf-8")
    xmi = xmi.replace(
        "<xmi:XMI ", f'<!DOCTYPE xmi:XMI [<!ENTITY s SYSTEM "{secret.as_uri()}">]>\n<xmi:XMI ', 1
    ).replace('sofaString="Kyiv', 'sofaString="&s;Kyiv')
    (folder / "doc.xmi").write_text(xmi, encoding="utf-8")
    result = _run(tmp_path, folder / "doc.xmi")
    assert "SECRET" not in result.output
    assert not (tmp_path / "seeds").exists()  # nothing written
    assert "doc.xmi" in one_line_error(result)
