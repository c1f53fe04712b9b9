"""The disclosure-control policy: profiles, sensitive tables, redesign rules.

Owns reading and validating ``analysis/config/disclosure_policy.yml`` (:func:`load_policy`) into
a :class:`Policy` of named :class:`Profile` s (threshold, rounding base, dominance and
information-loss targets, participation-count mode), the sensitive-table and participation-count
patterns and the redesign rules, and choosing the active profile (:func:`get_profile`,
``$DISCLOSURE_PROFILE``). Reads no contract table; every released table of CONTRACTS.md
"Notebook outputs that reports embed" is controlled under the profile it gives.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from analysis.core import paths

POLICY_PATH: Path = paths.CONFIG_DIR / "disclosure_policy.yml"
"""The shipped disclosure policy."""

PROFILE_ENV: str = "DISCLOSURE_PROFILE"
"""Environment variable that picks the profile when no ``profile=`` argument is given."""

TOTAL_LABELS: frozenset[str] = frozenset({"total", "totals", "all", "overall"})
"""Row labels / column names recognised as margins already present in an input table."""


class DisclosureError(ValueError):
    """Bad input to disclosure control (names the table, row, column and rule)."""


@dataclass(frozen=True)
class Profile:
    """One disclosure-control profile from the policy file."""

    name: str
    description: str
    method: Literal["suppress", "redact_round"]
    max_unsafe_count: int
    zero_is_safe: bool
    primary_marker: str
    secondary_marker: str
    rounding_base: int | None
    group_disclosure: Literal["ignore", "flag", "suppress"]
    group_disclosure_sensitive: Literal["ignore", "flag", "suppress"]
    k_anonymity: int
    footnote: str
    min_range: int = 3
    participation_counts: Literal["publish", "round", "protect"] = "protect"
    """How study-participation counts are released (policy ``participation_counts``)."""
    max_suppressed_share: float = 1.0
    """Information-loss target: the largest share of a shown table's count cells suppressed."""
    loss_target: Literal["enforce", "report"] = "report"
    """Whether the output check fails a document's table that misses the loss target."""

    def is_unsafe(self, value: float) -> bool:
        """Whether a single count is primary-unsafe under this profile."""
        if value == 0:
            return not self.zero_is_safe
        return 0 < value <= self.max_unsafe_count


@dataclass(frozen=True)
class RedesignRule:
    """Redesign steps declared for the sensitive tables whose name matches ``tables``."""

    name: str
    tables: tuple[str, ...]
    steps: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class LossExemption:
    """A table allowed to miss a profile's information-loss target, and why (the policy's
    ``loss_exemptions``)."""

    table: str
    """Regular expression matched against the table name."""
    profiles: tuple[str, ...]
    justification: str


@dataclass(frozen=True)
class Policy:
    """The whole policy: profiles, sensitive-table and participation-count patterns, redesign
    rules and participant-level hierarchies."""

    default_profile: str
    profiles: Mapping[str, Profile]
    sensitive_tables: tuple[str, ...]
    participant_level: Mapping[str, Any]
    source: Path
    participation_tables: tuple[str, ...] = ()
    participation_justification: str = ""
    redesign: tuple[RedesignRule, ...] = ()
    loss_exemptions: tuple[LossExemption, ...] = ()

    def loss_exemption(self, table_name: str, profile: str) -> LossExemption | None:
        """The exemption from the information-loss target recorded for ``table_name`` under
        ``profile`` (``None``: the target holds)."""
        for exemption in self.loss_exemptions:
            if profile in exemption.profiles and re.search(exemption.table, table_name, flags=re.IGNORECASE):
                return exemption
        return None

    def is_sensitive(self, table_name: str) -> bool:
        """Whether ``table_name`` matches one of the sensitive-table patterns."""
        return any(re.search(p, table_name, flags=re.IGNORECASE) for p in self.sensitive_tables)

    def is_participation(self, table_name: str) -> bool:
        """Whether ``table_name`` is a study-participation count (and not sensitive)."""
        return (not self.is_sensitive(table_name)
                and any(re.search(p, table_name, flags=re.IGNORECASE) for p in self.participation_tables))

    def redesign_rule(self, table_name: str) -> RedesignRule | None:
        """The first redesign rule whose patterns match ``table_name`` (``None``: no rule)."""
        for rule in self.redesign:
            if any(re.search(p, table_name, flags=re.IGNORECASE) for p in rule.tables):
                return rule
        return None


