"""The documentation pages: `/docs` (index), `/docs/{slug}` (a guide), `/docs/search` (results,
no JavaScript needed) and `/docs/search.json` (the index the page's live search filters)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from trailroom.core.errors import NotFound
from trailroom.web.base import PageController
from trailroom.web.context import PageContext
from trailroom.web.docs import DocsLibrary, default_library

MAX_QUERY = 200
API_REFERENCE = "/schema"


def provide_docs() -> DocsLibrary:
    return default_library()


async def load_docs() -> None:
    """Render the guides when the API starts (about a second, off the event loop), not on the first visit."""
    await asyncio.to_thread(default_library)


class DocsController(PageController):
    path = "/docs"
    dependencies = {**PageController.dependencies, "docs": Provide(provide_docs, sync_to_thread=False)}

    @get("/", summary="The documentation's index")
    async def index(self, ctx: NamedDependency[PageContext], docs: NamedDependency[DocsLibrary]) -> Template:
        return ctx.render("docs/index.html", docs=docs, guide=None, query="", api_reference=API_REFERENCE)

    @get("/search", summary="Search the documentation")
    async def search(
        self,
        ctx: NamedDependency[PageContext],
        docs: NamedDependency[DocsLibrary],
        q: Annotated[str, QueryParameter()] = "",
    ) -> Template:
        # A longer query is cut rather than refused: a search box should never answer an error.
        query = q.strip()[:MAX_QUERY]
        return ctx.render(
            "docs/search.html",
            docs=docs,
            guide=None,
            query=query,
            hits=docs.search(query),
            api_reference=API_REFERENCE,
        )

    @get("/search.json", summary="The search index of the documentation")
    async def search_index(self, docs: NamedDependency[DocsLibrary]) -> Response[list[dict[str, str]]]:
        return Response(docs.search_index(), headers={"Cache-Control": "public, max-age=300"})

    @get("/{slug:str}", summary="A guide")
    async def guide(
        self, ctx: NamedDependency[PageContext], docs: NamedDependency[DocsLibrary], slug: FromPath[str]
    ) -> Template:
        guide = docs.get(slug)
        if guide is None:
            raise NotFound("There is no guide at this address; the list of guides is at /docs.", code="doc_not_found")
        previous, following = docs.neighbours(guide)
        return ctx.render(
            "docs/page.html",
            docs=docs,
            guide=guide,
            previous=previous,
            following=following,
            query="",
            api_reference=API_REFERENCE,
        )


__all__ = ["DocsController", "load_docs"]
