"""Check that report sources stay inside the Quarto subset the offline renderer supports.

Real Quarto and the offline renderer must give the same sources the same meaning, so anything
outside the subset is rejected rather than rendered differently: other shortcodes, executable
code chunks (sources must be computation-free: numbers come from notebooks and
``_variables.yml``), raw LaTeX/HTML/format blocks, unknown callout types, cross-reference types
other than figures and tables, citations, and Quarto layout features. The check runs before
every render and as ``python -m analysis.render check PATH...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analysis.render.errors import Problem, RenderError
from analysis.render.project import (
    PROJECT_FILE as PROJECT_FILE_NAME,
    QUARTO_FORMAT_NAMES,
    declared_formats,
    format_metadata,
    document_metadata,
    find_project_root,
    load_project,
    split_front_matter,
)
from analysis.render.shortcodes import (
    classify_fenced_lines,
    BLOCK_SHORTCODES,
    FENCE,
    INLINE_CODE,
    LABEL_DEFINITION,
    REFERENCE,
    SHORTCODE_PATTERN,
    SUPPORTED_SHORTCODES,
    SourceLine,
    expand_includes,
    parse_arguments,
    resolve_document_path,
)

CALLOUT_TYPES = frozenset({"note", "tip", "warning", "caution", "important"})
"""Quarto's five callout types."""

UNSUPPORTED_DIV_CLASSES = frozenset({
    "callout", "panel-tabset", "panel-fill", "panel-center", "panel-input", "panel-sidebar",
    "columns", "column", "incremental", "nonincremental",
    "fragment", "r-stack", "r-fit-text", "r-hstack", "r-vstack", "aside", "cell", "hidden",
    "render-pagebreak", "page-columns", "column-margin", "column-page", "column-screen",
    "column-body-outset", "column-page-inset", "column-screen-inset", "lightbox", "unnumbered",
    "unlisted",
})
"""Quarto classes whose meaning the offline renderer does not reproduce."""

UNSUPPORTED_ATTRIBUTES = ("layout", "layout-ncol", "layout-nrow", "layout-align",
                          "layout-valign", "fig-align", "tbl-colwidths", "fig-pos",
                          "output-location", "data-qmd")

CROSSREF_PREFIXES = ("sec", "eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def", "exm",
                     "exr", "sol", "rem", "alg", "tip", "nte", "wrn", "imp", "cau")
"""Quarto's reserved cross-reference prefixes other than ``fig`` and ``tbl``."""

UNSUPPORTED_FRONT_MATTER = frozenset({
    "citation", "references", "nocite", "filters", "shortcodes",
    "engine", "jupyter", "knitr", "execute", "params", "number-sections", "number-depth",
    "include-in-header", "include-before-body", "include-after-body", "header-includes",
    "citeproc", "cite-method", "code-fold", "code-tools", "lightbox", "fig-cap-location",
    "tbl-cap-location", "shift-heading-level-by", "metadata-files", "reference-location",
})
"""Front-matter options that change a rendering in ways the offline renderer does not copy."""

CONDITIONAL_CLASSES = frozenset({"content-visible", "content-hidden"})
CONDITIONAL_ATTRIBUTES = frozenset({"when-format", "unless-format", "when-meta", "unless-meta"})
CONDITIONAL_FORMATS = frozenset({"html", "revealjs", "docx", "pptx", "pdf", "typst"})
"""Format names ``when-format``/``unless-format`` may test (``html`` includes revealjs)."""

PROJECT_RULES = frozenset({"figure-alt"})
"""Problem rules that are this project's own rules (accessibility), not Quarto features: a
source breaking only these would mean the same under Quarto, but the project refuses it."""

SUPPORTED_CROSSREF_OPTIONS = frozenset({"fig-title", "tbl-title", "fig-prefix", "tbl-prefix",
                                        "title-delim"})