_PROFILE_FIELDS = {
    "description": str,
    "method": str,
    "max_unsafe_count": int,
    "zero_is_safe": bool,
    "primary_marker": str,
    "secondary_marker": str,
    "group_disclosure": str,
    "group_disclosure_sensitive": str,
    "k_anonymity": int,
    "footnote": str,
}


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate the disclosure policy YAML (default: the shipped policy file).

    The file is read at every call; parsing and validation are done once per distinct content
    (a notebook releases dozens of tables, and each release used to parse the YAML again).
    """
    policy_path = Path(path) if path is not None else POLICY_PATH
    try:
        text = policy_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DisclosureError(f"{policy_path}: cannot read disclosure policy: {exc}") from exc
    return _parse_policy(text, policy_path)


@functools.lru_cache(maxsize=8)
def _parse_policy(text: str, policy_path: Path) -> Policy:
    """The validated policy of one file content (cached: ``Policy`` is frozen)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DisclosureError(f"{policy_path}: cannot read disclosure policy: {exc}") from exc
    if not isinstance(raw, dict) or "profiles" not in raw:
        raise DisclosureError(f"{policy_path}: policy needs a 'profiles' mapping")
    profiles: dict[str, Profile] = {}
    for name, spec in raw["profiles"].items():
        for key, kind in _PROFILE_FIELDS.items():
            if key not in spec:
                raise DisclosureError(f"{policy_path}: profile {name!r} lacks {key!r}")
            if not isinstance(spec[key], kind):
                raise DisclosureError(
                    f"{policy_path}: profile {name!r} field {key!r} must be {kind.__name__}"
                )
        if spec["method"] not in ("suppress", "redact_round"):
            raise DisclosureError(f"{policy_path}: profile {name!r} method must be suppress|redact_round")
        for key in ("group_disclosure", "group_disclosure_sensitive"):
            if spec[key] not in ("ignore", "flag", "suppress"):
                raise DisclosureError(f"{policy_path}: profile {name!r} {key} must be ignore|flag|suppress")
        base = spec.get("rounding_base")
        if spec["method"] == "redact_round" and not (isinstance(base, int) and base > 0):
            raise DisclosureError(f"{policy_path}: profile {name!r} needs a positive rounding_base")
        profiles[name] = Profile(
            name=name,
            description=" ".join(spec["description"].split()),
            method=spec["method"],
            max_unsafe_count=spec["max_unsafe_count"],
            zero_is_safe=spec["zero_is_safe"],
            primary_marker=spec["primary_marker"],
            secondary_marker=spec["secondary_marker"],
            rounding_base=base,
            group_disclosure=spec["group_disclosure"],
            group_disclosure_sensitive=spec["group_disclosure_sensitive"],
            k_anonymity=spec["k_anonymity"],
            footnote=" ".join(spec["footnote"].split()),
            min_range=int(spec.get("min_range", 3)),
            participation_counts=_participation_mode(spec, name, policy_path),
            max_suppressed_share=_share(spec, name, policy_path),
            loss_target=_loss_target(spec, name, policy_path),
        )
    default = raw.get("default_profile", "study")
    if default not in profiles:
        raise DisclosureError(f"{policy_path}: default_profile {default!r} is not a profile")
    participation = raw.get("participation_counts") or {}
    if not isinstance(participation, dict):
        raise DisclosureError(f"{policy_path}: participation_counts must be a mapping")
    patterns = tuple(str(p) for p in participation.get("tables") or [])
    justification = " ".join(str(participation.get("justification") or "").split())
    if patterns and not justification:
        raise DisclosureError(f"{policy_path}: participation_counts needs a justification "
                              "(it is written into output-check.csv with every exemption)")
    for pattern in (*patterns, *(raw.get("sensitive_tables") or [])):
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise DisclosureError(f"{policy_path}: table pattern {pattern!r} is not a regular "
                                  f"expression ({exc})") from exc
    return Policy(
        default_profile=default,
        profiles=profiles,
        sensitive_tables=tuple(raw.get("sensitive_tables", []) or []),
        participant_level=raw.get("participant_level", {}) or {},
        source=policy_path,
        participation_tables=patterns,
        participation_justification=justification,
        redesign=_redesign_rules(raw.get("redesign") or {}, policy_path),
        loss_exemptions=_loss_exemptions(raw.get("loss_exemptions") or [], profiles, policy_path),
    )


