"""The stage runner (analysis/tools/stage.py): short data-error block, bug traceback, last good
notebook kept, and its text formatting fed hostile strings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import nbformat
import pytest

from analysis.core.errors import DataValidationError
from analysis.sources.qda import QdaError
from analysis.tools import stage

HOSTILE = [
    "", "\x00" * 50, "line one\nline two\r\nthree\rfour", "\x1b[31mred\x1b[0m", "\ud800 lone",
    "é\u200b\u2028\u0085zero-width", "x" * 100_000, "\t tab", bytes(range(256)).decode("latin-1"),
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_printable_is_one_safe_line_whatever_the_text(text: str) -> None:
    line = stage.printable(text, limit=120)
    assert len(line) <= 120
    assert line.isprintable()
    assert "\n" not in line and "\r" not in line


def test_printable_survives_a_broken_str() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert stage.printable(Hostile()) == "<Hostile>"


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_data_error_block_is_at_most_five_printable_lines(text: str) -> None:
    error = DataValidationError(text, 3, text, "date format %Y-%m-%d", text)
    block = stage.data_error_block("01_clean", stage.DataErrorReport.from_error(error),
                                   "data_derived/notebooks/01_clean.failed.ipynb")
    assert 3 <= len(block) <= 5
    assert all(line.isprintable() and len(line) <= stage.MAX_LINE for line in block)
    assert "hint:" in block[3]  # a date rule has a hint
    fallback = stage.data_error_block("01_clean", None, None, fallback=text)
    assert len(fallback) <= 5 and all(line.isprintable() for line in fallback)


def test_block_names_file_row_column_rule_and_value() -> None:
    error = DataValidationError("SYNTHETIC_contacts_east_london.csv", 2, "Date",
                                "date format %Y-%m-%d",
                                "value '31/02/2099' is not a valid date in format %Y-%m-%d")
    text = "\n".join(stage.data_error_block("01_clean", stage.DataErrorReport.from_error(error),
                                            "x.failed.ipynb"))
    for part in ("01_clean", "SYNTHETIC_contacts_east_london.csv", "row 2", "'Date'",
                 "date format %Y-%m-%d", "31/02/2099", "x.failed.ipynb", "VERBOSE=1"):
        assert part in text


def test_report_round_trips_through_json_including_qda_errors() -> None:
    error = QdaError("p.qdpx!project.qde", "Coding", 12, "code in codebook", "no such code")
    report = stage.DataErrorReport.from_error(error)
    assert stage.DataErrorReport.from_json(report.to_json()) == report
    assert (report.kind, report.row, report.column) == ("QdaError", 12, "Coding")
    for junk in ("", "{", "[]", json.dumps({"kind": 1}), "\x00"):
        assert stage.DataErrorReport.from_json(junk) is None


def test_parameters_are_typed_like_papermill() -> None:
    assert stage.parameter_value("3") == 3
    assert stage.parameter_value("2.5") == 2.5
    assert stage.parameter_value("True") is True
    assert stage.parameter_value("None") is None
    assert stage.parameter_value("/data/raw") == "/data/raw"
    assert stage.parameter_value("east_london") == "east_london"


def test_hints() -> None:
    assert "encoding" in (stage.hint_for("encoding cp1252") or "")
    assert stage.hint_for("something nobody declared") is None


# ---------------------------------------------------------------------- real papermill runs


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("mode = 'ok'", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


BODY = """
from analysis.core.errors import DataValidationError
print("running", mode)
if mode == "data":
    raise DataValidationError("bad.csv", 7, "Date", "date format %d/%m/%Y",
                              "value '31/02/2099' is not a valid date\\nsecond line \\x1b[2J")
if mode == "bug":
    {}["missing"]
