"""One HTTP exchange with a Campaign application server, bounded in time and size.

Built on the standard library's `http.client` (no new dependency) because the API client needs
exactly this and no more:

- no redirects: the session token and security token travel in headers and a cookie, and a
  redirect must never carry them to another address;
- no proxies from the environment: the secrets go to `campaign_api.url` and nowhere else;
- a socket timeout per call *and* the environment's deadline, re-checked between chunks, so a
  server that trickles bytes cannot hold the bot past its deadline;
- a cap on the reply size: more than `max_bytes` is refused, never buffered.

Errors are `CampaignApiError` subclasses whose messages name the address and what went wrong,
never a header, a cookie or a body sent.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import CampaignApiError

MAX_REPLY_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024


class ApiUnreachable(CampaignApiError):
    """Connection refused, name not resolved, TLS failure: the application server did not answer."""


class ApiTimeout(CampaignApiError):
    """No (complete) answer within the call's timeout or the environment's deadline."""


class ApiReplyTooLarge(CampaignApiError):
    """The reply was larger than the bot accepts."""


@dataclass(frozen=True)
class HttpReply:
    status: int
    content_type: str
    body: bytes


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def exchange(
    method: str,
    base_url: str,
    path_and_query: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    timeout_s: float,
    deadline: float,
    tls_verify: bool = True,
    max_bytes: int = MAX_REPLY_BYTES,
) -> HttpReply:
    """Send one request to `base_url` + `path_and_query` and read the whole reply.

    `timeout_s` bounds every socket operation; `deadline` (time.monotonic()) bounds the exchange.
    Raises ApiTimeout, ApiUnreachable or ApiReplyTooLarge.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    where = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    left = _remaining(deadline)
    if left <= 0.05:
        raise ApiTimeout(f"no time left for {where}{path_and_query.split('?')[0]} within the environment's deadline")
    timeout = max(0.05, min(timeout_s, left))
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        if not tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    full_path = (parts.path or "") + path_and_query
    shown = f"{where}{full_path.split('?')[0]}"
    try:
        try:
            conn.request(method, full_path, body=body, headers=headers)
            resp = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            while True:
                if _remaining(deadline) <= 0:
                    raise ApiTimeout(f"{shown} was still answering when the environment's deadline passed")
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise ApiReplyTooLarge(f"{shown} sent more than {max_bytes // 1024} KiB; the bot stopped reading")
                chunks.append(chunk)
            return HttpReply(resp.status, resp.getheader("Content-Type", "") or "", b"".join(chunks))
        except TimeoutError as e:
            raise ApiTimeout(f"{shown} did not answer within {timeout:.1f} s") from e
        except ssl.SSLError as e:
            raise ApiUnreachable(f"TLS error with {where}: {e.reason or type(e).__name__}") from e
        except ConnectionRefusedError as e:
            raise ApiUnreachable(f"{where} refused the connection") from e
        except socket.gaierror as e:
            raise ApiUnreachable(f"{host}: name not resolved") from e
        except (http.client.HTTPException, OSError) as e:
            raise ApiUnreachable(f"{where}: {type(e).__name__}: {e.strerror if isinstance(e, OSError) else e}") from e
    finally:
        conn.close()
