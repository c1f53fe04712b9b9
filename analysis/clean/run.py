"""The cleaning stage: a raw export folder in, the derived tables of CONTRACTS.md out.

``run_cleaning(raw_dir, out_dir)`` composes the readers of :mod:`analysis.sources` and the
derivations of :mod:`analysis.clean`:

1. reads ``sources.yml`` and every declared file (:mod:`analysis.sources.declared`: declared
   encoding, separator, header row, sheet; bytes not valid in the encoding, empty files and
   missing columns are reported); *identifier screening* (:mod:`analysis.protect.screening`)
   runs on each source as it is read, before any rule that quotes a value;
2. REDCap -> ``participants`` (:mod:`analysis.clean.participants`), tracker -> ``events`` and
   ``placements`` (:mod:`analysis.clean.events`), ``interviews``
   (:mod:`analysis.clean.interviews`), contact logs -> ``contacts``
   (:mod:`analysis.clean.contacts`);
3. the codebook, coded segments and professionals (:mod:`analysis.sources.coded_data`,
   :mod:`analysis.sources.refi_qda`, :mod:`analysis.sources.transcripts`,
   :mod:`analysis.sources.professionals`, :mod:`analysis.clean.segments`), and issue 13's
   study materials (:mod:`analysis.clean.materials`);
4. validates every table against its pandera schema (:mod:`analysis.clean.schemas`) and the
   cross-table rules; the first broken rule stops the stage with a
   :class:`analysis.core.errors.DataValidationError` naming file, row, column and rule;
5. writes the tables (parquet + CSV), ``cleaning_log``, ``manifest.json`` and one fingerprint
   per site (``sites/<site>.sha256``) into a staging folder, then moves them into ``out_dir``.

Output layout and atomicity: the cleaning tables live directly in ``data_derived/`` next to
other stages' outputs (``notebooks/``, ``figures/``), so the folder is never swapped as a
whole. Everything is written to a staging folder first; only when all of it is written are the
stage's own files moved into place one by one (:mod:`analysis.core.atomic`), and a file whose
bytes did not change is left untouched (its modification time kept), so ``make`` reruns only
what really changed. On any error ``out_dir`` is left exactly as it was. ``manifest.json`` is
moved last.

Site fingerprints: ``sites/<site>.sha256`` holds a sha256 over that site's rows of every derived
table, the codebook and the cleaning-log lines about the site's own contact log, and is rewritten
only when it changes, so fixing one site's contact log reruns only that site's profile.

Writes every table of CONTRACTS.md "Derived tables" and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.clean import care_model, diaries, eacg, life_events
from analysis.clean.contacts import read_contacts
from analysis.clean.events import (
    birth_dates, derive_placements, phase_of, read_key_events, weeks_rel_birth,
)
from analysis.clean.interviews import derive_interviews
from analysis.clean.materials import MaterialsContext
from analysis.clean.participants import derive_participant_status, read_participants
from analysis.clean.schemas import derived_schemas, validate
from analysis.clean.segments import attribute_speakers, number_segments
from analysis.core import paths, tables as t
from analysis.core.atomic import staging_folder, swap_into_place
from analysis.core.errors import DataValidationError
from analysis.sources.coded_data import read_codebook, read_segments, segment_columns
from analysis.sources.context import ReadContext, SOURCES_FILE, declared_section
from analysis.sources.declared import load_sources, require_known
from analysis.sources.professionals import read_professionals
from analysis.sources.refi_qda import located_in_project, qdpx_spec, read_qdpx
from analysis.sources.transcripts import check_transcripts

MANIFEST_FILE = "manifest.json"

SITES_FOLDER = "sites"
MATERIAL_TABLES: tuple[str, ...] = ("diary_entries", "diary_segments", "drawings", "life_events",
                                    "care_model_stages", "care_model_findings",
                                    "care_model_components", "care_model_versions", "eacg_reviews")
"""The derived tables these inputs give (empty when their section is left out)."""


@dataclass
class CleaningResult:
    """What :func:`run_cleaning` produced."""

    out_dir: Path
    tables: dict[str, pd.DataFrame]
    manifest: dict
    site_fingerprints: dict[str, str]
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def log(self) -> pd.DataFrame:
        """The cleaning log table."""
        return self.tables["cleaning_log"]

    def row_counts(self) -> pd.DataFrame:
        """One row per table: name and number of rows."""
        return pd.DataFrame({"table": list(self.tables),
                             "rows": [len(v) for v in self.tables.values()]})


def _site_config() -> tuple[pd.DataFrame, pd.DataFrame]:
    sites = pd.read_csv(paths.CONFIG_DIR / "sites.csv", dtype=str, keep_default_na=False)
    services = pd.read_csv(paths.CONFIG_DIR / "services.csv", dtype=str, keep_default_na=False)
    return sites, services


def build_tables(raw_dir: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, clean, derive and validate; return (tables, facts for the manifest).

    The tables hold exactly their declared columns (``analysis.core.tables.TABLE_COLUMNS``), sorted
    as stored. Raises DataValidationError for the first broken rule. Writes nothing.
    """
    raw_dir = Path(raw_dir)
    sources = load_sources(raw_dir)
    sites, services = _site_config()
    id_pattern = str(sources.get("study_id_pattern", r"^.+$"))
    ctx = ReadContext(raw_dir=raw_dir, sources=sources, id_pattern=id_pattern, sites=sites,
                   services=services)
    ctx.record_input(SOURCES_FILE)
    schemas = derived_schemas(id_pattern, list(sites["code"]), list(services["code"]))
    redcap_fields = dict(declared_section(ctx, "redcap")["fields"])
    qdpx = qdpx_spec(sources)  # checked before any file is read

    women, substances, mental_health, facts = read_participants(ctx)
    validate(women.assign(**{c: women[c].astype(t.TABLE_COLUMNS["participants"][c])
                             for c in ("study_id", "site")}).loc[:, ["study_id", "site", "_row", "_file"]],
             schemas["participants"].select_columns(["study_id", "site"]), "participants",
             {"study_id": redcap_fields["study_id"]})

    events = read_key_events(ctx, women)
    birth = birth_dates(ctx, women, events)
    events["week_rel_birth"] = weeks_rel_birth(events["_date"], events["study_id"], birth)
    events["phase"] = phase_of(events["week_rel_birth"])
    event_columns = dict(declared_section(ctx, "key_events")["columns"])
    validate(_typed(events, "events"), schemas["events"], "events",
             {"week_rel_birth": event_columns["date"], "study_id": event_columns["study_id"]})
    placements = derive_placements(events)

    interviews = derive_interviews(women, facts["waves"], birth, ctx)
    final_wave = max(facts["waves"]) if facts["waves"] else 5
    women = derive_participant_status(women, interviews, placements, final_wave)
    validate(_typed(women, "participants"), schemas["participants"], "participants",
             {k: v for k, v in redcap_fields.items()})
    validate(_typed(interviews, "interviews"), schemas["interviews"], "interviews")

    contacts, contact_facts = read_contacts(ctx, women, birth)
    typed_contacts = _typed(contacts, "contacts")
    typed_contacts["_file"] = contacts["_file"]
    typed_contacts["_row"] = contacts["_row"]
    try:
        validate(typed_contacts, schemas["contacts"], "contacts")
    except DataValidationError as error:
        if error.column in ("week_rel_birth", "contact_date"):
            error = DataValidationError(
                error.file, error.row, contact_facts["date_columns"].get(error.file, error.column),
                error.rule, error.message + " (contact date too far from the birth)")
        raise error from None

    if qdpx is not None:
        ctx.qdpx = read_qdpx(ctx, qdpx)
    with located_in_project(ctx, "codebook"):
        codebook = read_codebook(ctx)
        validate(_typed(codebook, "codebook"), schemas["codebook"], "codebook")
    completed = interviews.loc[interviews["status"] == "completed"]
    completed_docs = {f"{s}_W{w}": (s, w) for s, w in zip(completed["study_id"], completed["wave"])}
    with located_in_project(ctx, "segments"):
        segments = read_segments(ctx, "segments", codebook)
        seg_columns = segment_columns(ctx, "segments")
        require_known(segments, "document", set(completed_docs),
                      "document maps to a completed interview",
                      "document {value!r} is not <study_id>_W<wave> of a completed interview of "
                      "a recruited woman", raw_column=seg_columns["document"])
        segments["study_id"] = segments["document"].map(lambda d: completed_docs[d][0])
        segments["wave"] = segments["document"].map(lambda d: completed_docs[d][1])
        segments["site"] = segments["study_id"].map(women.set_index("study_id")["site"])
        check_transcripts(ctx, segments, seg_columns)
        segments = number_segments(segments)
        validate(_typed(segments, "segments"), schemas["segments"], "segments",
                 {"start": seg_columns["start"], "end": seg_columns["end"]})

    professionals = read_professionals(ctx)
    validate(_typed(professionals, "professionals"), schemas["professionals"], "professionals")
    with located_in_project(ctx, "segments"):
        pro_segments = read_segments(ctx, "professional_segments", codebook)
        pro_columns = segment_columns(ctx, "professional_segments")
        require_known(pro_segments, "document", set(professionals["document"]),
                      "document in professionals list",
                      "document {value!r} is not listed in the professionals file",
                      raw_column=pro_columns["document"])
        texts = check_transcripts(ctx, pro_segments, pro_columns)
        pro_segments = attribute_speakers(ctx, pro_segments, professionals, texts)
        pro_segments = number_segments(pro_segments)
        validate(_typed(pro_segments, "professional_segments"), schemas["professional_segments"],
                 "professional_segments",
                 {"start": pro_columns["start"], "end": pro_columns["end"]})

    # Issue 13's inputs (diaries, drawings, EACG review log, model of care): own modules.
    materials = read_materials(MaterialsContext(raw_dir, sources, women, birth, codebook, ctx.log,
                                                ctx.record_input))
    recruited_ids = set(women.loc[women["recruited"], "study_id"])
    tables = {
        "participants": women,
        "participant_substances": substances.loc[substances["study_id"].isin(recruited_ids)],
        "participant_mental_health": mental_health.loc[mental_health["study_id"].isin(recruited_ids)],
        "interviews": interviews,
        "events": events,
        "placements": placements,
        "contacts": contacts,
        "codebook": codebook,
        "segments": segments,
        "professionals": professionals,
        "professional_segments": pro_segments,
        **{name: materials.get(name, t.empty_table(name)) for name in MATERIAL_TABLES},
    }
    for name in ("participant_substances", "participant_mental_health"):
        validate(t.sort_table(_typed(tables[name], name), name), schemas[name], name)
    # The tables exactly as stored (declared columns only, no _file/_row of the raw rows), so
    # the site fingerprints hash derived rows only, whichever form the raw data came in.
    tables = {name: t.sort_table(t.conform(frame, name), name) for name, frame in tables.items()}
    log = pd.DataFrame([vars(entry) for entry in ctx.log],
                       columns=list(t.TABLE_COLUMNS["cleaning_log"]))
    tables["cleaning_log"] = t.conform(log, "cleaning_log")
    facts = {"synthetic": bool(sources.get("synthetic", False)), "inputs": ctx.inputs,
             "site_files": contact_facts["site_files"]}
    return tables, facts


