"""The buyer's billing details (kept on the user, copied onto every invoice) and GSTIN rules.

A GSTIN is 15 characters: the two-digit GST state code, the holder's PAN (10), the entity number
(1-9, A-Z), a `Z` by default and a check character over the first 14 (base 36, weights 1 and 2
alternating). Its state code must be the state of the address it is registered at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trailroom.core.errors import InvalidInput

GSTIN_PATTERN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# GST state codes (the first two digits of a GSTIN), as the GST portal lists them.
GST_STATES: dict[str, str] = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}
_STATE_CODES = {name.casefold(): code for code, name in GST_STATES.items()}
INDIAN_PIN = re.compile(r"^[1-9][0-9]{5}$")
# The fields in form order (the settings page posts these names).
BILLING_FIELDS = ("name", "address_line1", "address_line2", "city", "state", "postal_code", "country", "gstin")


def gstin_check_character(first14: str) -> str:
    """The GSTIN check character of its first 14 characters."""
    total = 0
    for position, char in enumerate(first14):
        product = _BASE36.index(char) * (1 if position % 2 == 0 else 2)
        total += product // 36 + product % 36
    return _BASE36[(36 - total % 36) % 36]


def gstin_problem(gstin: str) -> str | None:
    """Why `gstin` (upper case, no spaces) is not a GSTIN, or None when it is one."""
    if not GSTIN_PATTERN.match(gstin):
        return "A GSTIN is 15 characters like 27AAPFU0939F1ZV: state code, PAN, entity number, Z, check."
    if gstin[:2] not in GST_STATES:
        return f"{gstin[:2]} is not a GST state code."
    if gstin_check_character(gstin[:14]) != gstin[14]:
        return "This GSTIN's check character does not match: check it for a typo."
    return None


def state_code_of(state: str) -> str | None:
    """The GST state code of an Indian state or union territory by name (any case)."""
    return _STATE_CODES.get(state.strip().casefold())


def _clean(value: Any) -> Any:
    # Runs of spaces (a pasted address) become one; the edges go.
    return " ".join(value.split()) if isinstance(value, str) else value


class _FieldError(ValueError):
    """A problem found across fields, naming the field to show it at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BillingDetails(BaseModel):
    """Who an invoice is made out to, as saved on the user. Plain data: the rules are checked once,
    when details are entered (`parse_billing_details`), so a later change of a rule never stops a
    stored user from loading."""

    name: str
    address_line1: str
    address_line2: str = ""
    city: str
    state: str
    postal_code: str
    country: str = "IN"
    gstin: str | None = None

    @property
    def state_code(self) -> str | None:
        return state_code_of(self.state) if self.country == "IN" else None

    @property
    def address_lines(self) -> list[str]:
        region = f"{self.city}, {self.state} {self.postal_code}".strip()
        country = "India" if self.country == "IN" else self.country
        return [line for line in (self.address_line1, self.address_line2, region, country) if line]


class _EnteredBillingDetails(BillingDetails):
    """Details as entered. For India the state must be a GST state (it decides CGST+SGST or IGST)
    and the PIN code six digits; a GSTIN, when given, must be registered in that state."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    address_line1: str = Field(min_length=1, max_length=200)
    address_line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=12)
    country: str = Field(default="IN", pattern=r"^[A-Z]{2}$")
    gstin: str | None = None

    @field_validator("name", "address_line1", "address_line2", "city", "state", "postal_code", mode="before")
    @classmethod
    def _single_spaced(cls, value: Any) -> Any:
        return _clean(value)

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("gstin", mode="before")
    @classmethod
    def _valid_gstin(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            return value
        gstin = "".join(value.split()).upper()
        if not gstin:
            return None
        problem = gstin_problem(gstin)
        if problem:
            raise ValueError(problem)
        return gstin

    @model_validator(mode="after")
    def _indian_address(self) -> _EnteredBillingDetails:
        if self.country != "IN":
            if self.gstin:
                raise _FieldError("gstin", "A GSTIN is only for an address in India.")
            return self
        code = state_code_of(self.state)
        if code is None:
            raise _FieldError("state", "Choose an Indian state or union territory.")
        if not INDIAN_PIN.match(self.postal_code):
            raise _FieldError("postal_code", "An Indian PIN code is six digits.")
        if self.gstin and self.gstin[:2] != code:
            raise _FieldError("gstin", f"This GSTIN is registered in {GST_STATES[self.gstin[:2]]}, not {self.state}.")
        # The state's name as GST spells it, so the invoice shows it the same way every time.
        self.state = GST_STATES[code]
        return self


def parse_billing_details(data: Mapping[str, Any]) -> BillingDetails:
    """Billing details from a form or a body, or InvalidInput (code `invalid_billing_details`) naming
    the first field that is wrong and why."""
    try:
        entered = _EnteredBillingDetails.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _FieldError):
            field, message = cause.field, cause.message
        else:
            field = ".".join(str(part) for part in error["loc"]) or "billing"
            message = _message(field, error)
        raise InvalidInput(message, code="invalid_billing_details", field=field) from None
    return BillingDetails.model_validate(entered.model_dump())


_LABELS = {
    "name": "the billing name",
    "address_line1": "the address",
    "city": "the city",
    "state": "the state",
    "postal_code": "the postal code",
}


def _message(field: str, error: Any) -> str:
    kind = error.get("type", "")
    if kind == "string_too_short" or kind == "missing":
        return f"Enter {_LABELS.get(field, field)}."
    if kind == "string_too_long":
        return f"Keep {_LABELS.get(field, field)} to {error['ctx']['max_length']} characters."
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error.get("msg", "Not valid.")))
    if kind == "extra_forbidden":
        return f"{field} is not a billing field."
    if field == "country":
        return "A country is its two-letter code, like IN."
    return str(error.get("msg", "Not valid."))
