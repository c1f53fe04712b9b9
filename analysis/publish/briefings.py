"""Briefings for commissioners and services: one per site and one overall, from one source.

``reports/briefing.qmd`` is the one parameterised Quarto source. For a *target* (a site code
from ``analysis/config/sites.csv``, or ``overall``) :func:`instantiate_briefing`:

1. sets the target's metadata under ``briefing:`` (site code and label, nation, model of care,
   ``overall`` true/false, and action flags derived from the site's features, see
   :func:`briefing_metadata`) and ``synthetic`` from ``_variables.yml``;
2. replaces the one template parameter ``${site}`` by the site code. It is used only where Quarto
   allows no shortcode: in ``embed`` paths (the site's executed profile notebook) and in
   ``{{< var sites.${site}.key >}}`` keys. For ``overall`` the site is ``all``;
3. resolves Quarto's conditional content (``::: {.content-visible when-meta="briefing.overall"}``,
   ``.content-hidden``, ``unless-meta``) for that metadata, as Quarto would, so the offline
   renderer only sees the blocks that apply.

The instantiated source ``<target>.qmd`` is written to a private, git-ignored build folder inside
the project (``reports/_output/.briefings-build/<target>-XXXX/``), with its document-relative
paths (bibliography, csl, embed, include) rewritten for that folder, so it renders from there with
real Quarto or the offline renderer.
:func:`render_briefing` then renders it (:func:`analysis.publish.render.engine.render`, in this
process) and moves the result to
``<out>/<target>.<ext>`` atomically (a reader never sees a half-written briefing).

Command line (used by the Makefile)::

    python -m analysis.publish.briefings SITE|overall --to docx|pdf [--engine auto|quarto|offline]
                                 [--out reports/_output/briefings]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
import yaml

from analysis.core import atomic
from analysis.core.paths import CONFIG_DIR, PROJECT_ROOT
from analysis.publish.render.engine import render
from analysis.publish.render.errors import RenderError

BRIEFING_SOURCE: Final[Path] = PROJECT_ROOT / "reports" / "briefing.qmd"
"""The one parameterised briefing source."""

VARIABLES_PATH: Final[Path] = PROJECT_ROOT / "_variables.yml"
"""Key numbers written by 03_synthesis (Quarto reads it for ``{{< var >}}``)."""

OVERALL: Final[str] = "overall"
"""Target name of the briefing that covers every site."""

OVERALL_SITE_PARAMETER: Final[str] = "all"
"""What ``${site}`` becomes in the overall briefing (``sites.all.*`` keys, if any are used)."""

SITE_PARAMETER: Final[str] = "${site}"
"""The template parameter replaced by the site code."""

FORMATS: Final[tuple[str, ...]] = ("docx", "pdf", "html")
"""Formats a briefing can be rendered to (the Makefile builds docx and pdf)."""

ACCESS_LEVELS: Final[tuple[str, ...]] = ("none", "few", "limited", "some", "good")
"""Levels of access to mother-and-baby placements and residential rehab, worst first."""

GOOD_ACCESS: Final[str] = "good"
"""Access level at which no action to widen access is proposed."""

FENCE_OPEN: Final[re.Pattern[str]] = re.compile(r"^(?P<colons>:{3,})\s*\{(?P<attrs>[^}]*)\}\s*$")
FENCE_OPEN_BARE: Final[re.Pattern[str]] = re.compile(r"^(?P<colons>:{3,})\s*[^\s:{][^{}]*$")
FENCE_CLOSE: Final[re.Pattern[str]] = re.compile(r"^(?P<colons>:{3,})\s*$")
CODE_FENCE: Final[re.Pattern[str]] = re.compile(r"^\s{0,3}(?P<fence>`{3,}|~{3,})")
ATTRIBUTE: Final[re.Pattern[str]] = re.compile(r'(?P<key>[\w-]+)\s*=\s*(?:"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\'|(?P<bare>\S+))')

CONDITION_KEYS: Final[frozenset[str]] = frozenset({"when-meta", "unless-meta"})
"""Conditions this module resolves (Quarto also has when-format/unless-format)."""


class BriefingError(ValueError):
    """A briefing cannot be instantiated or rendered; the message names the file and line."""


@dataclass(frozen=True)
class Site:
    """One row of ``analysis/config/sites.csv``."""

    code: str
    label: str
    nation: str
    model_of_care: str
    colocated: bool
    lead_professional: bool
    specialist_midwife: bool
    mbu_access: str
    rehab_access: str


def _parse_bool(value: Any, *, file: Path, row: int, column: str) -> bool:
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise BriefingError(f"{file}: row {row}, column {column!r}: expected true or false, got {value!r}")


def read_sites(path: Path | None = None) -> list[Site]:
    """Return the configured sites, in the file's order, with their model-of-care features."""
    path = path or CONFIG_DIR / "sites.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = ["code", "label", "nation", "model_of_care", "colocated", "lead_professional",
                "specialist_midwife", "mbu_access", "rehab_access"]
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise BriefingError(f"{path}: missing column(s) {', '.join(missing)}")
    sites: list[Site] = []
    for index, row in enumerate(table.itertuples(index=False), start=2):
        record = row._asdict()
        for column in ("mbu_access", "rehab_access"):
            if record[column] not in ACCESS_LEVELS:
                raise BriefingError(f"{path}: row {index}, column {column!r}: {record[column]!r} is not "
                                    f"one of {', '.join(ACCESS_LEVELS)}")
        sites.append(Site(
            code=record["code"], label=record["label"], nation=record["nation"],
            model_of_care=record["model_of_care"],
            colocated=_parse_bool(record["colocated"], file=path, row=index, column="colocated"),
            lead_professional=_parse_bool(record["lead_professional"], file=path, row=index,
                                          column="lead_professional"),
            specialist_midwife=_parse_bool(record["specialist_midwife"], file=path, row=index,
                                           column="specialist_midwife"),
            mbu_access=record["mbu_access"], rehab_access=record["rehab_access"],
        ))
    return sites


