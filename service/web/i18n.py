"""English and French: the language of a request, and the catalogs that translate into it.

The language is `?lang=` (the widget passes its `data-lang` or its host page's `lang`), else
the request's Accept-Language (the pages send their own `lang` with every API call), else
English. English is the source language: message ids are the English text, so only French
has a catalog (service/web/translations/fr; `make translations` refreshes it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_babel import Babel, force_locale, get_locale, gettext

from service.core.reasons import Reason
from service.web import strings

LANGUAGES = ("en", "fr")
CATALOGS = Path(__file__).resolve().parent / "translations"
PAGE_STRINGS = {"chat": strings.CHAT, "documents": strings.DOCUMENTS, "console": strings.CONSOLE,
                "widget": strings.WIDGET}


def choose_locale() -> str:
    """Return the language asked for by `?lang=`, else by Accept-Language, else English."""
    asked = request.args.get("lang", "").lower()[:2]
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0]) or LANGUAGES[0]


def language() -> str:
    """Return the request's language code."""
    return str(get_locale() or LANGUAGES[0])


def localize(text: str) -> str:
    """Translate a refusal reason (with the values filled in); other text is returned as is."""
    if not isinstance(text, Reason):
        return text
    values = {name: localize(value) for name, value in text.params.items()}
    return str(gettext(text.msgid, **values))


def page_strings(page: str) -> dict[str, str]:
    """Return a page script's strings in the request's language."""
    return strings.resolved(PAGE_STRINGS[page])


def every_language(page: str) -> dict[str, dict[str, str]]:
    """Return a script's strings in every language, for a script that picks its own."""
    found = {}
    for code in LANGUAGES:
        with force_locale(code):
            found[code] = page_strings(page)
    return found


def template_context() -> dict[str, Any]:
    """Give every template the document's language and its scripts' strings."""
    return {"lang": language(), "page_strings": page_strings}


def init_app(app: Flask) -> None:
    """Translate templates and reasons into the language each request asks for."""
    Babel(app, locale_selector=choose_locale, default_translation_directories=str(CATALOGS))
    app.context_processor(template_context)
