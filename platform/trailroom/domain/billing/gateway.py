"""The payment gateway: Razorpay through its official SDK, and what the payment service needs of it.

The SDK is synchronous (requests), so every call runs in a worker thread. Signatures are checked
with the SDK's own utility for both gateways (the test-mode gateway signs exactly as Razorpay does),
so one verify path serves live and test mode.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

import razorpay
import razorpay.errors
import requests

from trailroom.domain.billing.models import GatewayMode


class GatewayRefused(Exception):
    """The gateway refused the request (Razorpay's BAD_REQUEST_ERROR): asking again will not help."""


class GatewayUnavailable(Exception):
    """The gateway could not be reached or failed on its side: worth trying again later."""


@dataclass(frozen=True)
class GatewayOrder:
    id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class GatewayPayment:
    id: str
    order_id: str | None
    amount: int
    currency: str
    status: str  # created | authorized | captured | refunded | failed
    method: str | None = None
    error_code: str | None = None
    error_description: str | None = None

    @classmethod
    def of(cls, entity: dict[str, Any]) -> GatewayPayment:
        """From Razorpay's payment entity (as the API and webhooks give it)."""
        return cls(
            id=str(entity["id"]),
            order_id=entity.get("order_id"),
            amount=int(entity["amount"]),
            currency=str(entity.get("currency", "")),
            status=str(entity.get("status", "")),
            method=entity.get("method"),
            error_code=entity.get("error_code"),
            error_description=entity.get("error_description"),
        )

    @property
    def captured(self) -> bool:
        # A fully or partly refunded payment was captured first.
        return self.status in ("captured", "refunded")


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    payment_id: str
    amount: int
    status: str  # pending | processed | failed


class Gateway(Protocol):
    mode: GatewayMode
    key_id: str  # what the browser's checkout is opened with (public)

    async def create_order(self, *, amount: int, currency: str, receipt: str, notes: dict[str, str]) -> GatewayOrder:
        """A new order for `amount` (smallest currency unit)."""

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        """The payment as the gateway knows it now."""

    async def capture(self, payment_id: str, amount: int, currency: str) -> GatewayPayment:
        """Capture an authorized payment."""

    async def refund(self, payment_id: str, amount: int, notes: dict[str, str]) -> GatewayRefund:
        """Refund `amount` of a captured payment."""

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        """Is this what the gateway's checkout signed for the order and payment?"""

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        """Is `X-Razorpay-Signature` the gateway's signature of this raw webhook body?"""


class SignatureChecks:
    """Razorpay's signature rules, through the SDK's utility (HMAC-SHA256, constant-time compare)."""

    def __init__(self, key_id: str, key_secret: str, webhook_secret: str) -> None:
        self._client = razorpay.Client(auth=(key_id, key_secret))
        self._webhook_secret = webhook_secret

    def checkout_signature_valid(self, order_id: str, payment_id: str, signature: str) -> bool:
        fields = {"razorpay_order_id": order_id, "razorpay_payment_id": payment_id, "razorpay_signature": signature}
        try:
            return bool(self._client.utility.verify_payment_signature(fields))
        except razorpay.errors.SignatureVerificationError:
            return False

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return False
        try:
            return bool(self._client.utility.verify_webhook_signature(text, signature, self._webhook_secret))
        except razorpay.errors.SignatureVerificationError:
            return False


class RazorpayGateway(SignatureChecks):
    mode = GatewayMode.LIVE

    def __init__(self, *, key_id: str, key_secret: str, webhook_secret: str, base_url: str) -> None:
        super().__init__(key_id, key_secret, webhook_secret)
        self.key_id = key_id
        self._api = razorpay.Client(auth=(key_id, key_secret), base_url=base_url.rstrip("/"))
        self._api.set_app_details({"title": "TrailRoom"})

    async def _call(self, method: Any, *args: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await asyncio.to_thread(method, *args)
        except razorpay.errors.BadRequestError as error:
            raise GatewayRefused(str(error) or "The payment gateway refused the request.") from None
        except (razorpay.errors.ServerError, razorpay.errors.GatewayError) as error:
            raise GatewayUnavailable(str(error) or "The payment gateway failed.") from None
        except (requests.RequestException, ValueError) as error:
            # ValueError: an answer that is not JSON (a proxy's error page).
            raise GatewayUnavailable(f"The payment gateway could not be reached ({type(error).__name__}).") from None
        return result

    async def create_order(self, *, amount: int, currency: str, receipt: str, notes: dict[str, str]) -> GatewayOrder:
        order = await self._call(
            self._api.order.create, {"amount": amount, "currency": currency, "receipt": receipt, "notes": notes}
        )
        return GatewayOrder(id=str(order["id"]), amount=int(order["amount"]), currency=str(order["currency"]))

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        return GatewayPayment.of(await self._call(self._api.payment.fetch, payment_id))

    async def capture(self, payment_id: str, amount: int, currency: str) -> GatewayPayment:
        return GatewayPayment.of(
            await self._call(self._api.payment.capture, payment_id, amount, {"currency": currency})
        )

    async def refund(self, payment_id: str, amount: int, notes: dict[str, str]) -> GatewayRefund:
        refund = await self._call(self._api.payment.refund, payment_id, {"amount": amount, "notes": notes})
        return GatewayRefund(
            id=str(refund["id"]),
            payment_id=str(refund.get("payment_id", payment_id)),
            amount=int(refund["amount"]),
            status=str(refund.get("status", "processed")),
        )
