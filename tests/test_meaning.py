"""Answering and verifying by meaning: the shipped relevance model over real indexes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from index.build import index_corpus
from index.store import StoreConfig
from service.core.drafts import Draft
from service.core.engine import Engine
from service.core.meaning import unanswered
from service.core.verify import Verifier, claims_from_text
from service.settings import Config
from tests.support.paths import FIXTURES


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory,
            offline_engine: Callable[..., Engine]) -> Engine:
    """Return an engine deciding by meaning over a one-page corpus written for these tests."""
    cfg = StoreConfig(tmp_path_factory.mktemp("library"), "library")
    index_corpus(FIXTURES / "meaning", cfg, progress=False)
    return offline_engine(cfg)


@pytest.fixture(scope="module")
def shipped(default_index: StoreConfig, offline_engine: Callable[..., Engine]) -> Engine:
    """Return an engine deciding by meaning over the shipped corpus."""
    return offline_engine(default_index)


def verify(engine: Engine, claim: str, needle: str, query: str, by_meaning: bool = True) -> Draft:
    """Verify one claim citing the retrieved passage holding `needle`."""
    passages = engine.retriever().search(query, 5)
    number = next(i for i, p in enumerate(passages, 1) if needle in p.text)
    judge = engine.judge if by_meaning else None
    draft, _ = Verifier.over(engine.retriever(), judge).verify(
        Draft(claims=claims_from_text(f"{claim} [{number}]")), passages)
    return draft


def cited(draft: Draft) -> str:
    """Return the text the draft's claims cite."""
    return " ".join(ev.text for c in draft.claims for ev in c.evidence)


@pytest.mark.parametrize(("question", "expected"), [
    ("When did the Riverside Library first open its doors?", "1952"),
    ("Who paid for the library building?", "Harlow family"),
    ("Is the library shut on Sundays?", "closes every Sunday"),
    ("How many books does the library lend in a year?", "40,000"),
])
def test_paraphrased_questions_are_answered(library: Engine, question: str,
                                            expected: str) -> None:
    answer = library.answer(question)
    assert not answer.abstained, answer.reason
    assert expected in answer.answer


@pytest.mark.parametrize("question", [
    "Who designed the library building?",
    "How many visitors came to the library in 2019?",
    "When was the paper mill closed?",
])
def test_questions_the_page_does_not_answer_are_refused(library: Engine, question: str) -> None:
    answer = library.answer(question)
    assert answer.abstained, answer.answer
    assert answer.reason


@pytest.mark.parametrize(("name", "whole_corpus_lacks_it"), [("Pemberton", True),
                                                             ("Okafor", False)])
def test_a_refusal_says_the_sources_lack_a_name_only_when_none_holds_it(
        library: Engine, name: str, whole_corpus_lacks_it: bool) -> None:
    answer = library.answer(f"How much did {name} pay to replace the roof?")
    assert answer.abstained, answer.answer
    assert name in answer.reason
    # Okafor is on the staff page, not in the roof's passage: "the sources" would be untrue
    lacking = ("the sources do not mention" if whole_corpus_lacks_it
               else "the passage that best matches the question does not mention")
    assert answer.reason.startswith(lacking), answer.reason


@pytest.mark.parametrize(("claim", "needle"), [
    ("The library is shut every Sunday.", "closes every Sunday"),
    ("The Harlow family's donation financed the library building.", "Harlow family"),
    ("The council paid 310,000 dollars to replace the roof after the storm.", "310,000"),
])
def test_paraphrased_claims_are_kept(library: Engine, claim: str, needle: str) -> None:
    draft = verify(library, claim, needle, claim)
    assert not draft.abstained
    assert needle in cited(draft)


@pytest.mark.parametrize(("claim", "needle"), [
    ("The library is open every Sunday.", "closes every Sunday"),
    ("The old maps may be taken home by readers.", "never taken home"),
])
def test_contradicting_claims_are_dropped(library: Engine, claim: str, needle: str) -> None:
    draft = verify(library, claim, needle, claim)
    assert draft.abstained, cited(draft)


def test_shipped_page_paraphrase_is_kept(shipped: Engine) -> None:
    claim = "Canada prolonged its military mission in Iraq and Syria until March 31, 2017."
    draft = verify(shipped, claim, "Operation IMPACT until March 31, 2017", claim)
    assert not draft.abstained
    assert "March 31, 2017" in cited(draft)


def test_a_claim_whose_name_sits_in_the_sentence_before_is_kept(library: Engine) -> None:
    claim = "Okafor began a reading group for kids."
    assert verify(library, claim, "reading circle", claim, by_meaning=False).abstained
    draft = verify(library, claim, "reading circle", claim)
    assert not draft.abstained
    assert "reading circle" in cited(draft)


def test_words_alone_drop_a_claim_its_sentence_negates(library: Engine) -> None:
    claim = "The maps of the town drawn before 1900 may be taken home."
    assert verify(library, claim, "never taken home", claim, by_meaning=False).abstained
    kept = "The maps of the town may be read in the room."
    assert not verify(library, kept, "never taken home", kept, by_meaning=False).abstained


def test_shipped_page_reversal_is_dropped_though_the_words_match(shipped: Engine) -> None:
    claim = "Canada will continue its air strike operations."
    draft = verify(shipped, claim, "cease air strike operations", claim)
    assert draft.abstained, cited(draft)


def test_shipped_page_paraphrased_question_is_answered(shipped: Engine) -> None:
    answer = shipped.answer("Until what date was Operation IMPACT prolonged?")
    assert not answer.abstained, answer.reason
    assert "March 31, 2017" in answer.answer


def test_shipped_page_unanswerable_question_is_refused(shipped: Engine) -> None:
    answer = shipped.answer("Who is the Prime Minister of Canada?")
    assert answer.abstained


def test_refusal_says_plainly_what_the_sources_do_not_say() -> None:
    assert unanswered("Who is the minister of defence?") == \
        "the sources do not say who the minister of defence is"
    assert unanswered("How long does it last") == \
        "no sentence of the sources answers “How long does it last?”"
    assert unanswered("Who is Canada working with?") == \
        "no sentence of the sources answers “Who is Canada working with?”"


@pytest.mark.parametrize("verify_by_meaning", [False, True])
def test_only_the_setting_lets_the_model_verify_claims(verify_by_meaning: bool) -> None:
    engine = Engine(Config.from_env(backend="extractive", verify_by_meaning=verify_by_meaning))
    assert engine.judge is not None  # answering by meaning is the default
    assert (engine.verifier_judge is not None) == verify_by_meaning
