"""Content fingerprints of the build's inputs, so ``make`` decides by content, not by timestamps.

``make`` reruns a stage when a prerequisite's modification time is newer than the stage's output.
That is wrong both ways for a pipeline whose inputs are exports and code under version control:
restoring an older export with its timestamps kept (``cp -p``, ``rsync -t``, ``tar -x``, ``unzip``,
a backup) leaves the outputs built from the edited file, and a ``touch``, or a ``git checkout``
that rewrites files with the content they had, reruns stages whose inputs did not change. So the Makefile does not depend on the inputs themselves but
on one *stamp* per group of inputs (the raw export folder, each stage's code and configuration,
the report sources), kept in ``data_derived/.fingerprints/``:

1. at every ``make`` start, ``python -S -m analysis.core.fingerprints update ...`` fingerprints every
   group: a sha256 over the sorted (file name, sha256 of the file's bytes) pairs, plus, for the
   raw folder, its absolute path (pointing ``DATA_RAW`` elsewhere reruns cleaning);
2. a group's stamp ``<group>.sha256`` is rewritten, and so gets a new modification time, only when
   that digest differs from the one the stamp holds: any change of content, a file added, removed
   or renamed reruns what depends on the group, whatever the files' timestamps; a ``touch`` with
   the same content reruns nothing. A stamp written for the first time (a fresh checkout, after
   ``make clean``) counts as a change: what existing outputs were built from is not known.

Hashing every file at every ``make`` would cost seconds for large exports, so the sha256 of each
file is cached (``cache.txt``) with the file's size, modification time, status-change time and
inode: a file is hashed again only when any of these differ. Restoring, copying, touching or
editing a file always changes its status-change time (``ctime``, which no tool can set back), so
the cache cannot hide a change of content. Set ``FINGERPRINT_VERIFY=1`` to hash every file anyway.

This module runs at every ``make`` start (three times for a no-op ``make``: the top level and its
two recursive makes), so it uses the standard library only and runs with ``python -S``: no pandas,
no site packages, not even ``dataclasses`` or ``argparse``, whose imports cost more than the
checks. :mod:`analysis.core.atomic` (``tempfile``, ``shutil``) is imported only when a file has to be
hashed or a stamp written, which a no-op ``make`` never does.

The output check (:mod:`analysis.protect.output_check`) records the fingerprints an output set was built
from (:func:`current`) in ``output-check.csv``; ``make status`` (:mod:`analysis.tools.build_status`)
compares them with the fingerprints of the raw data and code now present.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Mapping, Sequence


STAMP_FOLDER: str = ".fingerprints"
"""Folder (inside ``data_derived/``) holding the stamps and the hash cache."""

CACHE_NAME: str = "cache.txt"
"""The per-file hash cache inside the stamp folder (one line per file)."""

STAMP_SUFFIX: str = ".sha256"
"""A group's stamp is ``<group>.sha256`` in the stamp folder."""

RAW_GROUP: str = "raw"
"""Name of the group holding the raw export folder (``DATA_RAW``); every other group is code."""

GROUP_LABELS: dict[str, str] = {
    "raw": "raw data (DATA_RAW)",
    "clean_code": "cleaning code and configuration",
    "site_code": "site-profile code and configuration",
    "synth_code": "synthesis code and configuration",
    "render_code": "renderer, templates and _quarto.yml",
    "report_src": "report sources",
    "slides_src": "slides source",
    "brief_src": "briefing source and code",
    "check_code": "output-check code",
    "name_lists": "name lists (NAME_LISTS)",
}
"""Readable names of the groups the Makefile declares (others are shown by their name)."""

LOG_BUILD_FILE: str = "(build inputs)"
"""``file`` of the output-check log row that records every group's fingerprint."""

LOG_BUILD_CHECK: str = "build_fingerprints"
"""``check`` of that row."""

_CACHE_HEADER = "# fingerprint cache 1: size mtime_ns ctime_ns inode sha256 path"


class FingerprintError(RuntimeError):
    """A group names a file that cannot be read, or the stamp folder cannot be written."""


