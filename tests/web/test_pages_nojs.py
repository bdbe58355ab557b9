"""The pages without JavaScript: plain GETs and form posts, as a browser with scripts off sends them."""

from __future__ import annotations

from trailroom.web.security import CONTENT_SECURITY_POLICY

from .conftest import FormBrowser


async def test_landing_login_register_render_with_strict_csp(browser: FormBrowser) -> None:
    for path in ("/", "/login", "/register", "/terms"):
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "unsafe" not in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "<script>" not in page.text
        assert " style=" not in page.text
        assert "tr_csrf" in browser.http.cookies


async def test_anonymous_dashboard_goes_to_sign_in(browser: FormBrowser) -> None:
    first = await browser.get("/app/settings?tab=keys")
    assert first.status_code == 303
    assert first.headers["location"] == "/api/v1/auth/web/renew?next=/app/settings%3Ftab%3Dkeys"
    second = await browser.get(first.headers["location"])
    assert second.status_code == 303
    assert second.headers["location"] == "/login?next=/app/settings%3Ftab%3Dkeys"
    login = await browser.get(second.headers["location"])
    assert 'name="next" value="/app/settings?tab=keys"' in login.text
