"""A web server front on loopback, in the shapes Campaign's fronts answer (domain reference 4.1, 4.2):
what `/r/test` and `/nl/jsp/ping.jsp` return behind Apache, a redirect to HTTPS (served with a
self-signed certificate, so curl refuses it), a redirect loop, a redirect away to a login page, and
an Apache without the Campaign redirection module (404). Paths choose the behaviour:

    /ok/r/test       200 <redir status='OK' .../>
    /https/r/test    301 to https://<address>:<tls port>/r/test (self-signed: a TLS error for curl)
    /loop/r/test     302 to itself
    /away/r/test     302 to /login (200, an HTML page)
    /apache/r/test   404 Apache's "Not Found" page
    /nl/jsp/ping.jsp 500 with XSV-350008 (no session, as Campaign answers without one)
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OK_REDIR = (
    "<redir status='OK' date='2026-11-27 10:00:00.112Z' build='9379' sha1='3f1a2b7' instance='prod' "
    "host='front.example.invalid' localHost='front1'/>"
)
XSV_NO_SESSION = "XSV-350008 Session has expired or is invalid. Please reconnect."
APACHE_404 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head><title>404 Not Found</title></head><body>\n'
    "<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>"
)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "front.example.invalid")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    crt, pem = folder / "front.crt", folder / "front.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return crt, pem


class Front:
    """Two loopback servers (HTTP and HTTPS) with the behaviours above; `close()` stops both."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.address = address
        self.requests: list[str] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front.requests.append(self.path)
                path = self.path.split("?", 1)[0]
                if path == "/ok/r/test" or (path == "/r/test" and self.server is front.tls):
                    self._send(200, OK_REDIR, "text/xml")
                elif path == "/https/r/test":
                    self._redirect(301, f"https://{front.address}:{front.tls_port}/r/test")
                elif path == "/loop/r/test":
                    self._redirect(302, "/loop/r/test")
                elif path == "/away/r/test":
                    self._redirect(302, "/login")
                elif path == "/login":
                    self._send(200, "<html><body>Sign in</body></html>", "text/html")
                elif path == "/nl/jsp/ping.jsp":
                    self._send(500, XSV_NO_SESSION, "text/plain")
                else:
                    self._send(404, APACHE_404, "text/html")

            def _send(self, code: int, body: str, ctype: str) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, code: int, location: str) -> None:
                self.send_response(code)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.http = ThreadingHTTPServer((address, 0), Handler)
        self.tls = ThreadingHTTPServer((address, 0), Handler)
        self._dir = tempfile.TemporaryDirectory(prefix="cb-front-")
        crt, key = _self_signed(Path(self._dir.name))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        self.tls.socket = ctx.wrap_socket(self.tls.socket, server_side=True)
        self.port = self.http.server_address[1]
        self.tls_port = self.tls.server_address[1]
        for srv in (self.http, self.tls):
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def url(self, kind: str) -> str:
        """The front URL (without /r/test) of one behaviour: ok, https, loop, away, apache."""
        return f"http://{self.address}:{self.port}/{kind}"

    def close(self) -> None:
        for srv in (self.http, self.tls):
            srv.shutdown()
            srv.server_close()
        self._dir.cleanup()
