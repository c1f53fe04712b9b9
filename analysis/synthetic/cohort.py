"""The SYNTHETIC cohort: who the women are and what happens to them and their babies.

Each woman is simulated from screening to 18 months after the birth: characteristics at
recruitment, the key events of pregnancy and birth, the baby's placements, residential rehab,
and which of the five interview waves she completes before she withdraws or is lost.

Distributions are calibrated to the public figures in ``/work/shared/reference/study-facts.md``
(README.md of the generated folder lists them). Site features come from
``analysis/config/sites.csv`` (mother-and-baby placement and rehab access, co-location), so
the sites' models of care shape the outcomes. Dates are whole days since 1970-01-01, already
shifted by a random per-woman offset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.core import paths

# ----------------------------------------------------------------------------------------------
# Coded vocabularies written to the REDCap data dictionary (code, label)
# ----------------------------------------------------------------------------------------------

AGE_BANDS: list[tuple[int, str]] = [
    (1, "16-19"), (2, "20-24"), (3, "25-29"), (4, "30-34"), (5, "35-39"), (6, "40 or over"),
]
AGE_WEIGHTS = [0.03, 0.12, 0.25, 0.30, 0.22, 0.08]

ETHNICITIES: list[tuple[int, str]] = [  # ONS 2021 census detailed groups (England and Wales)
    (1, "White: English, Welsh, Scottish, Northern Irish or British"),
    (2, "White: Irish"),
    (3, "White: Gypsy or Irish Traveller"),
    (4, "White: Roma"),
    (5, "White: Any other White background"),
    (6, "Mixed or Multiple: White and Black Caribbean"),
    (7, "Mixed or Multiple: White and Black African"),
    (8, "Mixed or Multiple: White and Asian"),
    (9, "Mixed or Multiple: Any other Mixed or Multiple background"),
    (10, "Asian or Asian British: Indian"),
    (11, "Asian or Asian British: Pakistani"),
    (12, "Asian or Asian British: Bangladeshi"),
    (13, "Asian or Asian British: Chinese"),
    (14, "Asian or Asian British: Any other Asian background"),
    (15, "Black, Black British, Caribbean or African: African"),
    (16, "Black, Black British, Caribbean or African: Caribbean"),
    (17, "Black, Black British, Caribbean or African: Any other Black background"),
    (18, "Other ethnic group: Arab"),
    (19, "Other ethnic group: Any other ethnic group"),
    (99, "Prefer not to say"),
]
_ETHNICITY_WEIGHTS: dict[str, dict[int, float]] = {
    "london": {1: 50, 2: 5, 3: 3, 5: 10, 6: 8, 7: 2, 8: 2, 9: 3, 12: 2, 14: 1, 15: 3, 16: 6,
               17: 2, 19: 2, 99: 1},
    "north_england": {1: 82, 2: 2, 3: 3, 5: 3, 6: 4, 9: 1, 11: 3, 16: 1, 99: 1},
    "scotland": {1: 92, 2: 2, 3: 1, 5: 3, 9: 1, 99: 1},
}

TREATMENTS: list[tuple[int, str]] = [(1, "Methadone"), (2, "Buprenorphine"), (3, "None")]
TREATMENT_WEIGHTS = [0.65, 0.24, 0.11]  # 32 of 36 women in opioid treatment (study-facts.md)

SUBSTANCES: list[tuple[int, str, float]] = [  # code, label, probability of use
    (1, "Heroin", 0.78),
    (2, "Crack cocaine", 0.55),
    (3, "Powder cocaine", 0.15),
    (4, "Benzodiazepines", 0.40),
    (5, "Cannabis", 0.45),
    (6, "Alcohol", 0.30),
    (7, "Illicit methadone or buprenorphine", 0.12),
    (8, "Gabapentinoids", 0.15),
    (9, "Amphetamines", 0.05),
]

HOUSING: list[tuple[int, str]] = [
    (1, "Own or council tenancy"),
    (2, "Living with partner or family"),
    (3, "Temporary accommodation"),
    (4, "Hostel or supported housing"),
    (5, "No fixed abode"),
]
HOUSING_WEIGHTS = [0.38, 0.22, 0.22, 0.13, 0.05]

MENTAL_HEALTH: list[tuple[int, str, float]] = [
    (1, "Depression", 0.60),
    (2, "Anxiety", 0.65),
    (3, "Post-traumatic stress", 0.35),
    (4, "Self-harm history", 0.25),
    (5, "Personality disorder diagnosis", 0.10),
]

WAVE_STATUS: list[tuple[int, str]] = [(1, "Completed"), (2, "Missed")]
WITHDRAWAL_TYPES: list[tuple[int, str]] = [(1, "Withdrew consent"), (2, "Lost to follow-up")]

PLACEMENT_LABELS: dict[str, str] = {
    "with_mother": "With mother",
    "mother_baby_placement": "Mother and baby placement",
    "kinship_care": "Kinship care",
    "foster_care": "Foster care",
    "adoption": "Adoption",
}
EVENT_LABELS: dict[str, str] = {
    "booking": "Booking",
    "pre_birth_assessment": "Pre-birth assessment",
    "child_protection_conference": "Child protection conference",
    "birth": "Birth",
    "neonatal_unit": "Neonatal unit admission",
    "nas_treatment": "NAS treatment",
    "placement_change": "Placement change",
    "rehab_start": "Rehab start",
    "rehab_end": "Rehab end",
}

WAVE_TARGET_WEEKS = {1: -20.0, 2: 7.0, 3: 26.0, 4: 52.0, 5: 78.0}

# ----------------------------------------------------------------------------------------------
# Site features -> probabilities
# ----------------------------------------------------------------------------------------------

SITE_PREFIX = {"east_london": "EL", "huddersfield": "HD", "glasgow": "GG", "ayrshire": "AA"}
SITE_REGION = {"east_london": "london", "huddersfield": "north_england",
               "glasgow": "scotland", "ayrshire": "scotland"}
MBU_OFFER = {"good": 0.60, "some": 0.35, "limited": 0.15, "few": 0.08}
"""Chance a baby whose mother faces separation goes to a mother-and-baby placement instead."""
REHAB_PROB = {"good": 0.28, "some": 0.15, "limited": 0.06, "few": 0.03}
"""Chance a woman starts residential rehab during follow-up."""

EPOCH = dt.date(1970, 1, 1)


def day_number(value: dt.date) -> int:
    """Return whole days since 1970-01-01."""
    return (value - EPOCH).days


def load_sites() -> pd.DataFrame:
    """Return ``analysis/config/sites.csv`` (site code, label, model features)."""
    return pd.read_csv(paths.CONFIG_DIR / "sites.csv", dtype=str, keep_default_na=False)


@dataclass
class Woman:
    """One screened woman and, if she consented, everything that happens in follow-up."""

    study_id: str
    site: str
    consented: bool
    shift_days: int = 0
    age_band: int = 0
    ethnicity: int = 0
    parity: int = 0
    previous_removed: int | None = None
    care_experienced: int = 0
    substances: list[int] = field(default_factory=list)
    treatment: int = 0
    housing: int = 0
    mental_health: list[int] = field(default_factory=list)
    domestic_abuse: int = 0
    gestation: int = 0
    screen_day: int = 0
    consent_day: int = 0
    birth_day: int = 0
    gestation_at_birth: int = 0
    events: list[tuple[str, int, str]] = field(default_factory=list)
    placements: list[tuple[int, str]] = field(default_factory=list)
    wave_status: dict[int, int] = field(default_factory=dict)
    wave_day: dict[int, int] = field(default_factory=dict)
    withdrawal_type: int | None = None
    withdrawal_day: int | None = None
    end_day: int = 0
    concern: bool = False
    nnu: tuple[int, int] | None = None
    nas_treated: bool = False
    rehab: tuple[int, int, bool] | None = None

    def week(self, day: int) -> float:
        """Weeks relative to the birth for a day number."""
        return (day - self.birth_day) / 7.0

    def placement_on(self, day: int) -> str | None:
        """The baby's placement on a day (None before the first placement)."""
        current = None
        for start, placement in self.placements:
            if start <= day:
                current = placement
        return current

    def removed_on(self, day: int) -> bool:
        """True if the baby was living apart from the mother on that day."""
        return self.placement_on(day) in ("kinship_care", "foster_care", "adoption")


