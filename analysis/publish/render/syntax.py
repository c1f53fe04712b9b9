"""The line-level checks of a Quarto source: which Markdown and Quarto syntax the offline renderer supports.

Owns :func:`check_lines` (divs, callouts, attributes, raw and executable blocks, math,
citations, cross-references, shortcodes, conditional content, figure alt text) and
:func:`parse_attributes`. The document-level checks (front matter, options, project files) and
the entry points are :mod:`analysis.publish.render.check`. Reads the report sources under
``reports/``; no contract table.
"""

from __future__ import annotations

import re
from pathlib import Path


from analysis.publish.render.errors import Problem, RenderError
from analysis.publish.render.shortcodes import (
    BLOCK_SHORTCODES, INLINE_CODE, SHORTCODE_PATTERN, SUPPORTED_SHORTCODES, SourceLine,
    classify_fenced_lines, parse_arguments,
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

CONDITIONAL_CLASSES = frozenset({"content-visible", "content-hidden"})

CONDITIONAL_ATTRIBUTES = frozenset({"when-format", "unless-format", "when-meta", "unless-meta"})

CONDITIONAL_FORMATS = frozenset({"html", "revealjs", "docx", "pptx", "pdf", "typst"})
"""Format names ``when-format``/``unless-format`` may test (``html`` includes revealjs)."""

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
