"""All-or-nothing output: build files in a scratch folder, then move them into place.

The cleaning stage owns a fixed set of files inside ``data_derived/`` but shares that folder with
other stages (``notebooks/``, ``figures/``). It therefore never replaces the folder itself:

1. :func:`staging_folder` makes a scratch folder *next to* the output folder (same file system,
   so a move is an atomic ``rename``) and removes it whatever happens;
2. the stage writes every output file into the scratch folder; any error raised before the swap
   leaves the output folder exactly as it was (same files, bytes and modification times);
3. :func:`swap_into_place` moves the files one by one with :func:`os.replace` (each move is atomic).
   A file whose bytes are unchanged is not moved, so its modification time is kept and ``make``
   reruns only what depends on files that really changed. Files listed in ``last`` (e.g. a
   manifest) are moved after all others, so a half-finished swap is visible as a stale manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()
"""Permissions of every file the pipeline writes: the usual ``0o666`` minus the umask."""


@dataclass(frozen=True)
class SwapReport:
    """What :func:`swap_into_place` did, by path relative to the output folder."""

    replaced: tuple[str, ...] = field(default_factory=tuple)
    unchanged: tuple[str, ...] = field(default_factory=tuple)


@contextlib.contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """Yield an empty scratch folder next to ``out_dir``; delete it on exit (success or error)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def same_bytes(a: Path, b: Path) -> bool:
    """Return True if both files exist and hold identical bytes."""
    if not (a.is_file() and b.is_file()) or a.stat().st_size != b.stat().st_size:
        return False
    return file_sha256(a) == file_sha256(b)


def file_sha256(path: Path) -> str:
    """Return the hex sha256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def swap_into_place(
    staged: Path, out_dir: Path, relative_paths: Iterable[str], last: Iterable[str] = ()
) -> SwapReport:
    """Move staged files into ``out_dir``, keeping files whose bytes did not change untouched.

    Args:
        staged: the scratch folder holding the new files.
        out_dir: the destination folder (created if missing). Files in it that are not listed
            are never touched.
        relative_paths: files (relative to both folders) to move.
        last: files among ``relative_paths`` to move after all the others.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    last_set = list(dict.fromkeys(last))
    ordered = [p for p in dict.fromkeys(relative_paths) if p not in last_set] + last_set
    replaced: list[str] = []
    unchanged: list[str] = []
    for rel in ordered:
        source = staged / rel
        target = out_dir / rel
        if same_bytes(source, target):
            unchanged.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        replaced.append(rel)
    return SwapReport(replaced=tuple(replaced), unchanged=tuple(unchanged))


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``path``: a temporary file in the same folder, then a rename.

    Readers never see a half-written file, and a failure leaves the old file as it was. The file
    gets the usual permissions (``0o666`` minus the umask), not a temporary file's private 0600.
    Returns the path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(name, FILE_MODE)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return target


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`write_bytes` for UTF-8 text (newlines written as given)."""
    return write_bytes(path, text.encode("utf-8"))


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically write ``data`` to ``path`` unless it already holds exactly these bytes.

    Leaving an unchanged file alone keeps its modification time, so ``make`` does not rerun what
    depends on it. Returns True if the file was (re)written.
    """
    path = Path(path)
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    write_bytes(path, data)
    return True