class GroupFingerprint:
    """The fingerprint of one group of inputs.

    Attributes:
        name: the group's name (``raw``, ``clean_code``, ...).
        digest: sha256 over the group's root (tree groups) and sorted (file, sha256) pairs.
        files: shown path -> sha256 of the file's bytes.
        root: absolute folder for a tree group (the raw folder), else "".
    """

    __slots__ = ("name", "digest", "files", "root")

    def __init__(self, name: str, digest: str, files: dict[str, str], root: str = "") -> None:
        self.name, self.digest, self.files, self.root = name, digest, files, root

    def stamp_bytes(self) -> bytes:
        """The stamp file's content: ``group``, ``digest`` and ``root`` lines, then one
        ``<sha256>  <path>`` line per file as ``sha256sum`` writes them (plain text: reading it
        back needs no ``json`` import)."""
        lines = [f"group {self.name}", f"digest {self.digest}", f"root {self.root}"]
        lines += [f"{self.files[name]}  {name}" for name in sorted(self.files)]
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


class HashCache:
    """sha256 of files, reused while a file's size, mtime, ctime and inode are unchanged.

    Attributes:
        entries: absolute path -> [size, mtime_ns, ctime_ns, inode, sha256].
        verify: hash every file whatever the cache says.
        dirty: an entry was added or changed since loading.
        seen: the paths asked for (entries of other paths are dropped on saving).
    """

    def __init__(self, entries: dict[str, list[object]] | None = None, *, verify: bool = False) -> None:
        self.entries: dict[str, list[object]] = entries if entries is not None else {}
        self.verify = verify
        self.dirty = False
        self.seen: set[str] = set()

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, verify: bool = False) -> HashCache:
        """Read the cache at ``path`` (empty when missing, unreadable or of another version)."""
        entries: dict[str, list[object]] = {}
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                if handle.readline().strip() != _CACHE_HEADER:
                    return cls(verify=verify)
                for line in handle:
                    size, mtime, ctime, inode, sha, key = line.rstrip("\n").split(" ", 5)
                    entries[key] = [int(size), int(mtime), int(ctime), int(inode), sha]
        except (OSError, ValueError):
            entries = {}
        return cls(entries=entries, verify=verify)

    def digest(self, path: str | os.PathLike[str]) -> str:
        """sha256 of ``path``'s bytes, hashing only when the pre-check (size, times, inode) fails.

        Plain ``os`` calls on strings: ``pathlib`` objects for every file cost more than the check.
        """
        key = os.path.abspath(path)
        try:
            info = os.stat(key)
        except OSError as exc:
            raise FingerprintError(f"cannot read {path}: {exc.strerror or exc}") from exc
        state: list[object] = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        self.seen.add(key)
        cached = self.entries.get(key)
        if not self.verify and isinstance(cached, list) and cached[:4] == state and len(cached) == 5:
            return str(cached[4])
        try:
            from pathlib import Path  # only when hashing: keeps a no-op run light

            from analysis.core import atomic

            value = atomic.file_sha256(Path(key))
        except OSError as exc:
            raise FingerprintError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if cached != [*state, value]:
            self.entries[key] = [*state, value]
            self.dirty = True
        return value

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the cache (atomically) when it changed, dropping files no longer seen."""
        stale = set(self.entries) - self.seen
        if not (self.dirty or stale):
            return
        for key in stale:
            del self.entries[key]
        lines = [_CACHE_HEADER] + [" ".join(str(v) for v in self.entries[key]) + " " + key
                                   for key in sorted(self.entries)]
        from analysis.core import atomic

        atomic.write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))


def _visible(name: str) -> bool:
    return not name.startswith(".")


def tree_files(root: str | os.PathLike[str]) -> list[str]:
    """Every file under ``root`` (recursively) as a sorted ``/``-separated path relative to it,
    leaving out hidden files and folders (``.DS_Store``, ``.~lock`` files, ``.git``)."""
    root = os.fspath(root)
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if _visible(d)]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + f for f in files if _visible(f))
    return sorted(found)


def _digest_of(pairs: Mapping[str, str], root: str) -> str:
    digest = hashlib.sha256()
    if root:
        digest.update(f"root\0{root}\n".encode("utf-8", "surrogateescape"))
    for name in sorted(pairs):
        digest.update(f"{name}\0{pairs[name]}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def fingerprint_tree(name: str, root: str | os.PathLike[str], cache: HashCache) -> GroupFingerprint:
    """Fingerprint a folder of inputs (the raw exports): its absolute path and every file in it.

    A missing folder is fingerprinted as empty (cleaning then reports it with the file it needs).
    """
    folder = os.path.abspath(root)
    files = {rel: cache.digest(os.path.join(folder, rel)) for rel in tree_files(folder)} \
        if os.path.isdir(folder) else {}
    return GroupFingerprint(name, _digest_of(files, folder), files, folder)


def fingerprint_files(name: str, entries: Iterable[str | os.PathLike[str]], cache: HashCache) -> GroupFingerprint:
    """Fingerprint a list of files (paths as given, relative to the project); a folder in the
    list stands for every file in it. A listed path that does not exist is an error."""
    files: dict[str, str] = {}
    for entry in entries:
        path = os.fspath(entry)
        shown = path.replace(os.sep, "/")
        if os.path.isdir(path):
            for rel in tree_files(path):
                files[f"{shown.rstrip('/')}/{rel}"] = cache.digest(os.path.join(path, rel))
        elif os.path.exists(path):
            files[shown] = cache.digest(path)
        else:
            raise FingerprintError(f"{GROUP_LABELS.get(name, 'group ' + repr(name))}: {path} does not exist")
    return GroupFingerprint(name, _digest_of(files, ""), files)


def read_stamp(path: str | os.PathLike[str]) -> dict[str, object] | None:
    """A stamp file as ``{"group", "digest", "root", "files"}``, or None when it is missing or
    not a stamp."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            head = [handle.readline().rstrip("\n") for _ in range(3)]
            files = dict(reversed(line.rstrip("\n").split("  ", 1)) for line in handle if "  " in line)
    except (OSError, ValueError):
        return None
    fields = dict(line.partition(" ")[::2] for line in head)
    if set(fields) != {"group", "digest", "root"} or len(fields["digest"]) != 64:
        return None
    return {**fields, "files": files}


