"""Chart pieces the analyses share.

Owns :func:`message_chart`, the chart an analysis shows in place of a figure that cannot be
drawn (no data, or everything suppressed), with the reason as its text. Reads no contract table.
"""

from __future__ import annotations


import altair as alt
import pandas as pd

from analysis.core import palette

def message_chart(message: str, *, title: str) -> alt.Chart:
    """A figure that only says ``message`` (e.g. when there is nothing to plot)."""
    return (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(fontSize=palette.FONT_SIZE, color=palette.TEXT)
        .encode(text="message:N")
        .properties(title=title, width=420, height=60)
    )
