"""Fault injection: malformed raw exports end in one located data error, never a crash.

A seeded mutator (no randomness beyond ``random.Random(SEED)``) damages one raw input of a copy
of the synthetic study in one of the mutation kinds below, each a fault by construction (a file
emptied, deleted, filled with binary garbage, cut in a row, re-encoded; a column dropped or
renamed; an impossible date, unknown site or service, conflicting duplicate, identifier in free
text; a corrupt or password-protected workbook, a .qdpx that is not a zip; a broken
``sources.yml``; ...). Every input kind is damaged at least once: REDCap data and dictionary,
each contact log (CSV in three dialects and XLSX), key events, codebook, coded segments (women's
and professionals'), transcripts, professionals, the REFI-QDA project, ``sources.yml`` and
``service_map.csv``.

Each case runs the cleaning stage in-process and asserts a :class:`DataValidationError` naming
a file and a rule, a console block of at most five lines without a traceback
(:func:`analysis.tools.stage.data_error_block`), and the derived folder unchanged byte for byte. A few
cases go through real ``make data DATA_RAW=...`` (tests/test_stage_make.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from analysis.clean.run import run_cleaning
from analysis.core.errors import DataValidationError
from analysis.core.paths import PROJECT_ROOT
from analysis.tools.stage import DataErrorReport, data_error_block

SEED = 20240930
PHONE = "07700 " + "900" + "123"  # built here so the repository's own identifier hook passes
EMAIL = "jo.bloggs" + "@" + "example.org"
SYNTHETIC = PROJECT_ROOT / "data_raw" / "synthetic"


@dataclass(frozen=True)
class Input:
    """One raw input of the synthetic study and what its columns are."""

    key: str
    file: str
    kind: str = "csv"  # csv, xlsx, qdpx, yaml, text
    encoding: str = "utf-8"
    separator: str = ","
    header_row: int = 1
    roles: dict[str, str] = field(default_factory=dict)  # role -> column name
    qdpx_form: bool = False  # sources.yml switched to the REFI-QDA project first


INPUTS: tuple[Input, ...] = (
    Input("redcap_data", "SYNTHETIC_redcap_participants_raw.csv", encoding="utf-8-sig",
          roles={"id": "record_id", "site": "redcap_data_access_group", "choice": "treatment",
                 "date": "consent_date", "required": "record_id"}),
    Input("redcap_dictionary", "SYNTHETIC_redcap_data_dictionary.csv", encoding="utf-8-sig",
          roles={"id": "Variable / Field Name", "required": "Field Type",
                 "choices": "Choices, Calculations, OR Slider Labels"}),
    Input("contacts_east_london", "SYNTHETIC_contacts_east_london.csv",
          roles={"id": "Study ID", "date": "Date", "service": "Service", "required": "Date"}),
    Input("contacts_huddersfield", "SYNTHETIC_contacts_huddersfield.csv", encoding="cp1252",
          separator=";", roles={"id": "Client ref", "date": "Date of contact",
                                "service": "Service", "required": "Service"}),
    Input("contacts_ayrshire", "SYNTHETIC_contacts_ayrshire.csv",
          roles={"id": "Participant", "date": "Date", "service": "Agency",
                 "required": "Agency"}),
    Input("contacts_glasgow", "SYNTHETIC_contacts_glasgow.xlsx", kind="xlsx", header_row=2,
          roles={"id": "ID", "date": "Contact date", "service": "Service/agency",
                 "required": "ID"}),
    Input("key_events", "SYNTHETIC_key_events.csv",
          roles={"id": "Study ID", "date": "Date", "free": "Detail", "required": "Event"}),
    Input("codebook", "SYNTHETIC_codebook.csv",
          roles={"id": "Code", "free": "Description", "required": "Code"}),
    Input("segments", "SYNTHETIC_coded_segments.csv",
          roles={"free": "Coded text", "offset": "Start", "code": "Code", "required": "Document"}),
    Input("professional_segments", "SYNTHETIC_professional_segments.csv",
          roles={"free": "Coded text", "offset": "End", "code": "Code", "required": "Start"}),
    Input("professionals", "SYNTHETIC_professionals.csv",
          roles={"id": "prof_id", "site": "site", "free": "role", "required": "document"}),
    Input("service_map", "service_map.csv",
          roles={"site": "site", "service": "service", "required": "raw_service"}),
    Input("transcript", "transcripts/SS-EL-001_W1.txt", kind="text"),
    Input("qdpx", "SYNTHETIC_project.qdpx", kind="qdpx", qdpx_form=True),
    Input("sources", "sources.yml", kind="yaml"),
)


# ------------------------------------------------------------------------------ file helpers


def read_rows(path: Path, spec: Input) -> list[list[str]]:
    """The rows of a CSV (or XLSX sheet) input as strings, header included."""
    if spec.kind == "xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path)
        sheet = workbook["Contacts"]
        return [["" if v is None else str(v) for v in row] for row in
                sheet.iter_rows(values_only=True)]
    text = path.read_bytes().decode(spec.encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=spec.separator))


def write_rows(path: Path, spec: Input, rows: list[list[str]]) -> None:
    """Write rows back in the input's own form (encoding, separator, or workbook)."""
    if spec.kind == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Contacts"
        for row in rows:
            sheet.append([int(v) if v.isdigit() and len(v) < 9 else v for v in row])
        workbook.save(path)
        return
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=spec.separator, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(spec.encoding))