def briefing_targets(sites: Sequence[Site] | None = None) -> list[str]:
    """Every briefing the project makes: one per configured site, then ``overall``."""
    sites = read_sites() if sites is None else sites
    return [site.code for site in sites] + [OVERALL]


def _needs_wider_access(level: str) -> bool:
    return ACCESS_LEVELS.index(level) < ACCESS_LEVELS.index(GOOD_ACCESS)


def briefing_metadata(target: str, sites: Sequence[Site] | None = None) -> dict[str, Any]:
    """Metadata the briefing source reads under ``briefing:`` for one target.

    Action flags follow the co-produced model of care and depend only on the site's features:
    ``needs_specialist_team`` when the site has no specialist midwife; ``needs_colocation`` when
    it has one who is not co-located with the drug service; ``needs_mbu`` / ``needs_rehab`` when
    access to mother-and-baby placements / residential rehab is below ``good``;
    ``protect_access`` when both are good. Every briefing also carries the two actions for all
    sites (a lead professional through the birth, support after a removal), so a site briefing
    has three to five actions.
    """
    sites = read_sites() if sites is None else sites
    if target == OVERALL:
        return {
            "target": OVERALL,
            "overall": True,
            "site": OVERALL_SITE_PARAMETER,
            "site_label": "all four sites" if len(sites) == 4 else f"all {len(sites)} sites",
            "title_place": "Overall",
            "nation": ", ".join(sorted({site.nation for site in sites})),
            "model_of_care": "; ".join(f"{site.label}: {site.model_of_care}" for site in sites),
            "needs_specialist_team": False,
            "needs_colocation": False,
            "needs_mbu": False,
            "needs_rehab": False,
            "protect_access": False,
        }
    by_code = {site.code: site for site in sites}
    if target not in by_code:
        raise BriefingError(f"unknown briefing target {target!r}: use one of {', '.join(briefing_targets(sites))}")
    site = by_code[target]
    needs_mbu = _needs_wider_access(site.mbu_access)
    needs_rehab = _needs_wider_access(site.rehab_access)
    return {
        "target": site.code,
        "overall": False,
        "site": site.code,
        "site_label": site.label,
        "title_place": site.label,
        "nation": site.nation,
        "model_of_care": site.model_of_care,
        "mbu_access": site.mbu_access,
        "rehab_access": site.rehab_access,
        "needs_specialist_team": not site.specialist_midwife,
        "needs_colocation": site.specialist_midwife and not site.colocated,
        "needs_mbu": needs_mbu,
        "needs_rehab": needs_rehab,
        "protect_access": not needs_mbu and not needs_rehab,
    }


