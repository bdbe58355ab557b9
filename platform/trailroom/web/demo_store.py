"""The demo shop at `/demo/store`: a few products whose pages embed the widget in direct mode.

It exists so a newcomer sees the whole flow in a browser (`make dev`, open the store, try a shirt
on). It uses the demo account's publishable key, which the dev seed keeps in `<data_dir>/demo.json`
and binds to the platform's own origin; a publishable key is public by design. Pages are strict-CSP:
one script (the widget) and one stylesheet, both from this origin, nothing inline.
Registered only when `settings.demo_store_enabled` (dev and test by default, never implied in
production).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.params import FromPath

from trailroom.core.config import Settings
from trailroom.core.errors import NotFound
from trailroom.core.vocabulary import TryOnMode
from trailroom.seed import read_demo_keys
from trailroom.web.assets import TEMPLATES_DIR

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR / "demo"), autoescape=select_autoescape(default=True), auto_reload=False
)


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    price: str
    mode: str
    image: str
    summary: str
    details: tuple[str, ...]


PRODUCTS = (
    Product(
        slug="oxford-shirt",
        name="Sky Oxford Shirt",
        price="₹1,899",
        mode=TryOnMode.TOP,
        image="oxford-shirt.jpg",
        summary="A soft, pale-blue oxford cotton shirt with a button-down collar. Smart for work, easy at weekends.",
        details=("100% cotton oxford weave", "Regular fit", "Machine wash at 30 °C"),
    ),
    Product(
        slug="bandana-camp-shirt",
        name="Bandana Camp Shirt",
        price="₹1,499",
        mode=TryOnMode.TOP,
        image="bandana-camp-shirt.jpg",
        summary="A short-sleeved camp-collar shirt in an indigo bandana print. Light, airy and made for summer.",
        details=("Viscose blend", "Relaxed fit", "Camp collar, straight hem"),
    ),
    Product(
        slug="denim-jacket",
        name="Washed Denim Jacket",
        price="₹3,299",
        mode=TryOnMode.TOP,
        image="denim-jacket.jpg",
        summary="The classic trucker jacket in a light stone wash, with chest pockets and metal buttons.",
        details=("12 oz cotton denim", "Classic fit", "Two chest pockets"),
    ),
    Product(
        slug="selvedge-jeans",
        name="Indigo Straight Jeans",
        price="₹2,699",
        mode=TryOnMode.BOTTOM,
        image="selvedge-jeans.jpg",
        summary="Straight-leg jeans in deep indigo denim with a gentle fade. A wardrobe staple.",
        details=("Cotton with a little stretch", "Straight leg, mid rise", "Five pockets"),
    ),
)
BY_SLUG = {product.slug: product for product in PRODUCTS}


def _page(template: str, **context: Any) -> Response[str]:
    html = _templates.get_template(template).render(**context)
    return Response(
        html,
        media_type=MediaType.HTML,
        headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _origin_note(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    """The demo key allows only the platform's own origin: say so when the page is opened at another."""
    here = f"{request.url.scheme}://{request.url.netloc}"
    return None if here == settings.base_url else settings.base_url


class DemoStoreController(Controller):
    path = "/demo/store"
    include_in_schema = False

    @get("/", sync_to_thread=False)
    def store(self, request: Request[Any, Any, Any], state: State) -> Response[str]:
        settings: Settings = state.settings
        return _page("store.html", products=PRODUCTS, other_origin=_origin_note(request, settings))

    @get("/{slug:str}", sync_to_thread=False)
    def product(self, request: Request[Any, Any, Any], state: State, slug: FromPath[str]) -> Response[str]:
        settings: Settings = state.settings
        product = BY_SLUG.get(slug)
        if product is None:
            raise NotFound("No such product in the demo store.", code="product_not_found")
        return _page(
            "product.html",
            product=product,
            others=[p for p in PRODUCTS if p is not product],
            publishable_key=read_demo_keys(settings).get("publishable_key"),
            other_origin=_origin_note(request, settings),
        )
