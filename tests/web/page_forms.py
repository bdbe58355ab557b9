"""Posting a page's own form the way a browser without JavaScript does: the CSRF token comes from
that form's hidden field (not from another form of the page), so a form rendered without its
token fails the test."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.web.conftest import FormBrowser


def form_token(html: str, action: str) -> str:
    """The CSRF token inside the first `<form action="{action}">` of a page."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert match is not None, f"no form posting to {action}"
    token = re.search(r'name="csrf_token" value="([^"]*)"', match.group(1))
    assert token is not None, f"the form posting to {action} has no CSRF field"
    assert token.group(1), f"the form posting to {action} has an empty CSRF token"
    return token.group(1)


async def post_page_form(
    browser: FormBrowser, page: str, action: str, data: dict[str, Any] | list[tuple[str, str]], **kwargs: Any
) -> httpx.Response:
    """Open `page`, then submit its form posting to `action` with `data` (and e.g. `files=`)."""
    token = form_token((await browser.get(page)).text, action)
    if isinstance(data, list):
        return await browser.http.post(
            action,
            content=httpx.QueryParams([("csrf_token", token), *data]).__str__(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    return await browser.http.post(action, data={"csrf_token": token, **data}, **kwargs)
