"""Amounts in words (Indian system) and the billing details' rules: GSTIN format, check character
and state, Indian states and PIN codes, foreign addresses."""

from __future__ import annotations

import pytest

from trailroom.core.errors import InvalidInput
from trailroom.domain.invoices.details import BillingDetails, gstin_problem, parse_billing_details
from trailroom.domain.invoices.words import amount_in_words, number_in_words

from .conftest import gstin

ADDRESS = {
    "name": "Asha Retail LLP",
    "address_line1": "12 Linking Road",
    "city": "Mumbai",
    "state": "Maharashtra",
    "postal_code": "400050",
}


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (247_850, "Rupees Two Thousand Four Hundred Seventy-Eight and Fifty Paise Only"),
        (892_080, "Rupees Eight Thousand Nine Hundred Twenty and Eighty Paise Only"),
        (100, "Rupees One Only"),
        (1, "Rupees Zero and One Paisa Only"),
        (10_000_000, "Rupees One Lakh Only"),
        (
            1_234_567_891,
            "Rupees One Crore Twenty-Three Lakh Forty-Five Thousand Six Hundred Seventy-Eight"
            " and Ninety-One Paise Only",
        ),
        (100_000_000_000, "Rupees One Hundred Crore Only"),
        (2_000_011_100, "Rupees Two Crore One Hundred Eleven Only"),
    ],
)
def test_amounts_in_words_use_lakh_and_crore(paise: int, words: str) -> None:
    assert amount_in_words(paise) == words


def test_numbers_in_words() -> None:
    assert number_in_words(0) == "Zero"
    assert number_in_words(19) == "Nineteen"
    assert number_in_words(90) == "Ninety"
    assert number_in_words(105) == "One Hundred Five"
    assert number_in_words(99_99_999) == "Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine"
    with pytest.raises(ValueError, match="zero or more"):
        number_in_words(-1)


def test_gstin_format_and_check_character() -> None:
    assert gstin_problem("27AAPFU0939F1ZV") is None  # a published example
    assert gstin_problem(gstin("29", "AABCT1234C")) is None
    assert "check character" in (gstin_problem("27AAPFU0939F1ZW") or "")
    assert "15 characters" in (gstin_problem("27AAPFU0939F1Z") or "")
    assert "15 characters" in (gstin_problem("27AAPFU0939F1XV") or "")  # the 14th is Z
    assert "state code" in (gstin_problem(gstin("99")) or "")


def test_billing_details_are_normalised_and_checked() -> None:
    details = parse_billing_details(
        {**ADDRESS, "state": " maharashtra ", "name": "Asha   Retail  LLP", "gstin": "27aapfu0939f1zv "}
    )
    assert details == BillingDetails(**ADDRESS, gstin="27AAPFU0939F1ZV")
    assert details.state_code == "27"
    assert details.address_lines == ["12 Linking Road", "Mumbai, Maharashtra 400050", "India"]
    assert parse_billing_details({**ADDRESS, "gstin": ""}).gstin is None
    foreign = parse_billing_details(
        {**ADDRESS, "city": "Berlin", "state": "Berlin", "postal_code": "10115", "country": "de"}
    )
    assert (foreign.country, foreign.state_code) == ("DE", None)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"gstin": "27AAPFU0939F1ZW"}, "gstin", "check character"),
        ({"gstin": gstin("29")}, "gstin", "registered in Karnataka"),
        ({"gstin": "ABC"}, "gstin", "15 characters"),
        ({"state": "Narnia"}, "state", "Indian state"),
        ({"postal_code": "0400050"}, "postal_code", "six digits"),
        ({"name": "  "}, "name", "Enter the billing name"),
        ({"city": "x" * 101}, "city", "100 characters"),
        ({"country": "India"}, "country", "two-letter"),
        ({"country": "US", "state": "CA", "gstin": "27AAPFU0939F1ZV"}, "gstin", "only for an address in India"),
    ],
)
def test_bad_billing_details_name_their_field(change: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_billing_details({**ADDRESS, **change})
    assert refused.value.code == "invalid_billing_details"
    assert refused.value.extra["field"] == field
    assert message in refused.value.detail