"""


@pytest.fixture
def runner(tmp_path: Path):
    notebook = _notebook(tmp_path / "01_demo.ipynb", BODY)
    output = tmp_path / "out" / "01_demo.ipynb"

    def run(mode: str, verbose: bool = False) -> tuple[int, str]:
        stream = io.StringIO()
        status = stage.run_stage(notebook, output, {"mode": mode}, verbose=verbose,
                                 progress=False, stream=stream)
        return status, stream.getvalue()

    return output, run


def test_success_failure_and_bug(runner) -> None:
    output, run = runner
    failed = stage.failed_path(output)

    status, text = run("ok")
    assert status == 0 and output.is_file() and not failed.exists()
    good = output.read_bytes()

    status, text = run("data")
    assert status == stage.EXIT_DATA_ERROR
    lines = text.strip().splitlines()
    assert len(lines) <= 5, text
    assert "Traceback" not in text and "DataValidationError" not in text
    assert "bad.csv" in text and "row 7" in text and "31/02/2099" in text
    assert "\x1b" not in text
    assert output.read_bytes() == good, "the last good executed notebook must be kept"
    assert failed.is_file() and failed.name == "01_demo.failed.ipynb"
    assert failed.name in text
    assert "31/02/2099" in failed.read_text(encoding="utf-8")  # the failed run, for inspection

    status, text = run("data", verbose=True)
    assert status == stage.EXIT_DATA_ERROR
    assert "DataValidationError" in text and "Traceback" in text or "----" in text
    assert text.strip().splitlines()[-1].startswith("  failed notebook kept as")

    status, text = run("bug")
    assert status == stage.EXIT_BUG
    assert "KeyError" in text
    assert "bug in the pipeline, not a problem in the data" in text.splitlines()[-1]
    assert output.read_bytes() == good

    status, _ = run("ok")
    assert status == 0 and not failed.exists(), "a later success removes the failed notebook"
    assert not list(output.parent.glob(".*running*")) and not list(
        output.parent.glob(".stage-error-*"))


def test_notebook_is_written_at_start_and_end_not_at_every_cell(runner, monkeypatch) -> None:
    """papermill's per-cell saves are skipped (two full rewrites per cell); the saved notebook
    still holds every cell's output, and a failed run keeps the cells run before the error."""
    import papermill.iorw

    output, run = runner
    writes: list[str] = []
    real_write = papermill.iorw.write_ipynb

    def counting_write(nb, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        writes.append(str(path))
        return real_write(nb, path, *args, **kwargs)

    monkeypatch.setattr(papermill.iorw, "write_ipynb", counting_write)
    monkeypatch.setattr("papermill.engines.write_ipynb", counting_write)
    status, _ = run("ok")
    assert status == 0
    book = json.loads(output.read_text(encoding="utf-8"))
    code_cells = [c for c in book["cells"] if c["cell_type"] == "code"]
    assert len(code_cells) >= 3 and all(c["execution_count"] for c in code_cells)
    assert any("running ok" in "".join(o.get("text", "")) for c in code_cells for o in c["outputs"])
    assert len(writes) <= 3, f"{len(writes)} writes of the executed notebook for {len(code_cells)} code cells"

    status, _ = run("data")
    failed = json.loads(stage.failed_path(output).read_text(encoding="utf-8"))
    ran = [c for c in failed["cells"] if c["cell_type"] == "code" and c["execution_count"]]
    assert status == stage.EXIT_DATA_ERROR and len(ran) >= 2
    assert any("running data" in "".join(o.get("text", "")) for c in ran for o in c["outputs"])


def test_a_stage_kernel_validates_a_chart_once_and_still_refuses_an_invalid_one(monkeypatch) -> None:
    """The stage's kernel extension turns off altair's validation at every building step (its
    debug mode); the finished spec is still validated, so a wrong chart still fails."""
    import altair as alt
    import pandas as pd
    from altair.utils import schemapi

    from analysis.publish.figures import chart_spec

    class FakeShell:
        class events:  # noqa: N801 - IPython's attribute name
            @staticmethod
            def register(event: str, callback: object) -> None:
                pass

    monkeypatch.setattr(schemapi, "DEBUG_MODE", True)
    monkeypatch.delenv(stage.ERROR_REPORT_ENV, raising=False)
    stage.load_ipython_extension(FakeShell())
    assert schemapi.DEBUG_MODE is False
    frame = pd.DataFrame({"x": [1, 2]})
    wrong = alt.Chart(frame).mark_bar().encode(x=alt.X("x:Q", bin="sometimes"))  # bin: bool or params
    with pytest.raises(Exception, match="bin"):
        chart_spec(wrong)
    assert chart_spec(alt.Chart(frame).mark_bar().encode(x="x:Q"))["mark"]["type"] == "bar"


TRANSPORT_BODY = """
import json
from ipykernel import get_connection_info
info = json.loads(get_connection_info())
print("transport", info["transport"], "ip", info["ip"])
"""


def test_stage_kernels_talk_over_sockets_no_other_process_can_take(tmp_path, monkeypatch) -> None:
    """A stage kernel uses Unix sockets in a private folder, not TCP ports picked before the kernel
    binds them (CI once lost a notebook to 'Address already in use' with three kernels starting at
    once); the folder is removed after the run."""
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="ss-t-"))  # short: pytest's own folders can be too long
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    notebook = _notebook(tmp_path / "01_transport.ipynb", TRANSPORT_BODY)
    output = tmp_path / "out" / "01_transport.ipynb"
    stream = io.StringIO()
    try:
        status = stage.run_stage(notebook, output, {}, progress=False, stream=stream)
        left = list(scratch.iterdir())
    finally:
        shutil.rmtree(scratch)
    assert status == 0, stream.getvalue()
    assert left == [], "the kernel's socket folder is removed"
    book = json.loads(output.read_text(encoding="utf-8"))
    printed = "".join("".join(o.get("text", "")) for c in book["cells"] if c["cell_type"] == "code"
                      for o in c["outputs"])
    assert f"transport ipc ip {scratch}" in printed, printed


def test_a_temporary_folder_too_long_for_a_socket_keeps_tcp(tmp_path, monkeypatch) -> None:
    import tempfile

    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with stage.kernel_sockets() as config:
        assert "KernelManager" not in config
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with stage.kernel_sockets() as config:
        assert config.KernelManager.transport == "ipc"
        assert config.KernelManager.ip.startswith(str(tmp_path))