def _typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The table's columns with their declared dtypes, keeping ``_file``/``_row`` if present."""
    out = t.conform(frame, name)
    for extra in ("_file", "_row"):
        if extra in frame.columns:
            out[extra] = frame[extra].to_numpy()
    return out


def read_materials(mc: MaterialsContext) -> dict[str, pd.DataFrame]:
    """Read every declared input of issue 13; return the derived tables (possibly empty)."""
    tables: dict[str, pd.DataFrame] = {}
    tables.update(diaries.read_diaries(mc))
    tables.update(life_events.read_drawings(mc))
    model = care_model.read_model(mc)
    tables.update(model)
    tables.update(eacg.read_review_log(mc, model))
    return tables


def run_cleaning(raw_dir: Path, out_dir: Path) -> CleaningResult:
    """Run the cleaning stage from ``raw_dir`` into ``out_dir`` (all or nothing).

    Returns the tables, manifest and what was replaced. Raises DataValidationError (with
    ``out_dir`` untouched) when a rule is broken.
    """
    raw_dir, out_dir = Path(raw_dir).resolve(), Path(out_dir)
    tables, facts = build_tables(raw_dir)
    sites = list(_site_config()[0]["code"])
    site_fingerprints = t.SiteFingerprints(sites)  # fed as write_tables writes the tables
    inputs = dict(sorted(facts["inputs"].items()))
    raw_fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    try:
        shown_raw = str(raw_dir.relative_to(paths.PROJECT_ROOT))
    except ValueError:
        shown_raw = str(raw_dir)
    manifest = {
        "stage": "01_clean",
        "synthetic": facts["synthetic"],
        "data_raw": shown_raw,
        "raw_fingerprint": raw_fingerprint,
        "inputs": inputs,
        "row_counts": {name: int(len(frame)) for name, frame in tables.items()},
    }
    with staging_folder(out_dir) as stage:
        written = t.write_tables(tables, stage, site_fingerprints)
        fingerprints = site_fingerprints.finish(tables, facts["site_files"])
        manifest["site_fingerprints"] = fingerprints
        for site, digest in fingerprints.items():
            path = stage / SITES_FOLDER / f"{site}.sha256"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{digest}  {site}\n", encoding="utf-8")
            written.append(f"{SITES_FOLDER}/{site}.sha256")
        (stage / MANIFEST_FILE).write_bytes(
            (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        report = swap_into_place(stage, out_dir, written + [MANIFEST_FILE], last=[MANIFEST_FILE])
    return CleaningResult(out_dir=out_dir, tables=tables, manifest=manifest,
                          site_fingerprints=fingerprints, replaced=report.replaced,
                          unchanged=report.unchanged)


def owned_files(sites: list[str] | None = None) -> list[str]:
    """Files (relative to ``data_derived/``) the cleaning stage writes."""
    sites = sites if sites is not None else list(_site_config()[0]["code"])
    return ([f"{name}.{ext}" for name in t.TABLE_NAMES for ext in ("parquet", "csv")]
            + [f"{SITES_FOLDER}/{site}.sha256" for site in sites] + [MANIFEST_FILE])


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.clean.run --raw DIR --out DIR``; exit 1 on a data error."""
    parser = argparse.ArgumentParser(prog="python -m analysis.clean.run",
                                     description="Clean a raw export folder into data_derived/.")
    parser.add_argument("--raw", type=Path, default=None, help="raw export folder (DATA_RAW)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (DATA_DERIVED)")
    args = parser.parse_args(argv)
    raw = args.raw or paths.data_raw()
    out = args.out or paths.data_derived()
    try:
        result = run_cleaning(raw, out)
    except DataValidationError as error:
        print(f"cleaning failed: {error}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{k} {v}" for k, v in result.manifest["row_counts"].items())
    print(f"cleaned {raw} -> {out}: {counts}; {len(result.replaced)} files replaced, "
          f"{len(result.unchanged)} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
