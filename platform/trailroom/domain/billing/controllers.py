"""HTTP endpoints of billing: public pricing, orders and their verification, Razorpay's webhook,
the payment history, and refunds for the finance role."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from trailroom.core.config import Settings
from trailroom.domain.accounts.guards import principal_of, requires_account, requires_role
from trailroom.domain.accounts.models import Role
from trailroom.domain.billing.pricing import FIXED_PLAN_CREDITS, MAX_CUSTOM_CREDITS, MIN_CUSTOM_CREDITS, PriceList
from trailroom.domain.billing.schemas import (
    CreateOrderRequest,
    OrderResponse,
    PaymentList,
    PaymentResponse,
    PlansResponse,
    Prefill,
    QuoteResponse,
    RefundRequest,
    VerifyRequest,
    WebhookAnswer,
    WebhookEvent,
)
from trailroom.domain.billing.services import PaymentService
from trailroom.server.contract import PROBLEMS, READ_BODY, ReadBody
from trailroom.server.request_body import BODY_MEDIA_TYPES, JSON

NO_SUCH_PAYMENT = {404: ("payment_not_found",)}
GATEWAY_DOWN = ("payments_unavailable", "payment_gateway_error", "payment_gateway_unavailable")
WEBHOOK_MAX_BODY = 256 * 1024  # Razorpay's events are a few KB


def provide_payments(state: State) -> PaymentService:
    service: PaymentService = state.services.payments
    return service


class PricingController(Controller):
    path = "/api/v1/pricing"
    tags = ["Pricing"]

    @get("/plans", summary="The fixed plan and the custom range, amounts in the currency's smallest unit")
    async def plans(self, settings: NamedDependency[Settings]) -> PlansResponse:
        fixed = PriceList.of(settings).quote(FIXED_PLAN_CREDITS)
        return PlansResponse(
            currency=settings.currency,
            unit_price=settings.credit_unit_price,
            tax_percent=float(settings.gst_percent),
            min_credits=MIN_CUSTOM_CREDITS,
            max_credits=MAX_CUSTOM_CREDITS,
            fixed_plan=QuoteResponse.of(fixed),
        )

    @get(
        "/calculate",
        summary="What a purchase of `credits` costs, with its discount",
        opt={PROBLEMS: {422: ("credits_out_of_range",)}},
    )
    async def calculate(
        self,
        settings: NamedDependency[Settings],
        # The range is the pricing rule's (422 credits_out_of_range); `schema_extra` states it in the document.
        credits: Annotated[
            int, QueryParameter(schema_extra={"minimum": MIN_CUSTOM_CREDITS, "maximum": MAX_CUSTOM_CREDITS})
        ],
    ) -> QuoteResponse:
        return QuoteResponse.of(PriceList.of(settings).quote(credits))


class PaymentsController(Controller):
    path = "/api/v1/payments"
    tags = ["Payments"]
    dependencies = {"payments": Provide(provide_payments, sync_to_thread=False)}

    @post(
        "/create-order",
        status_code=HTTP_201_CREATED,
        guards=[requires_account],
        summary="Start a purchase: an order for the fixed plan or a custom number of credits",
        description=(
            "The amount is the server's quote (see `/api/v1/pricing/calculate`), never the client's. Open "
            "Razorpay Checkout with `key_id` and `order_id`; in test mode (no Razorpay keys) open "
            "`test_checkout_url` instead. Then send what Checkout returns to `/api/v1/payments/verify`."
        ),
        opt={
            PROBLEMS: {
                422: ("plan_or_credits", "unknown_plan", "credits_out_of_range"),
                503: GATEWAY_DOWN,
            }
        },
    )
    async def create_order(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CreateOrderRequest],
        payments: NamedDependency[PaymentService],
    ) -> OrderResponse:
        user = principal_of(request).user
        quote = payments.quote_for(plan=data.plan, credits=data.credits)
        payment = await payments.create_order(user, quote)
        test_url = None
        if payments.gateway.mode == "test":
            test_url = f"{payments.settings.base_url}/app/billing/checkout/{payment.order_id}"
        return OrderResponse(
            payment_id=str(payment.id),
            order_id=payment.order_id,
            mode=payments.mode,
            key_id=payments.gateway.key_id,
            amount=quote.amount,
            currency=quote.currency,
            price=QuoteResponse.of(quote),
            name=payments.settings.seller_name,
            description=f"{quote.credits:,} TrailRoom credits",
            prefill=Prefill(name=user.name, email=user.email),
            test_checkout_url=test_url,
        )

    @post(
        "/verify",
        status_code=HTTP_200_OK,
        guards=[requires_account],
        summary="Confirm a payment with what Razorpay Checkout returned; credits are added once",
        opt={
            PROBLEMS: {
                404: ("order_not_found",),
                422: ("invalid_signature", "payment_failed", "payment_mismatch"),
                503: ("payment_gateway_unavailable",),
            }
        },
    )
    async def verify(
        self, request: Request[Any, Any, Any], data: JSONBody[VerifyRequest], payments: NamedDependency[PaymentService]
    ) -> PaymentResponse:
        payment = await payments.verify(
            principal_of(request).user_id,
            order_id=data.razorpay_order_id,
            payment_id=data.razorpay_payment_id,
            signature=data.razorpay_signature,
        )
        return PaymentResponse.of(payment)

    @post(
        "/webhook",
        status_code=HTTP_200_OK,
        summary="Razorpay's webhook (signed with the webhook secret; each event handled once)",
        description=(
            "Razorpay posts `payment.captured`, `order.paid`, `payment.failed` and `refund.processed` here. "
            "`X-Razorpay-Signature` must be the HMAC-SHA256 of the raw body with the webhook secret; "
            "`X-Razorpay-Event-Id` makes a redelivered event a no-op."
        ),
        opt={
            BODY_MEDIA_TYPES: (JSON,),
            READ_BODY: ReadBody(WebhookEvent),
            PROBLEMS: {422: ("invalid_signature", "invalid_webhook")},
        },
        request_max_body_size=WEBHOOK_MAX_BODY,
    )
    async def webhook(
        self, request: Request[Any, Any, Any], payments: NamedDependency[PaymentService]
    ) -> WebhookAnswer:
        body = await request.body()
        outcome = await payments.handle_webhook(
            body,
            signature=request.headers.get("x-razorpay-signature", ""),
            event_id=request.headers.get("x-razorpay-event-id", "")[:100],
        )
        return WebhookAnswer(outcome=outcome)

    @get(
        "/history",
        guards=[requires_account],
        summary="The account's payments (failed, paid and refunded), newest first",
        opt={PROBLEMS: {422: ("invalid_cursor",)}},
    )
    async def history(
        self,
        request: Request[Any, Any, Any],
        payments: NamedDependency[PaymentService],
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> PaymentList:
        page = await payments.history(principal_of(request).user_id, cursor=cursor, limit=limit)
        return PaymentList(data=[PaymentResponse.of(p) for p in page.items], next_cursor=page.next_cursor)

    @get("/{payment_id:str}", guards=[requires_account], summary="One payment", opt={PROBLEMS: NO_SUCH_PAYMENT})
    async def payment(
        self, request: Request[Any, Any, Any], payment_id: FromPath[str], payments: NamedDependency[PaymentService]
    ) -> PaymentResponse:
        return PaymentResponse.of(await payments.get_for(principal_of(request).user_id, payment_id))


class PaymentAdminController(Controller):
    path = "/api/v1/admin/payments"
    tags = ["Admin"]
    guards = [requires_role(Role.FINANCE_ADMIN)]
    dependencies = {"payments": Provide(provide_payments, sync_to_thread=False)}

    @post(
        "/{payment_id:str}/refund",
        status_code=HTTP_200_OK,
        summary="Refund all or part of a paid order; unspent purchased credits are taken back",
        opt={
            PROBLEMS: {
                **NO_SUCH_PAYMENT,
                409: ("payment_not_refundable", "refund_in_progress"),
                422: ("invalid_refund_amount",),
                503: ("payment_gateway_error", "payment_gateway_unavailable"),
            }
        },
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        payment_id: FromPath[str],
        data: JSONBody[RefundRequest],
        payments: NamedDependency[PaymentService],
    ) -> PaymentResponse:
        payment = await payments.refund(
            payment_id, amount=data.amount, reason=data.reason, actor=principal_of(request).user.email
        )
        return PaymentResponse.of(payment)
