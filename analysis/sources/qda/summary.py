"""A short, readable account of a REFI-QDA file, for a team to check an export before a run."""

from __future__ import annotations

from analysis.sources.qda.mapping import document_role, source_stem
from analysis.sources.qda.model import QdaProject
from analysis.sources.qda.positions import STANDARD


def _plural(count: int, word: str) -> str:
    """Return ``"1 code"`` / ``"2 codes"``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def summarise(project: QdaProject) -> str:
    """Describe a read project or codebook in a few lines (what ``summary`` prints).

    Lists the exporting tool (``origin``), codes and their depth, sources, cases, coded
    selections, codings and coders, memos, and every deviation the reader tolerated.
    """
    codes = project.codes
    depth = int(codes["level"].max()) if len(codes) else 0
    top = int((codes["level"] == 1).sum()) if len(codes) else 0
    lines = [
        f"File: {project.file}",
        f"Kind: {'REFI-QDA project' if project.kind == 'project' else 'REFI-QDA codebook (.qdc)'}"
        " - valid against the REFI-QDA schema"
        + (" (after tolerating the deviations below)" if project.deviations else ""),
        f"Exported by (origin): {project.origin or '(not stated)'}",
    ]
    if project.kind == "project":
        lines.append(f"Project name: {project.name or '(none)'}")
    lines.append(f"Codes: {len(codes)} ({top} top-level, depth {depth})")
    if project.kind == "project":
        codings = project.codings
        selections = codings.loc[~codings["whole_document"], "selection_guid"].nunique()
        whole = int(codings["whole_document"].sum())
        coders = sorted(set(codings["coder"]) - {""})
        names = [source_stem(name) for name in project.sources["name"]]
        roles = [document_role(name) for name in names]
        women = sum(1 for role in roles if role and role[0] == "woman")
        professional = sum(1 for role in roles if role and role[0] == "professional")
        unnamed_cases = int((project.cases["name"] == "").sum())
        corrected = project.sources[
            project.sources["position_convention"] != STANDARD.label]
        lines += [
            f"Text sources: {len(project.sources)}"
            + (f" (+ {project.non_text_sources} non-text, ignored)"
               if project.non_text_sources else ""),
            f"  named like study documents: {women} women's interviews, {professional} "
            f"professionals' focus groups/interviews; {len(names) - women - professional} "
            "need a qda_map.csv row",
            f"  positions corrected (BOM / line ends): {len(corrected)}",
            f"Cases: {len(project.cases)}"
            + (f" ({unnamed_cases} without a name)" if unnamed_cases else "")
            + f"; case variables: {project.case_variables['variable'].nunique()}",
            f"Coded selections: {selections}; whole-document codings: {whole}; "
            f"codings: {len(codings)}",
            f"Coders: {len(coders)}" + (f" ({', '.join(coders)})" if coders else ""),
            f"Memos: {project.memos['memo_guid'].nunique()}",
        ]
    if project.deviations:
        lines.append(f"Tolerated deviations ({len(project.deviations)}):")
        lines += [f"  - {message}" for message in project.deviations]
    else:
        lines.append("Tolerated deviations: none")
    return "\n".join(lines)
