"""SYNTHETIC Expert Advisory and Co-production Group (EACG) review log and model-of-care file.

The EACG of service users and professionals reviews the team's interpretations and the draft
model of care. This module writes, from its own random stream:

- ``SYNTHETIC_eacg_review_log.csv``: one row per item discussed at a meeting (date, members by
  role only, the finding or model component discussed, the group's response, what changed, the
  model version it led to);
- ``SYNTHETIC_model_of_care.yml``: the co-produced model of care, declaratively: its stages
  from pregnancy to 18 months, the findings (each tied to codebook themes), the components
  (stages they span, findings that support them, the version that added them) and the version
  history.

The meeting dates are not participant data and are not shifted. Every text is invented.
"""

from __future__ import annotations

import numpy as np

from analysis.synthetic.qualitative import THEMES

_THEME = {theme.key: theme.name for theme in THEMES}

STAGES = (
    ("pregnancy", "Pregnancy", -40, 0),
    ("birth", "Birth and first 6 weeks", 0, 6),
    ("early", "6 weeks to 6 months", 6, 26),
    ("middle", "6 to 12 months", 26, 52),
    ("late", "12 to 18 months", 52, 78),
)
FINDINGS = (
    ("F1", "Fear of removal keeps women from disclosing drug use early in pregnancy.", ("fear", "stigma")),
    ("F2", "A trusted, continuous professional makes services feel safe to use.", ("relationships",)),
    ("F3", "Co-located midwifery and drug services reduce missed care.", ("integrated",)),
    ("F4", "Support falls away in the months after the birth (the postnatal gap).", ("postnatal",)),
    ("F5", "Mother-and-baby placements keep families together when available.", ("placements",)),
    ("F6", "Trauma and mental health needs run through the whole journey.", ("trauma",)),
    ("F7", "Peer support from women with lived experience is valued.", ("peer",)),
)
COMPONENTS = (
    ("C1", "Early, non-judgemental booking conversation", ("pregnancy",), ("F1",), 1),
    ("C2", "One named lead professional throughout", ("pregnancy", "birth", "early", "middle", "late"), ("F2",), 1),
    ("C3", "Co-located specialist midwife and drug worker", ("pregnancy", "birth"), ("F3",), 1),
    ("C4", "Planned step-down of support after the birth", ("birth", "early", "middle"), ("F4",), 2),
    ("C5", "Access to mother-and-baby placements", ("birth", "early"), ("F5",), 2),
    ("C6", "Trauma-informed mental health care", ("pregnancy", "birth", "early", "middle", "late"), ("F6",), 2),
    ("C7", "Peer mentors with lived experience", ("pregnancy", "birth", "early", "middle", "late"), ("F7", "F4"), 3),
)
VERSIONS = (
    (1, "2023-03-14", "First draft from the pregnancy interviews."),
    (2, "2023-11-21", "Postnatal components added after the EACG reviewed the wave 2-3 findings."),
    (3, "2024-06-18", "Peer mentors added at the EACG's request; step-down reworded."),
)
ROLES = ("woman with lived experience", "specialist midwife", "drug service worker",
         "social worker", "health visitor", "commissioner", "researcher")
RESPONSES = ("Endorsed", "Refined", "Challenged")
MEETINGS = (
    ("2023-02-07", 1, ("F1", "F2", "F3")),
    ("2023-06-13", 1, ("C1", "C2", "C3")),
    ("2023-10-10", 2, ("F4", "F5", "F6")),
    ("2024-01-16", 2, ("C4", "C5", "C6")),
    ("2024-05-14", 3, ("F7", "C4")),
    ("2024-07-09", 3, ("C7", "C2")),
)
CHANGES = {
    "Endorsed": "No change.",
    "Refined": ("Wording changed to describe what helps, not what women lack.",
                "Scope widened to include partners where safe.",
                "Timing made explicit in the stages of the model."),
    "Challenged": ("Interpretation re-examined against the transcripts; stated more cautiously.",
                   "Component split so that the first contact is separate from ongoing support."),
}


def review_log_rows(rng: np.random.Generator) -> list[list[object]]:
    """Rows of ``SYNTHETIC_eacg_review_log.csv`` (see :data:`REVIEW_LOG_HEADER`)."""
    rows: list[list[object]] = []
    labels = {f[0]: f[1] for f in FINDINGS} | {c[0]: c[1] for c in COMPONENTS}
    for date, version, items in MEETINGS:
        lived = int(rng.integers(2, 5))
        others = sorted(int(i) for i in rng.choice(np.arange(1, len(ROLES)), size=int(rng.integers(3, 6)),
                                                   replace=False))
        members = "; ".join([f"{ROLES[0]} x{lived}", *[ROLES[i] for i in others]])
        for item in items:
            response = RESPONSES[int(rng.choice(3, p=[0.45, 0.4, 0.15]))]
            change = CHANGES[response]
            if not isinstance(change, str):
                change = change[int(rng.integers(0, len(change)))]
            rows.append([date, members, item, labels[item], response, change, version])
    return rows


REVIEW_LOG_HEADER = ["Meeting date", "Members (roles)", "Item", "Discussed", "Response",
                     "What changed", "Model version"]


def model_of_care_yaml() -> str:
    """The text of ``SYNTHETIC_model_of_care.yml`` (declarative; documented in its comments)."""

    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    lines = [
        "# SYNTHETIC DATA - invented for software testing, not the study's model of care.",
        "# The co-produced model of care, as reviewed with the Expert Advisory and Co-production",
        "# Group (EACG). Read by analysis/care_model.py; the synthesis draws it as a figure.",
        "#   stages:     id, label, from_week, to_week (weeks relative to the birth)",
        "#   findings:   id, statement, themes (theme names exactly as in the codebook)",
        "#   components: id, label, stages (stage ids), findings (finding ids), since (version)",
        "#   versions:   version, date (YYYY-MM-DD), note",
        "synthetic: true",
        f"version: {VERSIONS[-1][0]}",
        "stages:",
    ]
    for key, label, start, end in STAGES:
        lines.append(f"  - {{id: {key}, label: {q(label)}, from_week: {start}, to_week: {end}}}")
    lines.append("findings:")
    for key, statement, themes in FINDINGS:
        names = ", ".join(q(_THEME[t]) for t in themes)
        lines.append(f"  - {{id: {key}, statement: {q(statement)}, themes: [{names}]}}")
    lines.append("components:")
    for key, label, stages, findings, since in COMPONENTS:
        lines.append(f"  - {{id: {key}, label: {q(label)}, stages: [{', '.join(stages)}], "
                     f"findings: [{', '.join(findings)}], since: {since}}}")
    lines.append("versions:")
    for version, date, note in VERSIONS:
        lines.append(f"  - {{version: {version}, date: '{date}', note: {q(note)}}}")
    return "\n".join(lines) + "\n"
