"""Assemble the SYNTHETIC raw export folder: :func:`generate`.

All files are built in memory from one seeded random generator, then written; a file whose bytes
are already on disk is left untouched (so ``make`` sees no change), and files of an earlier run
that the new run does not make (listed in the old ``manifest.json``) are removed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core.atomic import write_if_changed
from analysis.synthetic import (
    cohort, contacts, coproduction, diaries, qda_export, qualitative, redcap_export, writers,
)
from analysis.synthetic.readme import readme_text
from analysis.synthetic.sources import service_map_rows, sources_yaml

DICTIONARY_FILE = "SYNTHETIC_redcap_data_dictionary.csv"
RECORDS_FILE = "SYNTHETIC_redcap_participants_raw.csv"
EVENTS_FILE = "SYNTHETIC_key_events.csv"
CODEBOOK_FILE = "SYNTHETIC_codebook.csv"
SEGMENTS_FILE = "SYNTHETIC_coded_segments.csv"
PRO_SEGMENTS_FILE = "SYNTHETIC_professional_segments.csv"
PROFESSIONALS_FILE = "SYNTHETIC_professionals.csv"
QDPX_FILE = "SYNTHETIC_project.qdpx"
QDA_MAP_FILE = "qda_map.csv"
DIARY_FILE = "SYNTHETIC_diary_register.csv"
DIARY_SEGMENTS_FILE = "SYNTHETIC_diary_segments.csv"
DRAWINGS_FILE = "SYNTHETIC_drawings.csv"
DRAWING_EVENTS_FILE = "SYNTHETIC_drawing_events.csv"
EACG_LOG_FILE = "SYNTHETIC_eacg_review_log.csv"
MODEL_OF_CARE_FILE = "SYNTHETIC_model_of_care.yml"
SEGMENT_HEADER = ["Document", "Code", "Start", "End", "Coded text", "Coder"]


def build_files(seed: int, scale: int) -> tuple[dict[str, bytes], dict[str, object]]:
    """Return ``({relative path: bytes}, summary)`` of the whole folder except the manifest."""
    from analysis.synthetic import GENERATOR_VERSION

    root = np.random.SeedSequence(seed)
    cohort_seed, contact_seed, qual_seed, redcap_seed = root.spawn(4)
    rng_cohort = np.random.Generator(np.random.PCG64(cohort_seed))
    rng_contacts = np.random.Generator(np.random.PCG64(contact_seed))
    rng_qual = np.random.Generator(np.random.PCG64(qual_seed))
    rng_redcap = np.random.Generator(np.random.PCG64(redcap_seed))
    # Issue 13's inputs draw from streams spawned after the first four, so the files above
    # keep their bytes.
    diary_seed, eacg_seed = root.spawn(2)
    rng_diaries = np.random.Generator(np.random.PCG64(diary_seed))
    rng_eacg = np.random.Generator(np.random.PCG64(eacg_seed))

    sites = cohort.load_sites()
    site_codes = list(sites["code"])
    colocated = dict(zip(sites["code"], sites["colocated"] == "true"))
    site_labels = dict(zip(sites["code"], sites["label"]))
    mbu_access = dict(zip(sites["code"], sites["mbu_access"]))

    women = cohort.simulate_cohort(rng_cohort, scale)
    files: dict[str, bytes] = {}

    # REDCap ---------------------------------------------------------------------------------
    dictionary = redcap_export.dictionary_rows()
    files[DICTIONARY_FILE] = writers.csv_text(
        redcap_export.DICTIONARY_COLUMNS,
        [[row[c] for c in redcap_export.DICTIONARY_COLUMNS] for row in dictionary],
    ).encode("utf-8-sig")
    files[RECORDS_FILE] = writers.csv_text(
        redcap_export.export_header(dictionary), redcap_export.export_rows(rng_redcap, women)
    ).encode("utf-8")

    # Key events tracker -----------------------------------------------------------------------
    event_rows = [
        [w.study_id, cohort.EVENT_LABELS[event], cohort.date_string(day, "%d/%m/%Y"), detail]
        for w in women if w.consented for event, day, detail in w.events
    ]
    files[EVENTS_FILE] = writers.csv_text(["Study ID", "Event", "Date", "Detail"],
                                          event_rows).encode("utf-8")

    # Contact logs -----------------------------------------------------------------------------
    true_contacts = contacts.simulate_contacts(rng_contacts, women)
    log_counts: dict[str, int] = {}
    for style in contacts.LOG_STYLES:
        header, rows = contacts.site_log_rows(rng_contacts, true_contacts, style)
        log_counts[style.site] = len(rows)
        if style.kind == "xlsx":
            files[style.file] = writers.xlsx_bytes("Contacts", style.title, header, rows)
        else:
            files[style.file] = contacts.csv_bytes(header, rows, style)
    files["service_map.csv"] = writers.csv_text(["site", "raw_service", "service"],
                                                service_map_rows()).encode("utf-8")

    # Qualitative ------------------------------------------------------------------------------
    files[CODEBOOK_FILE] = writers.csv_text(["Code", "Description", "Colour"],
                                            qualitative.codebook_rows()).encode("utf-8")
    women_docs = qualitative.woman_documents(rng_qual, women, colocated)
    professionals, pro_docs = qualitative.professionals_and_documents(
        rng_qual, scale, site_codes, colocated, site_labels, mbu_access)
    files[SEGMENTS_FILE] = _segments_csv(women_docs)
    files[PRO_SEGMENTS_FILE] = _segments_csv(pro_docs)
    files[PROFESSIONALS_FILE] = writers.csv_text(
        ["prof_id", "site", "role", "service", "data_collection", "document"],
        [[p.prof_id, p.site, p.role, p.service, p.data_collection, p.document]
         for p in professionals],
    ).encode("utf-8")
    for doc in women_docs + pro_docs:
        files[f"transcripts/{doc.name}.txt"] = doc.text.encode("utf-8")
    # The same codebook, codings and transcripts as a REFI-QDA project, with its source map.
    files[QDPX_FILE] = qda_export.project_bytes(qualitative.codebook_rows(), women_docs, pro_docs)
    files[QDA_MAP_FILE] = qda_export.qda_map_bytes(women_docs + pro_docs)

    # Diaries, drawings of significant life events, EACG review log, model of care -----------
    entries, diary_docs, drawings, images = diaries.diaries_and_drawings(rng_diaries, women)
    files[DIARY_FILE] = writers.csv_text(diaries.DIARY_HEADER,
                                         diaries.diary_register_rows(entries)).encode("utf-8")
    files[DIARY_SEGMENTS_FILE] = _segments_csv(diary_docs)
    for doc in diary_docs:
        files[f"transcripts/{doc.name}.txt"] = doc.text.encode("utf-8")
    files[DRAWINGS_FILE] = writers.csv_text(diaries.DRAWING_HEADER,
                                            diaries.drawing_rows(drawings)).encode("utf-8")
    files[DRAWING_EVENTS_FILE] = writers.csv_text(
        diaries.DRAWING_EVENT_HEADER, diaries.drawing_event_rows(drawings)).encode("utf-8")
    files.update(images)
    files[EACG_LOG_FILE] = writers.csv_text(coproduction.REVIEW_LOG_HEADER,
                                            coproduction.review_log_rows(rng_eacg)).encode("utf-8")
    files[MODEL_OF_CARE_FILE] = coproduction.model_of_care_yaml().encode("utf-8")

    # Description files -----------------------------------------------------------------------
    files["sources.yml"] = sources_yaml().encode("utf-8")
    summary = _summary(women, true_contacts, log_counts, women_docs, pro_docs, professionals,
                       seed, scale, GENERATOR_VERSION)
    summary.update(_materials_summary(entries, diary_docs, drawings, images))
    files["README.md"] = readme_text(summary).encode("utf-8")
    return files, summary


def _segments_csv(documents: list[qualitative.Document]) -> bytes:
    rows = [[doc.name, code, start, end, text, doc.coder]
            for doc in documents for code, start, end, text in doc.codings]
    return writers.csv_text(SEGMENT_HEADER, rows).encode("utf-8")


def _summary(women, true_contacts: pd.DataFrame, log_counts, women_docs, pro_docs,
             professionals, seed, scale, version) -> dict[str, object]:
    recruited = [w for w in women if w.consented]
    n = len(recruited)
    waves = {k: sum(1 for w in recruited if w.wave_status.get(k) == 1) for k in range(1, 6)}
    births = [w for w in recruited if any(e[0] == "birth" for e in w.events)]
    treated = [w for w in births if w.nas_treated]
    stays_t = [w.nnu[1] for w in births if w.nnu and w.nas_treated]
    stays_u = [w.nnu[1] for w in births if w.nnu and not w.nas_treated]
    at_birth: dict[str, int] = {}
    for w in births:
        if w.placements:
            at_birth[w.placements[0][1]] = at_birth.get(w.placements[0][1], 0) + 1
    return {
        "seed": seed, "scale": scale, "version": version,
        "screened": len(women), "recruited": n,
        "recruited_by_site": {s: sum(1 for w in recruited if w.site == s)
                              for s in contacts.RATES},
        "treatment": {label: sum(1 for w in recruited if w.treatment == code)
                      for code, label in cohort.TREATMENTS},
        "previous_removed": sum(1 for w in recruited if w.previous_removed == 1),
        "parous": sum(1 for w in recruited if w.parity > 0),
        "domestic_abuse": sum(1 for w in recruited if w.domestic_abuse),
        "mental_health_any": sum(1 for w in recruited if w.mental_health),
        "waves_completed": waves,
        "withdrawn": sum(1 for w in recruited if w.withdrawal_type == 1),
        "lost": sum(1 for w in recruited if w.withdrawal_type == 2),
        "births": len(births), "nas_treated": len(treated),
        "median_stay_treated": float(np.median(stays_t)) if stays_t else None,
        "median_stay_untreated": float(np.median(stays_u)) if stays_u else None,
        "placement_at_birth": dict(sorted(at_birth.items())),
        "contacts": int(len(true_contacts)), "log_rows": log_counts,
        "women_documents": len(women_docs),
        "women_segments": sum(len(d.codings) for d in women_docs),
        "professional_documents": len(pro_docs),
        "professional_segments": sum(len(d.codings) for d in pro_docs),
        "professionals": len(professionals),
    }


def _materials_summary(entries, diary_docs, drawings, images) -> dict[str, object]:
    modes: dict[str, int] = {}
    for entry in entries:
        modes[entry.mode] = modes.get(entry.mode, 0) + 1
    return {
        "diary_entries": len(entries), "diary_women": len({e.study_id for e in entries}),
        "diary_modes": dict(sorted(modes.items())), "diary_documents": len(diary_docs),
        "diary_segments": sum(len(d.codings) for d in diary_docs),
        "drawings": len(drawings), "drawn_events": sum(len(d.events) for d in drawings),
        "images": len(images),
        "eacg_meetings": len(coproduction.MEETINGS),
        "eacg_items": sum(len(m[2]) for m in coproduction.MEETINGS),
    }


def generate(seed: int, scale: int, out: Path) -> dict[str, object]:
    """Write the synthetic export folder for ``seed`` and ``scale`` into ``out``.

    Files whose bytes are unchanged are not rewritten; transcripts of an earlier run (listed in
    the old ``manifest.json``) that this run does not make are removed; other files in ``out``
    (e.g. a QDA project written by another tool under another name) are left alone.
    Returns the manifest (generator version, seed, scale, sha256 of every file).
    """
    from analysis.synthetic import GENERATOR_VERSION

    out = Path(out)
    files, _ = build_files(seed, scale)
    manifest = {
        "synthetic": True,
        "description": "SYNTHETIC Stepping Stones export folder - invented data, not real people",
        "generator": "analysis.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    old_manifest = out / "manifest.json"
    if old_manifest.is_file():
        try:
            previous = json.loads(old_manifest.read_text(encoding="utf-8")).get("files", {})
        except (ValueError, AttributeError):
            previous = {}
        for name in previous:  # only transcripts and images vary in name between runs (scale)
            if name.startswith(("transcripts/", "visual/")) and name not in files and (out / name).is_file():
                (out / name).unlink()
    for name, data in files.items():
        write_if_changed(out / name, data)
    write_if_changed(old_manifest, writers.json_bytes(manifest))
    return manifest
