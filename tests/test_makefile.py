"""The Makefile's dependency graph: no-op rebuilds, one-site changes, one-source changes, and
decisions by content rather than timestamps (restored exports, checkouts, touches, ``make status``).

Runs real ``make`` in a scratch copy of the project with the stage commands swapped for fast
stand-ins (tests/fake_stage.py) that log what ran; the cleaning stage is the real one, because it
decides which sites' fingerprints change. Which stages ran is read from that log, not timed.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.core.paths import PROJECT_ROOT

pytestmark = pytest.mark.xdist_group("makefile")

SITES = ("east_london", "huddersfield", "glasgow", "ayrshire")


def _copy_project(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, check=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = PROJECT_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").mkdir()
    (dest / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    (dest / ".venv" / ".setup-complete").touch()


class Project:
    """A scratch copy of the project whose make runs log their stages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "stages.log"
        fake = f"{sys.executable} {PROJECT_ROOT / 'tests' / 'fake_stage.py'}"
        self.overrides = [
            f"PAPERMILL={fake} papermill",
            f"RENDER={fake} render --out reports/_output",
            f"BRIEFING={fake} briefing",
            f"OUTPUT_CHECK={fake} check",
        ]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run make with the stand-ins; return the finished process (any exit status)."""
        self.log.write_text("", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "DATA_RAW", "DATA_DERIVED", "MFLAGS"}}
        env.update(FAKE_STAGE_LOG=str(self.log), PYTHONPATH=str(self.root))
        return subprocess.run(["make", "--no-print-directory", *args, *self.overrides], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=600)

    def make(self, *args: str) -> list[str]:
        """Run make; return the stages that ran, in order."""
        result = self.run(*args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return self.log.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("makefile-project")
    _copy_project(root)
    project = Project(root)
    stages = project.make("-j2")
    assert "papermill 01_clean" in stages
    assert sorted(s for s in stages if s.startswith("papermill 02")) == sorted(
        f"papermill 02_site_profile:{site}" for site in SITES)
    assert {"render report.docx", "render report.html", "render report.pdf", "render slides.html",
            "render slides.pptx", "output_check"} <= set(stages)
    assert {f"briefing {s}.{f}" for s in (*SITES, "overall") for f in ("docx", "pdf")} <= set(stages)
    return project


def test_make_after_make_does_nothing(built: Project) -> None:
    assert built.make() == []
    assert built.make("-j2") == []


def test_changing_one_sites_contact_log_reruns_only_that_site(built: Project) -> None:
    log = built.root / "data_raw" / "synthetic" / "SYNTHETIC_contacts_huddersfield.csv"
    lines = log.read_bytes().split(b"\n")
    row = next(i for i, line in enumerate(lines) if line.startswith(b"22/04/2022"))
    lines[row] = lines[row].replace(b"22/04/2022", b"23/04/2022", 1)
    time.sleep(1.1)  # make compares whole-second mtimes on some file systems
    log.write_bytes(b"\n".join(lines))
    stages = built.make("-j2")
    site_runs = [s for s in stages if s.startswith("papermill 02")]
    assert site_runs == ["papermill 02_site_profile:huddersfield"], stages
    assert "papermill 01_clean" in stages and "papermill 03_synthesis" in stages
    assert "output_check" in stages
    assert built.make() == []


def test_editing_one_report_source_rerenders_only_that_output(built: Project) -> None:
    slides = built.root / "reports" / "slides.qmd"
    slides.write_text(slides.read_text(encoding="utf-8") + "\n<!-- edited -->\n", encoding="utf-8")
    stages = built.make("-j2")
    assert sorted(stages) == ["output_check", "render slides.html", "render slides.pptx"]


def test_pointing_data_raw_elsewhere_reruns_cleaning(built: Project, tmp_path: Path) -> None:
    other = tmp_path / "exports"
    shutil.copytree(built.root / "data_raw" / "synthetic", other)
    old = time.time() - 10 * 86400
    for path in other.rglob("*"):
        os.utime(path, (old, old))  # older than every derived file: only the path changed
    stages = built.make(f"DATA_RAW={other}")
    assert stages[0] == "papermill 01_clean"
    assert built.make(f"DATA_RAW={other}") == []


# ---------------------------------------------------------------- decisions by content (issue 16)

CONTACTS = Path("data_raw") / "synthetic" / "SYNTHETIC_contacts_huddersfield.csv"


@pytest.fixture()
def current(built: Project) -> Project:
    """The built project brought up to date with the default DATA_RAW (earlier tests move it)."""
    built.make()
    assert built.make() == []
    return built


def _edit_contact_log(path: Path) -> None:
    """Move one contact between 22 and 23 April 2022 (same size: only the content changes)."""
    lines = path.read_bytes().split(b"\n")
    row = next(i for i, line in enumerate(lines) if line.startswith((b"22/04/2022", b"23/04/2022")))
    day = lines[row][:10]
    lines[row] = (b"23/04/2022" if day == b"22/04/2022" else b"22/04/2022") + lines[row][10:]
    path.write_bytes(b"\n".join(lines))


def _set_old_mtime(path: Path, days: float = 30) -> None:
    old = time.time() - days * 86400
    os.utime(path, (old, old))


def test_restoring_an_older_export_with_its_timestamps_reruns_cleaning(current: Project, tmp_path: Path) -> None:
    log = current.root / CONTACTS
    backup = tmp_path / log.name
    subprocess.run(["cp", "-p", str(log), str(backup)], check=True)
    _edit_contact_log(log)
    assert "papermill 02_site_profile:huddersfield" in current.make()
    subprocess.run(["cp", "-p", str(backup), str(log)], check=True)  # restore, old mtime kept
    manifest = current.root / "data_derived" / "manifest.json"
    assert log.stat().st_mtime < manifest.stat().st_mtime  # timestamps alone would say "up to date"
    stages = current.make("-j2")
    assert stages[0] == "papermill 01_clean"
    assert [s for s in stages if s.startswith("papermill 02")] == ["papermill 02_site_profile:huddersfield"]
    assert "papermill 03_synthesis" in stages and stages[-1] == "output_check"
    assert current.make() == []


def test_a_touch_without_a_change_reruns_nothing(current: Project) -> None:
    root = current.root
    touched = [root / CONTACTS, root / "data_raw" / "synthetic" / "sources.yml",
               root / "analysis" / "config" / "services.csv", root / "analysis" / "clean" / "run.py",
               root / "analysis" / "config" / "disclosure_policy.yml", root / "notebooks" / "02_site_profile.ipynb",
               root / "reports" / "_templates" / "typst" / "template.typ", root / "_quarto.yml",
               root / "reports" / "report.qmd", root / "reports" / "briefing.qmd", root / "analysis" / "protect" / "output_check.py"]
    time.sleep(0.05)
    for path in touched:
        os.utime(path)  # `touch`: newer than every output, same bytes
    assert current.make("-j2") == []


def test_checking_out_an_older_commit_rebuilds_what_it_changed(current: Project) -> None:
    root = current.root
    env = {**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test"}

    def git(*args: str, date: str | None = None) -> str:
        extra = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}
        return subprocess.run(["git", *args], cwd=root, env={**env, **extra}, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (root / ".git" / "info" / "exclude").write_text("stages.log\n.venv\n", encoding="utf-8")
    git("add", "-A")
    git("commit", "-q", "-m", "older", date="2024-01-01T00:00:00")
    older = git("rev-parse", "HEAD")
    slides, css = root / "reports" / "slides.qmd", root / "reports" / "_templates" / "html" / "report.css"
    slides.write_text(slides.read_text(encoding="utf-8") + "\n<!-- newer slides -->\n", encoding="utf-8")
    css.write_text(css.read_text(encoding="utf-8") + "\n/* newer style */\n", encoding="utf-8")
    git("commit", "-q", "-am", "newer")
    newer = current.make("-j2")
    rendered = {s for s in newer if s.startswith(("render", "briefing"))}
    assert len(rendered) == 15 and "output_check" in newer  # a template feeds every output
    assert not [s for s in newer if s.startswith("papermill")]

    # The older commit's files as an archive restores them (tar keeps the commit's 2024 times,
    # older than every output), then as a checkout (times of now): both rebuild the same outputs.
    archive = subprocess.run(["git", "archive", older, "reports/slides.qmd", "reports/_templates/html/report.css"],
                             cwd=root, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    assert slides.stat().st_mtime < (root / "reports" / "_output" / "slides.html").stat().st_mtime
    assert set(current.make("-j2")) == rendered | {"output_check"}
    git("checkout", "-q", "-f", older)  # same content as the archive: nothing to do
    assert current.make() == []
    git("checkout", "-q", "-f", "-")
    assert set(current.make("-j2")) == rendered | {"output_check"}
    git("checkout", "-q", "-f", older)
    assert set(current.make("-j2")) == rendered | {"output_check"}
    assert current.make() == []


def test_a_change_in_a_second_data_raw_folder_reruns_cleaning(current: Project, tmp_path: Path) -> None:
    other = tmp_path / "exports-2024-06"
    shutil.copytree(current.root / "data_raw" / "synthetic", other)
    for path in other.rglob("*"):
        _set_old_mtime(path)
    assert current.make(f"DATA_RAW={other}")[0] == "papermill 01_clean"
    assert current.make(f"DATA_RAW={other}") == []
    log = other / CONTACTS.name
    _edit_contact_log(log)
    _set_old_mtime(log)  # the export tool kept the old time
    stages = current.make(f"DATA_RAW={other}")
    assert stages[0] == "papermill 01_clean"
    assert [s for s in stages if s.startswith("papermill 02")] == ["papermill 02_site_profile:huddersfield"]
    assert current.make(f"DATA_RAW={other}") == []
    (other / "notes.txt").write_text("a file added to the export\n", encoding="utf-8")
    _set_old_mtime(other / "notes.txt")
    assert current.make(f"DATA_RAW={other}")[0] == "papermill 01_clean"
    # Back to the first folder: the path and the huddersfield log differ.
    stages = current.make()
    assert stages[0] == "papermill 01_clean"
    assert [s for s in stages if s.startswith("papermill 02")] == ["papermill 02_site_profile:huddersfield"]


def test_make_status_says_whether_the_outputs_match_the_inputs(current: Project) -> None:
    result = current.run("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CURRENT" in result.stdout and "NOT CURRENT" not in result.stdout
    assert "raw data: current" in result.stdout and "code:     current" in result.stdout
    assert len(result.stdout.strip().splitlines()) <= 6

    bib = current.root / "reports" / "references.bib"
    original = bib.read_bytes()
    bib.write_bytes(original + b"\n% edited\n")
    result = current.run("status")
    assert result.returncode != 0
    assert "code:     CHANGED since the outputs were built: report sources" in result.stdout
    assert "NOT CURRENT" in result.stdout
    bib.write_bytes(original)  # undone before any make: current again
    assert current.run("status").returncode == 0
    assert current.make() == []  # asking wrote no stamp: nothing to rebuild

    _edit_contact_log(current.root / CONTACTS)
    result = current.run("status")
    assert result.returncode != 0 and "raw data: CHANGED since the outputs were built" in result.stdout
    current.make("-j2")
    result = current.run("status")
    assert result.returncode == 0, result.stdout
    (current.root / "reports" / "_output" / "briefings" / "glasgow.pdf").unlink()
    result = current.run("status")
    assert result.returncode != 0 and "missing:  briefings/glasgow.pdf" in result.stdout
    assert current.make() == ["briefing glasgow.pdf", "output_check"]
    assert current.run("status").returncode == 0


def test_a_no_op_make_takes_under_a_second(current: Project) -> None:
    """CPU time (make, the fingerprint runs and every other child) is what the no-op itself costs
    and must stay under 1 s. Wall time, the best of three, must too, unless more processes want
    the CPUs than there are (load average above the core count), which stretches it by that
    factor."""
    walls, cpus = [], []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        assert current.make() == []
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    assert min(cpus) < 1.0, f"no-op make took {min(cpus):.2f} s CPU"
    oversubscribed = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    assert min(walls) < 1.0 * oversubscribed, (f"no-op make took {min(walls):.2f} s wall (CPU {min(cpus):.2f} s, "
                                               f"load {oversubscribed:.1f}x the cores)")


def test_a_changed_name_list_reruns_cleaning_and_the_output_check(current: Project, tmp_path: Path) -> None:
    names = tmp_path / "team_names.csv"
    shutil.copy2(current.root / "analysis" / "config" / "name_list_synthetic.csv", names)
    assert current.make(f"NAME_LISTS={names}")[0] == "papermill 01_clean"
    assert current.make(f"NAME_LISTS={names}") == []
    names.write_text(names.read_text(encoding="utf-8") + "Zyxwvutsrq\n", encoding="utf-8")
    _set_old_mtime(names)
    stages = current.make(f"NAME_LISTS={names}")
    assert stages[0] == "papermill 01_clean" and stages[-1] == "output_check"
    assert current.make()[0] == "papermill 01_clean"  # back to the shipped list


# ---------------------------------------------------------------- stage code lists
# A stage reruns when its code changes only if the Makefile lists that code. The lists are taken
# from the package's folders; these tests compute what each stage really imports (the import
# closure within ``analysis``, lazy imports included) and fail if any of it is not listed.

STAGE_NOTEBOOKS = {"01_clean": "CLEAN_CODE", "02_site_profile": "SITE_CODE", "03_synthesis": "SYNTH_CODE"}
STAGE_COMMANDS = {"analysis.publish.render.__main__": "RENDER_CODE", "analysis.publish.briefings": "BRIEF_CODE",
                  "analysis.protect.output_check": "CHECK_CODE"}


def _make_variables() -> dict[str, set[str]]:
    """The Makefile's variables as make expands them (``make -pq status`` reads the Makefile
    without fingerprinting, locking or building)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    dump = subprocess.run(["make", "--no-print-directory", "-pq", "status"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120).stdout
    found: dict[str, set[str]] = {}
    for line in dump.splitlines():
        name, sep, value = line.partition(" := ")
        if sep and name.isidentifier():
            found[name] = set(value.split())
    return found


def _closure(code: str) -> set[str]:
    """Files of ``analysis`` that running ``code`` imports: its imports, theirs, and so on, with
    each module's enclosing packages (their ``__init__.py`` runs first)."""
    from test_layout import _modules, import_graph, imports_in

    modules, graph = _modules(), import_graph()
    todo = list(imports_in(code, "", modules))
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            enclosing = ".".join(parts[:i])
            if enclosing in modules and enclosing not in seen:
                seen.add(enclosing)
                todo.extend(graph[enclosing])
    return {str(modules[m].relative_to(PROJECT_ROOT)) for m in seen}


def _notebook_code(name: str) -> str:
    book = json.loads((PROJECT_ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    lines = ["".join(cell["source"]) for cell in book["cells"] if cell["cell_type"] == "code"]
    return "\n".join(line for line in "\n".join(lines).splitlines() if not line.lstrip().startswith(("%", "!")))


@pytest.mark.parametrize("notebook", sorted(STAGE_NOTEBOOKS))
def test_a_stage_notebooks_make_prerequisites_cover_everything_it_imports(notebook: str) -> None:
    listed = _make_variables()[STAGE_NOTEBOOKS[notebook]]
    needed = _closure(_notebook_code(notebook))
    assert f"analysis/{'clean/run' if notebook == '01_clean' else 'analyse/site_profile'}.py" in needed
    assert sorted(needed - listed) == [], f"{notebook} imports code its make rule does not depend on"


@pytest.mark.parametrize("module", sorted(STAGE_COMMANDS))
def test_a_stage_commands_make_prerequisites_cover_everything_it_imports(module: str) -> None:
    listed = _make_variables()[STAGE_COMMANDS[module]]
    needed = _closure(f"import {module}\n")
    assert sorted(needed - listed) == [], f"python -m {module} imports code its make rule does not depend on"


def test_the_closure_check_sees_a_module_missing_from_a_list() -> None:
    needed = _closure("from analysis.analyse import themes\n")
    assert {"analysis/analyse/themes.py", "analysis/analyse/site_profile.py", "analysis/analyse/charts.py",
            "analysis/core/palette.py", "analysis/__init__.py", "analysis/analyse/__init__.py"} <= needed
    assert "analysis/analyse/themes.py" not in _make_variables()["CLEAN_CODE"]


def test_switching_the_disclosure_profile_reruns_every_stage(current: Project) -> None:
    """Every protected table depends on the profile, so a make with another DISCLOSURE_PROFILE
    reruns cleaning, every site, the synthesis, every output and the check, once."""
    stages = current.make("DISCLOSURE_PROFILE=tre-release")
    assert stages[0] == "papermill 01_clean" and stages[-1] == "output_check"
    assert sorted(s for s in stages if s.startswith("papermill 02")) == sorted(
        f"papermill 02_site_profile:{site}" for site in SITES)
    assert "papermill 03_synthesis" in stages and "render report.pdf" in stages
    assert current.make("DISCLOSURE_PROFILE=tre-release") == []
    back = current.make()
    assert back[0] == "papermill 01_clean" and len([s for s in back if s.startswith("papermill 02")]) == 4
    assert current.make() == []
