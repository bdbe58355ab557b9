"""Buying credits: orders, verification, webhooks, settlement and refunds.

Invariants:
- The amount of an order is the server's quote, stored with the order; nothing the client sends
  changes it, and a payment is only settled when the gateway says that amount was captured.
- Settling is one transaction: a conditional status change (created/failed -> paid) that only one
  caller can win, the purchase ledger entry (`purchase:<order id>`, unique: it can exist once), the
  invoice and the `payment.completed` event. The browser's verify call and any number of webhooks
  may race; credits are added once.
- A refund is reserved on the payment before the gateway is asked (so two refunds cannot exceed
  what was paid), and recorded once per gateway refund id, whichever of our call or the
  `refund.processed` webhook records it first. It takes back only purchased credits still unspent.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from beanie import PydanticObjectId
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError
from saq import Queue

from trailroom.core.clock import utcnow
from trailroom.core.config import Settings
from trailroom.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from trailroom.core.formatting import money
from trailroom.core.ids import parse_object_id
from trailroom.core.logging import get_logger
from trailroom.core.pagination import NEWEST_FIRST, after_cursor, page_cursor
from trailroom.core.transactions import in_transaction
from trailroom.domain.accounts.models import User
from trailroom.domain.billing.gateway import Gateway, GatewayPayment, GatewayRefused, GatewayUnavailable
from trailroom.domain.billing.models import SETTLED, GatewayEvent, Payment, PaymentStatus, PriceBreakdown, Refund
from trailroom.domain.billing.pricing import FIXED_PLAN_CREDITS, PriceList, Quote
from trailroom.domain.credits.models import TransactionKind
from trailroom.domain.credits.services import CreditService
from trailroom.domain.events.models import PAYMENT_COMPLETED, DomainEvent
from trailroom.domain.invoices.services import InvoiceService
from trailroom.domain.mail.models import OutgoingMail
from trailroom.domain.mail.services import Attachment, MailService

log = get_logger("trailroom.billing")

RECEIPT_JOB = "send_payment_receipt"
FIXED_PLAN = "fixed"
# A paid order whose receipt job was lost (a crash between commit and enqueue) is picked up after this.
RECEIPT_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class PaymentPage:
    items: list[Payment]
    next_cursor: str | None


class PaymentService:
    def __init__(
        self,
        settings: Settings,
        mongo: AsyncMongoClient[Any],
        credits: CreditService,
        gateway: Gateway,
        queue: Queue,
        invoices: InvoiceService,
        mail: MailService,
    ) -> None:
        self.settings = settings
        self.mongo = mongo
        self.credits = credits
        self.gateway = gateway
        self.queue = queue
        self.invoices = invoices
        self.mail = mail
        self.prices = PriceList.of(settings)

    @property
    def mode(self) -> str:
        return str(self.gateway.mode)

    # -- orders ------------------------------------------------------------------------------------

    def quote_for(self, *, plan: str | None = None, credits: int | None = None) -> Quote:
        """The quote for the fixed plan or a custom number of credits (exactly one of them)."""
        if (plan is None) == (credits is None):
            raise InvalidInput("Give either `plan` or `credits`.", code="plan_or_credits", field="plan")
        if plan is not None:
            if plan != FIXED_PLAN:
                raise InvalidInput(f"The only plan is `{FIXED_PLAN}`.", code="unknown_plan", field="plan")
            return self.prices.quote(FIXED_PLAN_CREDITS)
        assert credits is not None
        return self.prices.quote(credits)

    async def create_order(self, user: User, quote: Quote) -> Payment:
        """An order at the gateway for the server's quote, stored with that quote."""
        if not self.settings.payments_enabled:
            raise ServiceUnavailable("Payments are not configured on this installation.", code="payments_unavailable")
        if not user.is_active:
            raise Forbidden("This account is suspended.", code="account_suspended")
        payment_id = PydanticObjectId()
        receipt = f"tr_{payment_id}"  # 27 characters: Razorpay allows 40
        try:
            order = await self.gateway.create_order(
                amount=quote.amount,
                currency=quote.currency,
                receipt=receipt,
                notes={"account_id": str(user.id), "credits": str(quote.credits), "payment_id": str(payment_id)},
            )
        except GatewayRefused as error:
            log.error("the payment gateway refused an order", reason=str(error))
            raise ServiceUnavailable("The payment gateway refused the order.", code="payment_gateway_error") from None
        except GatewayUnavailable:
            raise ServiceUnavailable(
                "The payment gateway is unavailable; try again in a minute.", code="payment_gateway_unavailable"
            ) from None
        if order.amount != quote.amount or order.currency != quote.currency:
            raise ServiceUnavailable("The payment gateway changed the order's amount.", code="payment_gateway_error")
        payment = Payment(
            id=payment_id,
            account_id=user.id,
            order_id=order.id,
            receipt=receipt,
            mode=self.gateway.mode,
            price=PriceBreakdown.of(quote),
        )
        await payment.insert()
        return payment

    async def order_of(self, account_id: PydanticObjectId, order_id: str) -> Payment:
        """The account's payment for a gateway order id; someone else's order is not found."""
        payment = await Payment.find_one(Payment.order_id == order_id, Payment.account_id == account_id)
        if payment is None:
            raise NotFound("No such order on this account.", code="order_not_found")
        return payment

    async def get_for(self, account_id: PydanticObjectId, payment_id: str) -> Payment:
        """The account's payment; someone else's, or a malformed id, is not found."""
        payment = await self.get(payment_id)
        if payment.account_id != account_id:
            raise NotFound("No such payment.", code="payment_not_found")
        return payment

    async def get(self, payment_id: str) -> Payment:
        object_id = parse_object_id(payment_id)
        payment = await Payment.get(object_id) if object_id is not None else None
        if payment is None:
            raise NotFound("No such payment.", code="payment_not_found")
        return payment

    async def history(self, account_id: PydanticObjectId, *, cursor: str | None, limit: int) -> PaymentPage:
        query = {"account_id": account_id, "status": {"$ne": PaymentStatus.CREATED}, **after_cursor(cursor)}
        fetched = await Payment.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()  # type: ignore[arg-type]
        items, next_cursor = page_cursor(fetched, limit)
        return PaymentPage(items=items, next_cursor=next_cursor)

    # -- the browser's return from checkout --------------------------------------------------------

    async def verify(self, account_id: PydanticObjectId, *, order_id: str, payment_id: str, signature: str) -> Payment:
        """What Checkout posted: check its signature, then what the gateway says, then settle."""
        payment = await self.order_of(account_id, order_id)
        if not self.gateway.checkout_signature_valid(order_id, payment_id, signature):
            log.warning("a checkout signature did not verify", order_id=order_id)
            raise InvalidInput("The payment signature does not match.", code="invalid_signature")
        if payment.status in SETTLED:
            return payment
        gateway_payment = await self._fetch(payment_id)
        if gateway_payment.status == "authorized":
            gateway_payment = await self._capture(gateway_payment)
        if gateway_payment.status == "failed":
            await self.record_failure(payment, gateway_payment)
            raise InvalidInput(gateway_payment.error_description or "The payment failed.", code="payment_failed")
        if not self._matches(payment, gateway_payment):
            log.error("a verified payment does not match its order", order_id=order_id, payment_id=payment_id)
            raise InvalidInput("The payment does not match the order.", code="payment_mismatch")
        return await self.settle(payment, gateway_payment)

    async def _fetch(self, payment_id: str) -> GatewayPayment:
        try:
            return await self.gateway.fetch_payment(payment_id)
        except GatewayRefused:
            raise InvalidInput("The gateway does not know this payment.", code="payment_mismatch") from None
        except GatewayUnavailable:
            # The webhook settles it when the gateway is back; the page says so.
            raise ServiceUnavailable(
                "The payment gateway is unavailable; your payment will be confirmed shortly.",
                code="payment_gateway_unavailable",
            ) from None

    async def _capture(self, gateway_payment: GatewayPayment) -> GatewayPayment:
        try:
            return await self.gateway.capture(gateway_payment.id, gateway_payment.amount, gateway_payment.currency)
        except (GatewayRefused, GatewayUnavailable):
            # Razorpay may have auto-captured it meanwhile; fetch once more.
            return await self._fetch(gateway_payment.id)

    @staticmethod
    def _matches(payment: Payment, gateway_payment: GatewayPayment) -> bool:
        return (
            gateway_payment.captured
            and gateway_payment.order_id == payment.order_id
            and gateway_payment.amount == payment.price.amount
            and gateway_payment.currency == payment.price.currency
        )

    # -- settling: credits once ------------------------------------------------------------------

    async def settle(self, payment: Payment, gateway_payment: GatewayPayment) -> Payment:
        """Mark the order paid, add its credits, issue its invoice and tell webhooks: once."""
        paid_at = utcnow()

        async def work(session: AsyncClientSession) -> bool:
            won = await Payment.get_pymongo_collection().find_one_and_update(
                {"_id": payment.id, "status": {"$in": [PaymentStatus.CREATED, PaymentStatus.FAILED]}},
                {
                    "$set": {
                        "status": PaymentStatus.PAID,
                        "gateway_payment_id": gateway_payment.id,
                        "method": gateway_payment.method,
                        "paid_at": paid_at,
                        "updated_at": paid_at,
                        "failure_code": None,
                        "failure_reason": None,
                    }
                },
                session=session,
            )
            if won is None:
                return False  # settled already, by another verify call or a webhook
            credits = payment.price.credits
            entry = await self.credits.add_in(
                session,
                payment.account_id,
                credits,
                kind=TransactionKind.PURCHASE,
                description=f"Bought {credits:,} credits ({payment.order_id})",
                reference=f"purchase:{payment.order_id}",
            )
            invoice = await self.invoices.issue_in(
                session,
                account_id=payment.account_id,
                payment_id=payment.id,  # type: ignore[arg-type]
                order_id=payment.order_id,
                gateway_payment_id=gateway_payment.id,
                quote=payment.price.quote(),
                paid_at=paid_at,
            )
            await Payment.get_pymongo_collection().update_one(
                {"_id": payment.id},
                {"$set": {"invoice_id": invoice.id, "invoice_number": invoice.number}},
                session=session,
            )
            await DomainEvent(
                account_id=payment.account_id,
                type=PAYMENT_COMPLETED,
                data={
                    "payment_id": str(payment.id),
                    "order_id": payment.order_id,
                    "credits": credits,
                    "amount": payment.price.amount,
                    "currency": payment.price.currency,
                    "balance": entry.balance_after,
                },
            ).insert(session=session)
            return True

        try:
            settled_now = await in_transaction(self.mongo, work)
        except DuplicateKeyError:
            settled_now = False  # the purchase entry or invoice exists: someone settled it first
        if settled_now:
            self.credits.changed(payment.account_id)
            log.info("payment settled", payment_id=str(payment.id), credits=payment.price.credits)
            await self._queue_receipt(str(payment.id))
        fresh = await Payment.get(payment.id)
        assert fresh is not None
        return fresh

    # -- failures ----------------------------------------------------------------------------------

    async def record_failure(self, payment: Payment, gateway_payment: GatewayPayment) -> None:
        """A failed attempt: shown on the order (still payable) and mailed once per attempt."""
        updated = await Payment.get_pymongo_collection().find_one_and_update(
            {
                "_id": payment.id,
                "status": {"$in": [PaymentStatus.CREATED, PaymentStatus.FAILED]},
                "failed_payment_ids": {"$ne": gateway_payment.id},
            },
            {
                "$set": {
                    "status": PaymentStatus.FAILED,
                    "failure_code": gateway_payment.error_code or "payment_failed",
                    "failure_reason": gateway_payment.error_description or "The payment failed.",
                    "updated_at": utcnow(),
                },
                "$push": {"failed_payment_ids": gateway_payment.id},
            },
        )
        if updated is None:
            return
        user = await User.get(payment.account_id)
        if user is None:
            return
        await self.mail.queue(
            to=user.email,
            template="payment_failed",
            context={
                "name": user.name,
                "amount_display": money(payment.price.amount, payment.price.currency),
                "reason": gateway_payment.error_description or "The payment failed.",
                "billing_url": f"{self.settings.base_url}/app/billing",
            },
            account_id=payment.account_id,
        )

    # -- webhooks ----------------------------------------------------------------------------------

    async def handle_webhook(self, body: bytes, *, signature: str, event_id: str) -> str:
        """One Razorpay webhook: verified over the raw body, each event id handled once. Returns
        what was done (for the log and the response)."""
        if not signature or not self.gateway.webhook_signature_valid(body, signature):
            log.warning("a webhook signature did not verify")
            raise InvalidInput("The webhook signature does not match.", code="invalid_signature")
        if event_id and await GatewayEvent.find_one(GatewayEvent.event_id == event_id):
            return "duplicate"
        try:
            event = msgspec.json.decode(body)
            kind = str(event["event"])
            payload = event.get("payload") or {}
        except (msgspec.DecodeError, KeyError, TypeError):
            raise InvalidInput("The webhook body is not a Razorpay event.", code="invalid_webhook") from None
        outcome = await self._apply_event(kind, payload)
        if event_id:
            # The same event delivered twice at once: both runs were harmless.
            with contextlib.suppress(DuplicateKeyError):
                await GatewayEvent(event_id=event_id, type=kind).insert()
        return outcome

    async def _apply_event(self, kind: str, payload: dict[str, Any]) -> str:
        payment_entity = (payload.get("payment") or {}).get("entity")
        if kind in ("payment.captured", "order.paid", "payment.failed") and payment_entity:
            gateway_payment = GatewayPayment.of(payment_entity)
            payment = await Payment.find_one(Payment.order_id == gateway_payment.order_id)
            if payment is None:
                return "ignored"  # not one of our orders (another integration on the same account)
            if kind == "payment.failed":
                await self.record_failure(payment, gateway_payment)
                return "failure_recorded"
            if not self._matches(payment, gateway_payment):
                log.error("a webhook payment does not match its order", order_id=payment.order_id)
                return "mismatch"
            await self.settle(payment, gateway_payment)
            return "settled"
        refund_entity = (payload.get("refund") or {}).get("entity")
        if kind == "refund.processed" and refund_entity:
            payment = await Payment.find_one(Payment.gateway_payment_id == refund_entity.get("payment_id"))
            if payment is None:
                return "ignored"
            await self._record_refund(
                payment, refund_id=str(refund_entity["id"]), amount=int(refund_entity["amount"]), reserved=False
            )
            return "refund_recorded"
        return "ignored"

    # -- refunds -----------------------------------------------------------------------------------

    async def refund(self, payment_id: str, *, amount: int | None, reason: str, actor: str) -> Payment:
        """Refund all or part of a paid order through the gateway (the finance role's action)."""
        payment = await self.get(payment_id)
        if payment.status not in SETTLED or payment.gateway_payment_id is None:
            raise Conflict("Only a paid order can be refunded.", code="payment_not_refundable")
        amount = payment.refundable if amount is None else amount
        if amount <= 0 or amount > payment.refundable:
            raise InvalidInput(
                f"A refund can be 1 to {payment.refundable} (what is left of the payment).",
                code="invalid_refund_amount",
                field="amount",
            )
        reserved = await Payment.get_pymongo_collection().find_one_and_update(
            {
                "_id": payment.id,
                "$expr": {"$lte": [{"$add": ["$amount_refunded", "$refund_pending", amount]}, payment.price.amount]},
            },
            {"$inc": {"refund_pending": amount}},
        )
        if reserved is None:
            raise Conflict("Another refund of this payment is under way.", code="refund_in_progress")
        try:
            gateway_refund = await self.gateway.refund(
                payment.gateway_payment_id, amount, {"reason": reason[:200], "payment_id": str(payment.id)}
            )
        except (GatewayRefused, GatewayUnavailable) as error:
            await Payment.get_pymongo_collection().update_one(
                {"_id": payment.id}, {"$inc": {"refund_pending": -amount}}
            )
            code = "payment_gateway_error" if isinstance(error, GatewayRefused) else "payment_gateway_unavailable"
            raise ServiceUnavailable(f"The payment gateway did not refund: {error}", code=code) from None
        return await self._record_refund(
            payment,
            refund_id=gateway_refund.id,
            amount=gateway_refund.amount,
            reserved=True,
            reason=reason,
            actor=actor,
        )

    async def _record_refund(
        self,
        payment: Payment,
        *,
        refund_id: str,
        amount: int,
        reserved: bool,
        reason: str = "",
        actor: str | None = None,
    ) -> Payment:
        """Record a gateway refund once: the payment's totals, the credits taken back, the credit note."""
        credits_wanted = payment.price.credits * amount // payment.price.amount
        now = utcnow()

        async def work(session: AsyncClientSession) -> None:
            if reserved:  # our reservation ends here, whoever records the refund
                await Payment.get_pymongo_collection().update_one(
                    {"_id": payment.id}, {"$inc": {"refund_pending": -amount}}, session=session
                )
            recorded = await Payment.get_pymongo_collection().find_one_and_update(
                {"_id": payment.id, "refunds.refund_id": {"$ne": refund_id}},
                {"$inc": {"amount_refunded": amount}, "$set": {"updated_at": now}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if recorded is None:
                return  # the webhook recorded it first
            entry = await self.credits.reclaim_in(
                session,
                payment.account_id,
                credits_wanted,
                description=lambda taken: (
                    f"Refund of {payment.order_id}: {taken:,} of {credits_wanted:,} credits taken back"
                    + ("" if taken == credits_wanted else " (the rest were spent)")
                ),
                reference=f"payment_refund:{refund_id}",
                actor=actor,
            )
            reclaimed = -entry.amount if entry is not None else 0
            fully = recorded["amount_refunded"] >= payment.price.amount
            await Payment.get_pymongo_collection().update_one(
                {"_id": payment.id},
                {
                    "$push": {
                        "refunds": Refund(
                            refund_id=refund_id, amount=amount, credits_reclaimed=reclaimed, reason=reason, actor=actor
                        ).model_dump()
                    },
                    "$set": {"status": PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED},
                },
                session=session,
            )
            await self.invoices.credit_note_in(
                session,
                account_id=payment.account_id,
                payment_id=payment.id,  # type: ignore[arg-type]
                refund_id=refund_id,
                amount=amount,
                credits=reclaimed,
                refunded_at=now,
            )

        # A DuplicateKeyError: the ledger entry of this refund exists, so it was recorded already.
        with contextlib.suppress(DuplicateKeyError):
            await in_transaction(self.mongo, work)
        self.credits.changed(payment.account_id)
        fresh = await Payment.get(payment.id)
        assert fresh is not None
        return fresh

    # -- receipts ----------------------------------------------------------------------------------

    async def _queue_receipt(self, payment_id: str) -> None:
        try:
            await self.queue.enqueue(RECEIPT_JOB, key=f"receipt:{payment_id}", payment_id=payment_id, retries=5)
        except Exception:
            # Redis away: the receipts sweep sends it later; the payment itself is settled.
            log.warning("could not queue a receipt", payment_id=payment_id, exc_info=True)

    async def queue_due_receipts(self) -> int:
        """Cron: paid orders whose receipt job was lost get one."""
        due = (
            await Payment.find(
                {"status": {"$in": list(SETTLED)}, "receipt_sent": False, "paid_at": {"$lt": utcnow() - RECEIPT_GRACE}}
            )
            .limit(100)
            .to_list()
        )
        for payment in due:
            await self._queue_receipt(str(payment.id))
        return len(due)

    async def send_receipt(self, payment_id: str) -> bool:
        """The receipt of a paid order, its invoice attached: claimed and written in one transaction,
        so it goes out once however often the job runs. False when there is nothing to send."""
        payment = await self.get(payment_id)
        if payment.status not in SETTLED or payment.receipt_sent:
            return False
        user = await User.get(payment.account_id)
        invoice = await self.invoices.for_payment(payment.id)  # type: ignore[arg-type]
        if user is None or invoice is None:
            return False
        pdf = await asyncio.to_thread(self.invoices.render_pdf, invoice)
        context = {
            "name": user.name,
            "credits": payment.price.credits,
            "amount_display": money(payment.price.amount, payment.price.currency),
            "invoice_number": invoice.number,
            "order_id": payment.order_id,
            "payment_id": payment.gateway_payment_id or str(payment.id),
            "billing_url": f"{self.settings.base_url}/app/billing/payments/{payment.id}",
        }

        async def work(session: AsyncClientSession) -> OutgoingMail | None:
            claimed = await Payment.get_pymongo_collection().find_one_and_update(
                {"_id": payment.id, "receipt_sent": False}, {"$set": {"receipt_sent": True}}, session=session
            )
            if claimed is None:
                return None
            return await self.mail.queue(
                to=user.email,
                template="receipt",
                context=context,
                attachments=[Attachment(invoice.pdf_filename, "application/pdf", pdf)],
                account_id=payment.account_id,
                session=session,
            )

        mail = await in_transaction(self.mongo, work)
        if mail is None:
            return False
        await self.mail.enqueue(mail)
        return True
