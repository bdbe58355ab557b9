"""The host project of the tests: the app's URLs included, and a product page with the widget."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

PRODUCT_PAGE = """{% load trailroom %}<main>{% trailroom_widget garment mode="top" label=label %}</main>"""


def product(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(PRODUCT_PAGE)
    garment = request.GET.get("garment", "https://shop.example/shirt.jpg")
    return HttpResponse(template.render({"garment": garment, "label": "Try it"}, request))


urlpatterns = [
    path("trailroom/", include("trailroom_django.urls")),
    path("product/", product),
]
