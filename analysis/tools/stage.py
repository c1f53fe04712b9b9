"""Run one pipeline stage (a notebook) with papermill; keep the last good build; report a failure
in a few lines.

``python -m analysis.tools.stage run NOTEBOOK OUTPUT [-p NAME VALUE]... [--verbose]`` is what the
Makefile's stage commands call (arguments shaped like papermill's own command line):

1. The notebook is executed with papermill (progress bar and cell output as before) into a
   temporary notebook next to ``OUTPUT``.
2. Success: the temporary notebook replaces ``OUTPUT`` (one atomic rename) and a
   ``<stem>.failed.ipynb`` left by an earlier failure is removed.
3. Failure: ``OUTPUT`` (the executed notebook of the last good build) is left as it was; the
   failed notebook is kept beside it as ``<stem>.failed.ipynb`` and named in the message.

   - A *data error* (an :class:`analysis.core.errors.DataValidationError`, e.g. a
     :class:`analysis.sources.qda.QdaError`) ends with a block of at most five lines: what failed; file,
     row and column; the rule and what was found; a hint where there is one; where the failed
     notebook is. No Python traceback (``--verbose``, i.e. ``make VERBOSE=1``, adds it). Exit 1.
   - Any other exception is a bug in the pipeline, not in the data: its traceback is shown,
     followed by one line saying so. Exit 2.

How the error's fields reach the runner: the kernel is started with this module as an IPython
extension (:func:`load_ipython_extension`). After each cell it checks whether the cell raised a
DataValidationError and, if so, writes the error's fields as JSON to the file named by
``$STAGE_ERROR_REPORT`` (set by the runner for that one run). Without the file (an older kernel,
a crash) the runner falls back to the error's name and text as papermill reports them.

Every piece of text that can come from the data passes :func:`printable` before it is shown:
control characters are escaped and each line is cut to a fixed length, whatever the bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.core.atomic import FILE_MODE, write_text
from analysis.protect.register import NOTEBOOK_ENV

ERROR_REPORT_ENV = "STAGE_ERROR_REPORT"
"""Environment variable naming the JSON file the kernel writes a data error's fields to."""

DATA_ERROR_NAMES = frozenset({"DataValidationError", "QdaError"})
"""Exception class names papermill may report that are data errors (fallback without JSON)."""

EXIT_DATA_ERROR = 1
EXIT_BUG = 2
MAX_LINE = 300
"""Longest line of the short block (characters); longer text is cut with an ellipsis."""

HINTS: tuple[tuple[str, str], ...] = (
    ("encoding", "save the file in the declared encoding, or declare its real one "
                 "(encoding:) in sources.yml"),
    ("date format", "write the date in the declared format, or declare the file's "
                    "date_format in sources.yml"),
    ("required column present", "check the column names and header_row in sources.yml "
                                "against the file's header"),
    ("file present", "put the file in DATA_RAW, or correct its name in sources.yml"),
    ("file not empty", "export the file again: it holds no data"),
    ("readable xlsx", "export the workbook again from Excel (unprotected, as .xlsx)"),
    ("readable csv", "export the file again as plain CSV text"),
    ("not a zip archive", "export the project again from the QDA software as .qdpx"),
    ("valid yaml", "correct sources.yml (a YAML file) at that line"),
    ("sources.yml", "correct sources.yml: see data_raw/synthetic/sources.yml for the layout"),
    ("known site", "use a site declared in sources.yml or analysis/config/sites.csv"),
    ("service in service_map", "add the service name to service_map.csv"),
    ("no identifiers", "de-identify the export (replace the identifier) and export it again"),
    ("unique", "remove or correct the duplicate row"),
    ("study id pattern", "correct the study ID (see study_id_pattern in sources.yml)"),
    ("cells match header", "the row has more cells than the header: check separators "
                           "and quotes"),
)
"""Rule (lower-case substring) -> hint shown under a data error. First match wins."""


# ---------------------------------------------------------------------------------- text


