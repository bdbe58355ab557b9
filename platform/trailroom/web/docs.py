"""The documentation: Markdown guides (`docs/guides/`, shipped as `GUIDES_DIR`), rendered once, searchable.

Each guide is a Markdown file with a small front matter block (`title`, `description`, `order`,
optionally `code_anchors: true`). Rendering gives every heading an anchor, each page a table of
contents, fenced code a copy button (revealed by /static/app/js/docs.js) and wide tables a
scrolling wrapper. Nothing here knows about HTTP: the controller in `docs_pages.py` serves it.

Fences may carry flags after the language, e.g. ```` ```bash run expect="completed" ````: `run`
marks a snippet the test suite executes against a live server (tests/web/test_docs_snippets.py),
`expect` is text its output must contain. Readers only ever see the language.

On a page with `code_anchors: true` (the errors guide), a table row whose first cell is just an
inline code span gets that code as its id, so `/docs/errors#out_of_credits` (the `type` of every
problem+json answer) lands on the code's row.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup
from pygments import highlight as pygments_highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

from trailroom.web.assets import GUIDES_DIR

TOC_LEVELS = (2, 3)
SNIPPET_RADIUS = 90
MAX_RESULTS = 20
_WORD = re.compile(r"[\w][\w.\-/]*", re.UNICODE)


def slugify(text: str) -> str:
    """A heading's anchor: lower case words joined by `-` (`Create an API key` → `create-an-api-key`)."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "section"


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Snippet:
    """A fenced code block: its language, flags from the info string, and its code."""

    language: str
    code: str
    flags: dict[str, str]

    @property
    def runnable(self) -> bool:
        return "run" in self.flags


@dataclass(frozen=True)
class Section:
    """What search looks at: the text under one heading (the page's intro under its title)."""

    heading: str
    anchor: str | None
    text: str


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    description: str
    order: int
    html: Markup
    toc: list[Heading]
    sections: list[Section]
    snippets: list[Snippet]
    links: list[str]  # every href in the page, for link checks
    anchors: frozenset[str]  # every id in the page

    @property
    def url(self) -> str:
        return f"/docs/{self.slug}"


@dataclass(frozen=True)
class SearchHit:
    guide: Guide
    section: Section
    score: int
    snippet: Markup

    @property
    def url(self) -> str:
        return self.guide.url + (f"#{self.section.anchor}" if self.section.anchor else "")


@dataclass
class _RenderState:
    """What rendering one page collects besides its HTML."""

    toc: list[Heading] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    snippets: list[Snippet] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)


def parse_front_matter(source: str) -> tuple[dict[str, str], str]:
    """`---` / `key: value` lines / `---` at the top of a file, and the Markdown after it."""
    lines = source.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, source
    meta: dict[str, str] = {}
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "".join(lines[index + 1 :])
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    raise ValueError("front matter is not closed by a `---` line")


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """A fence's info string as (language, flags): `bash run expect="a b"` → ("bash", {run, expect})."""
    try:
        words = shlex.split(info)
    except ValueError:
        words = info.split()
    if not words:
        return "", {}
    flags: dict[str, str] = {}
    for word in words[1:]:
        name, _, value = word.partition("=")
        flags[name] = value
    return words[0], flags


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


# Server-side highlighting: Pygments (installed with Litestar, through rich) wraps tokens in spans
# with short class names that docs.css colours per theme; no inline styles, so the CSP holds.
_FORMATTER = HtmlFormatter(nowrap=True)


def highlight_code(code: str, language: str) -> str:
    """`code` as escaped HTML, with token spans when `language` is one Pygments knows."""
    try:
        lexer = get_lexer_by_name(language) if language and language != "text" else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return escape(code)
    return str(pygments_highlight(code, lexer, _FORMATTER))


