"""Malformed REFI-QDA input gets a clear QdaError naming file, element, line and rule."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pytest

from analysis.core.errors import DataValidationError
from analysis.sources.qda import QdaError, QdaWarning, read_coded_data, read_project

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
CODE = ('<CodeBook><Codes><Code guid="11111111-1111-1111-1111-111111111111" name="Fear" '
        'isCodable="true"/></Codes></CodeBook>')


def project(body: str, codebook: str = CODE) -> str:
    """A SYNTHETIC project; the body starts on line 4 of the file."""
    return (HEAD + '<Project xmlns="urn:QDA-XML:project:1.0" name="Bad" origin="test">\n'
            + codebook + "\n" + body + "\n</Project>\n")


def source(selection_attributes: str, code_guid: str = "11111111-1111-1111-1111-111111111111",
           text: str = "SYNTHETIC text") -> str:
    """A Sources element with one inline text and one coded selection."""
    return (
        '<Sources><TextSource guid="22222222-2222-2222-2222-222222222222" name="SS-EL-001_W1">'
        f"<PlainTextContent>{text}</PlainTextContent>\n"
        '<PlainTextSelection guid="33333333-3333-3333-3333-333333333333" '
        f"{selection_attributes}>"
        '<Coding guid="44444444-4444-4444-4444-444444444444">'
        f'<CodeRef targetGUID="{code_guid}"/></Coding>'
        "</PlainTextSelection></TextSource></Sources>"
    )


def qdpx(tmp_path: Path, entries: dict[str, str]) -> Path:
    path = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def error_for(path: Path) -> QdaError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QdaWarning)
        with pytest.raises(QdaError) as caught:
            read_coded_data(path)
    assert isinstance(caught.value, DataValidationError)
    assert str(path) in str(caught.value)
    return caught.value


def test_not_a_zip(tmp_path):
    path = tmp_path / "bad.qdpx"
    path.write_text("SYNTHETIC: this is not a zip", encoding="utf-8")
    assert error_for(path).rule == "not a zip archive"


def test_missing_file(tmp_path):
    assert error_for(tmp_path / "absent.qdpx").rule == "file not found"


def test_missing_qde(tmp_path):
    assert error_for(qdpx(tmp_path, {"sources/a.txt": "SYNTHETIC"})).rule == "missing .qde"


def test_two_qde_files(tmp_path):
    path = qdpx(tmp_path, {"a.qde": project(""), "b.qde": project("")})
    assert error_for(path).rule == "several .qde files"


def test_broken_xml_names_the_line(tmp_path):
    path = qdpx(tmp_path, {"project.qde": HEAD + "<Project>\n  <Users>\n</Project>\n"})
    error = error_for(path)
    assert error.rule == "broken XML" and error.line == 4
    assert "project.qde" in error.file


def test_wrong_root_element(tmp_path):
    path = qdpx(tmp_path, {"project.qde": HEAD + "<Project name='x'/>"})
    error = error_for(path)
    assert error.rule == "not a REFI-QDA document" and error.element == "Project"


def test_schema_violation_names_line_and_element(tmp_path):
    bad_code = ('<CodeBook><Codes>\n<Code guid="11111111-1111-1111-1111-111111111111" '
                'name="Fear"/></Codes></CodeBook>')  # isCodable is required
    error = error_for(qdpx(tmp_path, {"project.qde": project("", codebook=bad_code)}))
    assert error.rule == "does not match Project.xsd"
    assert (error.element, error.line) == ("Code", 4)
    assert "isCodable" in error.message


def test_schema_violation_can_be_downgraded(tmp_path):
    bad_code = ('<CodeBook><Codes><Code guid="11111111-1111-1111-1111-111111111111" '
                'name="Fear"/></Codes></CodeBook>')
    path = qdpx(tmp_path, {"project.qde": project("", codebook=bad_code)})
    with pytest.warns(QdaWarning, match="schema violation"):
        loaded = read_project(path, strict=False)
    assert list(loaded.codes["code"]) == ["Fear"]


def test_reference_to_unknown_code(tmp_path):
    body = source('startPosition="0" endPosition="9"',
                  code_guid="99999999-9999-9999-9999-999999999999")
    error = error_for(qdpx(tmp_path, {"project.qde": project(body)}))
    assert (error.rule, error.element, error.line) == ("unknown code", "CodeRef", 5)


def test_reference_to_unknown_source(tmp_path):
    body = ('<Cases><Case guid="55555555-5555-5555-5555-555555555555" name="P1">\n'
            '<SourceRef targetGUID="66666666-6666-6666-6666-666666666666"/></Case></Cases>')
    error = error_for(qdpx(tmp_path, {"project.qde": project(body)}))
    assert (error.rule, error.element, error.line) == ("unknown source", "SourceRef", 5)


def test_selection_outside_the_text(tmp_path):
    body = source('startPosition="5" endPosition="99"')
    error = error_for(qdpx(tmp_path, {"project.qde": project(body)}))
    assert (error.rule, error.element, error.line) == (
        "selection outside the text", "PlainTextSelection", 5)
    assert "14 positions" in error.message  # len("SYNTHETIC text")


def test_selection_ending_before_it_starts(tmp_path):
    body = source('startPosition="9" endPosition="3"')
    assert error_for(qdpx(tmp_path, {"project.qde": project(body)})).rule == \
        "selection outside the text"


def test_missing_internal_source_file(tmp_path):
    body = ('<Sources><TextSource guid="22222222-2222-2222-2222-222222222222" name="SS-EL-001_W1" '
            'plainTextPath="internal://gone.txt"/></Sources>')
    error = error_for(qdpx(tmp_path, {"project.qde": project(body)}))
    assert (error.rule, error.element, error.line) == ("missing source file", "TextSource", 4)


def test_external_source_path(tmp_path):
    body = ('<Sources><TextSource guid="22222222-2222-2222-2222-222222222222" name="SS-EL-001_W1" '
            'plainTextPath="file:///C:/data/interview.txt"/></Sources>')
    assert error_for(qdpx(tmp_path, {"project.qde": project(body)})).rule == \
        "source text not in the archive"


def test_source_text_not_utf8(tmp_path):
    body = ('<Sources><TextSource guid="22222222-2222-2222-2222-222222222222" name="SS-EL-001_W1" '
            'plainTextPath="internal://a.txt"/></Sources>')
    path = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", project(body))
        archive.writestr("sources/a.txt", "SYNTHETIC café".encode("latin-1"))
    assert error_for(path).rule == "source text not UTF-8"


def test_unknown_file_type(tmp_path):
    path = tmp_path / "export.nvpx"
    path.write_bytes(b"")
    with pytest.raises(QdaError, match="unknown file type"):
        read_project(path)


def test_lenient_mode_still_refuses_what_it_cannot_read(tmp_path):
    body = source('startPosition="zero" endPosition="9"')  # schema: xsd:integer
    path = qdpx(tmp_path, {"project.qde": project(body)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QdaWarning)
        with pytest.raises(QdaError) as caught:
            read_project(path, strict=False)
    assert (caught.value.rule, caught.value.line) == ("startPosition is an integer", 5)