def action_count(metadata: Mapping[str, Any]) -> int:
    """How many actions a briefing with this ``briefing`` metadata lists (two for every site)."""
    flags = ("needs_specialist_team", "needs_colocation", "needs_mbu", "needs_rehab", "protect_access")
    if metadata.get("overall"):
        return 5
    return 2 + sum(bool(metadata.get(flag)) for flag in flags)


def read_variables(path: Path | None = None) -> dict[str, Any]:
    """Read ``_variables.yml`` (an error naming the file if it is missing or not a mapping)."""
    path = path or VARIABLES_PATH
    if not path.is_file():
        raise BriefingError(f"{path}: not found; run the synthesis notebook first (make analysis)")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise BriefingError(f"{path}: expected a mapping of key numbers")
    return data


def _lookup(metadata: Mapping[str, Any], dotted: str) -> Any:
    value: Any = metadata
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


def _truthy(value: Any) -> bool:
    """Quarto's reading of a metadata value in a when-meta condition."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "false", "no", "0"}
    return bool(value)


def _condition_holds(classes: set[str], attributes: dict[str, str], metadata: Mapping[str, Any],
                     where: str) -> bool:
    """Whether a conditional div is shown (``.content-visible``) or hidden (``.content-hidden``)."""
    unknown = {key for key in attributes if key.startswith(("when-", "unless-"))} - CONDITION_KEYS
    if unknown:
        raise BriefingError(f"{where}: condition {', '.join(sorted(unknown))} is not supported in "
                            "briefings (use when-meta or unless-meta)")
    matches = True
    if "when-meta" in attributes:
        matches = matches and _truthy(_lookup(metadata, attributes["when-meta"]))
    if "unless-meta" in attributes:
        matches = matches and not _truthy(_lookup(metadata, attributes["unless-meta"]))
    return matches if "content-visible" in classes else not matches


def resolve_conditional_content(text: str, metadata: Mapping[str, Any], *, source: str = "briefing") -> str:
    """Keep or drop Quarto conditional divs (``when-meta``/``unless-meta``) for ``metadata``.

    Kept blocks lose their fence lines; dropped blocks disappear with everything inside them.
    Other fenced divs (callouts, notes) are left as they are. Code blocks are not parsed.
    """
    output: list[str] = []
    # Each open div: (colon count, kind) where kind is "keep-fence", "unwrap" or "drop".
    stack: list[tuple[int, str]] = []
    code_fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        dropping = any(kind == "drop" for _, kind in stack)
        code_match = CODE_FENCE.match(line)
        if code_fence is not None:
            if code_match and code_match.group("fence")[0] == code_fence[0] and \
                    len(code_match.group("fence")) >= len(code_fence) and \
                    not line.strip()[len(code_match.group("fence")):]:
                code_fence = None
            if not dropping:
                output.append(line)
            continue
        if code_match:
            code_fence = code_match.group("fence")
            if not dropping:
                output.append(line)
            continue
        opening = FENCE_OPEN.match(line)
        if opening:
            attrs_text = opening.group("attrs")
            classes = set(re.findall(r"(?:^|\s)\.([\w-]+)", attrs_text))
            attributes = {m.group("key"): m.group("dq") if m.group("dq") is not None else
                          m.group("sq") if m.group("sq") is not None else m.group("bare")
                          for m in ATTRIBUTE.finditer(attrs_text)}
            colons = len(opening.group("colons"))
            if classes & {"content-visible", "content-hidden"}:
                keep = dropping is False and _condition_holds(classes, attributes, metadata, where)
                stack.append((colons, "unwrap" if keep else "drop"))
                continue
            stack.append((colons, "keep-fence"))
            if not dropping:
                output.append(line)
            continue
        if FENCE_OPEN_BARE.match(line):
            stack.append((len(line) - len(line.lstrip(":")), "keep-fence"))
            if not dropping:
                output.append(line)
            continue
        closing = FENCE_CLOSE.match(line)
        if closing and stack:
            _, kind = stack.pop()
            if kind == "keep-fence" and not dropping:
                output.append(line)
            continue
        if not dropping:
            output.append(line)
    if stack:
        raise BriefingError(f"{source}: a fenced div (':::') is never closed")
    return "\n".join(output) + "\n"


def _split_front_matter(text: str, source: Path) -> tuple[dict[str, Any], str]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return {}, text
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            data = yaml.safe_load("".join(lines[1:index])) or {}
            if not isinstance(data, dict):
                raise BriefingError(f"{source}:2: front matter must be a YAML mapping")
            return data, "".join(lines[index + 1:])
    raise BriefingError(f"{source}:1: front matter opened with '---' is never closed")


def instantiate_briefing(
    target: str,
    *,
    source: Path | None = None,
    variables: Mapping[str, Any] | None = None,
    sites: Sequence[Site] | None = None,
) -> str:
    """Return the Quarto source of one target's briefing (front matter and body).

    ``variables`` defaults to ``_variables.yml``; only its ``synthetic`` flag is used here (the
    renderer substitutes the ``{{< var >}}`` shortcodes).
    """
    source = source or BRIEFING_SOURCE
    text = source.read_text(encoding="utf-8")
    front, body = _split_front_matter(text, source)
    variables = read_variables() if variables is None else variables
    if "synthetic" not in variables:
        raise BriefingError(f"{VARIABLES_PATH}: has no 'synthetic' key (the contract says it is always present)")
    briefing = briefing_metadata(target, sites)
    metadata = dict(front)
    metadata["briefing"] = {**dict(front.get("briefing") or {}), **briefing}
    metadata["synthetic"] = bool(variables["synthetic"])
    body = body.replace(SITE_PARAMETER, str(briefing["site"]))
    metadata_text = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=100)
    metadata_text = metadata_text.replace(SITE_PARAMETER, str(briefing["site"]))
    leftover = re.search(r"\$\{[^}]*\}", body)
    if leftover:
        line = body[: leftover.start()].count("\n") + 1
        raise BriefingError(f"{source}: body line {line}: unknown template parameter {leftover.group(0)!r} "
                            f"(only {SITE_PARAMETER} is defined)")
    body = resolve_conditional_content(body, metadata, source=str(source))
    return "---\n" + metadata_text + "---\n" + body


def render_briefing(
    target: str,
    fmt: str,
    *,
    out_dir: Path | None = None,
    engine: str = "auto",
    source: Path | None = None,
    variables_path: Path | None = None,
) -> Path:
    """Instantiate and render one briefing; return the path of ``<out_dir>/<target>.<fmt>``."""
    if fmt not in FORMATS:
        raise BriefingError(f"--to {fmt!r}: a briefing renders to {', '.join(FORMATS)}")
    out_dir = (out_dir or PROJECT_ROOT / "reports" / "_output" / "briefings").resolve()
    source = (source or BRIEFING_SOURCE).resolve()
    text = instantiate_briefing(target, source=source, variables=read_variables(variables_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    # A private build folder inside the project (so Quarto finds _quarto.yml and _variables.yml)
    # and git-ignored; one per process, so `make -j` can build docx and pdf side by side.
    build_parent = source.parent / "_output" / ".briefings-build"
    build_parent.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(prefix=f"{target}-", dir=build_parent))
    try:
        instance = build_dir / f"{target}.qmd"
        instance.write_text(_rebase_relative_paths(text, source.parent, build_dir), encoding="utf-8")
        render_out = build_dir / "_out"
        # the renderer in this process (its own process cost a second Python start-up: about
        # 1 s of CPU a briefing), from the project folder as `python -m analysis.publish.render`
        try:
            with contextlib.chdir(PROJECT_ROOT):
                render(instance, [fmt], render_out, engine=engine)
        except RenderError as error:
            raise BriefingError(f"rendering the {target} briefing to {fmt} failed:\n{error}") from None
        produced = render_out / f"{target}.{fmt}"
        if not produced.is_file():
            raise BriefingError(f"the renderer reported success but wrote no {produced.name} in {render_out}")
        final = out_dir / f"{target}.{fmt}"
        atomic.write_bytes(final, produced.read_bytes())
        return final
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)


RELATIVE_PATH_KEYS: Final[tuple[str, ...]] = ("bibliography", "csl")


def _rebase_relative_paths(text: str, source_dir: Path, build_dir: Path) -> str:
    """Rewrite the document-relative paths of a source written for ``source_dir`` so they work
    from ``build_dir``: front-matter ``bibliography``/``csl`` and ``embed``/``include`` paths.
    Project-relative paths (starting with ``/``) are left alone."""
    front, body = _split_front_matter(text, build_dir / "briefing.qmd")

    def rebase(path_text: str) -> str:
        if path_text.startswith("/") or "://" in path_text:
            return path_text
        absolute = (source_dir / path_text).resolve()
        return os.path.relpath(absolute, build_dir)

    for key in RELATIVE_PATH_KEYS:
        value = front.get(key)
        if isinstance(value, str):
            front[key] = rebase(value)
        elif isinstance(value, list):
            front[key] = [rebase(str(item)) for item in value]

    def replace(match: re.Match[str]) -> str:
        name, target = match.group("name"), match.group("target")
        path_part, _, anchor = target.partition("#")
        rebased = rebase(path_part) + (f"#{anchor}" if anchor else "")
        return f"{{{{< {name} {rebased}{match.group('rest')}>}}}}"

    body = re.sub(r"\{\{<\s*(?P<name>embed|include)\s+(?P<target>[^\s>]+)(?P<rest>[^>]*)>\}\}", replace, body)
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100) + "---\n" + body


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: instantiate and render one briefing (or ``all``)."""
    parser = argparse.ArgumentParser(prog="python -m analysis.publish.briefings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="a site code from analysis/config/sites.csv, 'overall', or 'all'")
    parser.add_argument("--to", dest="formats", default="docx",
                        help="comma-separated formats: docx, pdf, html (default docx)")
    parser.add_argument("--engine", default="auto", choices=("auto", "quarto", "offline"))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "_output" / "briefings")
    parser.add_argument("--print-source", action="store_true",
                        help="print the instantiated source instead of rendering it")
    args = parser.parse_args(argv)
    try:
        targets = briefing_targets() if args.target == "all" else [args.target]
        if args.print_source:
            for target in targets:
                sys.stdout.write(instantiate_briefing(target))
            return 0
        for target in targets:
            for fmt in [item.strip() for item in args.formats.split(",") if item.strip()]:
                path = render_briefing(target, fmt, out_dir=args.out, engine=args.engine)
                print(f"briefing {target} -> {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}")
    except BriefingError as exc:
        print(f"analysis.publish.briefings: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
