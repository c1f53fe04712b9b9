"""Git guards that work offline: ``python -m analysis.tools.githooks <check> FILES...``.

Each check takes the staged file paths (relative to the repository root, as pre-commit passes
them), prints one readable line per problem (identifiers masked) and exits 1 if any file fails:

``forbidden-paths``
    Refuses real exports: anything in ``data_raw/`` outside ``data_raw/synthetic/``, anything
    in ``data_derived/`` (build products), rendered outputs, and QDA / statistics-package
    exports (.nvp, .nvpx, .qdpx, .sav, .dta, .atlproj, .mx*) outside the synthetic study and
    test fixtures.
``large-files``
    Refuses files over ``--max-kb`` (default 1024) unless allow-listed (``--allow`` globs;
    defaults: the synthetic study and test fixtures).
``notebook-outputs``
    Refuses notebooks that carry outputs or execution counts (a check, no rewrite: for CI).
``strip-notebooks``
    Strips outputs in place with nbstripout's own function and fails when it changed a file,
    so the stripped version is what gets re-staged (the pre-commit formatter convention).
``identifiers``
    Refuses text, notebook and document files in which :mod:`analysis.protect.identifiers` finds a
    possible identifier.

All hooks in ``.pre-commit-config.yaml`` are ``repo: local`` and run these from the project's
virtual environment, so nothing is fetched.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.protect import identifiers

EXPORT_SUFFIXES: tuple[str, ...] = (".nvp", ".nvpx", ".qdpx", ".sav", ".dta", ".atlproj",
                                    ".mx", ".mx4", ".mx12", ".mx18", ".mx20", ".mx22", ".mx24",
                                    ".mex22", ".mex24", ".por", ".sas7bdat", ".rdata", ".rds")
"""File types that are exports from QDA or statistics packages."""

EXPORT_ALLOWED_UNDER: tuple[str, ...] = ("data_raw/synthetic/", "tests/fixtures/")
"""Where such exports are allowed (the shipped synthetic study and test fixtures)."""

ALWAYS_ALLOWED: tuple[str, ...] = ("data_raw/README.md", "data_derived/README.md")
"""Documentation files inside otherwise forbidden folders."""

DEFAULT_LARGE_ALLOW: tuple[str, ...] = ("data_raw/synthetic/*", "tests/fixtures/*")
"""Default allow-list (globs) for the large-file check."""


@dataclass(frozen=True)
class Problem:
    """One reason a staged file is refused."""

    file: str
    check: str
    message: str

    def describe(self) -> str:
        """``file: [check] message``."""
        return f"{self.file}: [{self.check}] {self.message}"


def _posix(path: str | Path) -> str:
    """The path with forward slashes (``Path`` drops a leading ``./``)."""
    return Path(path).as_posix()


def check_forbidden_paths(files: Sequence[str | Path]) -> list[Problem]:
    """Refuse real exports, derived data, rendered outputs and QDA/statistics exports."""
    problems: list[Problem] = []
    for file in files:
        path = _posix(file)
        lower = path.lower()
        if path in ALWAYS_ALLOWED:
            continue
        if lower.startswith("data_raw/") and not lower.startswith("data_raw/synthetic/"):
            problems.append(Problem(path, "forbidden-paths",
                                    "real exports never go in git: only data_raw/synthetic/ may be committed"))
        elif lower.startswith("data_derived/"):
            problems.append(Problem(path, "forbidden-paths",
                                    "data_derived/ holds build products made from the data; do not commit"))
        elif lower.startswith("reports/_output/") or lower == "_variables.yml":
            problems.append(Problem(path, "forbidden-paths",
                                    "rendered outputs are build products; release them through the output check"))
        elif any(lower.endswith(s) for s in EXPORT_SUFFIXES) and not any(
                lower.startswith(p) for p in EXPORT_ALLOWED_UNDER):
            problems.append(Problem(path, "forbidden-paths",
                                    "QDA/statistics export outside data_raw/synthetic/ and tests/fixtures/"))
    return problems


def check_large_files(files: Sequence[str | Path], *, max_kb: int = 1024,
                      allow: Sequence[str] = DEFAULT_LARGE_ALLOW) -> list[Problem]:
    """Refuse files larger than ``max_kb`` kilobytes unless a glob in ``allow`` matches."""
    problems: list[Problem] = []
    for file in files:
        path = Path(file)
        if not path.is_file():
            continue
        size = path.stat().st_size
        posix = _posix(file)
        if size > max_kb * 1024 and not any(fnmatch.fnmatch(posix, pattern) for pattern in allow):
            problems.append(Problem(posix, "large-files",
                                    f"{size / 1024:.0f} KB is over the {max_kb} KB limit "
                                    "(allow-list synthetic files in .pre-commit-config.yaml)"))
    return problems


def _notebook_has_outputs(notebook: dict) -> list[str]:
    found: list[str] = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {number} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {number} has an execution count")
    return found


def check_notebook_outputs(files: Sequence[str | Path]) -> list[Problem]:
    """Refuse notebooks stored with outputs or execution counts."""
    problems: list[Problem] = []
    for file in files:
        path = Path(file)
        if path.suffix.lower() != ".ipynb" or not path.is_file():
            continue
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem(_posix(file), "notebook-outputs", f"not a readable notebook: {exc}"))
            continue
        for finding in _notebook_has_outputs(notebook):
            problems.append(Problem(_posix(file), "notebook-outputs",
                                    f"{finding}; notebooks are stored without outputs (run nbstripout)"))
    return problems


def strip_notebooks(files: Sequence[str | Path]) -> list[Problem]:
    """Strip outputs in place with nbstripout; report each file that changed."""
    import nbformat
    from nbstripout import strip_output

    problems: list[Problem] = []
    for file in files:
        path = Path(file)
        if path.suffix.lower() != ".ipynb" or not path.is_file():
            continue
        before = path.read_text(encoding="utf-8")
        notebook = nbformat.reads(before, as_version=nbformat.NO_CONVERT)
        stripped = strip_output(notebook, keep_output=False, keep_count=False, keep_id=True)
        after = nbformat.writes(stripped) + "\n"
        if json.loads(after) != json.loads(before):
            path.write_text(after, encoding="utf-8")
            problems.append(Problem(_posix(file), "strip-notebooks",
                                    "outputs stripped; stage the file again"))
    return problems


def check_identifiers(files: Sequence[str | Path]) -> list[Problem]:
    """Refuse files in which the identifier scanner finds a possible identifier."""
    problems: list[Problem] = []
    for file in files:
        path = Path(file)
        if not path.is_file() or path.suffix.lower() not in identifiers.SCANNABLE_SUFFIXES:
            continue
        try:
            hits = identifiers.scan_file(path, display_name=_posix(file))
        except identifiers.IdentifierScanError as exc:
            problems.append(Problem(_posix(file), "identifiers", str(exc)))
            continue
        for hit in hits:
            problems.append(Problem(hit.file, "identifiers",
                                    f"{hit.location}: possible {hit.kind} {hit.masked}"))
    return problems


CHECKS: dict[str, Callable[..., list[Problem]]] = {
    "forbidden-paths": check_forbidden_paths,
    "large-files": check_large_files,
    "notebook-outputs": check_notebook_outputs,
    "strip-notebooks": strip_notebooks,
    "identifiers": check_identifiers,
}
"""Check name -> function (each takes the file list and returns the problems)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one check over the given files; print problems; exit 1 if there are any."""
    parser = argparse.ArgumentParser(prog="python -m analysis.tools.githooks",
                                     description="Offline git guards for the Stepping Stones project.")
    parser.add_argument("check", choices=sorted(CHECKS))
    parser.add_argument("files", nargs="*")
    parser.add_argument("--max-kb", type=int, default=1024, help="large-files: size limit in KB")
    parser.add_argument("--allow", action="append", default=None,
                        help="large-files: glob allowed to be large (repeatable)")
    args = parser.parse_intermixed_args(argv)  # pre-commit puts the files after the options
    if args.check == "large-files":
        problems = check_large_files(args.files, max_kb=args.max_kb,
                                     allow=tuple(args.allow) if args.allow else DEFAULT_LARGE_ALLOW)
    else:
        problems = CHECKS[args.check](args.files)
    for problem in problems:
        print(problem.describe())
    if problems:
        print(f"{args.check}: {len(problems)} problem(s) in "
              f"{len({p.file for p in problems})} file(s); nothing was committed.")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