DIV_OPEN = re.compile(r"^\s*:{3,}\s*(?P<attrs>\{[^}]*\}|[\w-]+)\s*$")
RAW_ATTRIBUTE = re.compile(r"\{=[\w-]+\}")
EXECUTABLE_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*\{\s*(?P<engine>[A-Za-z][\w-]*)")
INLINE_EXECUTABLE = re.compile(r"`\{\s*[A-Za-z][\w-]*\s*\}[^`]*`|`r [^`]*`")
RAW_TEX = re.compile(r"(?<!\\)\\(?P<command>[A-Za-z]+)")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\s][^$]*?\$")
RAW_HTML = re.compile(
    r"<\s*/?\s*(script|style|iframe|object|embed|link|meta|div|span|img|table|video|audio|svg|"
    r"br|p|center|font|section|details)(?=[\s>/])",
    re.IGNORECASE,
)
CITATION = re.compile(r"(?<![\w.@])-?@(?P<key>[A-Za-z_][\w:.#$%&+?<>~/-]*[\w])")
OTHER_CROSSREF = re.compile(
    r"(?<![\w.@])[#@](?P<label>(?:" + "|".join(CROSSREF_PREFIXES) + r")-[\w-]+)"
)
ALT_REQUIRED = re.compile(r"!\[[^\]]*\]\([^)]*\)\{(?P<attrs>[^}]*#fig-[^}]*)\}")


def _problems_for_front_matter(path: Path, front: dict[str, Any]) -> list[Problem]:
    """Front-matter options outside the subset."""
    problems: list[Problem] = []
    for key in front:
        if key in UNSUPPORTED_FRONT_MATTER:
            problems.append(Problem(path, 1, "front-matter",
                                    f"option {key!r} is not supported by the offline renderer"))
    crossref = front.get("crossref")
    if isinstance(crossref, dict):
        for key in crossref:
            if key not in SUPPORTED_CROSSREF_OPTIONS:
                problems.append(Problem(path, 1, "front-matter",
                                        f"crossref option {key!r} is not supported"))
    formats = front.get("format")
    names: list[str] = []
    if isinstance(formats, str):
        names = [formats]
    elif isinstance(formats, (list, dict)):
        names = [str(name) for name in formats]
    known = {name for names_ in QUARTO_FORMAT_NAMES.values() for name in names_}
    for name in names:
        if name not in known:
            problems.append(Problem(path, 1, "front-matter",
                                    f"format {name!r} is not one of {sorted(known)}"))
    return problems


COMMON_OPTIONS = frozenset({
    "title", "subtitle", "author", "lang", "pagetitle", "bibliography", "csl",
    "link-citations", "crossref", "synthetic", "synthetic-notice", "_quarto", "date",
})
"""Document options the offline renderer reproduces in every output (``_quarto`` holds the
test assertions of Quarto's own harness and is not read by a render)."""

FORMAT_OPTIONS: dict[str, frozenset[str]] = {
    "html": frozenset({"toc", "toc-depth", "toc-title"}),
    "docx": frozenset({"toc", "toc-depth", "toc-title"}),
    "pdf": frozenset({"toc", "toc-depth", "toc-title", "fontsize", "margin"}),
    "revealjs": frozenset({"width", "height", "slide-number", "slide-level"}),
    "pptx": frozenset({"slide-level"}),
}
"""Options reproduced for one output only (on top of :data:`COMMON_OPTIONS`)."""

PROJECT_OPTIONS = frozenset({"type", "output-dir", "render"})
"""Keys of ``project:`` in ``_quarto.yml`` the offline renderer honours (type ``default``)."""

BRAND_FILES = ("_brand.yml", "_brand.yaml")
"""Quarto applies a brand file found beside the document or at the project root."""

PROJECT_CLASSES = frozenset({"synthetic-line"})
"""Classes with no meaning in Quarto that this project's own style sheets give a look; they
pass through both engines unchanged."""

DIV_CLASSES = frozenset({"notes", *CONDITIONAL_CLASSES,
                         *(f"callout-{kind}" for kind in CALLOUT_TYPES)}) | PROJECT_CLASSES
HEADING_CLASSES = frozenset({"smaller"})
SPAN_CLASSES = frozenset(CONDITIONAL_CLASSES) | PROJECT_CLASSES
IMAGE_ATTRIBUTES = frozenset({"fig-alt", "width", "height"})

