"""Turn .txt, .md, .html and .pdf files into Documents with a title and a source URL."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup
from pypdf import PdfReader

from index.access import GroupError, clean_groups
from index.documents import SUFFIXES, Document

META_SUFFIX = ".meta.json"
FOLDER_ACCESS = "_access.json"  # {"groups": [...]} for every file in its folder and below
_BLOCK_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th",
               "dt", "dd", "figcaption", "caption")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class LoaderError(ValueError):
    """A file that cannot be read as a document."""


@dataclass(frozen=True)
class TextLimits:
    """The most text one file may yield, and the most PDF pages read for it (None: any)."""

    max_chars: int | None = None
    max_pages: int | None = None

    def check(self, chars: int) -> None:
        """Refuse a file once its text passes `max_chars`."""
        if self.max_chars is not None and chars > self.max_chars:
            raise LoaderError(f"the file's text is over {self.max_chars:,} characters, the "
                              "most one document may have (CITEQA_INGEST_MAX_TEXT_CHARS): "
                              "split it into smaller documents")


NO_LIMITS = TextLimits()


def discover(corpus_dir: Path) -> list[Path]:
    """Return the loadable files under a corpus folder, in a stable order."""
    if not corpus_dir.is_dir():
        raise LoaderError(f"corpus folder not found: {corpus_dir}")
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    )


def fingerprint(path: Path, rule: Path | None = None) -> str:
    """Hash a file with its metadata sidecar (and folder rule), so any change re-indexes it."""
    digest = hashlib.sha256(path.read_bytes())
    for extra in (_meta_path(path), rule):
        if extra is not None and extra.exists():
            digest.update(extra.read_bytes())
    return digest.hexdigest()


def folder_rule(path: Path, corpus_dir: Path) -> Path | None:
    """Return the nearest `_access.json` from a file's folder up to the corpus folder."""
    for folder in (path.parent, *path.parent.parents):
        if (folder / FOLDER_ACCESS).is_file():
            return folder / FOLDER_ACCESS
        if folder == corpus_dir:
            return None
    return None


def load(path: Path, corpus_dir: Path, limits: TextLimits = NO_LIMITS) -> Document:
    """Read one file into a Document whose id is its path relative to the corpus."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text, title, url = _read_pdf(path, limits)
    elif suffix in (".html", ".htm"):
        text, title, url = _read_html(path.read_text(encoding="utf-8", errors="replace"))
    else:
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        title, url = text_title(text, markdown=suffix != ".txt"), ""
    limits.check(len(text))
    meta = _read_json(_meta_path(path))
    rule = None if "groups" in meta else folder_rule(path, corpus_dir)
    groups = _groups(_read_json(rule) if rule else meta, rule or _meta_path(path))
    title = str(meta.get("title") or title or path.stem.replace("-", " ").replace("_", " "))
    return Document(
        id=path.relative_to(corpus_dir).as_posix(),
        title=title.strip(),
        url=str(meta.get("url") or url),
        text=text,
        fingerprint=fingerprint(path, rule),
        groups=groups,
    )


def load_corpus(corpus_dir: Path) -> Iterator[Document]:
    """Yield every loadable document of a corpus folder."""
    for path in discover(corpus_dir):
        yield load(path, corpus_dir)


def _meta_path(path: Path) -> Path:
    """Return where a file's optional metadata sidecar lives."""
    return path.with_name(path.stem + META_SUFFIX)


def _read_json(meta: Path) -> dict[str, object]:
    """Read a JSON object (a `name.meta.json` sidecar or a folder rule), if the file exists."""
    if not meta.exists():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"{meta}: invalid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise LoaderError(f"{meta}: expected a JSON object")
    return data


def _groups(meta: dict[str, object], source: Path) -> tuple[str, ...]:
    """Return the access groups a sidecar or folder rule gives (none: every reader)."""
    given = meta.get("groups", [])
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise LoaderError(f"{source}: `groups` must be a list of strings")
    try:
        return clean_groups(given)
    except GroupError as exc:
        raise LoaderError(f"{source}: {exc}") from exc


def text_title(text: str, markdown: bool) -> str:
    """Return a Markdown file's first heading, or a text file's short first line."""
    if markdown:
        heading = _MD_HEADING.search(text)
        return heading.group(1) if heading else ""
    first = text.strip().split("\n", 1)[0].strip()
    return first if 0 < len(first) <= 120 and not first.endswith(".") else ""


def _read_html(markup: str) -> tuple[str, str, str]:
    """Extract block text (headings as Markdown headings), title and canonical URL."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    canonical = soup.find("link", rel="canonical") or soup.find("meta", property="og:url")
    url = str(canonical.get("href") or canonical.get("content") or "") if canonical else ""
    body = soup.body or soup
    blocks: list[str] = []
    for tag in body.find_all(_BLOCK_TAGS):
        if tag.find(_BLOCK_TAGS):
            continue  # the innermost block carries the text
        line = " ".join(tag.get_text(" ", strip=True).split())
        if not line:
            continue
        if tag.name and tag.name[0] == "h" and tag.name[1:].isdigit():
            blocks.append("#" * int(tag.name[1:]) + " " + line)
        else:
            blocks.append(line)
    if not title:
        h1 = body.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else ""
    return "\n\n".join(blocks), title, url


def _read_pdf(path: Path, limits: TextLimits) -> tuple[str, str, str]:
    """Extract the text of every page, pages separated by blank lines, within `limits`.

    Pages are read one at a time and reading stops as soon as a limit is passed: a small
    PDF can hold far more text than its size suggests, and extracting all of it is the cost.
    """
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):  # an owner password alone is fine
            raise LoaderError(f"{path}: the PDF is encrypted with a password")
        count = len(reader.pages)
        if limits.max_pages is not None and count > limits.max_pages:
            raise LoaderError(f"the PDF has {count:,} pages, over the {limits.max_pages:,} "
                              "one document may have (CITEQA_INGEST_MAX_PAGES)")
        pages: list[str] = []
        chars = 0
        for page in reader.pages:
            pages.append((page.extract_text() or "").strip())
            chars += len(pages[-1])
            limits.check(chars)
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except LoaderError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise LoaderError(f"{path}: unreadable PDF ({exc.__class__.__name__})") from exc
    return "\n\n".join(p for p in pages if p), title, ""