def printable(value: object, limit: int = MAX_LINE) -> str:
    """One safe line of text for the console, whatever ``value`` holds.

    Characters that are not printable (newlines, NUL, escape sequences, format and separator
    characters, unpaired surrogates) are shown as escapes, a tab as a space, others as they are; the result is cut to ``limit`` characters with an
    ellipsis. Never raises (``str()`` of a hostile object falls back to its type name).
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the error path
        text = f"<{type(value).__name__}>"
    out: list[str] = []
    size = 0
    for char in text:
        code = ord(char)
        if char == "\t":
            piece = " "
        elif char.isprintable():
            piece = char
        else:  # control, format, separator characters and lone surrogates
            piece = (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                     else f"\\U{code:08x}")
        out.append(piece)
        size += len(piece)
        if size > limit:
            break
    line = "".join(out)
    return line if len(line) <= limit else line[: max(limit - 1, 0)] + "…"


def hint_for(rule: str) -> str | None:
    """The hint for a broken rule (see :data:`HINTS`), or ``None``."""
    lowered = rule.lower()
    for key, hint in HINTS:
        if key in lowered:
            return hint
    return None


@dataclass(frozen=True)
class DataErrorReport:
    """The fields of a data error, as carried from the kernel to the runner."""

    kind: str
    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    @classmethod
    def from_error(cls, error: BaseException) -> DataErrorReport:
        """Fields of a :class:`DataValidationError` (any object with its attributes)."""
        row = getattr(error, "row", None)
        column = getattr(error, "column", None)
        return cls(kind=type(error).__name__, file=printable(getattr(error, "file", "?")),
                   row=row if isinstance(row, int) and not isinstance(row, bool) else None,
                   column=None if column is None else printable(column),
                   rule=printable(getattr(error, "rule", "?")),
                   message=printable(getattr(error, "message", error), limit=2000))

    @classmethod
    def from_json(cls, text: str) -> DataErrorReport | None:
        """Parse what the kernel wrote; ``None`` when it is not a report."""
        try:
            data = json.loads(text)
            row = data.get("row")
            return cls(kind=str(data["kind"]), file=str(data["file"]),
                       row=row if isinstance(row, int) else None,
                       column=None if data.get("column") is None else str(data["column"]),
                       rule=str(data["rule"]), message=str(data["message"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.__dict__, ensure_ascii=True)


def data_error_block(stage: str, report: DataErrorReport | None, failed_notebook: str | None,
                     fallback: str = "") -> list[str]:
    """The at most five lines shown for a data error.

    Args:
        stage: the stage's name (the notebook's stem), e.g. ``01_clean``.
        report: the error's fields; ``None`` shows ``fallback`` (papermill's text) instead.
        failed_notebook: where the failed executed notebook was kept, if anywhere.
        fallback: the error's text when there is no report.
    """
    lines = [printable(f"ERROR {stage} stopped: the input data break a rule (a data error, not "
                       "a bug); the last good build is kept.")]
    if report is None:
        lines.append("  " + printable(fallback or "no detail was reported", MAX_LINE - 2))
        hint = None
    else:
        where = [f"file '{report.file}'"]
        if report.row is not None:
            where.append(f"row {report.row}")
        if report.column is not None:
            where.append(f"column '{report.column}'")
        lines.append(printable("  where: " + ", ".join(where)))
        lines.append(printable(f"  rule:  {report.rule}: {report.message}"))
        hint = hint_for(report.rule)
    if hint:
        lines.append(printable(f"  hint:  {hint}"))
    more = "make VERBOSE=1 shows the full log"
    lines.append(printable(f"  failed notebook kept as {failed_notebook} ({more})"
                           if failed_notebook else f"  ({more})"))
    return lines


# ---------------------------------------------------------------------------------- kernel side


def load_ipython_extension(ipython: Any) -> None:
    """IPython extension (loaded in the stage's kernel): report a cell's data error as JSON.

    After each cell, if the cell raised a DataValidationError and ``$STAGE_ERROR_REPORT`` is
    set, the error's fields are written there. The notebook's own output is not changed.

    Also turns off altair's debug mode, which validates a chart against the Vega-Lite schema at
    every step of building it: the stage keeps the one validation of the finished spec
    (``to_dict``, in :func:`analysis.publish.figures.chart_spec`), so an invalid chart still
    stops the build, for about a tenth of a site profile's CPU. JupyterLab keeps the default.
    """
    from altair.utils import schemapi

    schemapi.disable_debug_mode()
    path = os.environ.get(ERROR_REPORT_ENV)
    if not path:
        return
    from analysis.core.errors import DataValidationError

    def after_cell(result: Any) -> None:
        error = getattr(result, "error_in_exec", None)
        if isinstance(error, DataValidationError):
            with contextlib.suppress(Exception):  # reporting must never add an error of its own
                write_text(path, DataErrorReport.from_error(error).to_json())

    ipython.events.register("post_run_cell", after_cell)


# ---------------------------------------------------------------------------------- runner


def parameter_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value typed as papermill's command line types it."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def failed_path(output: Path) -> Path:
    """Where a failed run's executed notebook is kept: ``<stem>.failed.ipynb`` beside ``output``."""
    return output.with_name(f"{output.stem}.failed{output.suffix}")


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


ENGINE_NAME = "stage"
"""The papermill engine the stage runner registers and uses (:func:`_register_engine`)."""


def _register_engine() -> None:
    """Register (again: registering replaces) papermill's nbclient engine with one change: the notebook is saved at its start
    and end (and by papermill's timed autosave during a long cell), not at every cell's start and
    end.

    Papermill rewrites the whole output notebook, validating it, twice per cell: for a site
    profile (25 cells, about 1.3 MB of outputs) that was 53 writes, about 2 s of CPU per stage.
    The final save is in papermill's ``finally``, so a failed stage's notebook still holds every
    cell run up to the error (kept as ``<stage>.failed.ipynb``).
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class EndSavingManager(NotebookExecutionManager):  # type: ignore[misc]
        """Skips the saves papermill makes at each cell's start and completion."""

        _in_cell_event = False

        def save(self, **kwargs: Any) -> None:
            if not self._in_cell_event:
                super().save(**kwargs)

        @contextlib.contextmanager
        def _no_save(self) -> Any:
            self._in_cell_event = True
            try:
                yield
            finally:
                self._in_cell_event = False

        def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            with self._no_save():
                super().cell_start(cell, cell_index, **kwargs)

        def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            with self._no_save():
                super().cell_complete(cell, cell_index, **kwargs)

    class EndSavingEngine(NBClientEngine):  # type: ignore[misc]
        """papermill's ``NBClientEngine`` around an :class:`EndSavingManager`."""

        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None,
                             progress_bar: bool = True, log_output: bool = False,
                             autosave_cell_every: int = 30, **kwargs: Any) -> Any:
            manager = EndSavingManager(nb, output_path=output_path, progress_bar=progress_bar,
                                       log_output=log_output, autosave_cell_every=autosave_cell_every)
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(ENGINE_NAME, EndSavingEngine)


