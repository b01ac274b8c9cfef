"""English and French: the catalog holds every string the code shows, and requests get theirs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from tests.support.paths import ROOT

FRENCH = ROOT / "service" / "web" / "translations" / "fr" / "LC_MESSAGES"
BRACES = re.compile(r"\{(\w+)\}")


def read(path: Path, reader: type[Catalog] | None = None) -> Catalog:
    """Return the catalog in a .po or .mo file."""
    with path.open("rb") as handle:
        return read_mo(handle) if path.suffix == ".mo" else read_po(handle)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Extract every translatable string of the code, as `make translations` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
                    "-F", "service/web/babel.cfg", "-k", "_l", "-k", "Reason",
                    "--no-location", "-o", str(pot), "."], cwd=ROOT, check=True)
    return read(pot)


def test_every_string_the_code_shows_has_a_french_translation(extracted: Catalog) -> None:
    """A string added or reworded in the code and not translated fails here."""
    french = read(FRENCH / "messages.po")
    wanted = {m.id for m in extracted if m.id}
    missing = sorted(i for i in wanted if not french.get(i) or not french[i].string
                     or french[i].fuzzy)
    assert not missing, f"not translated (run make translations, then translate): {missing}"
    stale = sorted({m.id for m in french if m.id} - wanted)
    assert not stale, f"translated but no longer in the code: {stale}"


def test_translations_keep_their_placeholders() -> None:
    """A translation fills in the same values as its English text."""
    french = read(FRENCH / "messages.po")
    assert not [(m.id, errors) for m, errors in french.check()]
    wrong = [m.id for m in french if m.id
             and set(BRACES.findall(str(m.id))) != set(BRACES.findall(str(m.string)))]
    assert not wrong


def test_the_committed_mo_is_the_compiled_po() -> None:
    """The .mo that serves the pages says what the .po says (recompile after an edit)."""
    po, mo = read(FRENCH / "messages.po"), read(FRENCH / "messages.mo")
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


@pytest.mark.parametrize(("query", "accept", "lang", "heading"), [
    ("", "", "en", "Ask about the documents"),
    ("", "fr-CA,fr;q=0.9,en;q=0.5", "fr", "Posez une question sur les documents"),
    ("?lang=fr", "en", "fr", "Posez une question sur les documents"),
    ("?lang=en", "fr", "en", "Ask about the documents"),
])
def test_the_chat_page_speaks_the_language_asked_for(client: FlaskClient, query: str, accept: str,
                                                     lang: str, heading: str) -> None:
    """`?lang=` wins over Accept-Language; the document's `lang` says which was chosen."""
    html = client.get(f"/{query}", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert heading in html


def test_a_refusal_reason_comes_in_the_readers_language(client: FlaskClient) -> None:
    """The reason and the abstention are translated; the same question in English is not."""
    question = {"question": "What colour is the moon's cheese made of?"}
    english = client.post("/api/v1/answer", json=question).get_json()
    french = client.post("/api/v1/answer", json=question,
                         headers={"Accept-Language": "fr"}).get_json()
    assert english["abstained"] and french["abstained"]
    assert french["answer"] == "Les sources ne couvrent pas cette question."
    assert english["reason"] and french["reason"] and french["reason"] != english["reason"]
    reasons = read(FRENCH / "messages.po")
    assert any(m.string and french["reason"].startswith(str(m.string).split("%")[0])
               for m in reasons)


def test_the_widget_carries_both_languages(client: FlaskClient) -> None:
    """The widget picks its language on the host page, so it ships both."""
    script = client.get("/widget.js").get_data(as_text=True)
    assert "Interroger les documents" in script and "Ask the documents" in script
