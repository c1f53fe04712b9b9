"""Sentences that carry a disclosure-controlled number, adapted to what happened to the number.

A key number quoted in the report's prose may come out of disclosure control shown, rounded,
primary-suppressed (a small count), secondarily suppressed (withheld so a small count cannot be
worked out) or not published at all (its table was replaced by a sentence). Splicing a marker
into a fixed sentence gives "[c] of 9 women"; the functions here write the sentence that fits
each case instead, so ``analysis.analyse.key_numbers`` can put the number and its sentence into
``_variables.yml`` together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from analysis.protect.policy import Profile

State = Literal["shown", "rounded", "small", "withheld", "unpublished"]


@dataclass(frozen=True)
class Quoted:
    """A released count as prose sees it."""

    state: State
    count: int | None
    """The count when shown or rounded, else ``None``."""


def quoted(value: object, profile: Profile) -> Quoted:
    """Classify a released value (an int, a formatted "1,234", a marker, or ``None``)."""
    if value is None or value == "":
        return Quoted("unpublished", None)
    text = str(value).replace(",", "").strip()
    if text == profile.primary_marker:
        # Under tre-release both markers are "[REDACTED]": 7 or fewer, or withheld to protect one.
        return Quoted("small" if profile.primary_marker != profile.secondary_marker else "withheld", None)
    if text == profile.secondary_marker:
        return Quoted("withheld", None)
    try:
        number = int(float(text))
    except ValueError:
        return Quoted("unpublished", None)
    return Quoted("rounded" if profile.method == "redact_round" else "shown", number)


def share_sentence(value: object, denominator: int | None, profile: Profile, *, lead: str, noun: str,
                   predicate: str, what: str) -> str:
    """One sentence about how many of ``denominator`` ``noun`` satisfy ``predicate``.

    ``lead`` opens the sentence ("At birth,"), ``what`` names the fact for the withheld case
    ("how many babies went home with their mother at birth"). Examples (study profile)::

        At birth, 81% of the babies (29 of 36) went home with their mother.
        At birth, fewer than 5 of the 36 babies went home with their mother.
        How many babies went home with their mother at birth is not published: ...
    """
    q = quoted(value, profile)
    of = f" of the {denominator} {noun}" if denominator else f" {noun}"
    if q.state in ("shown", "rounded") and q.count is not None:
        about = "about " if q.state == "rounded" else ""
        if denominator:
            pct = 100 * q.count / denominator
            return (f"{lead} {about}{pct:.0f}% of the {noun} ({about}{q.count} of {denominator}) "
                    f"{predicate}.")
        return f"{lead} {about}{q.count} {noun} {predicate}."
    if q.state == "small":
        return f"{lead} fewer than {profile.max_unsafe_count + 1}{of} {predicate}."
    what = what[:1].upper() + what[1:]
    if q.state == "withheld":
        return (f"{what} is not published: the number is withheld so that a small count cannot "
                "be worked out from the totals.")
    return f"{what} is not published: the numbers are too small to publish safely."


def count_phrase(value: object, profile: Profile, noun: str) -> str:
    """"29 babies", "about 30 babies", "fewer than 5 babies", "a withheld number of babies"."""
    q = quoted(value, profile)
    if q.state == "shown":
        return f"{q.count:,} {noun}"
    if q.state == "rounded":
        return f"about {q.count:,} {noun}"
    if q.state == "small":
        return f"fewer than {profile.max_unsafe_count + 1} {noun}"
    if q.state == "withheld":
        return f"a withheld number of {noun}"
    return f"an unpublished number of {noun}"