LONGEST_SOCKET_PATH = 100
"""Longest Unix socket path used (the system limit is 104 to 108 bytes); a longer temporary
folder falls back to TCP."""


@contextlib.contextmanager
def kernel_sockets() -> Any:
    """Yield the ``config`` papermill passes to its kernel manager: the stage kernel talks to the
    runner over Unix sockets in a private temporary folder, removed afterwards.

    With TCP (jupyter_client's default) the manager picks five free ports, closes them and writes
    them to the connection file; the kernel binds them a second or two later, once it has started.
    When several kernels start at once (``make -j``, the parallel test suite) another process can
    take a port in that gap and the kernel dies before it answers ("Address already in use").
    A socket file in a folder only this run writes to cannot be taken. Where Unix sockets are not
    available (Windows) or the temporary folder's path is too long for one, the default TCP is
    kept.
    """
    from traitlets.config import Config

    if os.name != "posix":
        yield Config()
        return
    with tempfile.TemporaryDirectory(prefix="ss-kernel-") as folder:
        prefix = os.path.join(folder, "kernel")
        if len(prefix) + 3 > LONGEST_SOCKET_PATH:  # "-" and the port number after it
            yield Config()
            return
        yield Config({"KernelManager": {"transport": "ipc", "ip": prefix}})


