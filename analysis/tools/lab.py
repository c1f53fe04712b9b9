"""Start JupyterLab on the project's environment, offline and on the loopback interface (``make lab``).

``make lab`` builds the data, then runs ``python -m analysis.tools.lab``: JupyterLab from ``.venv``
serving ``notebooks/``, listening on 127.0.0.1 only, on a free port, protected by a fresh random
token, with ``explore.ipynb`` opened first. It prints the URL (with the token) before the server
starts. Nothing JupyterLab would fetch from the internet is enabled: no news feed (and no
question asking to turn it on), no update check, a read-only extension manager.
``tests/test_jupyterlab.py`` starts the server with the same command (``lab_command``) and drives
it in Chromium.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from pathlib import Path

from analysis.core.paths import PROJECT_ROOT

FIRST_NOTEBOOK = "explore.ipynb"
"""The notebook JupyterLab opens first."""

HOST = "127.0.0.1"
"""JupyterLab listens on the loopback interface only."""

APP_SETTINGS = Path(__file__).with_name("lab_settings")
"""JupyterLab's application settings folder for this project: ``overrides.json`` answers "no" to
the news and update-check questions, so the page neither asks nor fetches (JupyterLab's
documented ``overrides.json`` mechanism; the analyst's own user settings still apply). It takes
the place of the environment's ``share/jupyter/lab/settings`` folder, which a pip ``.venv`` does
not have; a ``page_config.json`` in a Jupyter config folder (``jupyter --paths``) still applies."""

OFFLINE_OPTIONS: tuple[str, ...] = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    f"--LabApp.app_settings_dir={APP_SETTINGS}",
)
"""JupyterLab options that keep the server from fetching anything from the internet or offering to."""


def free_port(preferred: int = 8888) -> int:
    """Return ``preferred`` if nothing listens on it on ``HOST``, else a free port the OS picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError(f"lab: no free port on {HOST}")


def lab_url(port: int, token: str, notebook: str = FIRST_NOTEBOOK) -> str:
    """The URL that opens ``notebook`` in JupyterLab, with the token."""
    return f"http://{HOST}:{port}/lab/tree/{notebook}?token={token}"


def lab_command(
    port: int,
    token: str,
    *,
    root_dir: str | os.PathLike[str] = PROJECT_ROOT / "notebooks",
    open_browser: bool = True,
    expose_app: bool = False,
    jupyter: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The ``jupyter lab`` command line: loopback, ``port``, ``token``, offline, explore first.

    ``expose_app`` sets ``window.jupyterapp`` in the page (for tests only).
    """
    executable = Path(jupyter) if jupyter else Path(sys.executable).with_name("jupyter")
    command = [
        str(executable), "lab",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={Path(root_dir).resolve()}",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
        f"--ServerApp.open_browser={open_browser}",
        *OFFLINE_OPTIONS,
    ]
    if expose_app:
        command.append("--LabApp.expose_app_in_browser=True")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers often run as root; the server still listens on loopback only
    return command


def main(argv: list[str] | None = None) -> int:
    """Print the URL with its token, then replace this process with JupyterLab."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8888, help="preferred port (another free one if taken)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    args = parser.parse_args(argv)
    port = free_port(args.port)
    token = secrets.token_hex(24)
    command = lab_command(port, token, open_browser=not args.no_browser)
    print(f"lab: JupyterLab at {lab_url(port, token)}", flush=True)
    print("lab: opens explore.ipynb first; stop it with Ctrl-C", flush=True)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