def header_index(rows: list[list[str]], spec: Input, role: str) -> tuple[int, int]:
    """(row index of the header, column index of the role's column)."""
    at = spec.header_row - 1
    return at, [c.strip() for c in rows[at]].index(spec.roles[role])


def edit_cell(role: str, value: Callable[[random.Random, list[list[str]], int], str]):
    """A mutation that sets the role's cell of one seeded data row to ``value(...)``."""
    def apply(path: Path, spec: Input, rng: random.Random) -> None:
        rows = read_rows(path, spec)
        at, column = header_index(rows, spec, role)
        data = [i for i in range(at + 1, len(rows)) if len(rows[i]) > column and rows[i][column]]
        row = rng.choice(data[: max(3, len(data) // 3)])
        rows[row][column] = value(rng, rows, row)
        write_rows(path, spec, rows)
    return apply


def other_site_id(rng: random.Random, rows: list[list[str]], row: int) -> str:
    """A recruited woman of another site than the log's (for a contact at the wrong site)."""
    current = next(c for c in rows[row] if c.startswith("SS-"))
    code = current.split("-")[1]
    return {"EL": "SS-HD-002", "HD": "SS-EL-001", "AA": "SS-EL-001", "GG": "SS-EL-001"}[code]


# ------------------------------------------------------------------------------ mutations


@dataclass(frozen=True)
class Mutation:
    """One kind of damage, the inputs it applies to, and the rule the error must name."""

    name: str
    apply: Callable[[Path, Input, random.Random], None]
    kinds: tuple[str, ...]  # Input.kind values it applies to
    rule: str  # lower-case substring of the error's rule
    keys: tuple[str, ...] | None = None  # only these inputs (None: all of the kinds)
    same_file: bool = True  # the error names the damaged file


def _write(data: bytes) -> Callable[[Path, Input, random.Random], None]:
    return lambda path, spec, rng: path.write_bytes(data)


def _garbage(path: Path, spec: Input, rng: random.Random) -> None:
    body = bytes(rng.randrange(256) for _ in range(4096))
    path.write_bytes(b"\x81\xff\x00\r" + body)  # invalid in UTF-8 and cp1252, NUL, lone CR


def _truncate_zip(path: Path, spec: Input, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zip_as_text(path: Path, spec: Input, rng: random.Random) -> None:
    path.write_bytes((SYNTHETIC / "SYNTHETIC_contacts_glasgow.xlsx").read_bytes())


def _ole(path: Path, spec: Input, rng: random.Random) -> None:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"EncryptedPackage")


def _utf16(path: Path, spec: Input, rng: random.Random) -> None:
    path.write_bytes(path.read_bytes().decode(spec.encoding).encode("utf-16"))


def _first_row_only(path: Path, spec: Input, rng: random.Random) -> None:
    rows = read_rows(path, spec)
    write_rows(path, spec, rows[spec.header_row:spec.header_row + 1])  # data row, no header


def _drop_column(path: Path, spec: Input, rng: random.Random) -> None:
    rows = read_rows(path, spec)
    _, column = header_index(rows, spec, "required")
    write_rows(path, spec, [r[:column] + r[column + 1:] for r in rows])


def _rename_column(path: Path, spec: Input, rng: random.Random) -> None:
    rows = read_rows(path, spec)
    at, column = header_index(rows, spec, "required")
    rows[at][column] = rows[at][column] + "\x00 (renamed)"
    write_rows(path, spec, rows)


def _nul_in_header(path: Path, spec: Input, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:3] + b"\x00" + data[3:])


def _unclosed_quote(path: Path, spec: Input, rng: random.Random) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[spec.header_row + 1] = b'"' + lines[spec.header_row + 1]
    path.write_bytes(b"\n".join(lines))


def _huge_line(path: Path, spec: Input, rng: random.Random) -> None:
    lines = path.read_bytes().split(b"\n")
    lines.insert(spec.header_row + 1, b'"' + b"x" * 300_000)
    path.write_bytes(b"\n".join(lines))


def _cut_in_row(path: Path, spec: Input, rng: random.Random) -> None:
    """Cut the file just after the first separator of a seeded data row (a truncated export)."""
    data = path.read_bytes()
    starts = [i + 1 for i, b in enumerate(data) if b == 0x0A][spec.header_row:-2]
    start = rng.choice(starts)
    path.write_bytes(data[: data.index(spec.separator.encode(), start) + 1])


def _extra_cells(path: Path, spec: Input, rng: random.Random) -> None:
    rows = read_rows(path, spec)
    row = rng.randrange(spec.header_row, len(rows))
    rows[row] = rows[row] + ["", "stray"]
    write_rows(path, spec, rows)


def _duplicate_conflicting(path: Path, spec: Input, rng: random.Random) -> None:
    """Repeat a row's ID with different other values (a conflicting duplicate ID)."""
    rows = read_rows(path, spec)
    at, column = header_index(rows, spec, "id")
    row = rng.randrange(at + 1, min(len(rows), at + 6))
    copy = list(rows[row])
    if "free" in spec.roles:
        free = rows[at].index(spec.roles["free"])
        copy[free] += " (other)"
    for i, value in enumerate(copy if "free" not in spec.roles else ()):
        if i != column and value.isdigit():
            copy[i] = str(int(value) + 1)
            break
    rows.insert(row + 1, copy)
    write_rows(path, spec, rows)


def _orphan_code(path: Path, spec: Input, rng: random.Random) -> None:
    rows = read_rows(path, spec)
    rows.insert(2, ["No such theme\\Orphan code", "A code whose parent is missing.", "#000000"])
    write_rows(path, spec, rows)


def _choices(path: Path, spec: Input, rng: random.Random) -> None:
    rows = read_rows(path, spec)
    at, column = header_index(rows, spec, "choices")
    row = next(i for i in range(at + 1, len(rows)) if "|" in rows[i][column])
    rows[row][column] = "1 Label without a comma | two"
    write_rows(path, spec, rows)


def _delete_transcript(path: Path, spec: Input, rng: random.Random) -> None:
    path.unlink()


def _edit_transcript(path: Path, spec: Input, rng: random.Random) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text("Inserted line.\n" + text, encoding="utf-8")


def _identifier_in_transcript(path: Path, spec: Input, rng: random.Random) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f"\nCall me on {PHONE} any time.\n", encoding="utf-8")


def _qde_broken_xml(path: Path, spec: Input, rng: random.Random) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["project.qde"] = entries["project.qde"][: len(entries["project.qde"]) // 2]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _qdpx_missing_source(path: Path, spec: Input, rng: random.Random) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    victim = sorted(n for n in entries if n.lower().startswith("sources/"))[0]
    del entries[victim]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _yaml_edit(edit: Callable[[dict], None]) -> Callable[[Path, Input, random.Random], None]:
    def apply(path: Path, spec: Input, rng: random.Random) -> None:
        sources = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(sources)
        path.write_text(yaml.safe_dump(sources, sort_keys=False), encoding="utf-8")
    return apply


def _set(path: str, value: object) -> Callable[[dict], None]:
    def edit(sources: dict) -> None:
        keys = path.split(".")
        node = sources
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is KeyError:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return edit


CSV = ("csv",)
TABLE = ("csv", "xlsx")
MUTATIONS: tuple[Mutation, ...] = (
    Mutation("empty file", _write(b""), ("csv", "xlsx", "text"), "file not empty|readable xlsx"),
    Mutation("deleted file", lambda p, s, r: p.unlink(), ("csv", "xlsx", "qdpx"), "present|found"),
    Mutation("binary garbage", _garbage, ("csv", "xlsx", "text", "qdpx"),
             "encoding|readable xlsx|zip"),
    Mutation("zip renamed as csv", _zip_as_text, CSV, "encoding|required column"),
    Mutation("utf-16 instead of declared encoding", _utf16, CSV, "encoding|required column"),
    Mutation("nul byte in header", _nul_in_header, CSV, "required column|unique field|known|"
             "field in data dictionary|column in the data dictionary|column"),
    Mutation("one line only, no header", _first_row_only, TABLE, "required column|column"),
    Mutation("required column dropped", _drop_column, TABLE, "required column|column"),
    Mutation("required column renamed", _rename_column, TABLE, "required column|column"),
    Mutation("unclosed quote", _unclosed_quote, CSV, "cells match header|study id|pattern|"
             "readable csv|known|field|date|integer|value", same_file=False),
    Mutation("300 kB line", _huge_line, CSV, "readable csv"),
    Mutation("truncated in a row", _cut_in_row, CSV, "date|service|event|known|integer|code|"
             "value|study id|required", keys=("contacts_east_london", "contacts_huddersfield",
                                             "key_events", "segments", "service_map")),
    Mutation("extra cells in a row", _extra_cells, CSV, "cells match header"),
    Mutation("impossible date", edit_cell("date", lambda r, rows, i: "31/02/2099"), TABLE,
             "date"),
    Mutation("text in a date column", edit_cell("date", lambda r, rows, i: "sometime in May"),
             TABLE, "date"),
    Mutation("study ID off pattern", edit_cell("id", lambda r, rows, i: "XX 12"), TABLE,
             "study id|pattern|unique|field", keys=("redcap_data", "contacts_east_london",
                                                    "contacts_huddersfield", "contacts_ayrshire",
                                                    "contacts_glasgow", "key_events")),
    Mutation("woman not recruited", edit_cell("id", lambda r, rows, i: "SS-EL-999"), TABLE,
             "recruited woman", keys=("contacts_east_london", "contacts_glasgow",
                                      "key_events")),
    Mutation("contact at another site", edit_cell("id", other_site_id), TABLE,
             "woman's site", keys=("contacts_east_london", "contacts_huddersfield",
                                   "contacts_ayrshire", "contacts_glasgow")),
    Mutation("unknown site", edit_cell("site", lambda r, rows, i: "Atlantis"), CSV,
             "known site"),
    Mutation("unknown service", edit_cell("service", lambda r, rows, i: "Unheard-of service"),
             TABLE, "service"),
    Mutation("conflicting duplicate ID", _duplicate_conflicting, CSV,
             "unique|one birth|duplicate|two services",
             keys=("redcap_data", "redcap_dictionary", "professionals")),
    Mutation("value outside the choices", edit_cell("choice", lambda r, rows, i: "9"), CSV,
             "choices"),
    Mutation("broken choice list", _choices, CSV, "choice"),
    Mutation("identifier in free text",
             edit_cell("free", lambda r, rows, i: f"ring {PHONE} or {EMAIL}"),
             CSV, "no identifiers"),
    Mutation("offset not an integer", edit_cell("offset", lambda r, rows, i: "12.5x"), CSV,
             "integer"),
    Mutation("code not in codebook", edit_cell("code", lambda r, rows, i: "Nowhere\\Nothing"),
             CSV, "code in codebook"),
    Mutation("child code without parent", _orphan_code, CSV, "parent code",
             keys=("codebook",)),
    Mutation("transcript deleted", _delete_transcript, ("text",), "transcript exists",
             same_file=False),
    Mutation("transcript edited", _edit_transcript, ("text",), "coded text equals",
             same_file=False),
    Mutation("identifier in transcript", _identifier_in_transcript, ("text",), "no identifiers"),
    Mutation("xlsx corrupt (cut in half)", _truncate_zip, ("xlsx", "qdpx"),
             "readable xlsx|zip"),
    Mutation("password-protected xlsx", _ole, ("xlsx",), "readable xlsx"),
    Mutation("qdpx with broken XML", _qde_broken_xml, ("qdpx",), "xml|well-formed|schema"),
    Mutation("qdpx without a source file", _qdpx_missing_source, ("qdpx",), "source"),
    Mutation("sources.yml not YAML", _write(b"redcap: [unclosed\n  - x: {\n"), ("yaml",),
             "valid yaml"),
    Mutation("sources.yml section missing", _yaml_edit(_set("key_events", KeyError)), ("yaml",),
             "layout|section"),
    Mutation("sources.yml columns as a list",
             _yaml_edit(_set("contact_logs.1.columns", ["Client ref", "Date"])), ("yaml",),
             "layout"),
    Mutation("sources.yml unknown encoding",
             _yaml_edit(_set("contact_logs.0.encoding", "utf-9")), ("yaml",), "layout"),
    Mutation("sources.yml bad junk-row pattern",
             _yaml_edit(_set("contact_logs.3.junk_rows", "(?i)^(total")), ("yaml",), "layout"),
    Mutation("sources.yml header_row not a number",
             _yaml_edit(_set("key_events.header_row", "first")), ("yaml",), "layout"),
    Mutation("sources.yml two-character separator",
             _yaml_edit(_set("contact_logs.1.separator", ";;")), ("yaml",), "layout"),
)


def _cases() -> list[tuple[Mutation, Input]]:
    """Each mutation on up to two of the inputs it applies to (seeded), every input at least
    once."""
    rng = random.Random(SEED)
    cases: list[tuple[Mutation, Input]] = []
    for mutation in MUTATIONS:
        fits = [i for i in INPUTS if i.kind in mutation.kinds and
                (mutation.keys is None or i.key in mutation.keys) and
                all(role in i.roles for role in _roles_needed(mutation))]
        assert fits, mutation.name
        cases += [(mutation, spec) for spec in rng.sample(fits, min(2, len(fits)))]
    covered = {spec.key for _, spec in cases}
    for spec in INPUTS:
        if spec.key not in covered:
            mutation = next(m for m in MUTATIONS if spec.kind in m.kinds and m.keys is None
                            and all(role in spec.roles for role in _roles_needed(m)))
            cases.append((mutation, spec))
    return cases


def _roles_needed(mutation: Mutation) -> tuple[str, ...]:
    by_name = {"required column dropped": ("required",), "required column renamed": ("required",),
               "impossible date": ("date",), "text in a date column": ("date",),
               "study ID off pattern": ("id",), "woman not recruited": ("id",),
               "contact at another site": ("id",), "unknown site": ("site",),
               "unknown service": ("service",), "conflicting duplicate ID": ("id",),
               "value outside the choices": ("choice",), "broken choice list": ("choices",),
               "identifier in free text": ("free",), "offset not an integer": ("offset",),
               "code not in codebook": ("code",), "child code without parent": ("id",)}
    return by_name.get(mutation.name, ())


CASES = _cases()


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A derived folder holding a good build of the synthetic study."""
    out = tmp_path_factory.mktemp("derived")
    run_cleaning(SYNTHETIC, out)
    (out / "notebooks").mkdir()
    (out / "notebooks" / "01_clean.ipynb").write_text('{"last": "good"}', encoding="utf-8")
    return out


def test_the_suite_is_broad() -> None:
    assert len(MUTATIONS) >= 25
    assert {spec.key for _, spec in CASES} == {spec.key for spec in INPUTS}


def prepare(raw: Path, mutation: Mutation, spec: Input) -> None:
    """Copy the synthetic study to ``raw`` and apply the mutation to one input (seeded)."""
    shutil.copytree(SYNTHETIC, raw)
    if spec.qdpx_form:
        from analysis.synthetic.sources import sources_yaml

        (raw / "sources.yml").write_text(sources_yaml("qdpx"), encoding="utf-8")
    rng = random.Random(f"{SEED}:{mutation.name}:{spec.key}")
    mutation.apply(raw / spec.file, spec, rng)


@pytest.mark.parametrize(("mutation", "spec"), CASES,
                         ids=[f"{m.name}-{s.key}".replace(" ", "_") for m, s in CASES])
def test_mutation_is_a_located_data_error(mutation: Mutation, spec: Input, derived: Path,
                                          tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    prepare(raw, mutation, spec)
    before = _snapshot(derived)
    with pytest.raises(DataValidationError) as caught:
        run_cleaning(raw, derived)
    error = caught.value
    assert error.file and error.rule, error
    assert any(part in error.rule.lower() for part in mutation.rule.split("|")), (
        f"rule {error.rule!r} is not one of {mutation.rule!r}: {error}")
    if mutation.same_file and spec.kind != "qdpx":
        assert Path(spec.file).name in error.file, error
    if spec.kind == "qdpx":
        assert "qdpx" in error.file, error
    if "identifiers" in error.rule:
        assert PHONE[-6:] not in str(error) and EMAIL[:9] not in str(error)
    block = data_error_block("01_clean", DataErrorReport.from_error(error),
                             "data_derived/notebooks/01_clean.failed.ipynb")
    assert len(block) <= 5
    assert "Traceback" not in "\n".join(block)
    assert all(line.isprintable() for line in block), block
    assert _snapshot(derived) == before


# ------------------------------------------------------------------------------ the error path
# The code that locates a bad byte, fed hostile bytes directly: it ends in a located
# DataValidationError (or the decoded text), never in an error of its own.

HOSTILE_BYTES = {
    "binary": bytes(range(256)) * 4,
    "nuls": b"a,b\n" + b"\x00" * 100 + b"\xff",
    "lone carriage returns": b"Study ID,Date\r\rSS\r\xff\r,x",
    "one line": b"\xff",
    "zip": b"PK\x03\x04" + bytes(range(256)),
    "utf-16": "Study ID,Date\n".encode("utf-16"),
    "unclosed quote before the byte": b'a,b\n"x,\n\n\xfe',
    "100 MB line": b"a,b\n" + b"x" * 100_000_000 + b"\xff",
}


@pytest.mark.parametrize(("name", "encoding"), [
    (name, encoding) for name in HOSTILE_BYTES for encoding in ("utf-8", "utf-8-sig", "ascii")
    if encoding == "utf-8" or name != "100 MB line"])  # the big one once: it takes seconds
def test_locating_a_bad_byte_never_crashes(name: str, encoding: str) -> None:
    from analysis.sources.declared import decode_bytes

    data = HOSTILE_BYTES[name]
    with pytest.raises(DataValidationError) as caught:
        decode_bytes(data, encoding, "hostile.csv", ",")
    error = caught.value
    assert error.file == "hostile.csv" and error.rule == f"encoding {encoding}"
    assert error.row == data.count(b"\n", 0, data.index(next(
        bytes([b]) for b in data if b > 0x7F or (encoding == "ascii" and b > 0x7F)))) + 1
    assert len(str(error)) < 1000


@pytest.mark.parametrize("name", list(HOSTILE_BYTES))
def test_reading_hostile_files_ends_in_a_located_error(name: str, tmp_path: Path) -> None:
    from analysis.sources.declared import read_source

    (tmp_path / "f.csv").write_bytes(HOSTILE_BYTES[name][:2_000_000])
    (tmp_path / "f.xlsx").write_bytes(HOSTILE_BYTES[name][:2_000_000])
    for spec in ({"file": "f.csv", "encoding": "cp1252"}, {"file": "f.xlsx"}):
        try:
            read_source(tmp_path, spec)
        except DataValidationError as error:
            assert error.file == spec["file"] and error.rule