ATTRIBUTE_BLOCK = re.compile(r"\{(?P<body>[^{}]*)\}")
ATTRIBUTE_TOKEN = re.compile(
    r"\s*(?:(?P<id>#[^\s}]+)|(?P<cls>\.[^\s}=]+)|(?P<key>[\w:-]+)=(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s}]*))"
)
HEADING = re.compile(r"^#{1,6}\s.*?(?P<attrs>\{[^{}]*\})\s*$")
SPAN_ATTRIBUTES = re.compile(r"\](?P<attrs>\{[^{}]*\})")
LINK_ATTRIBUTES = re.compile(
    r"(?P<bang>!?)\[(?P<text>(?:[^\[\]]|\[[^\]]*\])*)\]\((?P<target>[^)]*)\)(?P<attrs>\{[^{}]*\})?")
CODE_ATTRIBUTES = re.compile(r"(?<!`)`[^`]+`(?P<attrs>\{[^{}]*\})")
TABLE_CAPTION = re.compile(r"^:\s.*?(?P<attrs>\{[^{}]*\})\s*$")
FENCE_INFO = re.compile(r"^\s{0,3}(?:`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
CODE_ANNOTATION = re.compile(r"(?:#|//|--|%|;)\s*<\d+>\s*$")
REMOTE = re.compile(r"^(?:https?:)?//", re.IGNORECASE)


def parse_attributes(block: str) -> tuple[list[str], list[str], dict[str, str]] | None:
    """Split a pandoc attribute block ``{#id .class key=value}`` into ids, classes and
    key-value pairs; None when it is not one."""
    body = block.strip()[1:-1].strip()
    ids: list[str] = []
    classes: list[str] = []
    pairs: dict[str, str] = {}
    position = 0
    while position < len(body):
        match = ATTRIBUTE_TOKEN.match(body, position)
        if match is None or match.end() == position:
            return None
        if match.group("id"):
            ids.append(match.group("id")[1:])
        elif match.group("cls"):
            classes.append(match.group("cls")[1:])
        else:
            pairs[match.group("key")] = match.group("value").strip("\"'")
        position = match.end()
        while position < len(body) and body[position].isspace():
            position += 1
    return ids, classes, pairs


def _attribute_problems(item: SourceLine, element: str, block: str, classes_ok: frozenset[str],
                        keys_ok: frozenset[str], ids_ok: bool = True) -> list[Problem]:
    """An attribute block on one element, against what the renderer reproduces there."""
    parsed = parse_attributes(block)
    if parsed is None:
        return [Problem(item.path, item.line, "attribute",
                        f"cannot read the attribute block {block!r} on a {element}")]
    ids, classes, pairs = parsed
    problems: list[Problem] = []
    if ids and not ids_ok:
        problems.append(Problem(item.path, item.line, "attribute",
                                f"an identifier (#{ids[0]}) on a {element} is not supported"))
    for css_class in classes:
        if css_class not in classes_ok:
            problems.append(Problem(item.path, item.line, "attribute",
                                    f"class .{css_class} on a {element} is not supported"))
    conditional = bool(set(classes) & CONDITIONAL_CLASSES)
    if conditional:
        problems.extend(_conditional_problems(item, block))
    for key in pairs:
        if key in keys_ok or (conditional and key in CONDITIONAL_ATTRIBUTES):
            continue
        problems.append(Problem(item.path, item.line, "attribute",
                                f"attribute {key}= on a {element} is not supported"))
    return problems


def _element_problems(item: SourceLine, prose: str, doc_dir: Path | None) -> list[Problem]:
    """Attribute blocks on headings, spans, images, links and inline code, and the resources
    images name, against the allow-list of what the renderer reproduces."""
    problems: list[Problem] = []
    text = item.text
    heading = HEADING.match(text)
    if heading:
        problems += _attribute_problems(item, "heading", heading.group("attrs"),
                                        HEADING_CLASSES, frozenset())
    caption = TABLE_CAPTION.match(text)
    if caption:
        problems += _attribute_problems(item, "table caption", caption.group("attrs"),
                                        frozenset(), frozenset())
    for match in CODE_ATTRIBUTES.finditer(text):
        problems.append(Problem(item.path, item.line, "attribute",
                                f"attributes on inline code ({match.group('attrs')}) are not "
                                "supported"))
    stripped = INLINE_CODE.sub("", SHORTCODE_PATTERN.sub("", text))
    inner = [found for outer in LINK_ATTRIBUTES.finditer(stripped)
             for found in LINK_ATTRIBUTES.finditer(outer.group("text"))]
    for match in [*LINK_ATTRIBUTES.finditer(stripped), *inner]:
        target = match.group("target").strip().strip("<>").split(" ")[0]
        image = match.group("bang") == "!"
        if image and REMOTE.match(target):
            problems.append(Problem(item.path, item.line, "resource",
                                    f"remote image {target!r}: only local files are supported"))
        elif image and doc_dir is not None and target and not re.match(r"^[a-z]+:", target):
            if not (doc_dir / target.split("#")[0]).is_file():
                problems.append(Problem(item.path, item.line, "resource",
                                        f"image {target!r} not found"))
        if match.group("attrs"):
            if image:
                problems += _attribute_problems(item, "image", match.group("attrs"), frozenset(),
                                                IMAGE_ATTRIBUTES)
                ids, _, _ = parse_attributes(match.group("attrs")) or ([], [], {})
                problems += [Problem(item.path, item.line, "attribute",
                                     f"identifier #{label} on an image: only #fig- labels")
                             for label in ids if not label.startswith("fig-")]
            else:
                problems += _attribute_problems(item, "link", match.group("attrs"), frozenset(),
                                                frozenset(), ids_ok=False)
    for match in SPAN_ATTRIBUTES.finditer(LINK_ATTRIBUTES.sub("", stripped)):
        problems += _attribute_problems(item, "span", match.group("attrs"), SPAN_CLASSES,
                                        frozenset())
    return problems


def _fence_problems(item: SourceLine) -> list[Problem]:
    """A code fence may name one language (```python or ```{.python}) and nothing else."""
    info = FENCE_INFO.match(item.text)
    text = info.group("info") if info else ""
    if not text or re.fullmatch(r"[A-Za-z0-9_+-]+", text):
        return []
    if text.startswith("{") and text.endswith("}"):
        parsed = parse_attributes(text)
        if parsed is not None:
            ids, classes, pairs = parsed
            languages = [name for name in classes if name not in CONDITIONAL_CLASSES]
            conditional = len(languages) < len(classes)
            if not ids and len(languages) <= 1 and (
                    not pairs or (conditional and set(pairs) <= CONDITIONAL_ATTRIBUTES)):
                if conditional:
                    return _conditional_problems(item, text)
                return []
    return [Problem(item.path, item.line, "code-block",
                    f"code block options {text!r} are not supported (only a language name)")]


def _code_line_problems(item: SourceLine) -> list[Problem]:
    """Lines inside code blocks that Quarto would read (code annotations)."""
    if CODE_ANNOTATION.search(item.text):
        return [Problem(item.path, item.line, "code-annotation",
                        "code annotation marker (<n>) is not supported")]
    return []


def _shortcode_problems(item: SourceLine) -> list[Problem]:
    """Shortcodes on one line: only the supported ones, with the documented arguments."""
    problems: list[Problem] = []
    text = item.text
    if "{{{<" in text or "{{%" in text:
        problems.append(Problem(item.path, item.line, "shortcode-unsupported",
                                "escaped ({{{< >}}}) and {{% %}} shortcodes are not supported"))
    matches = list(SHORTCODE_PATTERN.finditer(text))
    if text.count("{{<") > len(matches):
        problems.append(Problem(item.path, item.line, "shortcode-unclosed",
                                "'{{<' without a closing '>}}' on the same line"))
    for match in matches:
        name = match.group("name")
        where = f"{item.path}:{item.line}"
        if name not in SUPPORTED_SHORTCODES:
            problems.append(Problem(
                item.path, item.line, "shortcode-unsupported",
                f"shortcode {name!r} is not supported (use: {', '.join(sorted(SUPPORTED_SHORTCODES))})",
            ))
            continue
        if name in BLOCK_SHORTCODES and text.strip() != match.group(0):
            problems.append(Problem(item.path, item.line, "shortcode-block",
                                    f"the {name} shortcode must be alone on its line"))
        try:
            positional, named = parse_arguments(match.group("args"), where)
        except RenderError as exc:
            problems.append(Problem(item.path, item.line, "shortcode-args", str(exc)))
            continue
        if name in ("var", "meta", "include") and (len(positional) != 1 or named):
            problems.append(Problem(item.path, item.line, "shortcode-args",
                                    f"{name} takes exactly one argument"))
        elif name == "pagebreak" and (positional or named):
            problems.append(Problem(item.path, item.line, "shortcode-args",
                                    "pagebreak takes no arguments"))
        elif name == "embed":
            target = positional[0] if len(positional) == 1 else ""
            notebook, _, label = target.partition("#")
            if (len(positional) != 1 or not label or "," in label
                    or not notebook.endswith(".ipynb") or set(named) - {"echo"}
                    or named.get("echo", "false").lower() not in ("true", "false")):
                problems.append(Problem(
                    item.path, item.line, "shortcode-args",
                    "use {{< embed path.ipynb#label >}} with one cell label "
                    "(optional echo=true)",
                ))
            elif not re.fullmatch(r"(fig|tbl)-[A-Za-z0-9_-]*[A-Za-z0-9_]", label):
                problems.append(Problem(
                    item.path, item.line, "shortcode-args",
                    f"embedded cell label {label!r} should start with fig- or tbl-",
                ))
    return problems


def _conditional_problems(item: SourceLine, attrs: str) -> list[Problem]:
    """Conditional-content divs may only test output format and metadata."""
    problems: list[Problem] = []
    pairs = dict(re.findall(r"([\w-]+)=\"([^\"]*)\"", attrs))
    for key, value in pairs.items():
        if key not in CONDITIONAL_ATTRIBUTES:
            problems.append(Problem(item.path, item.line, "conditional",
                                    f"conditional attribute {key!r} is not supported"))
        elif key.endswith("-format") and value not in CONDITIONAL_FORMATS:
            problems.append(Problem(item.path, item.line, "conditional",
                                    f"{key}={value!r}: use one of {sorted(CONDITIONAL_FORMATS)}"))
    if not set(pairs) & CONDITIONAL_ATTRIBUTES:
        problems.append(Problem(item.path, item.line, "conditional",
                                "conditional content needs when-/unless-format or -meta"))
    return problems


def _line_problems(item: SourceLine, citations_allowed: bool = False,
                   doc_dir: Path | None = None) -> list[Problem]:
    """Markdown outside code on one line: raw formats, executable inline code, layout, refs."""
    problems: list[Problem] = []
    text = item.text
    if RAW_ATTRIBUTE.search(text):
        problems.append(Problem(item.path, item.line, "raw-format",
                                "raw format content ({=...}) is not format-neutral"))
    if INLINE_EXECUTABLE.search(text):
        problems.append(Problem(item.path, item.line, "executable-code",
                                "inline executable code; quote numbers with {{< var >}}"))
    prose = MATH.sub("", INLINE_CODE.sub("", SHORTCODE_PATTERN.sub("", text)))
    tex = RAW_TEX.search(prose)
    if tex:
        problems.append(Problem(item.path, item.line, "raw-tex",
                                f"raw TeX command \\{tex.group('command')} is not supported"))
    html = RAW_HTML.search(prose)
    if html:
        problems.append(Problem(item.path, item.line, "raw-html",
                                f"raw HTML <{html.group(1)}> is not format-neutral"))
    div = DIV_OPEN.match(text)
    if div:
        attrs = div.group("attrs")
        classes = re.findall(r"(?:^|[\s{])\.([\w-]+)", attrs) if attrs.startswith("{") else [attrs]
        for css_class in classes:
            kind = css_class.removeprefix("callout-")
            if css_class.startswith("callout-") and kind not in CALLOUT_TYPES:
                problems.append(Problem(
                    item.path, item.line, "callout-type",
                    f"unknown callout type .{css_class} (use one of "
                    f"{', '.join('.callout-' + name for name in sorted(CALLOUT_TYPES))})",
                ))
            elif css_class in CONDITIONAL_CLASSES:
                problems.extend(_conditional_problems(item, attrs))
            elif css_class in UNSUPPORTED_DIV_CLASSES or css_class.startswith("column-"):
                problems.append(Problem(item.path, item.line, "div-class",
                                        f"div class .{css_class} is not supported"))
        if attrs.startswith("{"):
            parsed = parse_attributes(attrs)
            if parsed is None:
                problems.append(Problem(item.path, item.line, "div-class",
                                        f"cannot read the div attributes {attrs!r}"))
            else:
                _, div_classes, pairs = parsed
                for css_class in div_classes:
                    if (css_class not in DIV_CLASSES and css_class not in UNSUPPORTED_DIV_CLASSES
                            and not css_class.startswith(("callout-", "column-"))):
                        problems.append(Problem(item.path, item.line, "div-class",
                                                f"div class .{css_class} is not supported"))
                allowed = set(CONDITIONAL_ATTRIBUTES) if set(div_classes) & CONDITIONAL_CLASSES \
                    else set()
                if any(name.startswith("callout-") for name in div_classes):
                    allowed.add("title")
                for key in pairs:
                    if key not in allowed and key not in CONDITIONAL_ATTRIBUTES:
                        problems.append(Problem(item.path, item.line, "attribute",
                                                f"attribute {key}= on a div is not supported"))
        elif attrs not in DIV_CLASSES and attrs not in UNSUPPORTED_DIV_CLASSES:
            problems.append(Problem(item.path, item.line, "div-class",
                                    f"div class .{attrs} is not supported"))
        if re.search(r"#fig-|#tbl-", attrs):
            problems.append(Problem(
                item.path, item.line, "div-class",
                "figure/table divs (::: {#fig-...}) are not supported; label an image, a table "
                "caption or an embedded cell",
            ))
    for attribute in UNSUPPORTED_ATTRIBUTES:
        if re.search(r"\{[^}]*\b" + re.escape(attribute) + r"=", prose):
            problems.append(Problem(item.path, item.line, "attribute",
                                    f"attribute {attribute!r} is not supported"))
    for match in OTHER_CROSSREF.finditer(prose):
        problems.append(Problem(
            item.path, item.line, "crossref-type",
            f"cross-reference {match.group(0)!r}: only figures (fig-) and tables (tbl-) are "
            "supported",
        ))
    for match in CITATION.finditer(prose):
        key = match.group("key")
        if not citations_allowed and not re.match(
                r"(?:[Ff]ig|[Tt]bl|" + "|".join(CROSSREF_PREFIXES) + r")-", key):
            problems.append(Problem(item.path, item.line, "citation",
                                    f"citation @{key} but no bibliography is set"))
    if not div:
        problems.extend(_element_problems(item, prose, doc_dir))
    alt = ALT_REQUIRED.search(prose)
    if alt and "fig-alt=" not in alt.group("attrs"):
        problems.append(Problem(item.path, item.line, "figure-alt",
                                "figure image needs alt text: add fig-alt=\"...\""))
    return problems


def check_lines(lines: list[SourceLine], citations_allowed: bool = False,
                doc_dir: Path | None = None) -> list[Problem]:
    """Check a sequence of source lines (with fenced code tracked); ``doc_dir`` (the main
    document's folder) lets the check see whether local images exist."""
    problems: list[Problem] = []
    for item, kind in classify_fenced_lines(lines):
        problems.extend(_shortcode_problems(item))
        if kind == "in-fence":
            problems.extend(_code_line_problems(item))
            continue
        if kind == "fence-open":
            executable = EXECUTABLE_FENCE.match(item.text)
            if executable:
                problems.append(Problem(
                    item.path, item.line, "executable-code",
                    f"executable {{{executable.group('engine')}}} code chunk: sources must be "
                    "computation-free (compute in a notebook and embed its output)",
                ))
            elif RAW_ATTRIBUTE.search(item.text):
                problems.append(Problem(item.path, item.line, "raw-format",
                                        "raw format block ({=...}) is not format-neutral"))
            else:
                problems.extend(_fence_problems(item))
            continue
        problems.extend(_line_problems(item, citations_allowed, doc_dir))
    return problems


def _crossref_problems(lines: list[SourceLine]) -> list[Problem]:
    """Every @fig-/@tbl- reference must point at a label defined once in the document."""
    problems: list[Problem] = []
    labels: dict[str, SourceLine] = {}
    references: list[tuple[str, SourceLine]] = []
    fence: str | None = None
    for item in lines:
        fence_match = FENCE.match(item.text)
        if fence is not None:
            if fence_match and fence_match.group("fence")[0] == fence[0]:
                fence = None
            continue
        if fence_match:
            fence = fence_match.group("fence")
            continue
        text = INLINE_CODE.sub("", item.text)
        defined = [match.group("label") for match in
                   LABEL_DEFINITION.finditer(SHORTCODE_PATTERN.sub("", text))]
        for match in SHORTCODE_PATTERN.finditer(text):
            if match.group("name") == "embed" and "#" in match.group("args"):
                defined.append(match.group("args").split("#", 1)[1].split()[0])
        for label in defined:
            if label in labels:
                first = labels[label]
                problems.append(Problem(item.path, item.line, "crossref-duplicate",
                                        f"label {label!r} already defined at "
                                        f"{first.path}:{first.line}"))
            else:
                labels[label] = item
        for match in REFERENCE.finditer(SHORTCODE_PATTERN.sub("", text)):
            label = match.group("label")
            references.append((label[0].lower() + label[1:], item))
    for label, item in references:
        if label not in labels:
            problems.append(Problem(item.path, item.line, "crossref-unresolved",
                                    f"@{label} refers to no figure or table in the document"))
    return problems


def _front_matter_line(path: Path, key: str) -> int:
    """Line of ``key:`` in a file's front matter (1 when not found)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    for number, line in enumerate(lines, start=1):
        if re.match(r"^\s*" + re.escape(key) + r"\s*:", line):
            return number
    return 1


def user_metadata_keys(lines: list[SourceLine]) -> set[str]:
    """Top-level metadata keys the document itself reads (``{{< meta key >}}``,
    ``when-meta``/``unless-meta``): its own metadata, which no output shows by itself."""
    keys: set[str] = set()
    for item in lines:
        for match in SHORTCODE_PATTERN.finditer(item.text):
            if match.group("name") == "meta":
                argument = match.group("args").strip().strip("\"'")
                keys.add(argument.replace("\\.", "\x00").split(".")[0].replace("\x00", "."))
        for value in re.findall(r"(?:when|unless)-meta=\"([^\"]+)\"", item.text):
            keys.add(value.split(".")[0])
    return keys


def _option_problems(path: Path, metadata: dict[str, Any], outputs: list[str],
                     user_keys: set[str]) -> list[Problem]:
    """Document options (project, folder and front matter merged) against the allow-list of
    what the renderer reproduces for each output."""
    problems: list[Problem] = []
    for output in outputs:
        options = format_metadata(metadata, output)
        allowed = COMMON_OPTIONS | FORMAT_OPTIONS.get(output, frozenset()) | user_keys
        for key, value in options.items():
            line = _front_matter_line(path, key)
            if key not in allowed:
                problems.append(Problem(path, line, "option",
                                        f"option {key!r} is not reproduced by the offline "
                                        f"renderer for {output}"))
            elif key == "author" and not (isinstance(value, str) or (
                    isinstance(value, list) and all(isinstance(v, str) for v in value))):
                problems.append(Problem(path, line, "option",
                                        "author must be a name or a list of names"))
            elif key == "date" and (not isinstance(value, str) or re.match(
                    r"^\s*(?:\d{4}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|today|now|last-modified)",
                    value)):
                problems.append(Problem(path, line, "option",
                                        f"date {value!r}: Quarto formats dates (date-format); "
                                        "write the date as text, e.g. \"1 May 2024\""))
            elif key == "lang" and not re.match(r"^en(?:[-_]|$)", str(value)):
                problems.append(Problem(path, line, "option",
                                        f"lang {value!r}: the offline renderer writes English "
                                        "captions and labels only"))
    return problems


def _project_problems(path: Path) -> list[Problem]:
    """``_quarto.yml`` project options and brand files the renderer does not reproduce."""
    problems: list[Problem] = []
    root = find_project_root(path)
    folders = {path.resolve().parent} | ({root} if root else set())
    for folder in sorted(folders):
        for name in BRAND_FILES:
            if (folder / name).is_file():
                problems.append(Problem(folder / name, 1, "brand",
                                        "brand files (_brand.yml) are not supported"))
    if root is not None:
        project_file = root / PROJECT_FILE_NAME
        try:
            options = load_project(path).options.get("project") or {}
        except RenderError as exc:
            return problems + [Problem(project_file, 1, "project", str(exc))]
        if not isinstance(options, dict):
            options = {}
        for key, value in options.items():
            if key not in PROJECT_OPTIONS:
                problems.append(Problem(project_file, _front_matter_line(project_file, key),
                                        "project", f"project option {key!r} is not supported"))
            elif key == "type" and value != "default":
                problems.append(Problem(project_file, _front_matter_line(project_file, key),
                                        "project", f"project type {value!r} is not supported "
                                        "(only default)"))
    return problems


def check_source(path: Path, partial: bool | None = None,
                 project_rules: bool = True, outputs: list[str] | None = None) -> list[Problem]:
    """All problems of one ``.qmd`` file (its includes are checked as part of it).

    A partial (a file other sources include; by default one whose name starts with ``_``) is
    not checked for cross-references on its own. ``project_rules=False`` leaves out the
    project's own rules (:data:`PROJECT_RULES`), keeping only the subset's. Options are checked
    for ``outputs`` (default: the formats the document declares)."""
    path = Path(path)
    try:
        source = split_front_matter(path)
    except RenderError as exc:
        return [Problem(path, 1, "front-matter", str(exc))]
    project_root = find_project_root(path) or path.resolve().parent
    doc_dir = path.resolve().parent
    problems = _problems_for_front_matter(path, source.front_matter)
    try:
        metadata = document_metadata(source, load_project(path))
    except RenderError as exc:
        problems.append(Problem(path, 1, "front-matter", str(exc)))
        metadata = dict(source.front_matter)
    citations_allowed = bool(metadata.get("bibliography"))
    lines = [SourceLine(text, path, number) for number, text in
             enumerate(source.body.splitlines(), start=source.body_first_line)]
    is_partial = path.name.startswith("_") if partial is None else partial
    try:
        expanded = expand_includes(lines, doc_dir, project_root, (path.resolve(),))
    except RenderError as exc:
        message = str(exc)
        location = re.match(r"(?P<file>.+?):(?P<line>\d+): (?P<rest>.*)", message)
        if location:
            problems.append(Problem(Path(location.group("file")), int(location.group("line")),
                                    "include", location.group("rest")))
        else:
            problems.append(Problem(path, 1, "include", message))
        expanded = lines
    problems.extend(check_lines(expanded, citations_allowed, doc_dir))
    try:
        wanted = outputs if outputs is not None else declared_formats(metadata)
    except RenderError as exc:
        problems.append(Problem(path, 1, "front-matter", str(exc)))
        wanted = []
    problems.extend(_option_problems(path, metadata, wanted, user_metadata_keys(expanded)))
    problems.extend(_project_problems(path))
    if not is_partial:
        problems.extend(_crossref_problems(expanded))
    if not project_rules:
        problems = [problem for problem in problems if problem.rule not in PROJECT_RULES]
    return sorted(set(problems))


def check_sources(paths: list[Path] | list[str]) -> list[Problem]:
    """Check ``.qmd`` files (folders are searched for ``*.qmd``); an empty list means all pass."""
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.qmd")
                           if not any(part.startswith((".", "_output")) for part in
                                      p.relative_to(path).parts))
        elif path.is_file():
            files = [path]
        else:
            problems.append(Problem(path, 0, "missing", "no such file or folder"))
            continue
        included = {target for file in files for target in _included_files(file)}
        for file in files:
            problems.extend(check_source(file, partial=file.resolve() in included
                                         or file.name.startswith("_")))
    return problems


def _included_files(path: Path) -> set[Path]:
    """Files a source includes directly (paths resolved as Quarto does)."""
    try:
        source = split_front_matter(path)
    except RenderError:
        return set()
    root = find_project_root(path) or path.resolve().parent
    targets: set[Path] = set()
    for match in SHORTCODE_PATTERN.finditer(source.body):
        if match.group("name") == "include":
            argument = match.group("args").strip().strip("\"'")
            targets.add(resolve_document_path(argument, path.resolve().parent, root))
    return targets
