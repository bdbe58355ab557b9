"""Usage page: real calls with a key show up in the SVG charts, their tables and the endpoint list,
in the chosen time zone; page views are not API calls; the chart module's own rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from tests.helpers import login, new_key
from tests.web.conftest import FormBrowser
from trailroom.domain.analytics.services import period
from trailroom.domain.services import Services
from trailroom.web.charts import Chart, Series, nice_ceiling, render
from trailroom.web.usage_view import period_label, period_starts


async def test_calls_and_credits_appear_in_the_charts_and_tables(
    signed_in: FormBrowser, client: httpx.AsyncClient, services: Services
) -> None:
    account = await login(client, "shopper@example.com")
    key = (await new_key(client, account))["key"]
    with_key = {"Authorization": f"Bearer {key}"}
    for _ in range(4):
        assert (await client.get("/api/v1/credits", headers=with_key)).status_code == 200
    for _ in range(2):
        assert (await client.get("/api/v1/tryon/000000000000000000000000", headers=with_key)).status_code == 404
    for _ in range(3):  # page views are not API calls
        assert (await signed_in.get("/app/usage")).status_code == 200
    await services.usage.flush()

    page = await signed_in.get("/app/usage?granularity=day&tz=Asia/Kolkata")
    assert page.status_code == 200
    html = page.text
    # Calls are rolled up by UTC hour, so a half-hour zone's day takes the whole hour it starts in
    # (between 18:30 and 19:00 UTC, this hour's calls still count for the day that is ending in India).
    today = period_label(datetime.now(UTC).replace(minute=0, second=0, microsecond=0), "day", "Asia/Kolkata")
    # 4 + 2 with the key and the key's creation with the account's token (signing in is anonymous).
    calls = re.search(rf"<title>Calls, {today}: (\d+)</title>", html)
    assert calls is not None
    assert int(calls.group(1)) == 7
    assert f"<title>Errors, {today}: 2</title>" in html
    assert html.count('<svg class="chart') == 3
    assert 'role="img"' in html
    assert "<script" not in html.split('<main id="main"')[1]  # the charts need no script
    assert '<option value="Asia/Kolkata" selected>' in html
    assert "data-total-calls>7<" in html
    assert "data-total-errors>2<" in html
    # The table fallback holds the same numbers; the endpoint list counts per route.
    assert re.search(rf'<th scope="row">{today}</th><td class="num">7</td><td class="num">2</td>', html)
    endpoints = html.split("data-endpoints")[1]
    assert re.search(r"/api/v1/credits</code></td>\s*<td class=\"num\">4</td>", endpoints)
    assert "/app/usage" not in endpoints


async def test_weeks_months_and_a_bad_time_zone(signed_in: FormBrowser) -> None:
    weeks = await signed_in.get("/app/usage?granularity=week")
    assert weeks.status_code == 200
    assert "Last 12 weeks, by week" in weeks.text
    months = await signed_in.get("/app/usage?granularity=month&tz=Europe/Berlin")
    assert months.status_code == 200
    assert datetime.now(UTC).strftime("%b %Y") in months.text
    bad = await signed_in.get("/app/usage?tz=Mars/Olympus")
    assert bad.status_code == 200
    assert "Unknown time zone" in bad.text
    assert '<option value="UTC" selected>' in bad.text


def test_period_starts_cut_local_days_weeks_and_months() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    days = period_starts(period(datetime(2026, 3, 1), datetime(2026, 3, 4), "day", "Asia/Kolkata", now=now))
    assert [d.isoformat() for d in days] == [
        "2026-02-28T18:30:00+00:00",
        "2026-03-01T18:30:00+00:00",
        "2026-03-02T18:30:00+00:00",
    ]
    weeks = period_starts(period(datetime(2026, 3, 4), datetime(2026, 3, 20), "week", "UTC", now=now))
    assert [w.date().isoformat() for w in weeks] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert all(w.weekday() == 0 for w in weeks)
    months = period_starts(period(datetime(2025, 11, 15), datetime(2026, 2, 2), "month", "UTC", now=now))
    assert [m.date().isoformat() for m in months] == ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]


def test_charts_have_round_axes_escaped_text_and_a_mark_per_value() -> None:
    assert nice_ceiling(0) == 5
    assert nice_ceiling(7) == 10
    assert nice_ceiling(21) == 25
    assert nice_ceiling(260) == 500
    svg = render(
        Chart(
            title="Calls <&>",
            description="per day",
            labels=["Mon", "Tue", "Wed"],
            series=[Series("Calls", [3, 0, 7]), Series("Errors", [1, 0, 0], "danger")],
        )
    )
    assert svg.count("<rect") == 6
    assert "Calls &lt;&amp;&gt;" in svg
    assert "<title>Calls, Wed: 7</title>" in svg
    assert 'class="chart-bar chart-tone-danger"' in svg
    assert ">10</text>" in svg  # the axis top for a maximum of 7
    line = render(Chart(title="Rate", description="", labels=["a", "b"], series=[Series("R", [1.5, 2])], kind="line"))
    assert "<polyline" in line
    assert "<title>R, a: 1.5</title>" in line
