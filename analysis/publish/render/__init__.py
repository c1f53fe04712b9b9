"""Offline renderer for the Quarto subset the report sources use (issue 4).

``render(source, formats, out_dir, engine=...)`` makes html, docx, pdf, revealjs and pptx from a
``.qmd`` source with pandoc, Typst and the executed notebooks' outputs, giving the sources the
meaning Quarto gives them; ``check_sources(paths)`` rejects anything outside the subset. The CLI
is ``python -m analysis.publish.render`` (see ``--help``).
"""

from analysis.publish.render.check import check_source, check_sources
from analysis.publish.render.engine import RenderedOutput, SYNTHETIC_NOTICE, render
from analysis.publish.render.errors import Problem, RenderError
from analysis.publish.render.quarto import QUARTO_VERSION

__all__ = [
    "QUARTO_VERSION",
    "SYNTHETIC_NOTICE",
    "Problem",
    "RenderError",
    "RenderedOutput",
    "check_source",
    "check_sources",
    "render",
]
