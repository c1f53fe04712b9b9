"""The codebook and coded segments, from the CSV export or from the REFI-QDA project.

Owns reading the ``codebook``, ``segments`` and ``professional_segments`` sections: the frame
as read (from the declared CSV, or from the project when ``qdpx:`` is declared), required
columns, blank and duplicate rows, identifier screening of code names and coded text. Reads
CONTRACTS.md "Raw export folder"; the cleaning stage derives the ``codebook``, ``segments`` and
``professional_segments`` tables from these frames (:mod:`analysis.clean.segments`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.protect.screening import free_text_columns, screen_identifiers
from analysis.sources.context import ReadContext, declared_section
from analysis.sources.declared import (
    drop_blank_and_duplicates, read_source, require_columns, require_known,
)
from analysis.sources.refi_qda import QDA_COLUMNS

def coded_source(ctx: ReadContext, key: str) -> tuple[pd.DataFrame, str, dict, int, Mapping]:
    """Read the codebook or one set of coded segments, from the CSV export or the project.

    Returns ``(frame of strings with _row, file, columns, header_row, section)``.
    """
    if ctx.qdpx is None:
        spec = declared_section(ctx, key)
        file = spec["file"]
        ctx.record_input(file)
        return (read_source(ctx.raw_dir, spec), file, dict(spec["columns"]),
                int(spec.get("header_row", 1)), spec)
    section = ctx.sources.get(key)
    spec = section if isinstance(section, dict) else {}
    columns = QDA_COLUMNS["codebook" if key == "codebook" else "segments"]
    return ctx.qdpx.frames[key].copy(), ctx.qdpx.file, dict(columns), 1, spec


def read_codebook(ctx: ReadContext) -> pd.DataFrame:
    """The codebook as read and checked: themes and codes with ids, levels and colours."""
    frame, file, columns, header_row, spec = coded_source(ctx, "codebook")
    require_columns(frame, columns, file, header_row, optional=("description", "colour"))
    frame = drop_blank_and_duplicates(frame, file, ctx.log)
    screen_identifiers(frame, file, free_text_columns(frame, columns, ("code", "description")))
    separator = "\\" if ctx.qdpx is not None else str(spec.get("path_separator", "\\"))
    ids: dict[str, str] = {}
    children: dict[str, int] = {}
    rows = []
    for record in frame.to_dict("records"):
        path = record[columns["code"]].strip()
        parts = [p.strip() for p in path.split(separator)]
        parent = separator.join(parts[:-1]) if len(parts) > 1 else None
        if parent is not None and parent not in ids:
            raise DataValidationError(file, int(record["_row"]), columns["code"],
                                      "parent code listed before its children",
                                      f"code {path!r}: parent {parent!r} is not in the codebook")
        key = parent or ""
        children[key] = children.get(key, 0) + 1
        code_id = (f"{ids[parent]}.{children[key]:02d}" if parent is not None
                   else f"T{children[key]:02d}")
        ids[separator.join(parts)] = code_id
        rows.append({
            "code_id": code_id, "code": separator.join(parts),
            "parent_id": ids[parent] if parent is not None else None,
            "theme_id": code_id.split(".")[0], "theme": parts[0], "level": len(parts),
            "description": record.get(columns.get("description", ""), "") or None,
            "colour": (record.get(columns.get("colour", ""), "") or "").strip() or None,
            "_row": record["_row"], "_file": file,
        })
    return pd.DataFrame(rows)


def read_segments(ctx: ReadContext, key: str, codebook: pd.DataFrame) -> pd.DataFrame:
    """One set of coded segments (``segments`` or ``professional_segments``) as read and checked."""
    frame, file, columns, header_row, spec = coded_source(ctx, key)
    require_columns(frame, columns, file, header_row, optional=("coder",))
    frame = drop_blank_and_duplicates(frame, file, ctx.log)
    screen_identifiers(frame, file, free_text_columns(frame, columns, ("text",)))
    out = pd.DataFrame({
        "document": frame[columns["document"]].str.strip(),
        "_code": frame[columns["code"]].str.strip(),
        "text": frame[columns["text"]],
        "coder": frame[columns["coder"]].str.strip() if columns.get("coder") in frame else None,
        "_row": frame["_row"], "_file": file,
    })
    for name in ("start", "end"):
        numbers = pd.to_numeric(frame[columns[name]].str.strip(), errors="coerce")
        bad = numbers.isna() | (numbers != np.floor(numbers.fillna(0)))
        if bad.any():
            i = bad.idxmax()
            raise DataValidationError(file, int(frame.at[i, "_row"]), columns[name], "integer",
                                      f"value {frame.at[i, columns[name]]!r} is not an integer")
        out[name] = numbers.astype("Int64")
    code_ids = dict(zip(codebook["code"], codebook["code_id"]))
    out["code_id"] = out["_code"].map(code_ids)
    require_known(out.assign(_known=out["code_id"].notna()), "_known", {True},
                  "code in codebook", "code path not found in the codebook",
                  raw_column=columns["code"])
    out["theme_id"] = out["code_id"].str.split(".").str[0]
    pattern = spec.get("document_pattern")
    bad = ~out["document"].str.fullmatch(pattern) if pattern else pd.Series(False, out.index)
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns["document"],
                                  f"document pattern {spec['document_pattern']}",
                                  f"document {out.at[i, 'document']!r} does not match")
    return out


def segment_columns(ctx: ReadContext, key: str) -> dict[str, str]:
    """Derived column -> column name as read, for one set of coded segments."""
    if ctx.qdpx is not None:
        return dict(QDA_COLUMNS["segments"])
    return dict(declared_section(ctx, key)["columns"])
