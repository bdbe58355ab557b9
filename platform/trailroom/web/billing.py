"""Billing pages: plans and the calculator, checkout (Razorpay's, or the local test-mode one), the
return from checkout, a payment's page, and the payment history.

Checkout in both modes ends the same way: the browser posts Razorpay's three fields
(`razorpay_order_id`, `razorpay_payment_id`, `razorpay_signature`) to `/app/billing/return`, which
runs the same verification as `POST /api/v1/payments/verify`.
"""

from __future__ import annotations

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from trailroom.core.errors import InvalidInput, NotFound, ServiceUnavailable, TrailRoomError
from trailroom.core.vocabulary import MODE_LABELS
from trailroom.domain.billing.models import SETTLED, GatewayMode, Payment
from trailroom.domain.billing.pricing import FIXED_PLAN_CREDITS, MAX_CUSTOM_CREDITS, MIN_CUSTOM_CREDITS, PriceList
from trailroom.domain.billing.testmode import TestModeGateway
from trailroom.web.base import DashboardController
from trailroom.web.context import Page
from trailroom.web.public import CALCULATOR_STEP
from trailroom.web.security import RAZORPAY_CHECKOUT_HEADERS
from trailroom.web.signed_in import account_id, signed_in

# Sample purchases for the price table: the smallest, the fixed plan, and points up the discount curve.
EXAMPLE_CREDITS = (MIN_CUSTOM_CREDITS, 1000, FIXED_PLAN_CREDITS, 5000, 10_000, 25_000, MAX_CUSTOM_CREDITS)
RETURN_FIELDS = ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature")


class BillingPages(DashboardController):
    path = "/app/billing"

    @get("/", name="app:billing")
    async def billing(self, ctx: Page) -> Template:
        settings = ctx.settings
        prices = PriceList.of(settings)
        quotes = [prices.quote(c) for c in EXAMPLE_CREDITS]
        config = await ctx.services.runtime_config.current()
        history = await ctx.services.payments.history(account_id(ctx), cursor=None, limit=20)
        invoices = await ctx.services.invoices.list_for(account_id(ctx), cursor=None, limit=20)
        return ctx.render(
            "pages/app/billing.html",
            quotes=quotes,
            fixed_plan=next(q for q in quotes if q.credits == FIXED_PLAN_CREDITS),
            min_credits=MIN_CUSTOM_CREDITS,
            max_credits=MAX_CUSTOM_CREDITS,
            step=CALCULATOR_STEP,
            custom=prices.quote(FIXED_PLAN_CREDITS),
            costs=[(MODE_LABELS.get(mode, mode), config.cost_of(mode)) for mode in config.credit_costs],
            payments=history.items,
            invoices=invoices.items,
            test_mode=ctx.services.payments.gateway.mode == GatewayMode.TEST,
            payments_enabled=settings.payments_enabled,
        )

    @post("/checkout", summary="Start a purchase: an order for the plan or a custom amount", status_code=303)
    async def checkout(self, ctx: Page) -> Redirect:
        form = await ctx.form()
        payments = ctx.services.payments
        try:
            if form.get("plan"):
                quote = payments.quote_for(plan=form["plan"])
            else:
                quote = payments.quote_for(credits=int(form.get("credits", "").replace(",", "").strip()))
            payment = await payments.create_order(signed_in(ctx), quote)
        except ValueError:
            return ctx.redirect("/app/billing", flash="Enter a whole number of credits.", kind="error")
        except (InvalidInput, ServiceUnavailable) as error:
            return ctx.redirect("/app/billing", flash=error.detail or "That purchase is not possible.", kind="error")
        return ctx.redirect(f"/app/billing/checkout/{payment.order_id}")

    async def _order(self, ctx: Page, order_id: str) -> Payment:
        return await ctx.services.payments.order_of(account_id(ctx), order_id)

    @get("/checkout/{order_id:str}", summary="Pay an order")
    async def checkout_page(self, ctx: Page, order_id: FromPath[str]) -> Template | Redirect:
        payment = await self._order(ctx, order_id)
        if payment.status in SETTLED:
            return ctx.redirect(f"/app/billing/payments/{payment.id}")
        gateway = ctx.services.payments.gateway
        test_mode = gateway.mode == GatewayMode.TEST
        return ctx.render(
            "pages/app/checkout.html",
            payment=payment,
            quote=payment.price.quote(),
            test_mode=test_mode,
            key_id=gateway.key_id,
            seller=ctx.settings.seller_name,
            headers=None if test_mode else RAZORPAY_CHECKOUT_HEADERS,
        )

    def _test_gateway(self, ctx: Page) -> TestModeGateway:
        gateway = ctx.services.payments.gateway
        if not isinstance(gateway, TestModeGateway):
            raise NotFound("Test mode is off: payments go through Razorpay.", code="not_found")
        return gateway

    @post("/checkout/{order_id:str}/test-pay", summary="Test mode: pay the order", status_code=200)
    async def test_pay(self, ctx: Page, order_id: FromPath[str]) -> Template | Redirect:
        await ctx.form()
        payment = await self._order(ctx, order_id)
        try:
            posted = await self._test_gateway(ctx).pay(payment.order_id)
        except InvalidInput as error:
            return ctx.redirect(f"/app/billing/checkout/{order_id}", flash=error.detail or "", kind="error")
        # What Razorpay Checkout hands its handler, posted on to the return page as a form.
        return ctx.render("pages/app/checkout_return.html", fields=posted)

    @post("/checkout/{order_id:str}/test-fail", summary="Test mode: a declined payment", status_code=303)
    async def test_fail(self, ctx: Page, order_id: FromPath[str]) -> Redirect:
        await ctx.form()
        payment = await self._order(ctx, order_id)
        await self._test_gateway(ctx).fail(payment.order_id, "The test card was declined.")
        return ctx.redirect(
            f"/app/billing/checkout/{order_id}",
            flash="Payment failed: the test card was declined. Nothing was charged; try again.",
            kind="error",
        )

    @post("/return", summary="Back from checkout: verify the payment", status_code=303)
    async def checkout_return(self, ctx: Page) -> Redirect:
        form = await ctx.form()
        order_id = form.get("razorpay_order_id", "")
        if not all(form.get(name) for name in RETURN_FIELDS):
            return ctx.redirect("/app/billing", flash="The payment did not complete.", kind="error")
        try:
            payment = await ctx.services.payments.verify(
                account_id(ctx),
                order_id=order_id,
                payment_id=form["razorpay_payment_id"],
                signature=form["razorpay_signature"],
            )
        except ServiceUnavailable as error:
            return ctx.redirect("/app/billing", flash=error.detail or "", kind="warning")
        except TrailRoomError as error:
            return ctx.redirect(
                "/app/billing", flash=error.detail or "The payment could not be verified.", kind="error"
            )
        return ctx.redirect(f"/app/billing/payments/{payment.id}")  # the page says what was added

    @get("/payments/{payment_id:str}", summary="One payment: what was bought, its invoice, its refunds")
    async def payment_page(self, ctx: Page, payment_id: FromPath[str]) -> Template:
        payment = await ctx.services.payments.get_for(account_id(ctx), payment_id)
        return ctx.render("pages/app/payment.html", payment=payment, quote=payment.price.quote())
