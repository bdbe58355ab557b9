"""HTTP endpoints of accounts: /api/v1/auth and /api/v1/api-keys. Thin: parse, call a service, answer."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from trailroom.core.config import Settings
from trailroom.core.errors import Forbidden, Unauthenticated
from trailroom.core.logging import get_logger
from trailroom.domain.accounts.cookies import (
    DEVICE_COOKIE,
    REFRESH_COOKIE,
    clear_session_cookies,
    require_refresh_csrf,
    session_cookies,
)
from trailroom.domain.accounts.deps import provide_account_emails, provide_accounts, provide_api_keys, provide_google
from trailroom.domain.accounts.emails import AccountEmails
from trailroom.domain.accounts.google import GoogleSignIn
from trailroom.domain.accounts.guards import principal_of, requires_account, requires_session
from trailroom.domain.accounts.models import ApiKeyKind
from trailroom.domain.accounts.schemas import (
    ApiKeyList,
    ApiKeyResponse,
    AuthProviders,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    GenerateKeyRequest,
    LoginRequest,
    MailAccepted,
    MeResponse,
    NewApiKeyResponse,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokenResponse,
    UpdateKeyRequest,
    UpdateProfileRequest,
    UserResponse,
    VerifyEmailRequest,
)
from trailroom.domain.accounts.services import AccountService, ApiKeyService, TokenPair
from trailroom.server.contract import PROBLEMS

log = get_logger("trailroom.accounts")
GOOGLE_STATE_COOKIE = "tr_oauth_state"
GOOGLE_PATH = "/api/v1/auth/google"


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _token_response(settings: Settings, tokens: TokenPair) -> Response[TokenResponse]:
    body = TokenResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        refresh_expires_in=tokens.refresh_expires_in,
    )
    # Tokens must never be cached by a proxy or the browser.
    return Response(body, cookies=session_cookies(settings, tokens), headers={"Cache-Control": "no-store"})


async def _refresh_token_from(
    request: Request[Any, Any, Any], data: RefreshRequest | None, accounts: AccountService
) -> str:
    if data is not None and data.refresh_token:
        return data.refresh_token
    cookie = request.cookies.get(REFRESH_COOKIE)
    if cookie:
        # The cookie is sent by the browser on its own; only our page can echo its session's CSRF token.
        require_refresh_csrf(request, accounts.csrf, await accounts.session_id_of(cookie))
        return cookie
    raise Unauthenticated("Send the refresh token in the body or the session cookie.", code="missing_refresh_token")


async def send_reset_mail(account_emails: AccountEmails, email: str) -> None:
    """After the answer is sent (its timing says nothing of the account): the reset mail, if any."""
    try:
        await account_emails.send_password_reset(email)
    except Exception:
        log.exception("password reset mail not written")


# The problems of the account routes beyond those their shape implies (see server/contract.py).
REFRESH_PROBLEMS = {
    401: ("missing_refresh_token", "invalid_refresh_token", "refresh_token_reused"),
    403: ("csrf_failed", "account_suspended"),
}
GOOGLE_OFF = {404: ("google_not_configured",)}
KEY_INPUT = ("invalid_name", "invalid_origins", "invalid_limit")
NO_SUCH_KEY = {404: ("api_key_not_found",)}


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["Authentication"]
    dependencies = {
        "accounts": Provide(provide_accounts, sync_to_thread=False),
        "google": Provide(provide_google, sync_to_thread=False),
        "account_emails": Provide(provide_account_emails, sync_to_thread=False),
    }

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create an account with email and password",
        opt={
            PROBLEMS: {
                409: ("email_taken",),
                422: ("terms_not_accepted", "invalid_name", "invalid_email", "weak_password"),
                429: ("rate_limited",),
            }
        },
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegisterRequest],
        accounts: NamedDependency[AccountService],
        account_emails: NamedDependency[AccountEmails],
    ) -> UserResponse:
        user = await accounts.register(
            email=data.email,
            password=data.password,
            name=data.name,
            accept_terms=data.accept_terms,
            ip=client_ip(request),
        )
        await account_emails.send_verification(user)
        return UserResponse.of(user)

    @post(
        "/login",
        status_code=200,
        summary="Sign in; answers tokens and sets the session cookies",
        opt={
            PROBLEMS: {
                401: ("invalid_credentials",),
                403: ("account_suspended",),
                422: ("invalid_email",),
                429: ("login_throttled", "rate_limited"),
            }
        },
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        accounts: NamedDependency[AccountService],
        settings: NamedDependency[Settings],
    ) -> Response[TokenResponse]:
        _, tokens = await accounts.login(
            email=data.email,
            password=data.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            device_token=request.cookies.get(DEVICE_COOKIE),
        )
        return _token_response(settings, tokens)

    @post(
        "/refresh",
        status_code=200,
        summary="Rotate the refresh token (body or cookie) for new tokens",
        opt={PROBLEMS: REFRESH_PROBLEMS},
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        settings: NamedDependency[Settings],
        data: JSONBody[RefreshRequest | None] = None,
    ) -> Response[TokenResponse]:
        token = await _refresh_token_from(request, data, accounts)
        _, tokens = await accounts.refresh(token, ip=client_ip(request), user_agent=request.headers.get("user-agent"))
        return _token_response(settings, tokens)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="End the session of the refresh token",
        opt={PROBLEMS: REFRESH_PROBLEMS},
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        data: JSONBody[RefreshRequest | None] = None,
    ) -> Response[None]:
        await accounts.logout(await _refresh_token_from(request, data, accounts))
        response: Response[None] = Response(None, status_code=HTTP_204_NO_CONTENT)
        clear_session_cookies(response)
        return response

    @get("/me", summary="The account behind the access token or secret API key", guards=[requires_account])
    async def me(self, request: Request[Any, Any, Any]) -> MeResponse:
        principal = principal_of(request)
        return MeResponse(user=UserResponse.of(principal.user), authenticated_via=principal.via.value)

    @patch(
        "/me",
        summary="Change the signed-in user's profile (name)",
        guards=[requires_session],
        opt={PROBLEMS: {422: ("invalid_name",)}},
    )
    async def update_me(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[UpdateProfileRequest],
        accounts: NamedDependency[AccountService],
    ) -> UserResponse:
        user = await accounts.update_profile(principal_of(request).user, name=data.name)
        return UserResponse.of(user)

    @post(
        "/password",
        status_code=200,
        summary="Change the password; every other session ends, new tokens are answered",
        guards=[requires_session],
        opt={
            PROBLEMS: {
                422: ("wrong_current_password", "password_unchanged", "weak_password"),
                429: ("password_change_throttled",),
            }
        },
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ChangePasswordRequest],
        accounts: NamedDependency[AccountService],
        settings: NamedDependency[Settings],
    ) -> Response[TokenResponse]:
        tokens = await accounts.change_password(
            principal_of(request).user,
            current_password=data.current_password,
            new_password=data.new_password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
        return _token_response(settings, tokens)

    @post(
        "/password/forgot",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a password reset link; answers 202 whether or not the address has an account",
        opt={PROBLEMS: {429: ("rate_limited",)}},
    )
    async def forgot_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ForgotPasswordRequest],
        account_emails: NamedDependency[AccountEmails],
    ) -> Response[MailAccepted]:
        await account_emails.limit_reset_requests(client_ip(request))
        return Response(
            MailAccepted("If an account uses this address, a password reset link is on its way to it."),
            status_code=HTTP_202_ACCEPTED,
            background=BackgroundTask(send_reset_mail, account_emails, data.email),
        )

    @post(
        "/password/reset",
        status_code=HTTP_204_NO_CONTENT,
        summary="Set a new password with the token from a reset mail; every session of the account ends",
        opt={
            PROBLEMS: {
                403: ("account_suspended",),
                422: ("invalid_reset_token", "weak_password"),
                429: ("rate_limited",),
            }
        },
    )
    async def reset_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResetPasswordRequest],
        account_emails: NamedDependency[AccountEmails],
    ) -> None:
        await account_emails.reset_password(token=data.token, password=data.password, ip=client_ip(request))

    @post(
        "/verify-email",
        status_code=HTTP_204_NO_CONTENT,
        summary="Confirm the email address with the token from the confirmation mail",
        opt={PROBLEMS: {422: ("invalid_verification_token",), 429: ("rate_limited",)}},
    )
    async def verify_email(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[VerifyEmailRequest],
        account_emails: NamedDependency[AccountEmails],
    ) -> None:
        await account_emails.verify_email(token=data.token, ip=client_ip(request))

    @post(
        "/verify-email/resend",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail the signed-in user a new confirmation link",
        guards=[requires_session],
        opt={PROBLEMS: {409: ("email_already_verified",), 429: ("rate_limited",)}},
    )
    async def resend_verification(
        self, request: Request[Any, Any, Any], account_emails: NamedDependency[AccountEmails]
    ) -> MailAccepted:
        user = principal_of(request).user
        await account_emails.resend_verification(user)
        return MailAccepted(f"A new confirmation link is on its way to {user.email}.")

    @get("/providers", summary="Sign-in methods this server offers")
    async def providers(self, settings: NamedDependency[Settings]) -> AuthProviders:
        return AuthProviders(
            password=True,
            google=settings.google_enabled,
            google_url=GOOGLE_PATH if settings.google_enabled else None,
        )

    @get("/google", summary="Start Google sign-in (redirects to Google)", status_code=302, opt={PROBLEMS: GOOGLE_OFF})
    async def google_start(
        self,
        google: NamedDependency[GoogleSignIn],
        settings: NamedDependency[Settings],
        next_path: Annotated[str | None, QueryParameter(name="next", max_length=2000)] = None,
    ) -> Redirect:
        url, state = await google.begin(f"{settings.base_url}{GOOGLE_PATH}/callback", after=next_path)
        response = Redirect(url)
        response.set_cookie(
            GOOGLE_STATE_COOKIE,
            state,
            max_age=600,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
            path=GOOGLE_PATH,
        )
        return response

    @get(
        "/google/callback",
        summary="Google redirects back here",
        status_code=302,
        opt={
            PROBLEMS: {
                **GOOGLE_OFF,
                401: ("google_sign_in_failed",),
                403: ("oauth_state_mismatch", "account_suspended"),
                409: ("email_not_verified", "google_account_conflict", "email_taken"),
            }
        },
    )
    async def google_callback(
        self,
        request: Request[Any, Any, Any],
        google: NamedDependency[GoogleSignIn],
        accounts: NamedDependency[AccountService],
        settings: NamedDependency[Settings],
        oauth_state: Annotated[str, QueryParameter(name="state", max_length=200)],
        code: Annotated[str | None, QueryParameter(max_length=2000)] = None,
        error: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Redirect:
        google.ensure_enabled()
        if request.cookies.get(GOOGLE_STATE_COOKIE) != oauth_state:
            # The callback must come back to the browser that started the sign-in.
            raise Forbidden("This sign-in was not started in this browser; start again.", code="oauth_state_mismatch")
        if error or not code:
            raise Unauthenticated(
                f"Google sign-in was not completed ({error or 'no code'}).", code="google_sign_in_failed"
            )
        identity = await google.complete(code=code, state=oauth_state)
        _, tokens = await accounts.sign_in_with_google(
            sub=identity.sub,
            email=identity.email,
            email_verified=identity.email_verified,
            name=identity.name,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
        response = Redirect(f"{settings.base_url}{identity.after}", cookies=session_cookies(settings, tokens))
        response.delete_cookie(GOOGLE_STATE_COOKIE, path=GOOGLE_PATH)
        return response


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["API keys"]
    guards = [requires_session]
    dependencies = {"api_keys": Provide(provide_api_keys, sync_to_thread=False)}

    @post(
        "/generate",
        status_code=HTTP_201_CREATED,
        summary="Create a key; the full key is shown only here",
        opt={PROBLEMS: {409: ("too_many_keys",), 422: KEY_INPUT}},
    )
    async def generate(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[GenerateKeyRequest],
        api_keys: NamedDependency[ApiKeyService],
    ) -> NewApiKeyResponse:
        api_key, key = await api_keys.generate(
            principal_of(request).user,
            name=data.name,
            kind=ApiKeyKind(data.kind),
            allowed_origins=data.allowed_origins,
            shopper_daily_limit=data.shopper_daily_limit,
            ip_daily_limit=data.ip_daily_limit,
        )
        return NewApiKeyResponse.of_new(api_key, key)

    @patch(
        "/{key_id:str}",
        summary="Rename a key, change its allowed origins or its shopper limits",
        opt={PROBLEMS: {**NO_SUCH_KEY, 422: KEY_INPUT}},
    )
    async def update_key(
        self,
        request: Request[Any, Any, Any],
        key_id: FromPath[str],
        data: JSONBody[UpdateKeyRequest],
        api_keys: NamedDependency[ApiKeyService],
    ) -> ApiKeyResponse:
        changes = {
            field: value
            for field in UpdateKeyRequest.__struct_fields__
            if (value := getattr(data, field)) is not msgspec.UNSET
        }
        return ApiKeyResponse.of(await api_keys.update(principal_of(request).user, key_id, changes))

    @get("/", summary="The account's keys (never the keys themselves)")
    async def list_keys(self, request: Request[Any, Any, Any], api_keys: NamedDependency[ApiKeyService]) -> ApiKeyList:
        keys = await api_keys.list_for(principal_of(request).user)
        return ApiKeyList(data=[ApiKeyResponse.of(key) for key in keys])

    @delete(
        "/{key_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Revoke a key at once", opt={PROBLEMS: NO_SUCH_KEY}
    )
    async def delete_key(
        self, request: Request[Any, Any, Any], key_id: FromPath[str], api_keys: NamedDependency[ApiKeyService]
    ) -> None:
        await api_keys.delete(principal_of(request).user, key_id)

    @post(
        "/{key_id:str}/regenerate",
        status_code=200,
        summary="Replace a key's secret; the old one stops working",
        opt={PROBLEMS: {**NO_SUCH_KEY, 409: ("concurrent_update",)}},
    )
    async def regenerate(
        self, request: Request[Any, Any, Any], key_id: FromPath[str], api_keys: NamedDependency[ApiKeyService]
    ) -> NewApiKeyResponse:
        api_key, key = await api_keys.regenerate(principal_of(request).user, key_id)
        return NewApiKeyResponse.of_new(api_key, key)
