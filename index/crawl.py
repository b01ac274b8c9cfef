"""Crawl one web site politely: robots.txt, sitemaps, then links, within page and depth limits.

    crawler = Crawler("https://docs.example/", Limits(max_pages=50))
    for page in crawler.pages():  # Page(url, content_type, body, charset)
        ...

Only pages of the start URL's site (same scheme, host and port) are requested, redirects
included. A page that fails for a reason that may pass (a timeout, a 5xx) is listed in
`failed`, so an incremental import keeps what it had of it.

Every request is bounded: each host is resolved and its address checked against the
`AddressPolicy` before each request and redirect (and the checked address is the one
connected to), a page must arrive whole within `timeout` seconds however slowly it trickles,
robots.txt's Crawl-delay is honoured up to `max_crawl_delay`, and the crawl stops (incomplete)
when waiting or reading would pass `max_seconds`.
"""

from __future__ import annotations

import codecs
import contextlib
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from index.addresses import AddressPolicy, AddressRefused

if TYPE_CHECKING:
    import lxml.html

TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
MAX_REDIRECTS = 5
MAX_SITEMAPS = 20
_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


class CrawlError(ValueError):
    """The start URL cannot be crawled (bad URL, unreachable, refused)."""


@dataclass(frozen=True)
class Limits:
    """How far and how politely a crawl goes."""

    max_pages: int = 200
    max_depth: int = 5
    delay: float = 0.5
    timeout: float = 10.0
    max_bytes: int = 2_000_000
    user_agent: str = "citeqa-import/0.1"
    max_seconds: float = 0.0  # stop fetching after this long (0: no limit)
    max_crawl_delay: float = 10.0  # the longest robots.txt Crawl-delay honoured
    allow: str = ""  # networks fetched from although refused by default (AddressPolicy)
    deny: str = ""  # networks never fetched from


class _OutOfTime(Exception):
    """The crawl's time budget is spent."""


@dataclass(frozen=True)
class Page:
    """One fetched page of text."""

    url: str
    content_type: str
    body: bytes
    charset: str | None


@dataclass(frozen=True)
class _Response:
    """A complete response, read within the size limit."""

    url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes


class _Skip(Exception):
    """A URL that yields no page, and why."""


def normalize(url: str) -> str:
    """Return `url` without its fragment, with a lower-case scheme and host and a path."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/",
                       parts.query, ""))


def known_charset(name: str | None) -> str | None:
    """Return a declared charset Python can decode, else None (the extractor then guesses)."""
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def site_of(url: str) -> tuple[str, str, int]:
    """Return the (scheme, host, port) that makes a URL's site."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname or "", parts.port or default


def html_tree(page: Page) -> lxml.html.HtmlElement | None:
    """Parse an HTML page; None for plain text or markup that cannot be read."""
    import lxml.etree  # the parser loads only when a site is crawled, not in every server
    import lxml.html

    if page.content_type == "text/plain" or not page.body.strip():
        return None
    parser = lxml.html.HTMLParser(encoding=page.charset) if page.charset else None
    try:
        return lxml.html.document_fromstring(page.body, parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError):
        return None


def links(page: Page) -> list[str]:
    """Return the absolute URLs a page's `<a>` and `<area>` elements point to (not nofollow)."""
    tree = html_tree(page)
    if tree is None:
        return []
    base = next((str(b.get("href")) for b in tree.iter("base") if b.get("href")), page.url)
    found = []
    for anchor in tree.iter("a", "area"):
        href = anchor.get("href")
        if href and "nofollow" not in (anchor.get("rel") or "").lower().split():
            found.append(normalize(urljoin(urljoin(page.url, base), href)))
    return found


def meta_robots(page: Page) -> set[str]:
    """Return the page's `<meta name="robots">` directives (noindex, nofollow, none, …)."""
    tree = html_tree(page)
    if tree is None:
        return set()
    return {word.strip().lower() for meta in tree.iter("meta")
            if (meta.get("name") or "").lower() == "robots"
            for word in (meta.get("content") or "").split(",")}


