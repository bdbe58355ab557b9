"""Fixtures for the web pages: a cookie-keeping client that behaves like a browser without
JavaScript (reads the CSRF token from the page's cookie, posts forms), and signed-in users."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import PASSWORD, register

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class FormBrowser:
    """An httpx client that keeps cookies like a browser and posts forms the way a page would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(path, **kwargs)  # type: ignore[arg-type]

    async def csrf(self, path: str = "/login") -> str:
        page = await self.http.get(path)
        match = CSRF_INPUT.search(page.text)
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    async def post_form(self, path: str, data: dict[str, str], *, from_page: str | None = None) -> httpx.Response:
        """Post `data` with the CSRF token of `from_page` (the page the form is on)."""
        token = await self.csrf(from_page or path)
        return await self.http.post(path, data={"csrf_token": token, **data})

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        response = await self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
async def browser(base_url: str) -> AsyncIterator[FormBrowser]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield FormBrowser(http)


@pytest.fixture
async def signed_in(browser: FormBrowser, client: httpx.AsyncClient) -> FormBrowser:
    await register(client, "shopper@example.com", name="Sam Shopper")
    await browser.sign_in("shopper@example.com")
    return browser
