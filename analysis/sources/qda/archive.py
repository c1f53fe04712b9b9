"""Opening a ``.qdpx`` archive: the ``.qde`` project inside it and its ``internal://`` files.

A ``.qdpx`` is a zip holding one ``.qde`` XML project (usually ``project.qde``; some tools name it
after the project) and a ``sources/`` folder (some tools write ``Sources/``) with the text of each
source. Nothing is extracted to disk; entries are read on demand.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analysis.sources.qda.errors import DeviationLog, QdaError

INTERNAL_PREFIX = "internal://"
"""Prefix of a source path that points inside the ``.qdpx``'s sources folder."""


@dataclass
class QdpxArchive:
    """An open ``.qdpx`` zip.

    Attributes:
        path: the archive on disk.
        zip: the open zip file.
        qde_name: name of the ``.qde`` entry.
        sources_folder: the sources folder as written (``sources`` or ``Sources``), or ``None``.
        log: where tolerated deviations are recorded.
    """

    path: Path
    zip: zipfile.ZipFile
    qde_name: str
    sources_folder: str | None
    log: DeviationLog
    _names: frozenset[str] = field(default_factory=frozenset)
    _by_lower_name: dict[str, str] = field(default_factory=dict)

    def read_qde(self) -> bytes:
        """Return the bytes of the ``.qde`` project."""
        return self.zip.read(self.qde_name)

    def read_internal(self, uri: str, element: str, line: int | None) -> bytes:
        """Return the bytes of the file an ``internal://`` path names.

        Args:
            uri: the ``plainTextPath`` (or other path) value, starting with ``internal://``.
            element: element holding the path, for messages.
            line: its line in the ``.qde``, for messages.

        Raises:
            QdaError: when the path is not internal or the archive lacks the file.
        """
        if not uri.startswith(INTERNAL_PREFIX):
            raise QdaError(
                f"{self.path}!{self.qde_name}", element, line, "source text not in the archive",
                f"path {uri!r} points outside the .qdpx; export the project again with its "
                "sources embedded (internal://...)",
            )
        name = uri[len(INTERNAL_PREFIX):].lstrip("/")
        folders = [self.sources_folder] if self.sources_folder else []
        for candidate in [f"{folder}/{name}" for folder in folders] + [name]:
            if candidate in self._names:
                return self.zip.read(candidate)
        for candidate in (f"sources/{name}".lower(), name.lower()):
            if candidate in self._by_lower_name:
                actual = self._by_lower_name[candidate]
                self.log.note(f"source file {uri!r} found as {actual!r} (letter case differs)")
                return self.zip.read(actual)
        raise QdaError(
            f"{self.path}!{self.qde_name}", element, line, "missing source file",
            f"{uri!r} is not in the archive (looked in {self.sources_folder or 'sources'}/)",
        )


def _choose_qde(names: list[str], path: Path, log: DeviationLog) -> str:
    """Pick the ``.qde`` entry of the archive, noting an unusual name."""
    qde = sorted(n for n in names if n.lower().endswith(".qde") and not n.endswith("/"))
    top = [n for n in qde if "/" not in n]
    if "project.qde" in top:
        return "project.qde"
    candidates = top or qde
    if not candidates:
        raise QdaError(
            str(path), None, None, "missing .qde",
            "the archive holds no .qde project file (a .qdpx must contain project.qde)",
        )
    if len(candidates) > 1:
        raise QdaError(
            str(path), None, None, "several .qde files",
            f"the archive holds {len(candidates)} .qde files ({', '.join(candidates)}); "
            "expected one",
        )
    log.note(f"the project file inside the .qdpx is named {candidates[0]!r}, not 'project.qde'")
    return candidates[0]


@contextmanager
def open_qdpx(path: Path, log: DeviationLog) -> Iterator[QdpxArchive]:
    """Open a ``.qdpx`` and find its ``.qde`` and sources folder.

    Raises:
        QdaError: when the file is missing, not a zip, or holds no (or several) ``.qde``.
    """
    if not path.is_file():
        raise QdaError(str(path), None, None, "file not found", "no such file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise QdaError(
            str(path), None, None, "not a zip archive",
            f"a .qdpx must be a zip holding a .qde project and a sources/ folder ({exc})",
        ) from None
    with archive:
        names = archive.namelist()
        qde_name = _choose_qde(names, path, log)
        folders = sorted({n.split("/", 1)[0] for n in names if "/" in n and
                          n.split("/", 1)[0].lower() == "sources"})
        folder = "sources" if "sources" in folders else (folders[0] if folders else None)
        if folder is not None and folder != "sources":
            log.note(f"the sources folder is named {folder + '/'!r}, not 'sources/'")
        yield QdpxArchive(
            path, archive, qde_name, folder, log, frozenset(names), {n.lower(): n for n in names}
        )