# Render rules are bound to the renderer: `self` is the RendererHTML.
def _fence(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[index]
    language, _ = parse_info(token.info)
    label = escape(language or "text")
    code_class = f' class="language-{escape(language)}"' if language else ""
    return (
        f'<div class="code-block" data-language="{label}">'
        f'<div class="code-head"><span class="code-lang">{label}</span>'
        '<button type="button" class="copy-button" data-copy-code hidden>Copy</button></div>'
        f"<pre><code{code_class}>{highlight_code(token.content, language)}</code></pre></div>\n"
    )


def _heading_close(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    """A `#` link after each section heading, to copy a link to the section."""
    anchor = tokens[index - 2].attrGet("id")
    link = (
        f'<a class="heading-anchor" href="#{escape(str(anchor))}" aria-hidden="true" tabindex="-1">#</a>'
        if anchor
        else ""
    )
    return f"{link}</{tokens[index].tag}>\n"


def _table_open(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    return '<div class="table-wrap"><table>\n'


def _table_close(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    return "</table></div>\n"


def _link_open(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[index]
    href = str(token.attrGet("href") or "")
    if href.startswith(("http://", "https://")):
        token.attrSet("rel", "noopener")
    return self.renderToken(tokens, index, options, env)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    md.add_render_rule("fence", _fence)
    md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    md.add_render_rule("link_open", _link_open)
    return md


def _annotate(tokens: list[Token], *, code_anchors: bool) -> _RenderState:
    """Give headings (and, on request, code rows) their ids; collect the TOC, sections, snippets, links."""
    state = _RenderState()
    heading, anchor = "", None
    body: list[str] = []
    columns: list[str] = []  # the header texts of the current table
    column = 0

    def close_section() -> None:
        text = " ".join(part for part in body if part).strip()
        if text or anchor:
            state.sections.append(Section(heading=heading, anchor=anchor, text=re.sub(r"\s+", " ", text)))
        body.clear()

    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[index + 1]
            text = _inline_text(inline)
            level = int(token.tag[1])
            if level == 1:
                heading = text
                continue
            close_section()
            base = slugify(text)
            unique, n = base, 2
            while unique in state.anchors:
                unique, n = f"{base}-{n}", n + 1
            token.attrSet("id", unique)
            state.anchors.add(unique)
            heading, anchor = text, unique
            if level in TOC_LEVELS:
                state.toc.append(Heading(level=level, text=text, anchor=unique))
        elif token.type == "inline":
            if index > 0 and tokens[index - 1].type != "heading_open":
                body.append(_inline_text(token))
            for child in token.children or []:
                if child.type == "link_open":
                    state.links.append(str(child.attrGet("href") or ""))
        elif token.type == "fence":
            language, flags = parse_info(token.info)
            state.snippets.append(Snippet(language=language, code=token.content, flags=flags))
            body.append(token.content)
        elif token.type == "thead_open":
            columns.clear()
        elif token.type == "th_open":
            columns.append(_inline_text(tokens[index + 1]))
        elif token.type == "tr_open":
            column = 0
        elif token.type == "td_open":
            # Phones show each row as a card; the label says which column a cell came from.
            if column < len(columns) and columns[column]:
                token.attrSet("data-label", columns[column])
            column += 1
        if token.type == "tr_open" and code_anchors:
            cell = tokens[index + 2] if index + 2 < len(tokens) else None
            children = cell.children if cell is not None and cell.type == "inline" else None
            if children and len(children) == 1 and children[0].type == "code_inline":
                code = children[0].content
                if re.fullmatch(r"[a-z0-9_.]+", code) and code not in state.anchors:
                    token.attrSet("id", code)
                    state.anchors.add(code)
    close_section()
    return state


def render_guide(slug: str, source: str) -> Guide:
    meta, markdown = parse_front_matter(source)
    if "title" not in meta:
        raise ValueError(f"docs guide {slug!r} has no title in its front matter")
    md = _markdown()
    env: dict[str, Any] = {}
    tokens = md.parse(markdown, env)
    state = _annotate(tokens, code_anchors=meta.get("code_anchors", "").lower() == "true")
    html = md.renderer.render(tokens, md.options, env)
    return Guide(
        slug=slug,
        title=meta["title"],
        description=meta.get("description", ""),
        order=int(meta.get("order", "1000")),
        html=Markup(html),  # noqa: S704 - rendered by markdown-it with raw HTML off: our own markup only
        toc=state.toc,
        sections=state.sections,
        snippets=state.snippets,
        links=state.links,
        anchors=frozenset(state.anchors),
    )


def _terms(query: str) -> list[str]:
    seen: list[str] = []
    for word in _WORD.findall(query.lower()):
        if word not in seen:
            seen.append(word)
    return seen[:8]


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """`text` escaped, with every occurrence of a term wrapped in <mark>."""
    wanted = sorted({t for t in terms if t}, key=len, reverse=True)
    if not wanted:
        return Markup.escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(Markup.escape(text[last : match.start()]))
        out.append(Markup("<mark>{}</mark>").format(match.group(0)))
        last = match.end()
    out.append(Markup.escape(text[last:]))
    return Markup("").join(out)


def excerpt(text: str, terms: Sequence[str], radius: int = SNIPPET_RADIUS) -> Markup:
    """About twice `radius` characters of `text` around the first term found, cut at word boundaries."""
    lowered = text.lower()
    positions = [p for p in (lowered.find(t) for t in terms) if p >= 0]
    if not positions:
        piece = text[: radius * 2]
        return highlight(piece + ("…" if len(text) > len(piece) else ""), terms)
    first = min(positions)
    start = max(0, first - radius)
    end = min(len(text), first + radius)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    if end < len(text):
        space = text.rfind(" ", first, end)
        end = space if space > first else end
    piece = ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
    return highlight(piece, terms)


class DocsLibrary:
    """Every guide, rendered once; lookups, navigation order and search."""

    def __init__(self, guides: Iterable[Guide]) -> None:
        self.guides = sorted(guides, key=lambda g: (g.order, g.title))
        self._by_slug = {guide.slug: guide for guide in self.guides}
        # What search compares, lower-cased once.
        self._searchable = [
            (guide, section, guide.title.lower(), section.heading.lower(), section.text.lower())
            for guide in self.guides
            for section in guide.sections
        ]

    @classmethod
    def load(cls, folder: Path) -> DocsLibrary:
        return cls(render_guide(path.stem, path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.md")))

    def get(self, slug: str) -> Guide | None:
        return self._by_slug.get(slug)

    def neighbours(self, guide: Guide) -> tuple[Guide | None, Guide | None]:
        index = self.guides.index(guide)
        before = self.guides[index - 1] if index > 0 else None
        after = self.guides[index + 1] if index + 1 < len(self.guides) else None
        return before, after

    def search(self, query: str, limit: int = MAX_RESULTS) -> list[SearchHit]:
        """Sections that contain every word of the query, best first: a word in the page's title
        counts most, then in the section's heading, then each time it appears in the text (up to 5)."""
        terms = _terms(query)
        if not terms:
            return []
        scored = []
        for guide, section, title, heading, text in self._searchable:
            score = 0
            for term in terms:
                in_title, in_heading, count = term in title, term in heading, text.count(term)
                if not (in_title or in_heading or count):
                    break
                score += 10 * in_title + 8 * in_heading + min(count, 5)
            else:
                phrase = " ".join(terms)
                if len(terms) > 1 and (phrase in heading or phrase in text):
                    score += 6
                scored.append((score, guide, section))
        scored.sort(key=lambda item: (-item[0], item[1].order))
        return [
            SearchHit(guide, section, score, excerpt(section.text, terms)) for score, guide, section in scored[:limit]
        ]

    def search_index(self) -> list[dict[str, str]]:
        """The sections as plain data for the page's live search (the same fields the server searches)."""
        return [
            {
                "page": guide.title,
                "heading": section.heading,
                "url": guide.url + (f"#{section.anchor}" if section.anchor else ""),
                "text": section.text,
                "order": str(guide.order),
            }
            for guide in self.guides
            for section in guide.sections
        ]


@cache
def default_library() -> DocsLibrary:
    """The guides of this installation, loaded on first use and kept for the process's life."""
    return DocsLibrary.load(GUIDES_DIR)
