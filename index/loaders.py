"""Turn .txt, .md, .html and .pdf files into Documents with a title and a source URL."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from bs4 import BeautifulSoup
from pypdf import PdfReader

from index.access import GroupError, clean_groups
from index.documents import SUFFIXES, Document

META_SUFFIX = ".meta.json"
_BLOCK_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th",
               "dt", "dd", "figcaption", "caption")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class LoaderError(ValueError):
    """A file that cannot be read as a document."""


def discover(corpus_dir: Path) -> list[Path]:
    """Return the loadable files under a corpus folder, in a stable order."""
    if not corpus_dir.is_dir():
        raise LoaderError(f"corpus folder not found: {corpus_dir}")
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    )


def fingerprint(path: Path) -> str:
    """Hash a file together with its metadata sidecar, so either change re-indexes it."""
    digest = hashlib.sha256(path.read_bytes())
    meta = _meta_path(path)
    if meta.exists():
        digest.update(meta.read_bytes())
    return digest.hexdigest()


def load(path: Path, corpus_dir: Path) -> Document:
    """Read one file into a Document whose id is its path relative to the corpus."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text, title, url = _read_pdf(path)
    elif suffix in (".html", ".htm"):
        text, title, url = _read_html(path.read_text(encoding="utf-8", errors="replace"))
    else:
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        title, url = text_title(text, markdown=suffix != ".txt"), ""
    meta = _read_meta(path)
    title = str(meta.get("title") or title or path.stem.replace("-", " ").replace("_", " "))
    return Document(
        id=path.relative_to(corpus_dir).as_posix(),
        title=title.strip(),
        url=str(meta.get("url") or url),
        text=text,
        fingerprint=fingerprint(path),
        groups=_groups(meta, path),
    )


def load_corpus(corpus_dir: Path) -> Iterator[Document]:
    """Yield every loadable document of a corpus folder."""
    for path in discover(corpus_dir):
        yield load(path, corpus_dir)


def _meta_path(path: Path) -> Path:
    """Return where a file's optional metadata sidecar lives."""
    return path.with_name(path.stem + META_SUFFIX)


def _read_meta(path: Path) -> dict[str, object]:
    """Read `name.meta.json` beside a file, if there is one."""
    meta = _meta_path(path)
    if not meta.exists():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"{meta}: invalid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise LoaderError(f"{meta}: expected a JSON object")
    return data


def _groups(meta: dict[str, object], path: Path) -> tuple[str, ...]:
    """Return the access groups a sidecar gives its document (none: every reader)."""
    given = meta.get("groups", [])
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise LoaderError(f"{_meta_path(path)}: `groups` must be a list of strings")
    try:
        return clean_groups(given)
    except GroupError as exc:
        raise LoaderError(f"{_meta_path(path)}: {exc}") from exc


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


def _read_pdf(path: Path) -> tuple[str, str, str]:
    """Extract the text of every page, pages separated by blank lines."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):  # an owner password alone is fine
            raise LoaderError(f"{path}: the PDF is encrypted with a password")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except LoaderError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise LoaderError(f"{path}: unreadable PDF ({exc.__class__.__name__})") from exc
    return "\n\n".join(p for p in pages if p), title, ""
