"""Parsing REFI-QDA XML safely and validating it against the shipped schemas.

The two schemas (``schemas/Project.xsd`` for ``.qde`` projects, ``schemas/Codebook.xsd`` for
``.qdc`` codebooks) are the REFI-QDA 1.0 ones, copied with their MIT notice. Validation uses lxml
(libxml2), which also gives each element's line for error messages.

Known deviations of real exports are tolerated before validation, each with a
:class:`~analysis.sources.qda.errors.QdaWarning`: empty optional containers such as ``<Sets/>`` (the schema
requires at least one child), and GUIDs in upper case or braces (valid, but noted). Anything else
the schema rejects is a :class:`~analysis.sources.qda.errors.QdaError` naming the line and element.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from lxml import etree

from analysis.sources.qda.errors import DeviationLog, QdaError
from analysis.sources.qda.guids import is_canonical_guid

NS_PROJECT = "urn:QDA-XML:project:1.0"
"""XML namespace of a REFI-QDA project (``.qde``)."""

NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
"""XML namespace of a REFI-QDA codebook (``.qdc``)."""

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
"""Folder with ``Project.xsd``, ``Codebook.xsd`` and their licence."""

DocumentKind = Literal["project", "codebook"]

_ROOTS: dict[DocumentKind, tuple[str, str, str]] = {
    "project": (NS_PROJECT, "Project", "Project.xsd"),
    "codebook": (NS_CODEBOOK, "CodeBook", "Codebook.xsd"),
}

_OPTIONAL_CONTAINERS: dict[DocumentKind, tuple[str, ...]] = {
    "project": ("Users", "Variables", "Cases", "Sources", "Notes", "Links", "Sets", "Graphs"),
    "codebook": ("Sets",),
}
"""Direct children of the root that may be left out, but must not be empty if present."""

GUID_ATTRIBUTES = (
    "guid", "targetGUID", "creatingUser", "modifyingUser", "creatingUserGUID",
    "modifyingUserGUID", "representedGUID", "sourceVertex", "targetVertex", "originGUID",
    "fromSyncPoint", "toSyncPoint",
)
"""Attributes that hold GUIDs anywhere in a REFI-QDA document."""


def qname(kind: DocumentKind, local: str) -> str:
    """Return the Clark name ``{namespace}local`` of element *local* in a *kind* document."""
    return f"{{{_ROOTS[kind][0]}}}{local}"


def local_name(element: etree._Element) -> str:
    """Return the element's tag without its namespace."""
    return etree.QName(element).localname


@functools.cache
def load_schema(kind: DocumentKind) -> etree.XMLSchema:
    """Load (once) the XML schema for a *kind* document from :data:`SCHEMA_DIR`."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / _ROOTS[kind][2])))


def parse_xml(data: bytes, file: str) -> etree._Element:
    """Parse REFI-QDA XML bytes without resolving entities or touching the network.

    Raises:
        QdaError: when the bytes are not well-formed XML (names the line lxml reports).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise QdaError(file, None, exc.lineno, "broken XML", str(exc.msg)) from None


def check_root(root: etree._Element, kind: DocumentKind, file: str) -> None:
    """Check that *root* is the REFI-QDA root element of a *kind* document.

    Raises:
        QdaError: for a wrong element or a missing/wrong namespace.
    """
    namespace, name, _ = _ROOTS[kind]
    if root.tag != f"{{{namespace}}}{name}":
        found = etree.QName(root)
        raise QdaError(
            file, found.localname, root.sourceline, "not a REFI-QDA document",
            f"root element is <{found.localname}> in namespace {found.namespace or '(none)'!r}; "
            f"expected <{name}> in namespace {namespace!r}",
        )


def tolerate_known_deviations(root: etree._Element, kind: DocumentKind, log: DeviationLog) -> None:
    """Remove empty optional containers (e.g. ``<Sets/>``) and note non-canonical GUIDs.

    Modifies *root* in place; every change is recorded in *log*.
    """
    namespace = _ROOTS[kind][0]
    for name in _OPTIONAL_CONTAINERS[kind]:
        for container in root.findall(f"{{{namespace}}}{name}"):
            if len(container) == 0 or not any(isinstance(c.tag, str) for c in container):
                log.note(
                    f"empty <{name}/> at line {container.sourceline} (the schema requires at "
                    "least one child); ignored"
                )
                root.remove(container)
    if kind == "project":
        for codebook in root.findall(qname(kind, "CodeBook")):
            codes = codebook.find(qname(kind, "Codes"))
            if codes is not None and len(codes.findall(qname(kind, "Code"))) == 0:
                log.note(f"empty <Codes/> at line {codes.sourceline}; the project has no codes")
                root.remove(codebook)
    guid_attributes = frozenset(GUID_ATTRIBUTES)
    odd = [
        value
        for element in root.iter(etree.Element)
        for attribute, value in element.items()
        if attribute in guid_attributes and not is_canonical_guid(value)
    ]
    if odd:
        braces = any(value.strip().startswith("{") for value in odd)
        upper = any(value != value.lower() for value in odd)
        forms = " and ".join(
            form for form, present in (("upper case", upper), ("braces {...}", braces)) if present
        )
        log.note(
            f"{len(odd)} GUID value(s) written in {forms or 'a padded form'} (e.g. {odd[0]!r}); "
            "compared case-insensitively without braces"
        )


_ELEMENT_IN_MESSAGE = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")


def validate(
    root: etree._Element, kind: DocumentKind, file: str, log: DeviationLog, *, strict: bool = True
) -> None:
    """Validate *root* against the REFI-QDA schema for *kind*, after tolerating known deviations.

    Args:
        root: parsed document root (modified in place by :func:`tolerate_known_deviations`).
        kind: ``"project"`` (``.qde``) or ``"codebook"`` (``.qdc``).
        file: name used in messages.
        log: collects tolerated deviations.
        strict: when False, other schema violations are noted as deviations instead of raised.

    Raises:
        QdaError: for the first schema violation (others counted in the message) when *strict*.
    """
    check_root(root, kind, file)
    tolerate_known_deviations(root, kind, log)
    schema = load_schema(kind)
    if schema.validate(root):
        return
    entries = list(schema.error_log)
    first = entries[0]
    match = _ELEMENT_IN_MESSAGE.search(first.message)
    element = match.group(1) if match else None
    others = f" (and {len(entries) - 1} more schema violation(s))" if len(entries) > 1 else ""
    if strict:
        raise QdaError(
            file, element, first.line, f"does not match {_ROOTS[kind][2]}",
            f"{first.message}{others}",
        )
    for entry in entries:
        log.note(f"schema violation at line {entry.line}: {entry.message}")
