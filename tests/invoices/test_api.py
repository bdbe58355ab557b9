"""The invoices API and the billing details API over HTTP: the account's own invoices only (another
account's is a 404 like a missing one), pages, the PDF download, a secret key as well as a session;
billing details saved, read back, and refused whole with the failing field."""

from __future__ import annotations

import io

import httpx
from pypdf import PdfReader

from tests.helpers import new_key, signed_up
from trailroom.domain.accounts.models import User
from trailroom.domain.services import Services

from .conftest import credit_note, issue

DETAILS = {
    "name": "Asha Retail LLP",
    "address_line1": "12 Linking Road",
    "address_line2": "Bandra West",
    "city": "Mumbai",
    "state": "maharashtra",
    "postal_code": "400050",
    "gstin": "27AAPFU0939F1ZV",
}


async def user_of(email: str) -> User:
    user = await User.find_one(User.email == email)
    assert user is not None
    return user


async def test_list_get_and_download_the_accounts_invoices(client: httpx.AsyncClient, services: Services) -> None:
    alice = await signed_up(client, "alice@example.com")
    bob = await signed_up(client, "bob@example.com")
    alice_user, bob_user = await user_of("alice@example.com"), await user_of("bob@example.com")
    first = await issue(services, alice_user.id, credits=300)
    second = await issue(services, alice_user.id, credits=2100)
    note = await credit_note(services, second, amount=5000, credits=20, refund_id="rfnd_api")
    bobs = await issue(services, bob_user.id)

    listed = await client.get("/api/v1/invoices", headers=alice.auth, params={"limit": 2})
    assert listed.status_code == 200
    page = listed.json()
    assert [i["number"] for i in page["data"]] == [note.number, second.number]
    assert page["next_cursor"]
    rest = (await client.get("/api/v1/invoices", headers=alice.auth, params={"cursor": page["next_cursor"]})).json()
    assert [i["number"] for i in rest["data"]] == [first.number]
    assert rest["next_cursor"] is None
    bad_cursor = await client.get("/api/v1/invoices", headers=alice.auth, params={"cursor": "!!"})
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (422, "invalid_cursor")

    one = await client.get(f"/api/v1/invoices/{second.id}", headers=alice.auth)
    assert one.status_code == 200
    body = one.json()
    assert (body["kind"], body["number"], body["amount"], body["taxable"], body["tax"]) == (
        "invoice",
        "TR/26-27/000002",
        892_080,
        756_000,
        136_080,
    )
    assert (body["discount_percent"], body["tax_percent"], body["credits"]) == ("10", "18", 2100)
    assert body["amount_in_words"] == "Rupees Eight Thousand Nine Hundred Twenty and Eighty Paise Only"
    assert body["payment_id"] == str(second.payment_id)
    assert body["download_url"] == f"/api/v1/invoices/{second.id}/download"
    credit = (await client.get(f"/api/v1/invoices/{note.id}", headers=alice.auth)).json()
    assert (credit["kind"], credit["original_invoice_number"], credit["refund_id"]) == (
        "credit_note",
        second.number,
        "rfnd_api",
    )

    download = await client.get(body["download_url"], headers=alice.auth)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="TR-26-27-000002.pdf"'
    text = PdfReader(io.BytesIO(download.content)).pages[0].extract_text()
    assert "TR/26-27/000002" in text
    assert "8,920.80" in text

    # Another account's invoice is not found, exactly like one that does not exist.
    for path in (f"/api/v1/invoices/{bobs.id}", f"/api/v1/invoices/{bobs.id}/download"):
        theirs = await client.get(path, headers=alice.auth)
        assert (theirs.status_code, theirs.json()["code"]) == (404, "invoice_not_found")
        assert bobs.number not in theirs.text
    for missing in ("/api/v1/invoices/0123456789abcdef01234567", "/api/v1/invoices/not-an-id/download"):
        assert (await client.get(missing, headers=alice.auth)).json()["code"] == "invoice_not_found"
    assert [i["number"] for i in (await client.get("/api/v1/invoices", headers=bob.auth)).json()["data"]] == [
        bobs.number
    ]
    assert (await client.get("/api/v1/invoices")).status_code == 401

    # A secret key reads them too (a shop's backend keeps its books).
    key = (await new_key(client, alice))["key"]
    by_key = await client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    assert by_key.status_code == 200
    assert len(by_key.json()["data"]) == 3


async def test_billing_details_saved_read_and_refused_whole(client: httpx.AsyncClient, services: Services) -> None:
    account = await signed_up(client, "buyer@example.com")
    empty = await client.get("/api/v1/billing/details", headers=account.auth)
    assert empty.status_code == 200
    assert empty.json() == {"details": None}

    saved = await client.put("/api/v1/billing/details", headers=account.auth, json=DETAILS)
    assert saved.status_code == 200, saved.text
    expected = {**DETAILS, "state": "Maharashtra", "country": "IN"}
    assert saved.json() == {"details": expected}
    assert (await client.get("/api/v1/billing/details", headers=account.auth)).json() == {"details": expected}

    # A bad GSTIN: 422 naming the field, and nothing changes (not even the fields that were fine).
    bad = await client.put(
        "/api/v1/billing/details",
        headers=account.auth,
        json={**DETAILS, "name": "Someone Else", "gstin": "27AAPFU0939F1ZW"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    problem = bad.json()
    assert (problem["code"], problem["field"]) == ("invalid_billing_details", "gstin")
    assert "check character" in problem["detail"]
    assert problem["request_id"]
    wrong_state = await client.put(
        "/api/v1/billing/details", headers=account.auth, json={**DETAILS, "state": "Karnataka"}
    )
    assert (wrong_state.status_code, wrong_state.json()["field"]) == (422, "gstin")
    no_pin = await client.put("/api/v1/billing/details", headers=account.auth, json={**DETAILS, "postal_code": "12"})
    assert (no_pin.status_code, no_pin.json()["field"]) == (422, "postal_code")
    unknown = await client.put("/api/v1/billing/details", headers=account.auth, json={**DETAILS, "vat": "x"})
    assert unknown.status_code == 400
    assert (await client.get("/api/v1/billing/details", headers=account.auth)).json() == {"details": expected}
    user = await user_of("buyer@example.com")
    assert user.billing is not None
    assert user.billing.name == "Asha Retail LLP"

    # The next invoice is made out to these details.
    invoice = await issue(services, user.id)
    got = (await client.get(f"/api/v1/invoices/{invoice.id}", headers=account.auth)).json()
    assert got["buyer"]["name"] == "Asha Retail LLP"
    assert got["buyer"]["gstin"] == "27AAPFU0939F1ZV"
    assert got["buyer"]["address_lines"] == ["12 Linking Road", "Bandra West", "Mumbai, Maharashtra 400050", "India"]

    # Without GSTIN, back to unregistered.
    cleared = await client.put("/api/v1/billing/details", headers=account.auth, json={**DETAILS, "gstin": None})
    assert cleared.status_code == 200
    assert cleared.json()["details"]["gstin"] is None
