"""HTTP endpoints of invoices (/api/v1/invoices) and the buyer's billing details
(/api/v1/billing/details): a signed-in user or a secret key, for the account's own only."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from beanie import PydanticObjectId
from litestar import Controller, Request, Response, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from trailroom.domain.accounts.guards import principal_of, requires_account
from trailroom.domain.invoices.details import parse_billing_details
from trailroom.domain.invoices.schemas import (
    BillingDetailsEnvelope,
    BillingDetailsRequest,
    BillingDetailsResponse,
    InvoiceList,
    InvoiceResponse,
)
from trailroom.domain.invoices.services import InvoiceService
from trailroom.server.contract import PROBLEMS

NO_SUCH_INVOICE = {404: ("invoice_not_found",)}
PDF = "application/pdf"


def provide_invoices(state: State) -> InvoiceService:
    service: InvoiceService = state.services.invoices
    return service


def _account(request: Request[Any, Any, Any]) -> PydanticObjectId:
    account_id = principal_of(request).user.id
    assert account_id is not None
    return account_id


class InvoiceController(Controller):
    path = "/api/v1/invoices"
    tags = ["Invoices"]
    guards = [requires_account]
    dependencies = {"invoices": Provide(provide_invoices, sync_to_thread=False)}

    @get(
        "/",
        summary="The account's invoices and credit notes, newest first",
        opt={PROBLEMS: {422: ("invalid_cursor",)}},
    )
    async def list_invoices(
        self,
        request: Request[Any, Any, Any],
        invoices: NamedDependency[InvoiceService],
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> InvoiceList:
        page = await invoices.list_for(_account(request), cursor=cursor, limit=limit)
        return InvoiceList(data=[InvoiceResponse.of(i) for i in page.items], next_cursor=page.next_cursor)

    @get("/{invoice_id:str}", summary="One invoice or credit note", opt={PROBLEMS: NO_SUCH_INVOICE})
    async def get_invoice(
        self, request: Request[Any, Any, Any], invoice_id: FromPath[str], invoices: NamedDependency[InvoiceService]
    ) -> InvoiceResponse:
        return InvoiceResponse.of(await invoices.get_for(_account(request), invoice_id))

    @get(
        "/{invoice_id:str}/download",
        summary="The invoice or credit note as a PDF",
        media_type=PDF,
        responses={
            200: ResponseSpec(
                data_container=bytes, media_type=PDF, description="The PDF document", generate_examples=False
            )
        },
        opt={PROBLEMS: NO_SUCH_INVOICE},
    )
    async def download_invoice(
        self, request: Request[Any, Any, Any], invoice_id: FromPath[str], invoices: NamedDependency[InvoiceService]
    ) -> Response[bytes]:
        invoice = await invoices.get_for(_account(request), invoice_id)
        # WeasyPrint is CPU-bound and synchronous: off the event loop.
        pdf = await asyncio.to_thread(invoices.render_pdf, invoice)
        headers = {
            "Content-Disposition": f'attachment; filename="{invoice.pdf_filename}"',
            "Cache-Control": "private, no-store",
        }
        return Response(pdf, media_type=PDF, headers=headers)


class BillingDetailsController(Controller):
    path = "/api/v1/billing/details"
    tags = ["Invoices"]
    guards = [requires_account]
    dependencies = {"invoices": Provide(provide_invoices, sync_to_thread=False)}

    @get("/", summary="Who invoices are made out to (null until saved)")
    async def get_billing_details(
        self, request: Request[Any, Any, Any], invoices: NamedDependency[InvoiceService]
    ) -> BillingDetailsEnvelope:
        details = await invoices.billing_details(_account(request))
        return BillingDetailsEnvelope(details=BillingDetailsResponse.of(details) if details else None)

    @put(
        "/",
        summary="Set the billing details later invoices carry (earlier invoices keep theirs)",
        opt={PROBLEMS: {422: ("invalid_billing_details",)}},
    )
    async def put_billing_details(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[BillingDetailsRequest],
        invoices: NamedDependency[InvoiceService],
    ) -> BillingDetailsEnvelope:
        details = parse_billing_details({f: getattr(data, f) for f in data.__struct_fields__})
        saved = await invoices.save_billing_details(_account(request), details)
        return BillingDetailsEnvelope(details=BillingDetailsResponse.of(saved))
