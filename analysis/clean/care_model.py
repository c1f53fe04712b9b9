"""The co-produced model of care, read and validated in the cleaning stage.

Owns the ``model_of_care: {file: X.yml}`` section of ``sources.yml``: a YAML file with
``stages`` (id, label, from_week, to_week: pregnancy to 18 months), ``findings`` (id,
statement, themes: theme names of the codebook), ``components`` (id, label, stages, findings,
since: the version that added it) and ``versions`` (version, date, note). A component citing a
finding that does not exist, a finding citing a theme not in the codebook, an unknown stage, a
``since`` that is not in the version history are errors naming the file, the line of the entry
and the key.

Writes the ``care_model_stages``, ``care_model_findings``, ``care_model_components`` and
``care_model_versions`` derived tables (CONTRACTS.md); the figure is drawn by
:mod:`analysis.analyse.care_model`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from analysis.clean.materials import MaterialsContext
from analysis.core.errors import DataValidationError

SECTIONS: tuple[str, ...] = ("stages", "findings", "components", "versions")


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records the line of each mapping (``__line__``)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_model(path: Path, file: str) -> dict:
    """Parse the model file, keeping each entry's line number."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise DataValidationError(file, mark.line + 1 if mark else None, None, "valid YAML", str(error)) from None
    if not isinstance(data, dict):
        raise DataValidationError(file, None, None, "a YAML mapping", "the model file must be a mapping")
    for key in SECTIONS:
        if not isinstance(data.get(key), list) or not data[key]:
            raise DataValidationError(file, data.get("__line__"), key, "section present",
                                      f"the model needs a non-empty list {key!r}")
    return data


def _need(entry: dict, key: str, file: str, section: str) -> object:
    if key not in entry or entry[key] in (None, ""):
        raise DataValidationError(file, entry.get("__line__"), f"{section}.{key}", "key present",
                                  f"an entry of {section} has no {key!r}")
    return entry[key]


def validate_model(data: dict, file: str, theme_names: set[str]) -> dict[str, pd.DataFrame]:
    """Check every cross-reference of the model; return its four tables."""
    stages = []
    for order, entry in enumerate(data["stages"], start=1):
        stages.append({"stage_id": str(_need(entry, "id", file, "stages")),
                       "label": str(_need(entry, "label", file, "stages")), "order": order,
                       "from_week": float(_need(entry, "from_week", file, "stages")),
                       "to_week": float(_need(entry, "to_week", file, "stages"))})
    stage_ids = {s["stage_id"] for s in stages}
    versions = []
    for entry in data["versions"]:
        versions.append({"version": int(_need(entry, "version", file, "versions")),
                         "date": pd.Timestamp(str(_need(entry, "date", file, "versions"))),
                         "note": str(entry.get("note", ""))})
    version_ids = {v["version"] for v in versions}
    findings = []
    for entry in data["findings"]:
        themes = [str(t) for t in _need(entry, "themes", file, "findings")]
        for theme in themes:
            if theme not in theme_names:
                raise DataValidationError(file, entry["__line__"], "findings.themes", "theme in the codebook",
                                          f"finding {entry.get('id')} cites theme {theme!r}, which is not a "
                                          "theme of the codebook")
        findings.append({"finding_id": str(_need(entry, "id", file, "findings")),
                         "statement": str(_need(entry, "statement", file, "findings")),
                         "themes": "; ".join(themes)})
    finding_ids = {f["finding_id"] for f in findings}
    components = []
    for entry in data["components"]:
        cid = str(_need(entry, "id", file, "components"))
        cited = [str(f) for f in _need(entry, "findings", file, "components")]
        for finding in cited:
            if finding not in finding_ids:
                raise DataValidationError(file, entry["__line__"], "components.findings", "finding exists",
                                          f"component {cid} cites finding {finding!r}, which the model's "
                                          f"findings do not define (known: {sorted(finding_ids)})")
        spans = [str(s) for s in _need(entry, "stages", file, "components")]
        for stage in spans:
            if stage not in stage_ids:
                raise DataValidationError(file, entry["__line__"], "components.stages", "stage exists",
                                          f"component {cid} spans stage {stage!r}, not one of {sorted(stage_ids)}")
        since = int(entry.get("since", min(version_ids)))
        if since not in version_ids:
            raise DataValidationError(file, entry["__line__"], "components.since", "version in the history",
                                      f"component {cid} was added in version {since}, which is not in versions")
        components.append({"component_id": cid, "label": str(_need(entry, "label", file, "components")),
                           "stages": "; ".join(spans), "findings": "; ".join(cited), "since": since})
    for name, rows, key in (("stages", stages, "stage_id"), ("findings", findings, "finding_id"),
                            ("components", components, "component_id")):
        seen = [r[key] for r in rows]
        duplicates = sorted({x for x in seen if seen.count(x) > 1})
        if duplicates:
            raise DataValidationError(file, None, f"{name}.id", "ids unique", f"{name} ids repeated: {duplicates}")
    return {"care_model_stages": pd.DataFrame(stages), "care_model_findings": pd.DataFrame(findings),
            "care_model_components": pd.DataFrame(components), "care_model_versions": pd.DataFrame(versions)}


def read_model(mc: MaterialsContext) -> dict[str, pd.DataFrame]:
    """Read the declared model-of-care file (cleaning stage); empty when not declared."""
    spec = mc.section("model_of_care")
    if spec is None:
        return {}
    file = str(spec["file"])
    path = Path(mc.raw_dir) / file
    if not path.is_file():
        raise DataValidationError(file, None, None, "file present", f"{path} declared in sources.yml does not exist")
    mc.record_input(file)
    theme_names = set(mc.codebook.loc[mc.codebook["level"] == 1, "theme"])
    tables = validate_model(load_model(path, file), file, theme_names)
    ids = mc.codebook.loc[mc.codebook["level"] == 1].set_index("theme")["theme_id"]
    tables["care_model_findings"]["theme_ids"] = tables["care_model_findings"]["themes"].map(
        lambda names: "; ".join(ids[n] for n in names.split("; ")))
    return tables
