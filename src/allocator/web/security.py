"""Who may use the workbench, and that every form was sent by its own pages.

- **Access token.** On 127.0.0.1 the workbench answers the local user. Bound to any other
  address it answers only a request carrying the token: ``?token=`` once (the server then
  sets a cookie and drops it from the address), the cookie, or ``Authorization: Bearer``.
- **Host header.** On 127.0.0.1 only ``127.0.0.1`` and ``localhost`` are accepted, so that a
  page elsewhere cannot reach the server through a name that resolves to this machine.
- **CSRF.** Each browser gets a random cookie; every form carries a field derived from it
  with the server's secret (HMAC-SHA256), and every POST without the matching field is
  refused. The cookie is ``SameSite=Strict`` too.
- **Size.** A POST larger than the upload limit is refused before its body is read.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_COOKIE = "allocate_token"
CSRF_COOKIE = "allocate_csrf"
CSRF_FIELD = "csrf_token"
_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1 and localhost: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh access token (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Guard:
    """The server's secrets and limits.

    Attributes
    ----------
    token:
        The access token, or None when the server answers the local user without one.
    local_only:
        True when bound to a loopback address: the Host header must then name this machine.
    max_body_bytes:
        The largest request body accepted (an upload and its form fields).
    secret:
        Key of the CSRF field's HMAC; new at every start.
    """

    token: str | None
    local_only: bool
    max_body_bytes: int
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def csrf_value(self, cookie: str) -> str:
        """The form field that goes with a browser's CSRF cookie."""
        return hmac.new(self.secret, cookie.encode(), hashlib.sha256).hexdigest()


def csrf_field(request: Request) -> str:
    """The CSRF field value for the forms of this request's page."""
    guard: Guard = request.app.state.guard
    return guard.csrf_value(str(request.state.csrf_cookie))


FormHandler = Callable[[Request, FormData], Awaitable[Response]]


def post_route(path: str, handler: FormHandler) -> Route:
    """A POST route whose handler receives the form only once its CSRF field is checked.

    Every POST route of the workbench is made here, so none can skip the check; the form's
    uploaded files are closed when the handler returns.
    """

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, await checked_form(request))
        finally:
            await request.close()

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return Route(path, endpoint, methods=["POST"])


async def checked_form(request: Request) -> FormData:
    """Read a POSTed form, refusing it (403) unless its CSRF field matches the cookie."""
    guard: Guard = request.app.state.guard
    form = await request.form(max_files=1, max_fields=500, max_part_size=1024 * 1024)
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not isinstance(sent, str):
        raise HTTPException(403, "csrf")
    if not hmac.compare_digest(sent, guard.csrf_value(cookie)):
        raise HTTPException(403, "csrf")
    return form


class GuardMiddleware:
    """Checks the Host header, the access token and the body size; sets the CSRF cookie."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = (request.headers.get("host") or "").rsplit(":", 1)[0]
        if self.guard.local_only and host not in _LOCAL_NAMES:
            await _plain(send, 400, "unknown host / 未知的主机名")
            return
        if self.guard.token is not None:
            given = request.query_params.get("token")
            if given is not None and hmac.compare_digest(given, self.guard.token):
                # The token leaves the address bar (and history) for a cookie.
                query = urlencode(
                    [(k, v) for k, v in parse_qsl(scope["query_string"].decode()) if k != "token"]
                )
                location = scope["path"] + (f"?{query}" if query else "")
                await _redirect(send, location, _cookie(TOKEN_COOKIE, self.guard.token))
                return
            if not self._authorised(request):
                await _plain(
                    send,
                    401,
                    "需要访问令牌：请使用服务器启动时打印的地址。\n"
                    "An access token is needed: open the address the server printed.",
                )
                return
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                await _plain(send, 411, "length required / 需要 Content-Length")
                return
            if int(length) > self.guard.max_body_bytes:
                mb = self.guard.max_body_bytes // (1024 * 1024)
                await _plain(
                    send, 413, f"上传过大（上限 {mb} MB） / upload too large ({mb} MB at most)"
                )
                return
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = cookie is None or len(cookie) != 43
        if fresh:
            cookie = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_cookie"] = cookie

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and fresh:
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", _cookie(CSRF_COOKIE, str(cookie))))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _authorised(self, request: Request) -> bool:
        token = self.guard.token or ""
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        if cookie and hmac.compare_digest(cookie, token):
            return True
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and hmac.compare_digest(auth[7:], token)


def _cookie(name: str, value: str) -> bytes:
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict".encode()


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str, cookie: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (b"set-cookie", cookie),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "TOKEN_COOKIE",
    "Guard",
    "GuardMiddleware",
    "checked_form",
    "csrf_field",
    "is_loopback",
    "new_token",
    "post_route",
]
