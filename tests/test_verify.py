"""The citation verifier on hand-written drafts, over the real index and embedding model."""

from __future__ import annotations

import pytest
from flask import Flask

from index.access import PUBLIC, Access
from service.core.backends import AnswerBackend
from service.core.drafts import Claim, Draft, Evidence
from service.core.engine import Engine
from service.core.questions import Question
from service.core.retrieval import Passage, Retriever
from service.core.verify import Verifier, claims_from_text, markers, strip_markers

JORDAN = "memorandum of understanding with Jordan"
IMPACT = "Operation IMPACT until March 31, 2017"
MONEY = "$305.9 million"


@pytest.fixture(scope="module")
def engine(app: Flask) -> Engine:
    """Return the app's loaded engine."""
    return app.extensions["citeqa.engine"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def passages(engine: Engine) -> list[Passage]:
    """Return five retrieved passages of the default corpus."""
    found = engine.retriever().search("Canada Jordan Operation IMPACT million air strike", 5)
    assert any(JORDAN in p.text for p in found) and any(IMPACT in p.text for p in found)
    return found


def number_of(passages: list[Passage], needle: str) -> int:
    """Return the 1-based number of the passage holding `needle`."""
    return next(i for i, p in enumerate(passages, 1) if needle in p.text)


def check(engine: Engine, passages: list[Passage], text: str) -> tuple[Draft, int, int]:
    """Verify a written draft; return it with the removed and re-cited counts."""
    draft, report = Verifier.over(engine.retriever()).verify(
        Draft(claims=claims_from_text(text)), passages)
    return draft, report.removed, report.recited


def test_planted_wrong_citation_is_recited_to_the_passage_that_supports_it(
        engine: Engine, passages: list[Passage]) -> None:
    wrong = number_of(passages, IMPACT)
    draft, removed, recited = check(
        engine, passages, f"On May 5, 2016, Canada signed a {JORDAN} [{wrong}].")
    assert (removed, recited) == (0, 1)
    [claim] = draft.claims
    [ev] = claim.evidence
    assert JORDAN in ev.text and "May 5, 2016" in ev.text
    assert ev.passage is passages[number_of(passages, JORDAN) - 1]


def test_invented_number_is_removed(engine: Engine, passages: list[Passage]) -> None:
    cited = number_of(passages, MONEY)
    draft, removed, recited = check(engine, passages, (
        f"Canada will allocate approximately $500 million towards these efforts [{cited}]. "
        f"Canada extended its military engagement in Iraq and Syria under {IMPACT} [{cited}]."))
    assert (removed, recited) == (1, 0)
    assert [c.text for c in draft.claims] == [
        f"Canada extended its military engagement in Iraq and Syria under {IMPACT}."]


@pytest.mark.parametrize("invented", [
    "Canada signed a memorandum of understanding with Jordan on May 5, 2015",  # a wrong year
    "Canada signed a memorandum of understanding with Lebanon",  # a name not in the source
    "Canada will allocate approximately $305.9 billion towards these efforts",  # wrong scale
    "Canada will not cease air strike operations",  # a negation the source does not make
])
def test_wrong_facts_are_never_supported(engine: Engine, passages: list[Passage],
                                         invented: str) -> None:
    draft, removed, _ = check(engine, passages, f"{invented} [1][2][3][4][5].")
    assert removed == 1 and draft.abstained


def test_dangling_marker_is_removed(engine: Engine, passages: list[Passage]) -> None:
    right = number_of(passages, JORDAN)
    draft, removed, recited = check(
        engine, passages, f"On May 5, 2016, Canada signed a {JORDAN} [{right}][9].")
    assert (removed, recited) == (0, 1)
    assert [ev.passage for ev in draft.claims[0].evidence] == [passages[right - 1]]


def test_nothing_supported_abstains(engine: Engine, passages: list[Passage]) -> None:
    draft, removed, recited = check(engine, passages, (
        "Canada sent 5,000 soldiers to Australia [1]. The capital of France is Paris [2]."))
    assert draft.abstained and draft.reason and (removed, recited) == (2, 0)


def test_citation_narrows_to_the_supporting_sentence(engine: Engine,
                                                     passages: list[Passage]) -> None:
    cited = number_of(passages, IMPACT)
    draft, _, _ = check(engine, passages, f"Canada extended {IMPACT} [{cited}].")
    [ev] = draft.claims[0].evidence
    passage = passages[cited - 1]
    assert IMPACT in ev.text and len(ev.text) < len(passage.text)
    assert any((s.start, s.end) == (ev.start, ev.end) for s in passage.sentences)


def test_paraphrase_close_in_meaning_is_kept(engine: Engine, passages: list[Passage]) -> None:
    cited = number_of(passages, "cease air strike")
    draft, removed, _ = check(engine, passages, f"Canada will stop its air strikes [{cited}].")
    assert removed == 0 and "cease air strike" in draft.claims[0].evidence[0].text


def test_verbatim_quote_passes_without_the_embedding_model(passages: list[Passage],
                                                           engine: Engine) -> None:
    def no_model(texts: list[str]) -> list[list[float]]:
        raise AssertionError(f"embedded {texts}")

    passage = passages[number_of(passages, IMPACT) - 1]
    span = next(s for s in passage.sentences if IMPACT in passage.sentence_text(s))
    quote = Claim(passage.sentence_text(span), [Evidence(passage, span.start, span.end)])
    draft, report = Verifier(engine.retriever().idf(), no_model).verify(Draft([quote]), passages)
    assert draft.claims == [quote] and report.removed == report.recited == 0


def test_markers_are_read_in_their_common_forms() -> None:
    assert markers("It was extended [2][1] and [3, 4] [Passage 5] [2].") == [2, 1, 3, 4, 5]
    assert strip_markers("It was extended [2] until 2017 [1].") == "It was extended until 2017."
    claims = claims_from_text("- It was extended. [1]\n- It costs $305.9 million [2]. [3] No.")
    assert [c.text for c in claims] == ["It was extended. [1]", "It costs $305.9 million [2].",
                                        "[3] No."]


class Scripted(AnswerBackend):
    """A backend that writes a fixed draft, as an LLM would, to drive the engine's flow."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        """Remember the draft to write."""
        self.text = text

    def draft(self, question: Question, passages: list[Passage], retriever: Retriever,
              access: Access = PUBLIC) -> Draft:
        """Return the scripted draft."""
        return Draft(claims=claims_from_text(self.text))


@pytest.fixture()
def scripted(engine: Engine) -> Engine:
    """Return an engine over the same index whose backend each test scripts."""
    twin = Engine(engine.config, Scripted(""))
    twin.load()
    return twin


def test_engine_renumbers_citations_in_order_of_first_use(scripted: Engine) -> None:
    question = "When did Canada sign a memorandum with Jordan and extend Operation IMPACT?"
    passages = scripted.retriever().search(question, 5)
    impact = number_of(passages, IMPACT)
    scripted.backend = Scripted(f"On May 5, 2016, Canada signed a {JORDAN} [{impact}]. "
                                f"Canada extended {IMPACT} [{impact}]. Canada has 12 ships [9].")
    body = scripted.answer(question)
    assert body.answer.count("[1]") == 1 and body.answer.count("[2]") == 1
    assert body.answer.index("[1]") < body.answer.index("[2]")
    assert JORDAN in body.citations[0].text and IMPACT in body.citations[1].text
    assert body.verification.recited == 1 and body.verification.removed == 1
    assert "12 ships" not in body.answer and body.backend == "scripted"