def sitemap_urls(body: bytes) -> tuple[list[str], list[str]]:
    """Return the page URLs and the nested sitemap URLs a sitemap (or sitemap index) lists."""
    import lxml.etree

    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    pages: list[str] = []
    nested: list[str] = []
    for loc in root.iter("{*}loc"):
        parent = loc.getparent()
        kind = lxml.etree.QName(parent).localname if parent is not None else ""
        if loc.text and kind in ("url", "sitemap"):
            (pages if kind == "url" else nested).append(loc.text.strip())
    return pages, nested


class Crawler:
    """Fetch the pages of one site, breadth first from a start URL and its sitemaps."""

    def __init__(self, start_url: str, limits: Limits) -> None:
        self.start = normalize(start_url)
        if urlsplit(self.start).scheme not in ("http", "https") or not site_of(self.start)[1]:
            raise CrawlError(f"not an http(s) URL: {start_url!r}")
        self.site = site_of(self.start)
        self.limits = limits
        self.failed: set[str] = set()
        self.skipped: dict[str, str] = {}
        self.fetched = 0
        self.complete = False  # every page found was fetched: unseen pages are gone
        self._robots = RobotFileParser()
        self._last_request = 0.0
        self._policy = AddressPolicy.parse(limits.allow, limits.deny)
        self._deadline = float("inf")

    def owns(self, url: str) -> bool:
        """Tell whether a URL belongs to the crawled site."""
        return urlsplit(url).scheme in ("http", "https") and site_of(url) == self.site

    def pages(self) -> Iterator[Page]:
        """Yield the site's text pages; raise CrawlError when the start page cannot be had."""
        if self.limits.max_seconds:
            self._deadline = time.monotonic() + self.limits.max_seconds
        headers = {"User-Agent": self.limits.user_agent}
        # no proxy from the environment: the request must go to the address just checked
        with httpx.Client(headers=headers, timeout=self.limits.timeout, trust_env=False) as http:
            try:
                yield from self._crawl(http)
            except _OutOfTime:
                self.complete = False

    def _crawl(self, http: httpx.Client) -> Iterator[Page]:
        """Yield the site's pages breadth first, within the page and depth limits."""
        self._read_robots(http)
        if not self._allowed(self.start):
            raise CrawlError(f"robots.txt disallows {self.start}")
        queue = deque([(self.start, 0)])
        seen = {self.start}
        if self.limits.max_depth > 0:
            for url in self._sitemap_pages(http):
                if url not in seen:
                    seen.add(url)
                    queue.append((url, 1))
        while queue and self.fetched < self.limits.max_pages:
            url, depth = queue.popleft()
            if not self._allowed(url):
                self.skipped[url] = "disallowed by robots.txt"
                continue
            page = self._page(http, url)
            if page is None:
                continue
            directives = meta_robots(page)
            if directives & {"noindex", "none"}:
                self.skipped[page.url] = "noindex (meta robots)"
            else:
                yield page
            if depth >= self.limits.max_depth or directives & {"nofollow", "none"}:
                continue
            for link in links(page):
                if link not in seen and self.owns(link):
                    seen.add(link)
                    queue.append((link, depth + 1))
        self.complete = not queue

    def _allowed(self, url: str) -> bool:
        """Tell whether robots.txt lets our user agent fetch `url`."""
        return self._robots.can_fetch(self.limits.user_agent, url)

    def _read_robots(self, http: httpx.Client) -> None:
        """Read the site's robots.txt; an unreachable site fails the crawl here."""
        url = urljoin(self.start, "/robots.txt")
        try:
            response = self._get(http, url, max_bytes=self.limits.max_bytes)
        except AddressRefused as exc:
            raise CrawlError(f"refused {url}: {exc}") from exc
        except (httpx.TransportError, OSError) as exc:
            raise CrawlError(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from exc
        except _Skip:
            response = None
        status = response.status if response else 404
        if status >= 500:  # RFC 9309: a server error means "crawl nothing for now"
            raise CrawlError(f"{url} answered {status}; the site may not be crawled now")
        if status in (401, 403):
            lines = ["User-agent: *", "Disallow: /"]  # as RFC 9309 and urllib.robotparser do
        elif status < 400 and response:
            lines = response.body.decode("utf-8", "replace").splitlines()
        else:
            lines = []
        self._robots.parse(lines)

    def _sitemap_pages(self, http: httpx.Client) -> list[str]:
        """Return the site's page URLs listed by its sitemaps (robots.txt's, else /sitemap.xml)."""
        todo = deque(self._robots.site_maps() or [urljoin(self.start, "/sitemap.xml")])
        pages: list[str] = []
        done = 0
        while todo and done < MAX_SITEMAPS:
            url = normalize(todo.popleft())
            if not self.owns(url) or not self._allowed(url):
                continue
            done += 1
            try:
                response = self._get(http, url, max_bytes=self.limits.max_bytes)
            except (httpx.HTTPError, OSError, _Skip):
                continue
            if response.status >= 400:
                continue
            found, nested = sitemap_urls(response.body)
            pages.extend(u for u in map(normalize, found) if self.owns(u))
            todo.extend(nested)
        return pages

    def _page(self, http: httpx.Client, url: str) -> Page | None:
        """Fetch one page, or record why it yields none."""
        self.fetched += 1
        try:
            response = self._get(http, url, max_bytes=self.limits.max_bytes, typed=True)
        except _Skip as skip:
            self._skip(url, str(skip), transient=False)
            return None
        except AddressRefused as exc:
            self._skip(url, str(exc), transient=False)
            return None
        except (httpx.HTTPError, OSError) as exc:
            self._skip(url, f"request failed ({type(exc).__name__})", transient=True)
            return None
        if response.status >= 400:
            self._skip(url, f"HTTP {response.status}", transient=response.status in _TRANSIENT)
            return None
        return Page(response.url, response.content_type, response.body, response.charset)

    def _skip(self, url: str, why: str, transient: bool) -> None:
        """Record why `url` yields no page; the start page must yield one."""
        if url == self.start:
            raise CrawlError(f"{url}: {why}")
        self.skipped[url] = why
        if transient:
            self.failed.add(url)

    def _get(self, http: httpx.Client, url: str, max_bytes: int,
             typed: bool = False) -> _Response:
        """GET `url` within the site, following redirects that stay in it, up to `max_bytes`."""
        for _ in range(MAX_REDIRECTS + 1):
            self._wait()
            with self._send(http, url) as response:
                if response.is_redirect:
                    url = normalize(urljoin(url, response.headers.get("location", "")))
                    if not self.owns(url):
                        raise _Skip(f"redirects off the site to {url}")
                    if self._robots.mtime() and not self._allowed(url):
                        raise _Skip(f"redirects to {url}, which robots.txt disallows")
                    continue
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if typed and response.status_code < 400 and kind not in TEXT_TYPES:
                    raise _Skip(f"not HTML or text ({kind or 'no content type'})")
                body = self._read(response, max_bytes)
                return _Response(url, response.status_code, kind,
                                 known_charset(response.charset_encoding), body)
        raise _Skip("too many redirects")

    def _send(self, http: httpx.Client, url: str) -> contextlib.AbstractContextManager[
            httpx.Response]:
        """Start a GET of `url` to the address its host resolves to, once that is checked."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        address = self._policy.resolve(host, site_of(url)[2])
        shown = f"[{address}]" if ":" in address else address
        netloc = shown + (f":{parts.port}" if parts.port else "")
        direct = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        # the Host header and TLS name stay the site's; only the connection is pinned
        return http.stream("GET", direct, headers={"Host": parts.netloc.rsplit("@", 1)[-1]},
                           extensions={"sni_hostname": host})

    def _read(self, response: httpx.Response, max_bytes: int) -> bytes:
        """Read a body within `max_bytes` and within the page's (and the crawl's) time."""
        deadline = min(time.monotonic() + self.limits.timeout, self._deadline)
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise _Skip(f"larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                if deadline == self._deadline:
                    raise _OutOfTime
                raise httpx.ReadTimeout(f"not read whole within {self.limits.timeout:g} s")
        return bytes(body)

    def _wait(self) -> None:
        """Sleep so requests are the configured (or robots.txt's, capped) delay apart."""
        asked = min(float(self._robots.crawl_delay(self.limits.user_agent) or 0),
                    self.limits.max_crawl_delay)
        pause = self._last_request + max(self.limits.delay, asked) - time.monotonic()
        if time.monotonic() + max(pause, 0) > self._deadline:
            raise _OutOfTime  # waiting would spend the crawl's whole budget: stop here
        if pause > 0:
            time.sleep(pause)
        self._last_request = time.monotonic()
