"""The co-produced model of care drawn as a figure, with its findings table.

The synthesis draws the model (:func:`model_chart`, :func:`model_alt`), which the report and the
practitioner-event slides show, and lists its findings (:func:`findings_table`). Reads the
``care_model_stages``, ``care_model_findings``, ``care_model_components`` and
``care_model_versions`` derived tables (CONTRACTS.md); reading and validating the model file is
:mod:`analysis.clean.care_model`.
"""

from __future__ import annotations


import altair as alt
import pandas as pd

from analysis.core import palette


# ------------------------------------------------------------------------------------------
# The figure
# ------------------------------------------------------------------------------------------


def model_grid(stages: pd.DataFrame, components: pd.DataFrame) -> pd.DataFrame:
    """One row per component and stage it spans, with the cell text (the findings it rests on)."""
    rows = []
    for c in components.sort_values("component_id").itertuples():
        spans = c.stages.split("; ")
        for s in stages.sort_values("order").itertuples():
            if s.stage_id in spans:
                first = s.stage_id == [x for x in stages.sort_values("order")["stage_id"] if x in spans][0]
                rows.append({"component": f"{c.component_id} {c.label}", "stage": s.label,
                             "version": f"v{c.since}",
                             "text": f"{c.findings.replace('; ', ', ')} (v{c.since})" if first else ""})
    return pd.DataFrame(rows, columns=["component", "stage", "version", "text"])


NO_MODEL = "No model of care recorded yet: sources.yml declares no model_of_care file."
"""What the model-of-care figure and its alt text say when the study has no model yet (the
model is an optional input: it is written with the EACG as the study goes on)."""


def has_model(components: pd.DataFrame, versions: pd.DataFrame) -> bool:
    """Whether a model of care was read: at least one component and one version."""
    return not components.empty and not versions.empty


def model_chart(stages: pd.DataFrame, components: pd.DataFrame, versions: pd.DataFrame, *,
                title: str) -> alt.LayerChart:
    """The model of care: components (rows) across the stages from pregnancy to 18 months.

    Each span is a bar whose pattern of fill is backed by text: the findings behind the
    component are written in its first cell, the version that added it at the row's end.
    """
    if not has_model(components, versions):
        return alt.layer(
            alt.Chart(pd.DataFrame({"text": [NO_MODEL]})).mark_text(fontSize=13, align="left", x=0, y=10)
            .encode(text="text:N")
        ).properties(width=520, height=30, title=title)
    grid = model_grid(stages, components)
    stage_order = list(stages.sort_values("order")["label"])
    comp_order = list(dict.fromkeys(grid["component"]))
    latest = int(versions["version"].max())
    base = alt.Chart(grid).encode(
        x=alt.X("stage:N", sort=stage_order, title="Stage (pregnancy to 18 months)",
                axis=alt.Axis(orient="top", labelAngle=0, labelLimit=0)),
        y=alt.Y("component:N", sort=comp_order, title=None, axis=alt.Axis(labelLimit=0)),
    )
    cells = base.mark_rect(stroke="#FFFFFF", strokeWidth=2).encode(
        color=alt.Color("version:N", scale=alt.Scale(domain=[f"v{v}" for v in sorted(versions["version"])],
                                                     range=[palette.DARK_BLUE, palette.TURQUOISE, palette.ORANGE,
                                                            palette.LIGHT_PURPLE][: len(versions)]),
                        legend=alt.Legend(title="Added in model version", orient="bottom")))
    text = base.mark_text(fontSize=11, color="#FFFFFF", fontWeight="bold").encode(text="text:N")
    return alt.layer(cells, text).properties(
        width=150 * len(stage_order), height=34 * len(comp_order),
        title=alt.TitleParams(title, subtitle=[f"Version {latest}; cell text: the findings each component rests on "
                                               "(F numbers, see the findings table) and the version that added it"]))


def model_alt(stages: pd.DataFrame, components: pd.DataFrame, versions: pd.DataFrame) -> str:
    """Alt text: every component, the stages it spans and the findings behind it."""
    if not has_model(components, versions):
        return NO_MODEL
    labels = stages.set_index("stage_id")["label"]
    parts = [f"{c.component_id} {c.label} ({', '.join(labels[s].lower() for s in c.stages.split('; '))}; "
             f"findings {c.findings.replace('; ', ', ')}; added in version {c.since})"
             for c in components.sort_values("component_id").itertuples()]
    return (f"Grid of the co-produced model of care, version {int(versions['version'].max())}: one row per "
            f"component, one column per stage from pregnancy to 18 months, a filled cell where the component "
            f"applies. Components: {'; '.join(parts)}.")


def findings_table(findings: pd.DataFrame, components: pd.DataFrame) -> pd.DataFrame:
    """The findings, the themes behind each and the components that cite it (reference table)."""
    cited: dict[str, list[str]] = {}
    for c in components.itertuples():
        for f in c.findings.split("; "):
            cited.setdefault(f, []).append(c.component_id)
    return pd.DataFrame({
        "Finding": findings["finding_id"], "Statement": findings["statement"], "Themes": findings["themes"],
        "Supports": [", ".join(cited.get(f, [])) or "-" for f in findings["finding_id"]],
    })