def simulate_cohort(rng: np.random.Generator, scale: int) -> list[Woman]:
    """Simulate 40*scale screened women (10*scale per site), 36*scale of them recruited."""
    sites = load_sites().set_index("code")
    women: list[Woman] = []
    per_site_screened = 10 * scale
    per_site_recruited = 9 * scale
    width = max(3, len(str(per_site_screened)))
    for site in sites.index:
        features = sites.loc[site]
        declined = set(rng.choice(per_site_screened, per_site_screened - per_site_recruited,
                                  replace=False).tolist())
        for index in range(per_site_screened):
            study_id = f"SS-{SITE_PREFIX[site]}-{index + 1:0{width}d}"
            woman = Woman(study_id=study_id, site=site, consented=index not in declined)
            _simulate_woman(rng, woman, features)
            women.append(woman)
    return women


def _bernoulli(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < min(max(p, 0.0), 1.0))


def _simulate_woman(rng: np.random.Generator, w: Woman, site: pd.Series) -> None:
    """Fill in one woman's record (in place)."""
    colocated = site["colocated"] == "true"
    dispersed = site["specialist_midwife"] != "true"
    w.shift_days = int(rng.integers(-180, 181))
    real_screen = day_number(dt.date(2022, 5, 1)) + int(rng.integers(0, 365))
    w.screen_day = real_screen + w.shift_days
    if not w.consented:
        return
    w.consent_day = w.screen_day + int(rng.integers(0, 15))
    w.age_band = int(rng.choice([c for c, _ in AGE_BANDS], p=AGE_WEIGHTS))
    weights = _ETHNICITY_WEIGHTS[SITE_REGION[w.site]]
    codes = list(weights)
    probs = np.array([weights[c] for c in codes], dtype=float)
    w.ethnicity = int(rng.choice(codes, p=probs / probs.sum()))
    w.parity = int(rng.choice([0, 1, 2, 3, 4, 5, 6], p=[0.2, 0.25, 0.24, 0.15, 0.09, 0.05, 0.02]))
    w.previous_removed = int(_bernoulli(rng, 0.6)) if w.parity > 0 else None
    w.care_experienced = int(_bernoulli(rng, 0.35))
    w.treatment = int(rng.choice([c for c, _ in TREATMENTS], p=TREATMENT_WEIGHTS))
    w.substances = [code for code, _, p in SUBSTANCES if _bernoulli(rng, p)]
    if not w.substances:
        w.substances = [1]
    w.housing = int(rng.choice([c for c, _ in HOUSING], p=HOUSING_WEIGHTS))
    w.mental_health = [code for code, _, p in MENTAL_HEALTH if _bernoulli(rng, p)]
    w.domestic_abuse = int(_bernoulli(rng, 0.68))
    w.gestation = int(np.clip(round(rng.normal(19, 6)), 8, 34))

    # Pregnancy and birth --------------------------------------------------------------------
    preterm = _bernoulli(rng, 0.15)
    w.gestation_at_birth = int(rng.integers(33, 37) if preterm else rng.integers(37, 42))
    w.gestation_at_birth = max(w.gestation_at_birth, w.gestation + 2)
    w.birth_day = w.consent_day + 7 * (w.gestation_at_birth - w.gestation) + int(rng.integers(-3, 4))
    conception = w.birth_day - 7 * w.gestation_at_birth

    def at_gestation(weeks: float) -> int:
        return conception + int(round(weeks * 7))

    booking_gestation = min(float(rng.choice([9, 10, 11, 12, 13, 16, 20, 24])), w.gestation - 0.5)
    w.events.append(("booking", at_gestation(booking_gestation), ""))
    risk = (0.28 + 0.16 * (w.previous_removed == 1) + 0.10 * w.domestic_abuse
            + 0.12 * (w.treatment == 3) + 0.05 * w.care_experienced - 0.06 * colocated)
    w.concern = _bernoulli(rng, risk)
    if w.concern or _bernoulli(rng, 0.7):
        w.events.append(("pre_birth_assessment", at_gestation(rng.integers(22, 31)), ""))
    if w.concern:
        before = _bernoulli(rng, 0.75)
        day = at_gestation(rng.integers(30, 36)) if before else w.birth_day + int(rng.integers(1, 10))
        w.events.append(("child_protection_conference", day, "Child protection plan"))
    w.events.append(("birth", w.birth_day, f"Gestation {w.gestation_at_birth} weeks"))

    # Neonatal withdrawal (Rees et al. 2021: 49% treated; median stay 18.2 vs 5.1 days) -------
    p_nas = {1: 0.56, 2: 0.40, 3: 0.34}[w.treatment]
    w.nas_treated = _bernoulli(rng, p_nas)
    if w.nas_treated or _bernoulli(rng, 0.55):
        stay = rng.lognormal(np.log(18.2), 0.35) if w.nas_treated else rng.lognormal(np.log(5.1), 0.4)
        stay_days = int(np.clip(round(stay), 1, 60))
        start = w.birth_day + int(rng.integers(0, 2))
        w.nnu = (start, stay_days)
        w.events.append(("neonatal_unit", start, f"Stay {stay_days} days"))
        if w.nas_treated:
            drug = "Oral morphine" if _bernoulli(rng, 0.85) else "Phenobarbital"
            w.events.append(("nas_treatment", start + int(rng.integers(1, 4)), drug))
    discharge = w.birth_day + (w.nnu[1] + 1 if w.nnu else int(rng.integers(2, 6)))

    # Placements: separation risk, mother-and-baby placements where the site has them --------
    first = "with_mother"
    if w.concern and _bernoulli(rng, 0.7):
        if _bernoulli(rng, MBU_OFFER[site["mbu_access"]]):
            first = "mother_baby_placement"
        else:
            first = "kinship_care" if _bernoulli(rng, 0.35) else "foster_care"
    w.placements.append((discharge, first))
    _simulate_placement_changes(rng, w, discharge, colocated, dispersed)

    # Residential rehab --------------------------------------------------------------------
    if _bernoulli(rng, REHAB_PROB[site["rehab_access"]]):
        start = w.birth_day + 7 * int(rng.integers(-10, 30))
        end = start + 7 * int(rng.integers(12, 27))
        with_baby = start > w.birth_day and not w.removed_on(start)
        w.rehab = (start, end, with_baby)
        w.events.append(("rehab_start", start, "With baby" if with_baby else "Without baby"))
        w.events.append(("rehab_end", end, ""))

    _simulate_waves(rng, w, colocated, dispersed)
    # The research team stops recording once a woman withdraws or is lost.
    w.end_day = w.withdrawal_day if w.withdrawal_day is not None else w.birth_day + 7 * 80
    w.events = [e for e in w.events if e[1] <= w.end_day]
    w.placements = [p for p in w.placements if p[0] <= w.end_day]
    for start, placement in w.placements:
        w.events.append(("placement_change", start, PLACEMENT_LABELS[placement]))
    w.events.sort(key=lambda e: (e[1], list(EVENT_LABELS).index(e[0])))


