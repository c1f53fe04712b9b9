"""Position conventions of REFI-QDA selections (analysis.sources.qda.positions), on hand-counted texts."""

from __future__ import annotations

import pytest

from analysis.sources.qda.positions import (
    PositionConvention, PositionMap, STANDARD, SourceText, detect_convention,
)

# Canonical text: "ab\ncd\nef" -> a0 b1 \n2 c3 d4 \n5 e6 f7, length 8.
STORED = "\ufeffab\r\ncd\r\nef"
BOM_AND_CRLF_AS_ONE = PositionConvention(bom_counted=True, crlf_as_two=False)
CRLF_AS_ONE = PositionConvention(crlf_as_two=False)


def test_source_text_strips_bom_and_crlf_and_remembers_where():
    text = SourceText.from_stored(STORED)
    assert text.canonical == "ab\ncd\nef"
    assert text.has_bom
    assert list(text.crlf_newlines) == [2, 5]
    assert text.conventions_differ and text.normalised


def test_plain_text_needs_no_conversion():
    text = SourceText.from_stored("ab\ncd")
    assert not text.conventions_differ
    assert PositionMap(text, STANDARD).to_canonical(4) == 4


@pytest.mark.parametrize(
    ("convention", "stored_positions_of_cd", "end"),
    [
        # REFI: code points after the BOM, \r\n = 2: "cd" at 4..6, text end 10
        (STANDARD, (4, 6), 10),
        # \r\n counted as one: 3..5, end 8
        (CRLF_AS_ONE, (3, 5), 8),
        # BOM counted and \r\n as one: 4..6, end 9
        (BOM_AND_CRLF_AS_ONE, (4, 6), 9),
        # BOM counted, \r\n as two: 5..7, end 11
        (PositionConvention(bom_counted=True), (5, 7), 11),
    ],
)
def test_position_map_converts_each_convention(convention, stored_positions_of_cd, end):
    mapping = PositionMap(SourceText.from_stored(STORED), convention)
    start, stop = (mapping.to_canonical(p) for p in stored_positions_of_cd)
    assert (start, stop) == (3, 5)
    assert mapping.end == end
    assert mapping.to_canonical(end) == 8
    assert mapping.to_canonical(end + 1) is None
    assert mapping.to_canonical(-1) is None


def test_detection_picks_the_convention_that_makes_labels_match():
    text = SourceText.from_stored(STORED)
    # "cd" at 4..6 and "ef" at 7..9 is BOM-counted + CRLF-as-one; "cd" alone is ambiguous
    # with the standard convention (also 4..6), "ef" is not (standard would be 8..10).
    detection = detect_convention(text, [(4, 6, "cd"), (7, 9, "ef")])
    assert detection.convention == BOM_AND_CRLF_AS_ONE
    assert (detection.checked, detection.matched) == (2, 2)


def test_detection_prefers_the_standard_on_ties_and_without_labels():
    text = SourceText.from_stored(STORED)
    assert detect_convention(text, [(4, 6, "cd")]).convention == STANDARD
    assert detect_convention(text, [(4, 6, ""), (0, 1, "  ")]) == \
        detect_convention(text, [])
    assert detect_convention(text, []).convention == STANDARD


def test_detection_accepts_truncated_labels():
    text = SourceText.from_stored("SYNTHETIC\r\n\r\nwe share a building with them")
    start = len("SYNTHETIC\r\n\r\n") - 2  # a tool counting each \r\n as one: 11
    end = start + len("we share a building with them")
    detection = detect_convention(text, [(start, end, "we share a building…")])
    assert detection.convention == CRLF_AS_ONE
    assert detection.matched == 1


def test_utf16_code_units_for_characters_beyond_the_bmp():
    # "x😀y": canonical x0 😀1 y2; a UTF-16 tool puts y at 3..4.
    text = SourceText.from_stored("x\U0001F600y")
    detection = detect_convention(text, [(3, 4, "y")])
    assert detection.convention.utf16_units
    mapping = PositionMap(text, detection.convention)
    assert (mapping.to_canonical(3), mapping.to_canonical(4)) == (2, 3)


def test_unmatched_labels_are_counted_not_forced():
    text = SourceText.from_stored("ab\r\ncd")
    detection = detect_convention(text, [(0, 2, "zz")])
    assert detection.convention == STANDARD
    assert (detection.checked, detection.matched) == (1, 0)
