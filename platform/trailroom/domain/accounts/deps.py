"""Dependency providers of the accounts slice."""

from __future__ import annotations

from litestar.datastructures import State

from trailroom.domain.accounts.emails import AccountEmails
from trailroom.domain.accounts.google import GoogleSignIn
from trailroom.domain.accounts.services import AccountService, ApiKeyService


def provide_accounts(state: State) -> AccountService:
    service: AccountService = state.services.accounts
    return service


def provide_api_keys(state: State) -> ApiKeyService:
    service: ApiKeyService = state.services.api_keys
    return service


def provide_google(state: State) -> GoogleSignIn:
    service: GoogleSignIn = state.services.google
    return service


def provide_account_emails(state: State) -> AccountEmails:
    service: AccountEmails = state.services.account_emails
    return service
