"""Documents and a web site that stress ingestion: long prose, a small PDF of much text, and
a site whose robots.txt asks for a long Crawl-delay or whose page trickles in.

    body = dense_pdf(pages=300, chars_per_page=100_000)  # 47 KB holding 30 MB of text
    with serving_in_thread(Site("Crawl-delay: 3600").server): …
"""

from __future__ import annotations

import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FACT = "The ferry to Gull Island leaves the north quay at 9 o'clock."


def html(title: str, body: str) -> bytes:
    """Return a small HTML page."""
    return (f"<!doctype html><html><head><title>{title}</title></head><body><main><article>"
            f"<h1>{title}</h1><p>{body}</p></article></main></body></html>").encode()


class Site:
    """A site on 127.0.0.1 serving `pages` (path → body); `/slow.html` trickles its bytes."""

    def __init__(self, robots: str = "") -> None:
        """Serve the pages from a thread; `base` is the site's address."""
        self.requests: list[str] = []
        self.pages = {"/robots.txt": robots.encode(),
                      "/": html("Harbour", f'{FACT} <a href="/tides.html">Tides</a> '
                                         '<a href="/slow.html">Slow</a>'),
                      "/tides.html": html("Tides", "The tide table is posted every Monday.")}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """Return the request handler over this site."""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                """Record the request; answer it (slowly for `/slow.html`)."""
                site.requests.append(self.path)
                body = site.pages.get(self.path)
                if self.path == "/slow.html":
                    body = html("Slow", "A page that arrives one byte every two seconds.")
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                kind = "text/plain" if self.path.endswith(".txt") else "text/html"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path != "/slow.html":
                    self.wfile.write(body)
                    return
                try:
                    for byte in body[:40]:  # about 80 s, unless the reader gives up
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(2)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the reader gave up: what this page is for

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        return Handler


def long_text(chars: int) -> str:
    """Return varied prose of about `chars` characters."""
    line = "Boat {0} moors at berth {1} of the east pontoon on day {2} of the season.\n"
    out: list[str] = []
    size = 0
    while size < chars:
        out.append(line.format(len(out), len(out) % 97, len(out) % 365))
        size += len(out[-1])
    return "".join(out)


def dense_pdf(pages: int, chars_per_page: int) -> bytes:
    """Return a small PDF whose pages all show one compressed stream of much text."""
    words = ("harbour " * (chars_per_page // 8)).encode()
    stream = zlib.compress(b"BT /F1 10 Tf 20 700 Td (" + words + b") Tj ET", 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream +
               b"\nendstream"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 3 0 R >> >> >>"] * pages
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