def write_stamps(stamp_dir: str | os.PathLike[str], groups: Sequence[GroupFingerprint]) -> list[str]:
    """Rewrite the stamp of every group whose digest changed; return those groups' names.

    An unchanged stamp is left alone, so its modification time (what ``make`` compares) stays.
    """
    changed: list[str] = []
    for group in groups:
        target = os.path.join(stamp_dir, group.name + STAMP_SUFFIX)
        old = read_stamp(target)
        if old is not None and old.get("digest") == group.digest:
            continue
        from analysis.core import atomic

        atomic.write_bytes(target, group.stamp_bytes())
        changed.append(group.name)
    return changed


def fingerprint_all(stamp_dir: str | os.PathLike[str], trees: Sequence[tuple[str, str]],
                    groups: Sequence[Sequence[str]], *, verify: bool = False) -> list[GroupFingerprint]:
    """Fingerprint every group (through the hash cache in ``stamp_dir``); write no stamp.

    Args:
        stamp_dir: the stamp folder, holding the hash cache (created if missing).
        trees: ``(name, folder)`` pairs: folders fingerprinted whole (the raw exports).
        groups: ``[name, file, file, ...]`` lists: files (or folders) of one group.
        verify: hash every file, ignoring the cache.
    """
    cache_path = os.path.join(stamp_dir, CACHE_NAME)
    cache = HashCache.load(cache_path, verify=verify)
    names = [name for name, _ in trees] + [g[0] for g in groups]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FingerprintError(f"group declared twice: {', '.join(duplicates)}")
    prints = [fingerprint_tree(name, folder, cache) for name, folder in trees]
    prints += [fingerprint_files(g[0], g[1:], cache) for g in groups]
    os.makedirs(stamp_dir, exist_ok=True)
    cache.save(cache_path)
    return prints


def update(stamp_dir: str | os.PathLike[str], trees: Sequence[tuple[str, str]], groups: Sequence[Sequence[str]],
           *, verify: bool = False) -> list[str]:
    """Fingerprint every group and rewrite the stamps that changed (see the module docstring);
    arguments as :func:`fingerprint_all`. Returns the names of the groups whose stamps were
    rewritten."""
    return write_stamps(stamp_dir, fingerprint_all(stamp_dir, trees, groups, verify=verify))


