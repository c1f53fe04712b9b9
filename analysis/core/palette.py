"""Accessible colours, shapes and type sizes for every figure of the study.

Colours follow the UK Government Analysis Function guidance on data visualisation: the
categorical palette below in this order, two-series charts use dark blue and orange, and
heatmaps use a single-hue sequential scale from a very light tint to the palette's dark blue.
Colour is never the only carrier of meaning: every categorical encoding is paired with a shape
(``SHAPES``) or a direct text label, so the charts survive greyscale printing and colour
vision deficiency.
"""

from __future__ import annotations

from typing import Final

DARK_BLUE: Final[str] = "#12436D"
TURQUOISE: Final[str] = "#28A197"
DARK_PINK: Final[str] = "#801650"
ORANGE: Final[str] = "#F46A25"
DARK_GREY: Final[str] = "#3D3D3D"
LIGHT_PURPLE: Final[str] = "#A285D1"

CATEGORICAL: Final[tuple[str, ...]] = (
    DARK_BLUE,
    TURQUOISE,
    DARK_PINK,
    ORANGE,
    DARK_GREY,
    LIGHT_PURPLE,
)
"""Analysis Function categorical palette, in the recommended order (at most six series)."""

TWO_SERIES: Final[tuple[str, str]] = (DARK_BLUE, ORANGE)
"""The two-series pair (e.g. before/after birth)."""

SEQUENTIAL: Final[tuple[str, ...]] = (
    "#E8EEF4",
    "#BFD0E0",
    "#8FADC9",
    "#5F88AE",
    "#356592",
    DARK_BLUE,
)
"""Single-hue sequential scale for heatmaps, lightest (low) to Analysis Function dark blue."""

SUPPRESSED_GREY: Final[str] = "#BFBFBF"
"""Fill for cells or bars whose count was suppressed by disclosure control."""

TEXT: Final[str] = "#0B0C0C"
"""Text colour (GOV.UK near-black; contrast above 4.5:1 on white)."""

GRID: Final[str] = "#D9D9D9"
"""Light grid lines."""

SHAPES: Final[tuple[str, ...]] = (
    "circle",
    "square",
    "triangle-up",
    "diamond",
    "cross",
    "triangle-down",
)
"""Vega-Lite point shapes paired with ``CATEGORICAL`` so that colour is never the only cue."""

FONT: Final[str] = "Liberation Sans"
"""Font used for every chart (metric-compatible with Arial; installed with the system)."""

FONT_SIZE: Final[int] = 13
"""Axis label and legend label size in pixels (before the PNG scale factor of 2)."""

TITLE_SIZE: Final[int] = 16
"""Chart title size in pixels."""


def categorical(n: int) -> list[str]:
    """Return the first ``n`` categorical colours, cycling if more than six are asked for.

    Charts with more than six categories should use direct labels rather than colour; the
    cycle only keeps the spec valid.
    """
    if n < 0:
        raise ValueError(f"palette.categorical: n must be >= 0, got {n}")
    return [CATEGORICAL[i % len(CATEGORICAL)] for i in range(n)]


def shapes(n: int) -> list[str]:
    """Return ``n`` point shapes paired one-to-one with ``categorical(n)``."""
    if n < 0:
        raise ValueError(f"palette.shapes: n must be >= 0, got {n}")
    return [SHAPES[i % len(SHAPES)] for i in range(n)]


def text_colour_on(fill_hex: str) -> str:
    """Return black or white, whichever contrasts better with ``fill_hex`` (WCAG 2 ratio)."""
    black, white = "#000000", "#FFFFFF"
    return black if contrast_ratio(black, fill_hex) >= contrast_ratio(white, fill_hex) else white


def contrast_ratio(foreground_hex: str, background_hex: str) -> float:
    """Return the WCAG 2 contrast ratio between two ``#RRGGBB`` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        value = colour.lstrip("#")
        if len(value) != 6:
            raise ValueError(f"palette.contrast_ratio: expected #RRGGBB, got {colour!r}")
        channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground_hex), luminance(background_hex)), reverse=True)
    return (high + 0.05) / (low + 0.05)
