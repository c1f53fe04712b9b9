"""Zip archives (xlsx, docx) written or rewritten so identical content gives identical bytes.

Writers such as openpyxl stamp every zip member with the current time, so two runs a second apart
differ. :func:`stable_zip` keeps the members and their order and fixes what varies.
"""

from __future__ import annotations

import io
import zipfile
from typing import Final, TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook

ZIP_TIME: Final[tuple[int, int, int, int, int, int]] = (1980, 1, 1, 0, 0, 0)
"""The earliest time a zip member can carry: used for every member."""


def stable_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed member timestamps and attributes (same order)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            target.writestr(member, source.read(info.filename))
    return out.getvalue()


def workbook_bytes(workbook: "Workbook") -> bytes:
    """Return an openpyxl workbook's xlsx bytes, the same for the same content.

    Not ``workbook.save()``: it stamps the current time into the document properties. The
    workbook's own ``created``/``modified`` properties are kept as set by the caller.
    """
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(workbook, archive).save()
    return stable_zip(buffer.getvalue())
