"""Outbound HTTP to addresses given by callers (image URLs, webhook URLs): which addresses may be
reached, the name resolution that is checked, and `GuardedClient`, the one client that requests such
URLs (checked, pinned to the checked address, bounded in time and size). Every outbound path to a
caller-given URL goes through it, so all apply the same rules."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
    ipaddress.ip_address("168.63.129.16"),  # Azure wire server
}


def forbidden_reason(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why the fetcher must not connect to this address, or None when it is a public unicast one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
        # Addresses that carry an IPv4 address are judged by it (a NAT64 gateway reaching a public
        # IPv4 host is fine; 6to4 or NAT64 wrapped around 10.0.0.1 is not).
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(address.packed[-4:])
        if embedded is not None:
            if address.ipv4_mapped is not None:
                return forbidden_reason(embedded, allow_loopback=allow_loopback)
            return forbidden_reason(embedded, allow_loopback=False)
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        if allow_loopback and (
            address == ipaddress.IPv6Address("::1") or address in ipaddress.IPv4Network("127.0.0.0/8")
        ):
            return None
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_private:
        return "a private network address"
    if address.is_reserved or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "a reserved address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


class OutboundRefused(Exception):
    """An outbound request that was not made (or not finished) for a reason the caller words itself."""


class Unresolvable(OutboundRefused):
    """The host has no address (or the lookup failed)."""

    @property
    def host(self) -> str:
        return str(self.args[0])


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal address is itself), without duplicates."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise Unresolvable(host) from exc
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(host)
    return addresses


def _scheme_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def default_port(url: httpx.URL) -> int:
    return url.port or _scheme_port(url)


def host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return host if url.port in (None, _scheme_port(url)) else f"{host}:{url.port}"


# --- the guarded client ---------------------------------------------------------------------------


class UrlRejected(OutboundRefused):
    """The URL is not one the policy lets us request: `problem` is `malformed`, `scheme` (then
    `scheme` says which one it had), `no_host` or `credentials`."""

    def __init__(self, problem: str, *, scheme: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.scheme = scheme


class AddressForbidden(OutboundRefused):
    """The host resolves to an address that is not public; `reason` names the kind of address (never
    the address itself), `redirected` says whether it was the target of a redirect."""

    def __init__(self, reason: str, *, redirected: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.redirected = redirected


class RedirectBroken(OutboundRefused):
    """A redirect without a Location (`location` is None) or with one that is not a URL."""

    def __init__(self, status_code: int, location: str | None) -> None:
        super().__init__(status_code, location)
        self.status_code = status_code
        self.location = location


class TooManyRedirects(OutboundRefused):
    def __init__(self, max_redirects: int) -> None:
        super().__init__(max_redirects)
        self.max_redirects = max_redirects


class ConnectFailed(OutboundRefused):
    """No checked address accepted a connection; `cause` is the last failure (None: no address)."""

    def __init__(self, cause: Exception | None) -> None:
        super().__init__(cause)
        self.cause = cause


class TooLarge(OutboundRefused):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class OutboundPolicy:
    allow_http: bool = False  # tests and local development only
    allow_loopback: bool = False  # tests and dev only: 127.0.0.0/8 and ::1, never private ranges
    timeout_s: float = 10  # the whole exchange, redirects and reading the body included
    connect_timeout_s: float | None = None  # default: timeout_s
    max_redirects: int = 0  # 0: a 3xx is the answer, never followed


_REDIRECTS = {301, 302, 303, 307, 308}


def parse_url(value: str | httpx.URL, *, allow_http: bool) -> httpx.URL:
    """The URL if it may be requested at all (no network): http(s) as allowed, a host, no
    credentials; else `UrlRejected`."""
    try:
        url = value if isinstance(value, httpx.URL) else httpx.URL(value)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UrlRejected("malformed") from exc
    allowed = ("https", "http") if allow_http else ("https",)
    if url.scheme not in allowed:
        raise UrlRejected("scheme", scheme=url.scheme)
    if not url.host:
        raise UrlRejected("no_host")
    if url.userinfo:
        raise UrlRejected("credentials")
    return url


class GuardedClient:
    """HTTP to URLs given by callers (image URLs, webhook endpoints), only ever to the public internet.

    Every hop (the URL, then each redirect up to `policy.max_redirects`, followed here and never by
    httpx) is checked before any connection: http(s) scheme per the policy, no credentials, and every
    address the host resolves to must be public (`forbidden_reason`). The request then goes to one of
    exactly those checked addresses: the URL is rewritten to the IP, with the real `Host` header and
    the real name for TLS (SNI and certificate verification through httpcore's `sni_hostname`
    extension). So a DNS answer that changes between the check and the connection (DNS rebinding)
    cannot move the connection elsewhere; the residual risk is a public address that itself forwards
    inward (an open proxy we were pointed at), which no client-side check can see. The whole exchange
    must finish within `policy.timeout_s` (else `TimeoutError`); read bodies with `read_capped` or
    `read_head` so that size is bounded too. No client auth, header or cookie is sent, and cookies a
    remote sets are dropped after every answer, so nothing one remote says reaches another.

    Give it an `httpx.AsyncClient` of its own (no base URL, auth, default headers or proxy: an HTTPS
    proxy tunnel would not carry the TLS name), or none and it makes one (then `aclose` it).

    A maintained library was considered (httpx-secure pins connections in httpcore's network
    backend) but it opens a TCP probe to the host, denied addresses included, before validating,
    checks only the address it selected rather than all of them, and relies on private httpx and
    httpcore internals; the checks here are small and use public APIs only.
    """

    def __init__(self, policy: OutboundPolicy, http: httpx.AsyncClient | None = None) -> None:
        self.policy = policy
        self._http = http
        self._own_http = http is None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            # Our own client: no base URL, auth, proxy from the environment or redirects.
            self._http = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=self.policy.timeout_s)
        return self._http

    async def aclose(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def parse(self, value: str | httpx.URL) -> httpx.URL:
        """The URL if the policy lets it be requested (no network), else `UrlRejected`."""
        return parse_url(value, allow_http=self.policy.allow_http)

    async def check(self, value: str | httpx.URL, *, redirected: bool = False) -> list[IPAddress]:
        """Every address the URL's host resolves to, once all of them are found public; else
        `UrlRejected`, `Unresolvable` or `AddressForbidden`."""
        url = self.parse(value)
        addresses = await resolve(url.raw_host.decode("ascii"), default_port(url))
        for address in addresses:
            reason = forbidden_reason(address, allow_loopback=self.policy.allow_loopback)
            if reason is not None:
                raise AddressForbidden(reason, redirected=redirected)
        return addresses

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """The answer to a checked, pinned request, its body not read yet. Redirects are followed (a
        new place is checked like the first) up to `policy.max_redirects`; past that
        `TooManyRedirects`. Errors: those of `check`, `RedirectBroken`, `ConnectFailed`, `TimeoutError`,
        and httpx's own once connected. A redirect re-sends the same request to the new place."""
        async with asyncio.timeout(self.policy.timeout_s):
            current = self.parse(url)
            for hop in range(self.policy.max_redirects + 1):
                addresses = await self.check(current, redirected=hop > 0)
                response = await self._send_pinned(method, current, addresses, headers or {}, content)
                try:
                    if response.status_code in _REDIRECTS and self.policy.max_redirects:
                        location = response.headers.get("location")
                        if not location:
                            raise RedirectBroken(response.status_code, None)
                        try:
                            current = current.join(location)
                        except (httpx.InvalidURL, ValueError, TypeError) as exc:
                            raise RedirectBroken(response.status_code, location) from exc
                        continue
                    yield response
                    return
                finally:
                    await response.aclose()
                    self.http.cookies.clear()
            raise TooManyRedirects(self.policy.max_redirects)

    async def _send_pinned(
        self,
        method: str,
        url: httpx.URL,
        addresses: list[IPAddress],
        headers: Mapping[str, str],
        content: bytes | None,
    ) -> httpx.Response:
        """Send over a connection to one of the already-checked addresses, never to a fresh lookup."""
        host = url.raw_host.decode("ascii")
        timeout = httpx.Timeout(self.policy.timeout_s, connect=self.policy.connect_timeout_s or self.policy.timeout_s)
        extensions: dict[str, object] = {"timeout": timeout.as_dict()}
        try:
            ipaddress.ip_address(host)
        except ValueError:
            # The TLS handshake names (SNI) and verifies the certificate against the host, not the IP.
            extensions["sni_hostname"] = host
        pinned_headers = {**headers, "Host": host_header(url)}
        last_error: Exception | None = None
        for address in addresses:
            request = httpx.Request(
                method,
                url.copy_with(host=str(address), fragment=None),
                headers=pinned_headers,
                content=content,
                extensions=extensions,
            )
            try:
                return await self.http.send(request, stream=True, follow_redirects=False, auth=None)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last_error = exc
        raise ConnectFailed(last_error) from last_error


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The whole body, or `TooLarge` as soon as it (or its declared length) passes `max_bytes`."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise TooLarge(max_bytes)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(max_bytes)
    return bytes(body)


async def read_head(response: httpx.Response, max_bytes: int) -> bytes:
    """The first `max_bytes` of the body (the rest is not read)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= max_bytes:
            break
    return bytes(body[:max_bytes])