def _simulate_placement_changes(
    rng: np.random.Generator, w: Woman, discharge: int, colocated: bool, dispersed: bool
) -> None:
    """Append later placement changes up to 80 weeks after the birth."""
    horizon = w.birth_day + 7 * 80
    day, current = w.placements[-1]
    for _ in range(4):
        nxt: str | None = None
        if current == "mother_baby_placement":
            day += 7 * int(rng.integers(12, 27))
            nxt = "with_mother" if _bernoulli(rng, 0.72) else "foster_care"
        elif current == "with_mother":
            p = 0.10 + 0.10 * dispersed - 0.04 * colocated + 0.06 * w.concern
            if not _bernoulli(rng, p):
                break
            day = max(day, w.birth_day) + 7 * int(rng.integers(6, 60))
            nxt = "kinship_care" if _bernoulli(rng, 0.4) else "foster_care"
        elif current == "kinship_care":
            if not _bernoulli(rng, 0.2):
                break
            day += 7 * int(rng.integers(16, 50))
            nxt = "with_mother"
        elif current == "foster_care":
            u = rng.random()
            if u < 0.45:
                day += 7 * int(rng.integers(30, 70))
                nxt = "adoption"
            elif u < 0.60:
                day += 7 * int(rng.integers(12, 45))
                nxt = "with_mother"
            elif u < 0.75:
                day += 7 * int(rng.integers(8, 40))
                nxt = "kinship_care"
            else:
                break
        else:  # adoption is final
            break
        if nxt is None or day > horizon:
            break
        w.placements.append((day, nxt))
        current = nxt