def _loss_exemptions(raw: Any, profiles: Mapping[str, Profile], policy_path: Path) -> tuple[LossExemption, ...]:
    """Validate ``loss_exemptions``: each needs a table pattern, known profiles and a justification."""
    if not isinstance(raw, list):
        raise DisclosureError(f"{policy_path}: loss_exemptions must be a list")
    found = []
    for number, spec in enumerate(raw, start=1):
        where = f"{policy_path}: loss_exemptions entry {number}"
        if not isinstance(spec, dict):
            raise DisclosureError(f"{where} must be a mapping with table, profiles and justification")
        table = str(spec.get("table") or "")
        names = spec.get("profiles")
        justification = " ".join(str(spec.get("justification") or "").split())
        if not table or not justification:
            raise DisclosureError(f"{where} needs 'table' and 'justification' (the justification is "
                                  "written into output-check.csv)")
        if not isinstance(names, list) or not names or any(str(n) not in profiles for n in names):
            raise DisclosureError(f"{where}: 'profiles' must list profiles of this policy "
                                  f"({', '.join(profiles)}), got {names!r}")
        try:
            re.compile(table)
        except re.error as exc:
            raise DisclosureError(f"{where}: table pattern {table!r} is not a regular expression ({exc})") from exc
        found.append(LossExemption(table=table, profiles=tuple(str(n) for n in names),
                                   justification=justification))
    return tuple(found)


_STEP_KINDS: dict[str, tuple[str, ...]] = {
    "merge": ("groups",),
    "up_level": ("label",),
    "collapse_rare": (),
    "band": ("bands",),
    "merge_rows": ("label",),
}
"""Redesign step kinds and the keys each needs (besides ``kind`` and ``description``)."""


def _redesign_rules(raw: Any, policy_path: Path) -> tuple[RedesignRule, ...]:
    """Validate the ``redesign`` section: named rules, each with table patterns and steps."""
    if not isinstance(raw, dict):
        raise DisclosureError(f"{policy_path}: redesign must be a mapping of named rules")
    rules = []
    for name, spec in raw.items():
        where = f"{policy_path}: redesign rule {name!r}"
        if not isinstance(spec, dict) or not spec.get("tables") or not spec.get("steps"):
            raise DisclosureError(f"{where} needs 'tables' and 'steps' lists")
        steps = []
        for number, step in enumerate(spec["steps"], start=1):
            kind = step.get("kind") if isinstance(step, dict) else None
            if kind not in _STEP_KINDS:
                raise DisclosureError(f"{where}, step {number}: kind must be one of "
                                      f"{', '.join(_STEP_KINDS)} (got {kind!r})")
            for key in ("description", *_STEP_KINDS[kind]):
                if not step.get(key):
                    raise DisclosureError(f"{where}, step {number} ({kind}) lacks {key!r}")
            if kind in ("merge", "band"):
                groups = step["groups" if kind == "merge" else "bands"]
                if not isinstance(groups, dict) or not all(
                        isinstance(v, list) and v for v in groups.values()):
                    raise DisclosureError(f"{where}, step {number} ({kind}): groups must map a "
                                          "new label to a list of categories")
            steps.append(dict(step))
        rules.append(RedesignRule(name=str(name), tables=tuple(str(t) for t in spec["tables"]),
                                  steps=tuple(steps)))
    return tuple(rules)


def _participation_mode(spec: Mapping[str, Any], name: str, policy_path: Path) -> Literal["publish", "round", "protect"]:
    mode = spec.get("participation_counts", "protect")
    if mode not in ("publish", "round", "protect"):
        raise DisclosureError(f"{policy_path}: profile {name!r} participation_counts must be "
                              "publish|round|protect")
    base = spec.get("rounding_base")
    if mode == "round" and not (isinstance(base, int) and base > 0):
        raise DisclosureError(f"{policy_path}: profile {name!r} participation_counts 'round' needs "
                              "a positive rounding_base")
    return mode  # type: ignore[no-any-return]


def _loss_target(spec: Mapping[str, Any], name: str, policy_path: Path) -> Literal["enforce", "report"]:
    value = spec.get("loss_target", "report")
    if value not in ("enforce", "report"):
        raise DisclosureError(f"{policy_path}: profile {name!r} loss_target must be enforce|report")
    return value  # type: ignore[no-any-return]


def _share(spec: Mapping[str, Any], name: str, policy_path: Path) -> float:
    value = spec.get("max_suppressed_share", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DisclosureError(f"{policy_path}: profile {name!r} max_suppressed_share must be a "
                              "number from 0 to 1")
    return float(value)


def get_profile(profile: str | Profile | None = None, policy: Policy | None = None) -> Profile:
    """Return the profile named by the argument, else ``$DISCLOSURE_PROFILE``, else the default."""
    if isinstance(profile, Profile):
        return profile
    pol = policy or load_policy()
    name = profile or os.environ.get(PROFILE_ENV) or pol.default_profile
    if name not in pol.profiles:
        raise DisclosureError(
            f"unknown disclosure profile {name!r} (from "
            f"{'argument' if profile else PROFILE_ENV if os.environ.get(PROFILE_ENV) else 'policy'}); "
            f"known: {', '.join(sorted(pol.profiles))}"
        )
    return pol.profiles[name]
