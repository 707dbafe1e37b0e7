"""python-telegram-bot's network layer over aiohttp instead of httpx.

PTB talks to the Bot API through a :class:`~telegram.request.BaseRequest`; its own is
:class:`~telegram.request.HTTPXRequest`. Sending one message through httpx costs about
0.6 ms of CPU, and a report message's reply is mostly that: httpx and httpcore were two
thirds of the event loop's time in ``bench_live --part cpu``, and httpcore checks every pooled
connection on every request. The same send through aiohttp (already a dependency: the
Telegram stand-in and the demo's web chat run on it) costs about 0.25 ms.

PTB documents subclassing ``BaseRequest`` for this; ptbcontrib's ``AiohttpRequest`` does the
same but is installed from GitHub only, which the machines that install POA Bot may not reach.
Requests carry JSON bodies (a multipart form when there are files), one of the Bot API's
documented formats. This class keeps HTTPXRequest's defaults and its meaning of each timeout:

* ``connect_timeout``: opening a connection; ``pool_timeout``: waiting for a free one. Both
  end in ``aiohttp.ConnectionTimeoutError``, and nothing was sent (``bot.telegram_retry``
  retries those);
* ``read_timeout``: waiting for each part of the answer (``getUpdates`` passes its long
  poll's length here);
* ``write_timeout`` (``media_write_timeout`` for uploads): aiohttp has no write timeout, so it
  bounds the whole request together with the others.

A proxy in the environment (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) is used as httpx uses
it. It is looked up once per server, not with aiohttp's ``trust_env``: that also reads
``~/.netrc`` in a thread on every request.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# HTTPXRequest's defaults (seconds), so nothing changes but the library underneath.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 1.0
_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`."""

    def __init__(self, connections: int = 256):
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host) -> proxy

    @property
    def read_timeout(self) -> float:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        # Built here, not in __init__: a session belongs to the running event loop, and
        # ApplicationBuilder makes its requests before there is one.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, READ_TIMEOUT)
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            total=_sum(pool, connect, write, read), connect=_sum(pool, connect),
            sock_connect=connect, sock_read=read)
        try:
            body, headers = _body(request_data, files)
            async with self._session.request(method, url, data=body, headers=headers,
                                             timeout=timeout, proxy=self._proxy(url)
                                             ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut("Pool or connect timeout: the request was not sent to Telegram."
                           ) from error
        except TimeoutError as error:  # reading the answer took too long
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # Its text may quote the URL, and the URL holds the token.
            detail = str(error).replace(url, "<Bot API URL>")
            raise NetworkError(f"aiohttp.{type(error).__name__}: {detail}") from error

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        server = (parts.scheme, parts.hostname or "")
        if server not in self._proxies:
            self._proxies[server] = environment_proxy(*server)
        return self._proxies[server]


def environment_proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment gives for ``scheme://host``, if any (as httpx reads it)."""
    if proxy_bypass(host):
        return None
    proxies = getproxies()  # HTTPS_PROXY -> "https", ALL_PROXY -> "all", ...
    return proxies.get(scheme) or proxies.get("all")


def _given(value: float | None, default: float) -> float | None:
    return default if value is BaseRequest.DEFAULT_NONE else value


def _sum(*timeouts: float | None) -> float | None:
    """Together, or None (no limit) if any of them has none."""
    return None if None in timeouts else sum(timeouts)


def _body(request_data: RequestData | None, files) -> tuple[bytes | aiohttp.FormData | None,
                                                              dict[str, str] | None]:
    """The request's body and its headers: JSON, or a multipart form when there are files.

    JSON is one of the Bot API's documented request formats ("application/json, except for
    uploading files") and the cheapest to build: aiohttp's urlencoded form was a sixth of a
    message's CPU on the event loop."""
    if request_data is None:
        return None, None
    if not files:
        return json.dumps(request_data.parameters).encode(), _JSON
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None
