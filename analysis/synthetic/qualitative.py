"""SYNTHETIC qualitative data: codebook, coded segments, transcripts and professionals.

The codebook's themes follow the published findings of the Stepping Stones Study (fear of
removal and surveillance, stigma, relationships and continuity, integrated care, opioid
treatment, birth and the postnatal gap, mother-and-baby placements, trauma and mental health,
housing and poverty, peer support, partners). The quotes are invented, short and free of names
and places. Each transcript is assembled line by line so that the coded offsets hold exactly:
``transcript[Start:End] == Coded text`` (code points, end exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.synthetic.cohort import Woman

TRANSCRIPT_BANNER = "SYNTHETIC TRANSCRIPT - invented for software testing; not a real interview."


@dataclass(frozen=True)
class SubCode:
    """A sub-code with its invented quotes for women and for professionals."""

    name: str
    description: str
    women: tuple[str, ...]
    professionals: tuple[str, ...] = ()
    key: str = ""  # condition tag used to weight it (see _subcode_factor)
    women_when: tuple[str, ...] = ()  # per women's quote: "" any, or a flag that must hold


@dataclass(frozen=True)
class Theme:
    """A top-level theme of the codebook."""

    key: str
    name: str
    description: str
    colour: str
    question: str
    wave_weights: tuple[float, float, float, float, float]
    subcodes: tuple[SubCode, ...] = field(default_factory=tuple)


THEMES: tuple[Theme, ...] = (
    Theme("fear", "Fear of removal and surveillance",
          "Fear of referral to children's social care and of the baby being removed; being "
          "monitored by many agencies.", "#12436D",
          "How did you feel about social services being involved?", (3.0, 3.5, 1.5, 1.0, 0.9), (
        SubCode("Fear of referral", "Expecting that disclosure leads straight to a referral.",
                ("I didn't tell the midwife at first because I thought they'd ring social services straight away.",
                 "Every appointment I was waiting for someone to say they were taking the baby.",
                 "I was scared to be honest with anyone in case it went on a form."),
                ("Women often hide their use at booking because they expect an automatic referral.",
                 "The word referral frightens people, so we explain what it actually means.")),
        SubCode("Watched by many agencies", "Monitoring by several services at once.",
                ("There were that many people coming to the house I lost count of who was who.",
                 "It felt like everybody was checking up on me, not helping me.",
                 "I had tests for one lot and meetings with another lot, all in the same week."),
                ("Some women have eight or nine professionals involved and nobody co-ordinating it.",
                 "We ask for the same information three times because our systems don't talk.")),
        SubCode("Pre-birth assessment and conference", "Experiences of the pre-birth "
                "assessment and child protection conference.",
                ("The conference was the worst day, sitting in a room full of people talking about me.",
                 "Nobody told me what the pre-birth assessment was for until it was nearly over.",
                 "They read out things from years ago like it was still happening."),
                ("Pre-birth assessments start too late, so there is no time to show change.",
                 "A conference can feel like a verdict to women, even when the plan is supportive."),
                key="concern"),
        SubCode("Hiding drug use", "Concealing use or symptoms from professionals.",
                ("I cut down on my own before the scan so nothing would show.",
                 "I kept quiet about the tablets because I thought it would count against me."),
                ("If she is frightened she stops telling us things, and that is when risk goes up.",)),
    )),
    Theme("stigma", "Stigma", "Feeling judged for drug use or for being in treatment.",
          "#28A197", "How did staff treat you?", (1.5, 1.6, 1.0, 0.9, 0.9), (
        SubCode("Judged by staff", "Judgemental attitudes or language from staff.",
                ("You could see the look on her face when she read my notes.",
                 "One nurse wouldn't even look at me when she spoke.",
                 "I felt like a junkie to them, not a mum."),
                ("Attitudes on the ward can undo months of work in one shift.",
                 "We still hear colleagues use language that makes women feel judged.")),
        SubCode("Treatment seen as illicit use", "Opioid substitution treatment conflated "
                "with illicit drug use.",
                ("I'm on a prescription, I'm doing what they asked, but they still treat it like I'm using.",
                 "They talked about my script like it was the same as buying off the street."),
                ("Being on a stable script gets treated as if it were ongoing illicit use.",
                 "Some staff don't understand that treatment is the safe option in pregnancy.")),
        SubCode("Stigma in the community", "Being seen and talked about locally.",
                ("I didn't want anyone seeing me go into the chemist every morning.",
                 "People talk round here, so I kept to myself.")),
    )),
    Theme("relationships", "Relationships with professionals and continuity",
          "Trust, continuity of carer, being listened to and advocacy.", "#801650",
          "Can you tell me about the professionals you saw most?", (1.5, 1.2, 1.2, 1.0, 1.0), (
        SubCode("Trusted key worker", "A professional the woman trusts and can reach.",
                ("She was the first one who actually listened, and I could ring her any time.",
                 "Having the same midwife all the way through made all the difference.",
                 "My worker came to the meeting with me and that's the only reason I got through it."),
                ("When it's the same face, women tell us what is really going on.",
                 "The relationship is the intervention, really.")),
        SubCode("Changing staff", "Turnover and having to start again.",
                ("I had three different social workers in six months and had to start again every time.",
                 "Every time I got used to someone they'd leave."),
                ("Staff turnover means women are retelling their story constantly.",)),
        SubCode("Not listened to", "Views and needs not heard.",
                ("I told them what I needed and it went in one ear and out the other.",
                 "They'd already made their minds up before I opened my mouth.")),
        SubCode("Advocacy", "Someone on the woman's side in meetings.",
                ("Having someone in my corner at the meetings meant I could actually speak.",
                 "The advocate explained everything in words I understood."),
                ("An independent advocate at conference changes the dynamic in the room.",)),
    )),
    Theme("integrated", "Integrated and co-located care",
          "Services working together, sharing information, or not.", "#F46A25",
          "How did the different services work together for you?", (1.2, 1.0, 0.8, 0.6, 0.6), (
        SubCode("Co-located services", "Several services in one place.",
                ("Having the drug worker and the midwife in the same building meant I didn't miss things.",
                 "I could do my script review and my check-up on the same day, it just made sense."),
                ("Being in the same clinic means we sort things out in the corridor instead of by email.",
                 "Co-location means a woman only has to tell her story once."),
                key="colocated"),
        SubCode("Information sharing", "Whether information follows the woman.",
                ("Everyone knew what was going on so I didn't have to keep repeating myself.",
                 "Nobody passed anything on, I had to explain it all again at the hospital."),
                ("Without a shared record we rely on phone calls, and things fall through the gaps.",
                 "Good information sharing is what makes the plan safe, not more meetings.")),
        SubCode("Fragmented services", "Services that are hard to reach or do not connect.",
                ("I was sent from one place to another and nobody knew who was meant to be doing what.",
                 "It was three buses to get to the drug service and then the clinic was somewhere else."),
                ("Women are expected to navigate five different services on their own.",
                 "Each service has its own thresholds and none of them line up."),
                key="fragmented"),
    )),
    Theme("opioid", "Opioid treatment and pressure to reduce",
          "Opioid substitution treatment in pregnancy and after birth.", "#3D3D3D",
          "How has your treatment been going?", (1.2, 1.5, 1.5, 1.2, 1.0), (
        SubCode("Pressure to reduce", "Being pushed to reduce or stop treatment.",
                ("After the birth they kept asking when I was going to come down off it.",
                 "I felt like I had to reduce to prove I was a good mum.",
                 "They wanted me off it by six months, but I wasn't ready."),
                ("There is an unwritten expectation that mothers should be reducing.",
                 "Pressure to detox after birth can destabilise women at the riskiest time."),
                key="postnatal"),
        SubCode("Stability on treatment", "Treatment as the base for everything else.",
                ("Once my dose was right I could actually think straight and plan for the baby.",
                 "Being stable on my script is what let me keep going to appointments."),
                ("A stable dose is the foundation for everything else we do.",)),
        SubCode("Doses on the ward", "Getting prescribed doses in hospital.",
                ("On the ward I had to wait hours for my dose and I was rattling.",
                 "Nobody on the ward knew about my prescription, so it was a fight every morning."),
                ("Dose continuity on admission is still a problem; pharmacy and the ward aren't joined up.",),
                key="birth"),
    )),
    Theme("postnatal", "Birth and the postnatal gap",
          "The inpatient stay, neonatal care and support falling away after birth.", "#A285D1",
          "What happened around the birth and after you went home?", (0.3, 3.0, 2.0, 1.0, 0.6), (
        SubCode("Inpatient stay", "Experiences on the postnatal ward.",
                ("In the hospital I felt like I was being watched every time I picked the baby up.",
                 "The staff on the ward wrote down everything I did with the baby.",
                 "I was frightened to leave the bay in case they thought I was using."),
                ("The postnatal ward is where women feel most scrutinised.",
                 "Ward staff get very little training about substance use."),
                key="birth"),
        SubCode("Neonatal withdrawal and neonatal unit", "The baby's withdrawal and stay on the unit.",
                ("Watching the baby withdraw was the hardest thing, I blamed myself every day.",
                 "The nurses on the unit showed me how to settle the baby and that helped me feel like a mum.",
                 "Sitting in the unit for weeks with nowhere to stay was exhausting."),
                ("When mothers can room in and do the care, babies often settle faster.",
                 "Parents need somewhere to stay near the unit, and often there isn't anywhere."),
                key="nnu"),
        SubCode("Support falling away", "Services stopping after birth or after removal.",
                ("Once the baby was born everyone just disappeared.",
                 "The midwife stopped coming and the health visitor didn't start for weeks.",
                 "After the birth, nobody asked how I was doing."),
                ("Everything is built around pregnancy and then support stops dead after discharge.",
                 "Women whose babies are removed are left with nothing, just when risk is highest."),
                key="gap"),
    )),
    Theme("placements", "Mother-and-baby placements",
          "Access to and life in mother-and-baby placements and residential rehab.", "#2073BC",
          "Can you tell me about where you and the baby stayed?", (0.5, 1.0, 0.8, 0.5, 0.3), (
        SubCode("Access to placement", "Whether a placement was available.",
                ("They said there were no places, so the baby went to foster care.",
                 "Getting a place in the unit is the reason the baby is still with me.",
                 "We were on the list for a placement for months and it never came up."),
                ("Where we can get a placement, babies stay with their mums; where we can't, they go to foster care.",
                 "The waiting list for a placement can be longer than the pregnancy."),
                key="placement", women_when=("foster", "mbp", "")),
        SubCode("Life in placement", "Being assessed while living in a placement.",
                ("It was strict in the placement, but it gave me a chance to prove myself.",
                 "Being watched all the time in there was hard, but I learned a lot."),
                ("A placement gives time to assess parenting in real life rather than on paper.",),
                key="mbp"),
        SubCode("Rehab with baby", "Residential rehab with or without the baby.",
                ("Going into rehab with the baby was the first time I felt we were a family.",
                 "I wanted to go to rehab, but there was nowhere that would take me with the baby."),
                ("Residential rehab that takes mother and baby together is rare and hard to fund.",),
                key="rehab", women_when=("rehab_with_baby", "")),
    )),
    Theme("trauma", "Trauma and mental health",
          "Past trauma, anxiety and depression, grief after removal, trauma-informed care.",
          "#6BACE6", "How have you been feeling in yourself?", (1.2, 1.2, 1.3, 1.3, 1.3), (
        SubCode("Past trauma", "Childhood and adult trauma.",
                ("Stuff from when I was a kid came back up when I was pregnant.",
                 "I started using to block things out, that's the truth of it."),
                ("Nearly every woman we see has a history of trauma, often going back to childhood.",
                 "Trauma-informed practice is in the policy, but not always in the room.")),
        SubCode("Anxiety and depression", "Low mood, anxiety and waiting for help.",
                ("Some days I couldn't get out of bed, never mind go to appointments.",
                 "The anxiety was through the roof before every meeting.",
                 "I asked for counselling and I'm still waiting."),
                ("Perinatal mental health services often exclude women who are using.",)),
        SubCode("Grief after removal", "Loss when a baby is removed.",
                ("When they took the baby it felt like a bereavement that nobody recognised.",
                 "I went home to an empty cot and nobody came."),
                ("There is almost no support for mothers after a removal, and that is when they relapse.",),
                key="removed"),
    )),
    Theme("housing", "Housing and poverty", "Unsafe housing, money and benefits.", "#B9529F",
          "What about housing and money?", (1.0, 0.8, 1.0, 1.0, 1.0), (
        SubCode("Unsafe housing", "Housing not fit for a baby.",
                ("The flat had damp everywhere and I couldn't bring a baby back to that.",
                 "I was in a hostel when I was pregnant, with people using all around me."),
                ("Housing is often the thing that decides whether a baby can go home.",)),
        SubCode("Money and benefits", "Income, benefits and costs of attending.",
                ("My money got stopped and I had nothing ready for the baby coming.",
                 "Getting to all the appointments costs money I didn't have."),
                ("We spend a lot of time on benefits problems that no one else picks up.",)),
    )),
    Theme("peer", "Peer support", "Support from people with lived experience and other mothers.",
          "#E8A500", "Did you have support from other women or groups?", (0.5, 0.5, 0.8, 1.0, 1.2), (
        SubCode("Peer mentors", "Support from a peer worker or mentor.",
                ("Talking to someone who'd been through it meant more than any leaflet.",
                 "My peer mentor didn't judge me, she'd been there herself."),
                ("Peer workers reach women we can't, because they have lived it.",)),
        SubCode("Groups with other mothers", "Groups and meeting other mothers.",
                ("The mums' group was the only place I didn't feel like the odd one out.",
                 "Meeting other women in the same boat made me feel less alone.")),
    )),
    Theme("partners", "Partners", "Partners' support, drug use and abuse.", "#5E8C31",
          "How has your partner been involved?", (1.0, 1.0, 1.0, 1.0, 1.0), (
        SubCode("Supportive partner", "A partner who helps.",
                ("My partner came to every appointment, he kept me going.",
                 "Having my partner on board made the plan work."),
                ("Partners are often left out of assessments, even when they're part of the plan.",)),
        SubCode("Partner's drug use", "A partner who uses drugs.",
                ("It was hard staying off when my partner was still using in the house.",
                 "They said the baby couldn't come home while he was there."),
                ("We assess the mother in detail and barely speak to the father.",)),
        SubCode("Domestic abuse", "Abuse by a partner.",
                ("I couldn't tell anyone what was going on at home, it wasn't safe.",
                 "Leaving him meant losing the flat, so I stayed longer than I should have."),
                ("Domestic abuse is often the hidden risk behind the drug use.",),
                key="abuse"),
    )),
)

OPENERS = ("", "", "Yeah. ", "Well. ", "Hmm. ", "Right. ", "Honestly? ")
CLOSERS = ("", "", " That's how it was.", " I don't know.", " It still gets to me.",
           " That's the truth.", " Yeah.")
SMALL_TALK = (
    ("How have things been since we last spoke?", "Up and down. Busy, tired."),
    ("Is there anything else you want to add?", "No, I think that's everything."),
    ("Do you want to take a break?", "No, I'm fine, keep going."),
)
SITE_GAP = {"east_london": 0.8, "huddersfield": 1.3, "glasgow": 0.8, "ayrshire": 1.6}
SITE_SHORT = {"east_london": "EL", "huddersfield": "HD", "glasgow": "GG", "ayrshire": "AA"}

ROLES: dict[str, str] = {  # role -> services.csv label of the service they work in
    "Specialist midwife": "Specialist midwife",
    "Community midwife": "Community midwife",
    "Drug worker": "Drug treatment service",
    "Social worker": "Children's social care",
    "Health visitor": "Health visitor",
    "Peer support worker": "Third sector and peer support",
    "Perinatal mental health nurse": "Perinatal mental health",
    "Neonatal nurse": "Neonatal unit",
    "Obstetrician": "Obstetrician",
    "GP": "GP",
    "Service manager": "Drug treatment service",
    "Social work team manager": "Children's social care",
    "Midwifery lead": "Specialist midwife",
    "Neonatal consultant": "Neonatal unit",
    "Housing officer": "Housing",
}
FRONTLINE = ("Specialist midwife", "Drug worker", "Social worker", "Health visitor",
             "Peer support worker", "Perinatal mental health nurse", "Neonatal nurse",
             "Obstetrician", "GP", "Community midwife")
SENIOR = ("Service manager", "Social work team manager", "Midwifery lead", "Neonatal consultant",
          "Housing officer")


def codebook_rows() -> list[tuple[str, str, str]]:
    """Return the codebook as (Code path, Description, Colour) rows: theme then its sub-codes."""
    rows: list[tuple[str, str, str]] = []
    for theme in THEMES:
        rows.append((theme.name, theme.description, theme.colour))
        for sub in theme.subcodes:
            rows.append((f"{theme.name}\\{sub.name}", sub.description, theme.colour))
    return rows


@dataclass
class Document:
    """One transcript and its codings."""

    name: str
    text: str
    codings: list[tuple[str, int, int, str]]  # (code path, start, end, coded text)
    coder: str


class _TranscriptBuilder:
    """Append lines and remember code-point offsets of coded quotes."""

    def __init__(self, header_lines: list[str]) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.codings: list[tuple[str, int, int, str]] = []
        for line in header_lines:
            self.line(line)
        self.line("")

    def line(self, text: str) -> None:
        self.parts.append(text + "\n")
        self.length += len(text) + 1

    def coded_line(self, prefix: str, before: str, quote: str, after: str, code: str) -> None:
        start = self.length + len(prefix) + len(before)
        self.codings.append((code, start, start + len(quote), quote))
        self.line(prefix + before + quote + after)

    def text(self) -> str:
        return "".join(self.parts)


def _subcode_factor(sub: SubCode, wave: int, w: Woman, flags: dict[str, bool]) -> float:
    key = sub.key
    if key == "concern":
        return 2.0 if w.concern and wave <= 2 else 0.2
    if key == "colocated":
        return 2.0 if flags["colocated"] else 0.3
    if key == "fragmented":
        return 2.0 if not flags["colocated"] else 0.3
    if key == "postnatal":
        return 1.5 if wave >= 2 else 0.2
    if key == "birth":
        return 3.0 if wave == 2 else 0.1
    if key == "nnu":
        return 3.0 if wave == 2 and w.nnu else 0.1
    if key == "gap":
        return (2.0 if wave in (2, 3) else 0.6) * SITE_GAP[w.site] if wave >= 2 else 0.0
    if key == "placement":
        return 2.0 if w.concern else 0.3
    if key == "mbp":
        return 3.0 if any(p == "mother_baby_placement" for _, p in w.placements) and wave >= 2 else 0.0
    if key == "rehab":
        return 2.5 if w.rehab else 0.2
    if key == "removed":
        return 3.0 if flags["removed"] else 0.0
    if key == "abuse":
        return 2.0 if w.domestic_abuse else 0.0
    return 1.0


def _conditions(w: Woman) -> dict[str, bool]:
    """Which quote conditions hold for a woman."""
    return {
        "": True,
        "foster": any(p == "foster_care" for _, p in w.placements),
        "mbp": any(p == "mother_baby_placement" for _, p in w.placements),
        "rehab_with_baby": bool(w.rehab and w.rehab[2]),
    }


def _pick_quote(rng: np.random.Generator, sub: SubCode, holds: dict[str, bool]) -> str:
    """Pick one of the sub-code's women's quotes whose condition holds for this woman."""
    if not sub.women_when:
        return sub.women[int(rng.integers(0, len(sub.women)))]
    when = sub.women_when
    options = [q for q, cond in zip(sub.women, when) if holds[cond]]
    return options[int(rng.integers(0, len(options)))]


def woman_documents(rng: np.random.Generator, women: list[Woman],
                    colocated: dict[str, bool]) -> list[Document]:
    """One coded transcript per completed interview of each recruited woman."""
    wave_names = {1: "Pregnancy", 2: "Birth / 6-8 weeks", 3: "6 months", 4: "12 months",
                  5: "18 months"}
    catalogue = [(theme, sub) for theme in THEMES for sub in theme.subcodes]
    documents: list[Document] = []
    base = {wave: np.array([theme.wave_weights[wave - 1] / len(theme.subcodes)
                            for theme, _ in catalogue]) for wave in range(1, 6)}
    for w in women:
        if not w.consented:
            continue
        holds = _conditions(w)
        for wave, status in sorted(w.wave_status.items()):
            if status != 1:
                continue
            day = w.wave_day[wave]
            flags = {"colocated": colocated[w.site], "removed": w.removed_on(day)}
            weights = base[wave] * np.array([
                _subcode_factor(sub, wave, w, flags)
                * (SITE_GAP[w.site] if theme.key == "postnatal" and wave >= 2 else 1.0)
                * (1.4 if theme.key == "peer" and colocated[w.site] else 1.0)
                for theme, sub in catalogue
            ])
            n = int(min(rng.integers(5, 10), np.count_nonzero(weights)))
            chosen = rng.choice(len(catalogue), size=n, replace=False, p=weights / weights.sum())
            name = f"{w.study_id}_W{wave}"
            builder = _TranscriptBuilder([
                TRANSCRIPT_BANNER, f"Document: {name}", f"Wave {wave}: {wave_names[wave]}",
            ])
            small = SMALL_TALK[int(rng.integers(0, 2))]
            builder.line(f"I: {small[0]}")
            builder.line(f"R: {small[1]}")
            for index in chosen:
                theme, sub = catalogue[index]
                quote = _pick_quote(rng, sub, holds)
                builder.line(f"I: {theme.question}")
                builder.coded_line("R: ", OPENERS[int(rng.integers(0, len(OPENERS)))], quote,
                                   CLOSERS[int(rng.integers(0, len(CLOSERS)))],
                                   f"{theme.name}\\{sub.name}")
            builder.line(f"I: {SMALL_TALK[1][0]}")
            builder.line(f"R: {SMALL_TALK[1][1]}")
            coder = "Coder A" if rng.random() < 0.6 else "Coder B"
            documents.append(Document(name, builder.text(), builder.codings, coder))
    return documents


@dataclass(frozen=True)
class Professional:
    """A synthetic professional who took part in a focus group or an interview."""

    prof_id: str
    site: str
    role: str
    service: str
    data_collection: str
    document: str


def professionals_and_documents(
    rng: np.random.Generator, scale: int, sites: list[str], colocated: dict[str, bool],
    site_labels: dict[str, str], mbu_access: dict[str, str],
) -> tuple[list[Professional], list[Document]]:
    """Focus groups (2 per site per scale unit) and individual interviews (3 per unit)."""
    professionals: list[Professional] = []
    documents: list[Document] = []
    n_fg, n_pi = 2 * scale, 3 * scale
    doc_width = max(2, len(str(max(n_fg, n_pi))))
    for site in sites:
        short = SITE_SHORT[site]
        members: list[tuple[str, list[str]]] = []
        frontline = [r for r in FRONTLINE
                     if not (site == "ayrshire" and r == "Specialist midwife")
                     and not (site != "ayrshire" and r == "Community midwife")]
        for k in range(n_fg):
            size = int(rng.integers(4, 7))
            roles = [frontline[i] for i in rng.choice(len(frontline), size=size, replace=False)]
            members.append((f"FG-{short}-{k + 1:0{doc_width}d}", roles))
        for k in range(n_pi):
            members.append((f"PI-{short}-{k + 1:0{doc_width}d}",
                            [SENIOR[int(rng.integers(0, len(SENIOR)))]]))
        total = sum(len(r) for _, r in members)
        width = max(2, len(str(total)))
        counter = 0
        for document, roles in members:
            people = []
            for role in roles:
                counter += 1
                prof = Professional(
                    prof_id=f"PR-{short}-{counter:0{width}d}", site=site_labels[site], role=role,
                    service=ROLES[role],
                    data_collection="Focus group" if document.startswith("FG") else "Interview",
                    document=document,
                )
                professionals.append(prof)
                people.append(prof)
            documents.append(_professional_document(rng, document, people, site, colocated,
                                                    mbu_access))
    return professionals, documents


def _professional_document(rng: np.random.Generator, name: str, people: list[Professional],
                           site: str, colocated: dict[str, bool],
                           mbu_access: dict[str, str]) -> Document:
    group = name.startswith("FG")
    catalogue = [(theme, sub) for theme in THEMES for sub in theme.subcodes if sub.professionals]
    weights = []
    for theme, sub in catalogue:
        weight = 1.0
        if sub.key == "colocated":
            weight = 2.5 if colocated[site] else 0.2
        elif sub.key == "fragmented":
            weight = 2.5 if not colocated[site] else 0.3
        elif sub.key == "gap" or theme.key == "postnatal":
            weight = 1.5 * SITE_GAP[site]
        elif sub.key == "placement":
            weight = 2.5 if mbu_access[site] in ("limited", "few") else 1.0
        weights.append(weight)
    p = np.array(weights) / sum(weights)
    n = int(rng.integers(8, 15) if group else rng.integers(5, 10))
    chosen = rng.choice(len(catalogue), size=min(n, len(catalogue)), replace=False, p=p)
    facilitator = "Facilitator" if group else "Interviewer"
    builder = _TranscriptBuilder([
        TRANSCRIPT_BANNER, f"Document: {name}",
        f"{'Focus group' if group else 'Interview'} with professionals",
    ])
    builder.line(f"{facilitator}: Thank you all for coming. Can you say what your role is?"
                 if group else f"{facilitator}: Can you tell me about your role?")
    for person in people:
        builder.line(f"{person.prof_id} ({person.role}): My role is {person.role.lower()}.")
    for index in chosen:
        theme, sub = catalogue[index]
        person = people[int(rng.integers(0, len(people)))]
        quote = sub.professionals[int(rng.integers(0, len(sub.professionals)))]
        builder.line(f"{facilitator}: What about {theme.name.lower()}?")
        builder.coded_line(f"{person.prof_id} ({person.role}): ",
                           "", quote, "", f"{theme.name}\\{sub.name}")
    coder = "Coder A" if rng.random() < 0.5 else "Coder C"
    return Document(name, builder.text(), builder.codings, coder)