class BuildFingerprints:
    """What a set of outputs was (or would now be) built from.

    Attributes:
        raw: the raw export folder's fingerprint ("unknown" when there is no stamp).
        code: one fingerprint over every other group ("unknown" when there is none).
        groups: every group's digest by name.
    """

    __slots__ = ("raw", "code", "groups")

    def __init__(self, raw: str, code: str, groups: dict[str, str]) -> None:
        self.raw, self.code, self.groups = raw, code, groups

    def detail(self) -> str:
        """Every group's digest as ``name=digest; ...`` (the log's build-fingerprints row)."""
        return "; ".join(f"{name}={digest}" for name, digest in sorted(self.groups.items()))

    @staticmethod
    def parse_detail(text: str) -> dict[str, str]:
        """The inverse of :meth:`detail`."""
        pairs = (part.strip().partition("=") for part in text.split(";"))
        return {name: digest for name, _, digest in pairs if name and digest}


def combine(groups: Mapping[str, str]) -> BuildFingerprints:
    """Raw fingerprint (the raw group's digest) and code fingerprint (over every other group)."""
    code = hashlib.sha256("".join(f"{n}\0{d}\n" for n, d in sorted(groups.items())
                                  if n != RAW_GROUP).encode()).hexdigest()
    return BuildFingerprints(raw=groups.get(RAW_GROUP, "unknown"),
                             code=code if any(n != RAW_GROUP for n in groups) else "unknown",
                             groups=dict(sorted(groups.items())))


def current(stamp_dir: str | os.PathLike[str] | None = None) -> BuildFingerprints:
    """The fingerprints held by the stamps (written at the start of the ``make`` now running)."""
    if stamp_dir is None:
        from analysis.core import paths  # light: os and pathlib only

        stamp_dir = paths.data_derived() / STAMP_FOLDER
    groups: dict[str, str] = {}
    try:
        names = sorted(n for n in os.listdir(stamp_dir) if n.endswith(STAMP_SUFFIX))
    except OSError:
        names = []
    for name in names:
        content = read_stamp(os.path.join(stamp_dir, name))
        if content and isinstance(content.get("digest"), str):
            groups[str(content["group"] or name[:-len(STAMP_SUFFIX)])] = str(content["digest"])
    return combine(groups)


USAGE = ("usage: python -S -m analysis.core.fingerprints update --dir STAMP_DIR "
         "[--tree NAME FOLDER]... [--group NAME FILE...]...")


def parse_groups(args: Sequence[str]) -> tuple[str | None, list[tuple[str, str]], list[list[str]]]:
    """Parse ``[--dir D] [--tree NAME FOLDER]... [--group NAME FILE...]...`` (by hand:
    ``argparse`` alone costs more than a no-op fingerprint run)."""
    stamp_dir: str | None = None
    trees: list[tuple[str, str]] = []
    groups: list[list[str]] = []
    i = 0
    while i < len(args):
        flag = args[i]
        if flag == "--dir" and i + 1 < len(args):
            stamp_dir, i = args[i + 1], i + 2
        elif flag == "--tree" and i + 2 < len(args):
            trees.append((args[i + 1], args[i + 2]))
            i += 3
        elif flag == "--group" and i + 1 < len(args):
            j = i + 2
            while j < len(args) and not args[j].startswith("--"):
                j += 1
            groups.append(args[i + 1:j])
            i = j
        else:
            raise FingerprintError(f"unexpected argument {flag!r}; {USAGE}")
    return stamp_dir, trees, groups


def main(argv: Sequence[str] | None = None) -> int:
    """CLI for the Makefile: rewrite the stamps of groups whose content changed and name them in
    one line; exit 1, with one line on stderr, when a named file cannot be read.
    ``FINGERPRINT_VERIFY=1`` hashes every file, ignoring the cache."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        if not args or args[0] != "update":
            raise FingerprintError(USAGE)
        stamp_dir, trees, groups = parse_groups(args[1:])
        if stamp_dir is None:
            raise FingerprintError(f"--dir is required; {USAGE}")
        changed = update(stamp_dir, trees, groups,
                         verify=os.environ.get("FINGERPRINT_VERIFY", "") not in ("", "0"))
    except (FingerprintError, OSError) as exc:
        print(f"fingerprints: {exc}", file=sys.stderr)
        return 1
    if changed:
        print("fingerprints: new content in " + ", ".join(GROUP_LABELS.get(g, g) for g in changed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