def _simulate_waves(rng: np.random.Generator, w: Woman, colocated: bool, dispersed: bool) -> None:
    """Decide each wave's status and date, and any withdrawal or loss to follow-up."""
    wave1 = min(w.consent_day + int(rng.integers(3, 22)), w.birth_day - 7)
    w.wave_status[1] = 1
    w.wave_day[1] = max(wave1, w.consent_day)
    previous = w.wave_day[1]
    for wave in range(2, 6):
        target = w.birth_day + int(round(7 * WAVE_TARGET_WEEKS[wave]))
        removed = w.removed_on(target)
        hazard = 0.06 + 0.09 * removed + 0.04 * dispersed - 0.03 * colocated
        if _bernoulli(rng, hazard):
            w.withdrawal_type = 1 if _bernoulli(rng, 0.35) else 2
            w.withdrawal_day = previous + int(rng.integers(14, max(15, target - previous)))
            return
        day = target + int(rng.integers(-14, 22))
        if _bernoulli(rng, 0.06 + 0.07 * removed):
            w.wave_status[wave] = 2
        else:
            w.wave_status[wave] = 1
            w.wave_day[wave] = day
        previous = day


def date_string(day: int, fmt: str = "%Y-%m-%d") -> str:
    """Format a day number."""
    return (EPOCH + dt.timedelta(days=int(day))).strftime(fmt)
