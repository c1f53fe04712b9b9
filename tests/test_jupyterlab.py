"""JupyterLab in a real browser: the notebooks analysts open must open, run and draw their charts.

Starts JupyterLab from the project's environment exactly as ``make lab`` does
(``analysis.tools.lab.lab_command``: loopback, a free port, a random token, offline options) in a
scratch folder holding ``explore.ipynb`` and a site-profile notebook executed by papermill on the
hand-written fixture (SYNTHETIC test data), then drives it with Playwright and the system
Chromium. Every request that does not go to the server on 127.0.0.1 is aborted and recorded.
The server's whole process group is stopped whatever the outcome. Skipped, with the reason,
when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.core.paths import PROJECT_ROOT
from analysis.tools import lab

pytestmark = pytest.mark.xdist_group("jupyterlab")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SITE_NOTEBOOK = "02_site_profile_east_london.ipynb"
CHART = ".jp-OutputArea-output .vega-embed svg, .jp-OutputArea-output .vega-embed canvas"
KERNEL_IDLE = """() => {
    const widget = window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return Boolean(kernel) && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""
"""True in the page once the current notebook's kernel is connected and idle (JupyterLab's own API)."""
USABLE_SECONDS = 5.0
"""An executed site-profile notebook must show its first chart within this time of being opened."""


class LabServer:
    """A running JupyterLab and where it serves from."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, token: str, root: Path, log: Path) -> None:
        self.process, self.port, self.token, self.root, self.log = process, port, token, root, log
        self.origin = f"http://{lab.HOST}:{port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}?token={self.token}"


def _wait_until_up(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"JupyterLab exited early:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url("/api/status"), timeout=5) as response:  # loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer within {timeout} s:\n{server.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package chromium)")
    pytest.importorskip("playwright.sync_api")
    work = tmp_path_factory.mktemp("jupyterlab")
    derived = analysis_fixture.write_parquet_folder(work / "derived")
    root = work / "notebooks"
    root.mkdir()
    shutil.copy2(PROJECT_ROOT / "notebooks" / "explore.ipynb", root / "explore.ipynb")
    env = {**os.environ, "DATA_DERIVED": str(derived), "DISCLOSURE_REGISTER": "off", "PYTHONPATH": str(PROJECT_ROOT),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTER_DATA_DIR": str(work / "data"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces")}
    subprocess.run(
        [sys.executable, "-m", "analysis.tools.stage", "run", "--cwd", str(PROJECT_ROOT),
         str(PROJECT_ROOT / "notebooks" / "02_site_profile.ipynb"), str(root / SITE_NOTEBOOK),
         "-p", "site", "east_london", "-p", "data_derived", str(derived), "-p", "figures_dir", str(work / "figures")],
        env=env, check=True, capture_output=True, timeout=600,
    )
    port, token = lab.free_port(0), secrets.token_hex(16)
    log = work / "lab.log"
    command = lab.lab_command(port, token, root_dir=root, open_browser=False, expose_app=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    running = LabServer(process, port, token, root, log)
    try:
        _wait_until_up(running, timeout=120)
        yield running
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every process it started (kernels): SIGTERM to the group, then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # kernels left in the group
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server: LabServer) -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})

            def route(request_route: Any) -> None:
                url = request_route.request.url
                if url.startswith((server.origin + "/", "data:", "blob:", "about:")):
                    request_route.continue_()
                else:
                    blocked.append(url)
                    request_route.abort()

            context.route("**/*", route)
            # websockets (kernel channels) are not routed by context.route; record any that leave the server
            tab = context.new_page()
            tab.on("websocket", lambda ws: None if ws.url.startswith(f"ws://{lab.HOST}:{server.port}/") else blocked.append(ws.url))
            tab.set_default_timeout(120_000)
            tab.goto(server.url("/lab"), wait_until="domcontentloaded")
            tab.wait_for_function("window.jupyterapp !== undefined && window.jupyterapp.started !== undefined")
            tab.evaluate("window.jupyterapp.started")
            tab.wait_for_selector(".jp-DirListing-item", state="visible")
            yield tab, blocked
        finally:
            browser.close()


def _screenshot_on_failure(tab: Any, server: LabServer, name: str, step: Any) -> None:
    """Run ``step``; if it fails, save a screenshot and say where, with the input prompts and the server log's tail."""
    try:
        step()
    except Exception as error:
        shot = server.root.parent / f"{name}.png"
        tab.screenshot(path=str(shot))
        prompts = tab.evaluate("[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]"
                               ".map(p => p.textContent)")
        raise AssertionError(f"{name}: {error}\nscreenshot: {shot}\nprompts: {prompts}\n"
                             f"server log:\n{server.log.read_text()[-2000:]}") from error


def _close_all(tab: Any) -> None:
    tab.evaluate("window.jupyterapp.commands.execute('application:close-all')")
    tab.wait_for_function("document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden)').length === 0")


def _open_from_file_browser(tab: Any, name: str) -> None:
    """Open a notebook the way an analyst does: double-click it in the file browser."""
    tab.locator(f'.jp-DirListing-item[data-file-type="notebook"][title^="Name: {name}"]').dblclick()


def test_explore_runs_all_cells_through_the_ui_and_draws_its_chart(page: tuple[Any, list[str]], server: LabServer) -> None:
    tab, blocked = page
    _close_all(tab)
    _open_from_file_browser(tab, "explore.ipynb")
    panel = tab.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").last
    panel.locator(".jp-Notebook-cell").first.wait_for(state="visible")
    # Wait until the notebook's kernel is connected and idle: a Run All sent before that is dropped
    # (the cells stay "[ ]" and nothing runs), which is what made this test time out on a fresh machine.
    tab.wait_for_function(KERNEL_IDLE, timeout=180_000)
    # Run > Run All Cells, through the menu bar
    tab.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    tab.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    code_cells = len(json.loads((server.root / "explore.ipynb").read_text())["cells"])
    _screenshot_on_failure(tab, server, "explore-run-all", lambda: tab.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=300_000,
    ))
    assert code_cells > 0
    tab.locator(CHART).first.wait_for(state="visible", timeout=60_000)
    assert panel.locator(".vega-embed").count() >= 1
    errors = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    error_texts = [text for text in errors.all_inner_texts() if "Traceback" in text or "Error" in text]
    assert not error_texts, error_texts
    # save (File > Save Notebook's command) and check the file the kernel's outputs went into
    tab.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        book = json.loads((server.root / "explore.ipynb").read_text())
        outputs = [o for c in book["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        if outputs:
            break
        time.sleep(0.5)
    assert outputs, "the notebook was not saved with its outputs"
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("application/vnd.vegalite.v5+json" in o.get("data", {}) for o in outputs)
    assert not blocked, f"requests that would have left the machine: {blocked}"
    # JupyterLab asks about its news feed a moment after start-up unless the project's settings answered
    assert tab.locator(".Toastify__toast").count() == 0, tab.locator(".Toastify__toast").all_inner_texts()
    if os.environ.get("LAB_SCREENSHOT"):
        _save_screenshot(tab, panel, Path(os.environ["LAB_SCREENSHOT"]))


def _save_screenshot(tab: Any, panel: Any, path: Path) -> None:
    """The README's picture: the cell that draws the first chart, at the top of the notebook's view."""
    cell = panel.locator(".jp-Notebook-cell", has=tab.locator(CHART)).first
    cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    tab.wait_for_timeout(500)
    path.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(path))


def test_executed_site_profile_is_usable_within_five_seconds(page: tuple[Any, list[str]], server: LabServer) -> None:
    """Time from the double-click to the first chart visible; best of three openings, because the
    machine running the tests may be busy with other work (each opening is bounded at 60 s)."""
    tab, blocked = page
    timings = []
    for _ in range(3):
        _close_all(tab)
        started = time.monotonic()
        _open_from_file_browser(tab, SITE_NOTEBOOK)
        tab.locator(CHART).first.wait_for(state="visible", timeout=60_000)
        timings.append(time.monotonic() - started)
        if timings[-1] <= USABLE_SECONDS:
            break
    assert min(timings) <= USABLE_SECONDS, f"first chart visible after {', '.join(f'{t:.1f}' for t in timings)} s"
    # every chart of the notebook is drawn as an interactive Vega view, including the journey browser
    book = json.loads((server.root / SITE_NOTEBOOK).read_text())
    specs = [o for c in book["cells"] for o in c.get("outputs", []) if "application/vnd.vegalite.v5+json" in o.get("data", {})]
    tab.wait_for_function(f"document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .vega-embed').length >= {len(specs)}",
                          timeout=120_000)
    assert tab.locator(".vega-bindings select").count() >= 1, "the journey browser's list of women is missing"
    assert not blocked, f"requests that would have left the machine: {blocked}"
