"""A local server that speaks Razorpay's HTTP API (orders, payments, refunds) for the tests.

It takes what Razorpay takes (HTTP Basic auth with the key id and secret, JSON bodies as the official
SDK sends them), checks them the way Razorpay does, and answers with Razorpay's entities
(`order_…`, `pay_…`, `rfnd_…`), collections (`{"entity": "collection", "count", "items"}`) and error
bodies (`{"error": {"code", "description", "source", "step", "reason", "metadata", "field"?}}`), with
Razorpay's quirks kept: empty notes come back as `[]`, every error is HTTP 400 except
authentication (401) and server faults.

Tests point the real SDK at it (`razorpay.Client(auth=(key_id, key_secret), base_url=fake.base_url)`;
the SDK appends `/v1/...` itself) and play the other side with helpers: `pay()` returns exactly what
Razorpay Checkout posts to the page's handler, signed as Razorpay signs it; `fail()` records a failed
attempt; `webhook()` builds a signed webhook delivery. `fail_next()` makes the next calls fail and
`requests` holds what the SDK sent.

The SDK is synchronous (requests): code under test that runs in the same event loop as this server
must call it from a thread (`asyncio.to_thread`), or the loop blocks on its own server."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
import time
from collections import deque
from typing import Any, NamedTuple

from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.params import FromPath

_ALPHANUMERIC = string.ascii_letters + string.digits

# Razorpay's public error texts (what its API answers, word for word).
AUTHENTICATION_FAILED = "Authentication failed"
URL_NOT_FOUND = "The requested URL was not found on the server."
ID_DOES_NOT_EXIST = "The id provided does not exist"
AMOUNT_AT_LEAST = "The amount must be at least INR 1.00"
AMOUNT_ABOVE_MAXIMUM = "Amount exceeds maximum amount allowed."
CURRENCY_NOT_SUPPORTED = "Currency is not supported"
NOTES_TOO_MANY_KEYS = "Number of fields in notes should be less than or equal to 15"
NOTES_VALUE_ARRAY = "Notes values themselves should not be an array"
NOTES_KEY_TOO_LARGE = "Notes key cannot be greater 255 characters"
NOTES_VALUE_TOO_LARGE = "Notes value cannot be greater 512 characters"
NOTES_NOT_A_DICTIONARY = "Notes should be provided as a dictionary"
PAYMENT_NOT_CAPTURED = "The payment status should be captured for action to be taken"
PAYMENT_FULLY_REFUNDED = "The payment has been fully refunded already"
REFUND_GREATER_THAN_CAPTURED = "The refund amount provided is greater than amount captured"
REFUND_GREATER_THAN_UNREFUNDED = "The total refund amount is greater than the refund payment amount"
CAPTURE_ONLY_AUTHORIZED = "Only payments which have been authorized and not yet captured can be captured"
PAYMENT_ALREADY_CAPTURED = "This payment has already been captured"
CAPTURE_AMOUNT_MISMATCH = "Capture amount must be equal to the amount authorized"
SERVER_ERROR = "We are facing some trouble completing your request at the moment. Please try again shortly."
GATEWAY_ERROR = "Payment processing failed due to error at bank or wallet gateway"

# What `fail_next` says when the test does not choose the words.
DEFAULT_DESCRIPTIONS = {
    "SERVER_ERROR": SERVER_ERROR,
    "GATEWAY_ERROR": GATEWAY_ERROR,
    "BAD_REQUEST_ERROR": "Something went wrong, please try again after sometime.",
}

MAX_AMOUNT = 50_000_000  # an account's largest payment by default, in paise: ₹5,00,000
CURRENCIES = ("INR",)  # an Indian account without currency conversion takes INR only
ORDER_FIELDS = frozenset(
    {"amount", "currency", "receipt", "notes", "partial_payment", "first_payment_min_amount", "payment_capture"}
)
REFUND_FIELDS = frozenset({"amount", "speed", "notes", "receipt"})
CAPTURE_FIELDS = frozenset({"amount", "currency"})
SPEEDS = ("normal", "optimum")
PAYMENT_METHODS = ("card", "netbanking", "wallet", "upi")
WEBHOOK_EVENTS = ("payment.captured", "payment.failed", "order.paid", "refund.processed")


class Received(NamedTuple):
    """One call as it arrived: method, path (with its query string, if any) and decoded JSON body."""

    method: str
    path: str
    body: Any


class RazorpayError(Exception):
    """Raised inside a handler; answered as Razorpay's error body."""

    def __init__(
        self,
        description: str,
        *,
        field: str | None = None,
        status: int = 400,
        code: str = "BAD_REQUEST_ERROR",
        validation: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.field = field
        self.status = status
        self.code = code
        # Input validation failures carry Razorpay's business/payment_initiation labels; others say NA.
        self.validation = validation


def error_body(code: str, description: str, *, field: str | None = None, validation: bool = False) -> dict[str, Any]:
    if validation:
        error: dict[str, Any] = {
            "code": code,
            "description": description,
            "source": "business",
            "step": "payment_initiation",
            "reason": "input_validation_failed",
            "metadata": {},
        }
    else:
        error = {"code": code, "description": description, "source": "NA", "step": "NA", "reason": "NA", "metadata": {}}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(14))


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _public_notes(notes: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """Razorpay's API is PHP: an empty notes map is serialised as an empty list."""
    return dict(notes) if notes else []


def _check_notes(value: Any) -> dict[str, Any]:
    if value is None or value == [] or value == "":
        return {}
    if not isinstance(value, dict):
        raise RazorpayError(NOTES_NOT_A_DICTIONARY, field="notes")
    if len(value) > 15:
        raise RazorpayError(NOTES_TOO_MANY_KEYS, field="notes", validation=False)
    for key, item in value.items():
        if isinstance(item, list | dict):
            raise RazorpayError(NOTES_VALUE_ARRAY, field="notes", validation=False)
        if len(str(key)) > 255:
            raise RazorpayError(NOTES_KEY_TOO_LARGE, field="notes", validation=False)
        if len(str(item)) > 512:
            raise RazorpayError(NOTES_VALUE_TOO_LARGE, field="notes", validation=False)
    return {str(k): v for k, v in value.items()}


def _check_extra(body: dict[str, Any], allowed: frozenset[str]) -> None:
    extra = [key for key in body if key not in allowed]
    if extra:
        raise RazorpayError(f"{', '.join(extra)} is/are not required and should not be sent", field=extra[0])


def _integer(body: dict[str, Any], name: str, *, required: bool) -> int | None:
    """Laravel's `integer` rule as Razorpay applies it: an int or a string of digits, never a bool."""
    if name not in body or body[name] is None:
        if required:
            raise RazorpayError(f"The {name} field is required.", field=name)
        return None
    value = body[name]
    if isinstance(value, bool):
        raise RazorpayError(f"The {name} must be an integer.", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise RazorpayError(f"The {name} must be an integer.", field=name)


def _boolean(body: dict[str, Any], name: str) -> bool | None:
    if name not in body:
        return None
    value = body[name]
    if value in (True, False, 0, 1, "0", "1", "true", "false"):
        return value in (True, 1, "1", "true")
    raise RazorpayError(f"The {name} field must be true or false.", field=name)


class RazorpayFake:
    """Razorpay's API for one merchant account, in memory. `base_url` is set by whoever serves it."""

    def __init__(self, key_id: str, key_secret: str, webhook_secret: str) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        self.base_url = ""
        self.max_amount = MAX_AMOUNT  # tests may lower it to see "Amount exceeds maximum amount allowed."
        self.account_id = _new_id("acc_")
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[Received] = []
        self._faults: deque[tuple[int, str, str]] = deque()

    def reset(self) -> None:
        self.orders.clear()
        self.payments.clear()
        self.refunds.clear()
        self.requests.clear()
        self._faults.clear()
        self.max_amount = MAX_AMOUNT

    # --- what the tests steer -------------------------------------------------------------------

    def fail_next(
        self, status: int, code: str = "SERVER_ERROR", description: str | None = None, *, times: int = 1
    ) -> None:
        """The next `times` calls (of any route, before authentication) answer this error."""
        text = description if description is not None else DEFAULT_DESCRIPTIONS.get(code, SERVER_ERROR)
        for _ in range(times):
            self._faults.append((status, code, text))

    def signature(self, order_id: str, payment_id: str) -> str:
        """Checkout's `razorpay_signature`: hex HMAC-SHA256 of `order_id|payment_id` with the key secret."""
        return _hmac_hex(self.key_secret, f"{order_id}|{payment_id}".encode())

    def sign_webhook(self, body: bytes) -> str:
        """`X-Razorpay-Signature`: hex HMAC-SHA256 of the raw body with the webhook secret."""
        return _hmac_hex(self.webhook_secret, body)

    def pay(
        self,
        order_id: str,
        *,
        method: str = "card",
        email: str = "gaurav.kumar@example.com",
        contact: str = "+919000090000",
        capture: bool = True,
    ) -> dict[str, str]:
        """The shopper pays the whole order in Checkout. Returns what Checkout posts to the handler.

        With `capture=False` the payment stays `authorized` (the order `attempted`) until the merchant
        captures it through `POST /v1/payments/{id}/capture`; otherwise it is captured at once (the
        account's automatic capture) and the order is `paid`."""
        order = self._payable(order_id)
        payment = self._new_payment(order, method=method, email=email, contact=contact)
        if capture:
            self._capture(payment, order)
        else:
            payment["status"] = "authorized"
        return {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": order_id,
            "razorpay_signature": self.signature(order_id, payment["id"]),
        }

    def fail(
        self,
        order_id: str,
        *,
        code: str = "BAD_REQUEST_ERROR",
        description: str = "Payment failed",
        reason: str = "payment_failed",
        source: str = "bank",
        step: str = "payment_authorization",
        method: str = "card",
    ) -> str:
        """The shopper's attempt on the order fails; the order stays payable. Returns the payment id."""
        order = self._payable(order_id)
        payment = self._new_payment(order, method=method, email="gaurav.kumar@example.com", contact="+919000090000")
        payment.update(
            status="failed",
            error_code=code,
            error_description=description,
            error_source=source,
            error_step=step,
            error_reason=reason,
        )
        return str(payment["id"])

    def webhook(
        self,
        event: str,
        *,
        payment_id: str | None = None,
        order_id: str | None = None,
        refund_id: str | None = None,
        event_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery as Razorpay sends it: the raw body and its headers. The payload is a
        snapshot of the entities now. Ids left out are found from the others (an order's captured or
        last failed payment, a payment's order, a payment's last refund). Razorpay's retries of one
        event keep its `X-Razorpay-Event-Id`: resend the same body and headers, or pass `event_id`."""
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"unsupported webhook event {event!r}; one of {WEBHOOK_EVENTS}")
        if event == "refund.processed":
            refund = self._refund_for(refund_id, payment_id)
            payment = self.payments[refund["payment_id"]]
            contains = ["refund", "payment"]
            payload: dict[str, Any] = {
                "refund": {"entity": self._refund_entity(refund)},
                "payment": {"entity": self._payment_entity(payment)},
            }
        else:
            wanted = "failed" if event == "payment.failed" else "captured"
            payment = self._payment_for(payment_id, order_id, wanted)
            payload = {"payment": {"entity": self._payment_entity(payment)}}
            contains = ["payment"]
            if event == "order.paid":
                order = self.orders[payment["order_id"]]
                payload["order"] = {"entity": self._order_entity(order)}
                contains = ["payment", "order"]
        body = json.dumps(
            {
                "entity": "event",
                "account_id": self.account_id,
                "event": event,
                "contains": contains,
                "payload": payload,
                "created_at": int(time.time()),
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": self.sign_webhook(body),
            "X-Razorpay-Event-Id": event_id or "".join(secrets.choice(_ALPHANUMERIC) for _ in range(14)),
        }
        return body, headers

    # --- state ------------------------------------------------------------------------------------

    def _payable(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id!r} at the fake")
        if order["status"] == "paid" or any(
            p["status"] == "authorized" for p in self.payments.values() if p["order_id"] == order_id
        ):
            raise ValueError(f"order {order_id} is already paid (Razorpay takes one payment per order)")
        return order

    def _new_payment(self, order: dict[str, Any], *, method: str, email: str, contact: str) -> dict[str, Any]:
        if method not in PAYMENT_METHODS:
            raise ValueError(f"unsupported method {method!r}; one of {PAYMENT_METHODS}")
        payment: dict[str, Any] = {
            "id": _new_id("pay_"),
            "amount": order["amount_due"],
            "currency": order["currency"],
            "status": "created",
            "order_id": order["id"],
            "method": method,
            "amount_refunded": 0,
            "refund_status": None,
            "captured": False,
            "email": email,
            "contact": contact,
            "notes": {},
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "created_at": int(time.time()),
        }
        if method == "card":
            payment["card_id"] = _new_id("card_")
        order["attempts"] += 1
        order["status"] = "attempted"
        self.payments[payment["id"]] = payment
        return payment

    def _capture(self, payment: dict[str, Any], order: dict[str, Any]) -> None:
        payment["status"] = "captured"
        payment["captured"] = True
        order["amount_paid"] += payment["amount"]
        order["amount_due"] = order["amount"] - order["amount_paid"]
        if order["amount_due"] == 0:
            order["status"] = "paid"

    def _payment_for(self, payment_id: str | None, order_id: str | None, status: str) -> dict[str, Any]:
        if payment_id is not None:
            return self.payments[payment_id]
        if order_id is None:
            raise ValueError("give payment_id or order_id")
        # A captured payment stays the order's payment after refunds (its status turns `refunded`).
        statuses = ("captured", "refunded") if status == "captured" else (status,)
        matches = [p for p in self.payments.values() if p["order_id"] == order_id and p["status"] in statuses]
        if not matches:
            raise ValueError(f"order {order_id} has no {status} payment")
        return matches[-1]

    def _refund_for(self, refund_id: str | None, payment_id: str | None) -> dict[str, Any]:
        if refund_id is not None:
            return self.refunds[refund_id]
        matches = [r for r in self.refunds.values() if r["payment_id"] == payment_id]
        if not matches:
            raise ValueError(f"payment {payment_id} has no refund")
        return matches[-1]

    # --- entities as the API shows them -----------------------------------------------------------

    def _order_entity(self, order: dict[str, Any]) -> dict[str, Any]:
        entity = {
            "id": order["id"],
            "entity": "order",
            "amount": order["amount"],
            "amount_paid": order["amount_paid"],
            "amount_due": order["amount_due"],
            "currency": order["currency"],
            "receipt": order["receipt"],
            "offer_id": None,
            "status": order["status"],
            "attempts": order["attempts"],
            "notes": _public_notes(order["notes"]),
            "created_at": order["created_at"],
        }
        if order["partial_payment"] is not None:
            entity["partial_payment"] = order["partial_payment"]
        return entity

    def _payment_entity(self, payment: dict[str, Any]) -> dict[str, Any]:
        method = payment["method"]
        captured = payment["captured"]
        # Razorpay's fee (2% here) includes 18% GST on it; both are set once the payment is captured.
        fee_base = payment["amount"] * 2 // 100
        tax = fee_base * 18 // 100 if captured else None
        entity: dict[str, Any] = {
            "id": payment["id"],
            "entity": "payment",
            "amount": payment["amount"],
            "currency": payment["currency"],
            "status": payment["status"],
            "order_id": payment["order_id"],
            "invoice_id": None,
            "international": False,
            "method": method,
            "amount_refunded": payment["amount_refunded"],
            "refund_status": payment["refund_status"],
            "captured": captured,
            "description": None,
            "card_id": payment.get("card_id"),
            "bank": "HDFC" if method == "netbanking" else None,
            "wallet": "payzapp" if method == "wallet" else None,
            "vpa": "success@razorpay" if method == "upi" else None,
            "email": payment["email"],
            "contact": payment["contact"],
            "notes": _public_notes(payment["notes"]),
            "fee": fee_base + tax if tax is not None else None,
            "tax": tax,
            "error_code": payment["error_code"],
            "error_description": payment["error_description"],
            "error_source": payment["error_source"],
            "error_step": payment["error_step"],
            "error_reason": payment["error_reason"],
            "acquirer_data": {"auth_code": "828553" if payment["status"] != "failed" else None},
            "created_at": payment["created_at"],
        }
        if method == "card":
            entity["card"] = {
                "id": payment["card_id"],
                "entity": "card",
                "name": "",
                "last4": "1111",
                "network": "Visa",
                "type": "credit",
                "issuer": None,
                "international": False,
                "emi": False,
                "sub_type": "consumer",
                "token_iin": None,
            }
        if method == "upi":
            entity["upi"] = {"payer_account_type": "bank_account", "vpa": "success@razorpay"}
        return entity

    def _refund_entity(self, refund: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": refund["id"],
            "entity": "refund",
            "amount": refund["amount"],
            "currency": refund["currency"],
            "payment_id": refund["payment_id"],
            "notes": _public_notes(refund["notes"]),
            "receipt": refund["receipt"],
            "acquirer_data": {"arn": None},
            "created_at": refund["created_at"],
            "batch_id": None,
            "status": "processed",
            "speed_processed": "instant" if refund["speed_requested"] == "optimum" else "normal",
            "speed_requested": refund["speed_requested"],
        }

    @staticmethod
    def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"entity": "collection", "count": len(items), "items": items}

    def _lookup(self, table: dict[str, dict[str, Any]], prefix: str, entity_id: str) -> dict[str, Any]:
        found = table.get(entity_id)
        if found is not None:
            return found
        if not entity_id.startswith(prefix) or len(entity_id) != len(prefix) + 14:
            raise RazorpayError(f"{entity_id} is not a valid id", field="id")
        raise RazorpayError(ID_DOES_NOT_EXIST)

    # --- the API ----------------------------------------------------------------------------------

    def _create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        _check_extra(body, ORDER_FIELDS)
        amount = _integer(body, "amount", required=True)
        assert amount is not None
        currency = body.get("currency")
        if not currency:
            raise RazorpayError("The currency field is required.", field="currency")
        if not isinstance(currency, str) or len(currency) != 3:
            raise RazorpayError("The currency must be 3 characters.", field="currency")
        if currency not in CURRENCIES:
            raise RazorpayError(CURRENCY_NOT_SUPPORTED, field="currency")
        if amount < 100:
            raise RazorpayError(AMOUNT_AT_LEAST, field="amount")
        if amount > self.max_amount:
            raise RazorpayError(AMOUNT_ABOVE_MAXIMUM, field="amount")
        receipt = body.get("receipt")
        if receipt is not None:
            if not isinstance(receipt, str):
                raise RazorpayError("The receipt must be a string.", field="receipt")
            if len(receipt) > 40:
                raise RazorpayError("The receipt may not be greater than 40 characters.", field="receipt")
        notes = _check_notes(body.get("notes"))
        partial_payment = _boolean(body, "partial_payment")
        _boolean(body, "payment_capture")
        order: dict[str, Any] = {
            "id": _new_id("order_"),
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "status": "created",
            "attempts": 0,
            "notes": notes,
            "partial_payment": partial_payment,
            "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        return self._order_entity(order)

    def _refund(self, payment: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        _check_extra(body, REFUND_FIELDS)
        if payment["refund_status"] == "full":
            raise RazorpayError(PAYMENT_FULLY_REFUNDED, validation=False)
        if payment["status"] != "captured":
            raise RazorpayError(PAYMENT_NOT_CAPTURED, validation=False)
        unrefunded = payment["amount"] - payment["amount_refunded"]
        amount = _integer(body, "amount", required=False)
        if amount is None:
            amount = unrefunded  # no amount: the rest of the payment
        if amount < 100:
            raise RazorpayError(AMOUNT_AT_LEAST, field="amount")
        if amount > payment["amount"]:
            raise RazorpayError(REFUND_GREATER_THAN_CAPTURED, validation=False)
        if amount > unrefunded:
            raise RazorpayError(REFUND_GREATER_THAN_UNREFUNDED, validation=False)
        speed = body.get("speed", "normal")
        if speed not in SPEEDS:
            raise RazorpayError("The selected speed is invalid.", field="speed")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise RazorpayError("The receipt may not be greater than 40 characters.", field="receipt")
        refund: dict[str, Any] = {
            "id": _new_id("rfnd_"),
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": _check_notes(body.get("notes")),
            "receipt": receipt,
            "speed_requested": speed,
            "created_at": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        payment["amount_refunded"] += amount
        if payment["amount_refunded"] == payment["amount"]:
            payment["refund_status"] = "full"
            payment["status"] = "refunded"
        else:
            payment["refund_status"] = "partial"
        return self._refund_entity(refund)

    def _capture_call(self, payment: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        _check_extra(body, CAPTURE_FIELDS)
        amount = _integer(body, "amount", required=True)
        if payment["captured"]:
            raise RazorpayError(PAYMENT_ALREADY_CAPTURED, validation=False)
        if payment["status"] != "authorized":
            raise RazorpayError(CAPTURE_ONLY_AUTHORIZED, validation=False)
        if amount != payment["amount"]:
            raise RazorpayError(CAPTURE_AMOUNT_MISMATCH, field="amount")
        currency = body.get("currency", payment["currency"])
        if currency != payment["currency"]:
            raise RazorpayError("Currency should be same as payment currency", field="currency")
        self._capture(payment, self.orders[payment["order_id"]])
        return self._payment_entity(payment)

    def _authenticated(self, request: Request[Any, Any, Any]) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        key_id, _, key_secret = decoded.partition(":")
        return hmac.compare_digest(key_id.encode(), self.key_id.encode()) and hmac.compare_digest(
            key_secret.encode(), self.key_secret.encode()
        )

    def app(self) -> Litestar:
        fake = self

        def answer(error: RazorpayError) -> Response[Any]:
            body = error_body(error.code, error.description, field=error.field, validation=error.validation)
            return Response(body, status_code=error.status)

        async def before(request: Request[Any, Any, Any]) -> Response[Any] | None:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            fake.requests.append(Received(request.method, path, body))
            if fake._faults:
                status, code, description = fake._faults.popleft()
                return Response(error_body(code, description), status_code=status)
            if not fake._authenticated(request):
                return answer(RazorpayError(AUTHENTICATION_FAILED, status=401, validation=False))
            if raw and not isinstance(body, dict):
                return answer(RazorpayError("The request body must be a JSON object.", validation=False))
            return None

        async def body_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
            raw = await request.body()
            return json.loads(raw) if raw else {}

        def handled(call: Any) -> Response[Any]:
            try:
                return Response(call())
            except RazorpayError as error:
                return answer(error)

        @post("/v1/orders", status_code=200)
        async def create_order(request: Request[Any, Any, Any]) -> Response[Any]:
            body = await body_of(request)
            return handled(lambda: fake._create_order(body))

        @get("/v1/orders/{order_id:str}")
        async def fetch_order(order_id: FromPath[str]) -> Response[Any]:
            return handled(lambda: fake._order_entity(fake._lookup(fake.orders, "order_", order_id)))

        @get("/v1/orders/{order_id:str}/payments")
        async def order_payments(order_id: FromPath[str]) -> Response[Any]:
            def run() -> dict[str, Any]:
                fake._lookup(fake.orders, "order_", order_id)
                # Razorpay lists the newest first.
                found = [p for p in fake.payments.values() if p["order_id"] == order_id]
                return fake._collection([fake._payment_entity(p) for p in reversed(found)])

            return handled(run)

        @get("/v1/payments/{payment_id:str}")
        async def fetch_payment(payment_id: FromPath[str]) -> Response[Any]:
            return handled(lambda: fake._payment_entity(fake._lookup(fake.payments, "pay_", payment_id)))

        @post("/v1/payments/{payment_id:str}/capture", status_code=200)
        async def capture_payment(payment_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            body = await body_of(request)
            return handled(lambda: fake._capture_call(fake._lookup(fake.payments, "pay_", payment_id), body))

        @post("/v1/payments/{payment_id:str}/refund", status_code=200)
        async def refund_payment(payment_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            body = await body_of(request)
            return handled(lambda: fake._refund(fake._lookup(fake.payments, "pay_", payment_id), body))

        @get("/v1/payments/{payment_id:str}/refunds")
        async def payment_refunds(payment_id: FromPath[str]) -> Response[Any]:
            def run() -> dict[str, Any]:
                fake._lookup(fake.payments, "pay_", payment_id)
                found = [r for r in fake.refunds.values() if r["payment_id"] == payment_id]
                return fake._collection([fake._refund_entity(r) for r in reversed(found)])

            return handled(run)

        @get("/v1/payments/{payment_id:str}/refunds/{refund_id:str}")
        async def payment_refund(payment_id: FromPath[str], refund_id: FromPath[str]) -> Response[Any]:
            def run() -> dict[str, Any]:
                fake._lookup(fake.payments, "pay_", payment_id)
                refund = fake._lookup(fake.refunds, "rfnd_", refund_id)
                if refund["payment_id"] != payment_id:
                    raise RazorpayError(ID_DOES_NOT_EXIST)
                return fake._refund_entity(refund)

            return handled(run)

        @get("/v1/refunds/{refund_id:str}")
        async def fetch_refund(refund_id: FromPath[str]) -> Response[Any]:
            return handled(lambda: fake._refund_entity(fake._lookup(fake.refunds, "rfnd_", refund_id)))

        def not_found(_: Request[Any, Any, Any], __: Exception) -> Response[Any]:
            # Razorpay answers an unknown route or a wrong method with a 400, not a 404.
            return Response(error_body("BAD_REQUEST_ERROR", URL_NOT_FOUND), status_code=400)

        return Litestar(
            [
                create_order,
                fetch_order,
                order_payments,
                fetch_payment,
                capture_payment,
                refund_payment,
                payment_refunds,
                payment_refund,
                fetch_refund,
            ],
            before_request=before,
            exception_handlers={NotFoundException: not_found, MethodNotAllowedException: not_found},
            logging_config=None,
        )