def run_stage(notebook: Path, output: Path, parameters: Mapping[str, Any], *,
              verbose: bool = False, cwd: Path | None = None, kernel: str = "python3",
              progress: bool = True, stream: Any = None) -> int:
    """Execute ``notebook`` into ``output``; on failure keep the last good ``output``.

    Returns the exit status: 0, :data:`EXIT_DATA_ERROR` or :data:`EXIT_BUG`. Messages go to
    ``stream`` (default ``sys.stderr``).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stream = stream if stream is not None else sys.stderr
    stage = Path(notebook).stem
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{output.stem}.running-", suffix=".ipynb",
                                    dir=output.parent)
    os.close(handle)
    running = Path(name)
    os.chmod(running, FILE_MODE)  # an executed notebook is a normal file, not a private temp
    report_handle, report_name = tempfile.mkstemp(prefix=".stage-error-", suffix=".json",
                                                  dir=output.parent)
    os.close(report_handle)
    report_file = Path(report_name)
    report_file.unlink()
    # the kernel inherits both: where to report a data error, and which stage's run records
    # disclosure-register entries (a later run of the stage supersedes them)
    previous = {key: os.environ.get(key) for key in (ERROR_REPORT_ENV, NOTEBOOK_ENV)}
    os.environ[ERROR_REPORT_ENV] = str(report_file)
    os.environ[NOTEBOOK_ENV] = output.stem
    failure: BaseException | None = None
    try:
        _register_engine()
        with kernel_sockets() as kernel_config:
            papermill.execute_notebook(
                str(notebook), str(running), parameters=dict(parameters), kernel_name=kernel, engine_name=ENGINE_NAME,
                cwd=str(cwd) if cwd else str(Path(notebook).parent), progress_bar=progress,
                log_output=True, extra_arguments=["--IPKernelApp.extra_extensions=analysis.tools.stage"],
                config=kernel_config)
    except KeyboardInterrupt:
        running.unlink(missing_ok=True)
        raise
    except Exception as error:  # noqa: BLE001 - every failure is reported below
        failure = error
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if failure is None:
        os.replace(running, output)
        failed_path(output).unlink(missing_ok=True)
        report_file.unlink(missing_ok=True)
        return 0

    kept: str | None = None
    if running.is_file() and running.stat().st_size:
        os.replace(running, failed_path(output))
        kept = _shown(failed_path(output))
    running.unlink(missing_ok=True)
    report = None
    if report_file.is_file():
        report = DataErrorReport.from_json(report_file.read_text(encoding="utf-8",
                                                                 errors="replace"))
        report_file.unlink(missing_ok=True)
    is_execution_error = isinstance(failure, PapermillExecutionError)
    ename = getattr(failure, "ename", "") if is_execution_error else ""
    if report is not None or ename in DATA_ERROR_NAMES:
        if verbose:
            print(str(failure), file=stream)
        fallback = f"{ename}: {getattr(failure, 'evalue', '')}"
        for line in data_error_block(stage, report, kept, fallback):
            print(line, file=stream)
        return EXIT_DATA_ERROR
    if is_execution_error:
        print(str(failure), file=stream)  # the kernel's traceback, as papermill formats it
        what = f"{ename}: {printable(getattr(failure, 'evalue', ''), 200)}"
    else:
        traceback.print_exception(failure, file=stream)
        what = f"{type(failure).__name__}: {printable(failure, 200)}"
    where = f"; failed notebook kept as {kept}" if kept else ""
    print(f"BUG: {stage} failed with {what}. This is a bug in the pipeline, not a problem in the "
          f"data: please report it with the traceback above{where}.", file=stream)
    return EXIT_BUG


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.tools.stage run NOTEBOOK OUTPUT [-p NAME VALUE]... [--verbose]``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.tools.stage",
                                     description="Run one pipeline stage notebook.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute NOTEBOOK into OUTPUT with papermill")
    run.add_argument("notebook", type=Path)
    run.add_argument("output", type=Path)
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="a notebook parameter (repeatable)")
    run.add_argument("--cwd", type=Path, default=None,
                     help="working folder of the kernel (default: the notebook's folder)")
    run.add_argument("-k", "--kernel", default="python3", help="kernel name (default python3)")
    run.add_argument("--verbose", action="store_true",
                     default=os.environ.get("VERBOSE", "") not in ("", "0"),
                     help="on a data error, also show the full traceback (or set VERBOSE=1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parameters = {name: parameter_value(value) for name, value in args.parameter}
    return run_stage(args.notebook, args.output, parameters, verbose=args.verbose,
                     cwd=args.cwd, kernel=args.kernel)


if __name__ == "__main__":
    sys.exit(main())
