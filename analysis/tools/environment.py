"""Set up the parts of the environment that pip does not: reveal.js, Quarto, git hooks, test tools.

Run by ``make setup`` (``python -m analysis.tools.environment setup``) after the pinned Python
requirements are installed, and by ``make test`` (``system-test-deps``) before the tests.

Nothing here may fail setup because a network resource is missing: this pipeline must run inside
secure research environments with no internet. Each step says once, in one line, what it could
not do and what the pipeline will do instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from analysis.core.paths import PROJECT_ROOT
from analysis.publish.render.quarto import QUARTO_VERSION

REVEALJS_DIR: Path = PROJECT_ROOT / "node_modules" / "reveal.js"
"""Where setup installs reveal.js (from the npm registry) for self-contained offline slides."""

QUARTO_STATUS: Path = PROJECT_ROOT / ".venv" / ".quarto-status"
"""One line recording which Quarto setup found (or that reports use the offline renderer)."""

TEST_SYSTEM_PACKAGES: dict[str, str] = {
    "chromium": "chromium",
    "pdftoppm": "poppler-utils",
    "soffice": "libreoffice-writer-nogui",
}
"""Commands the browser, PDF and DOCX tests use, and the Debian package that provides each."""


def _run(cmd: list[str], *, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)


def installed_revealjs_version() -> str | None:
    """Return the version of the reveal.js copy under ``node_modules``, or None if absent."""
    package_json = REVEALJS_DIR / "package.json"
    if not package_json.exists():
        return None
    import json

    return str(json.loads(package_json.read_text(encoding="utf-8")).get("version"))


def ensure_revealjs(version: str) -> bool:
    """Install reveal.js ``version`` with npm into ``node_modules`` unless it is already there.

    No lock file is written (it would record registry addresses); the version is pinned here.
    Returns True when reveal.js is available afterwards.
    """
    if installed_revealjs_version() == version:
        return True
    npm = shutil.which("npm")
    if npm is None:
        print("setup: npm not found; the slides will be rendered without reveal.js (PPTX only) "
              "until reveal.js " + version + " is installed in node_modules/")
        return False
    result = _run([npm, "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
                   "--loglevel=error", f"reveal.js@{version}"], cwd=PROJECT_ROOT, timeout=300)
    if result.returncode != 0 or installed_revealjs_version() != version:
        print(f"setup: could not install reveal.js {version} with npm ({result.stderr.strip()[:200]}); "
              "HTML slides need it")
        return False
    return True


def quarto_version() -> str | None:
    """Return the version of ``quarto`` on PATH (or in the venv), or None when there is none."""
    exe = shutil.which("quarto")
    if exe is None:
        return None
    try:
        result = _run([exe, "--version"], timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def ensure_quarto(version: str) -> str:
    """Find Quarto, or try the pinned ``quarto-cli`` wheel once; never fail.

    ``pip install quarto-cli`` downloads Quarto itself while it builds, so it fails without
    internet. The outcome is remembered in ``.venv/.quarto-status`` so that re-running setup
    does not try again; delete that file to retry. Returns the one-line status.
    """
    found = quarto_version()
    if found:
        status = f"quarto {found} found: reports will be rendered with Quarto"
        if found != version:
            status += f" (the project is tested with {version})"
    elif QUARTO_STATUS.exists():
        status = QUARTO_STATUS.read_text(encoding="utf-8").strip()
    else:
        result = _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                       f"quarto-cli=={version}"], timeout=900)
        found = quarto_version()
        if result.returncode == 0 and found:
            status = f"quarto {found} installed from the pinned quarto-cli wheel"
        else:
            status = ("quarto not available (quarto-cli could not download Quarto here): "
                      "reports will use the offline renderer (pandoc + typst)")
    QUARTO_STATUS.parent.mkdir(parents=True, exist_ok=True)
    QUARTO_STATUS.write_text(status + "\n", encoding="utf-8")
    print("setup: " + status)
    return status


def install_git_hooks() -> None:
    """Install the offline pre-commit hooks when this is a git checkout with a config."""
    if not (PROJECT_ROOT / ".git").exists() or not (PROJECT_ROOT / ".pre-commit-config.yaml").exists():
        return
    result = _run([sys.executable, "-m", "pre_commit", "install"], cwd=PROJECT_ROOT, timeout=300)
    if result.returncode != 0:
        print("setup: git hooks not installed: " + (result.stderr or result.stdout).strip()[:200])


def ensure_system_test_deps() -> list[str]:
    """Install the Debian packages the browser/PDF/DOCX tests use, when missing and possible.

    Uses ``apt-get`` only when running as root on a Debian-like system; otherwise, and on any
    failure, prints which tests will be skipped. Returns the commands still missing.
    """
    missing = {cmd: pkg for cmd, pkg in TEST_SYSTEM_PACKAGES.items() if shutil.which(cmd) is None}
    if missing and shutil.which("apt-get") and os.geteuid() == 0:
        print("test setup: installing " + " ".join(sorted(set(missing.values()))) + " with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *sorted(set(missing.values()))],
                       check=False, env=env, capture_output=True)
        missing = {cmd: pkg for cmd, pkg in missing.items() if shutil.which(cmd) is None}
    for cmd, pkg in missing.items():
        print(f"test setup: {cmd} not available (Debian package {pkg}); tests that need it will be skipped")
    return sorted(missing)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``setup`` or ``system-test-deps``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.tools.environment", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup", help="reveal.js, Quarto detection, git hooks")
    setup.add_argument("--revealjs", required=True, help="reveal.js version to install from npm")
    setup.add_argument("--quarto", default=QUARTO_VERSION, help="the Quarto version the project pins")
    sub.add_parser("system-test-deps", help="install chromium, poppler-utils, LibreOffice if missing")
    args = parser.parse_args(argv)
    if args.command == "setup":
        ensure_revealjs(args.revealjs)
        ensure_quarto(args.quarto)
        install_git_hooks()
    else:
        ensure_system_test_deps()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
