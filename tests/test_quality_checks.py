"""Answer checks tuned on SQuAD 2.0: dates, subordinate "when", and name matching."""

from __future__ import annotations

import pytest

from service.core.evidence import has_kind, missing_names
from service.core.questions import expected_kind


@pytest.mark.parametrize(("text", "expected"), [
    ("By the 1970s it had renounced violence.", True),
    ("It became official in 1281.", True),
    ("They vote at 5 pm.", True),
    ("Founded in 300 BC.", True),
    ("Until March 31, 2017.", True),
    ("A code 19855 was issued.", False),
])
def test_dates_include_decades_early_years_and_times(text: str, expected: bool) -> None:
    assert has_kind("date", text) is expected


@pytest.mark.parametrize(("question", "kind"), [
    ("When did Canada sign the memorandum?", "date"),
    ("Until when did Canada extend Operation IMPACT?", "date"),
    ("What does a T cell extend when it encounters a pathogen?", None),
    ("Who has limited potential when faced with less education?", "person"),
])
def test_when_asks_for_a_date_only_as_a_question_word(question: str, kind: str | None) -> None:
    assert expected_kind(question) == kind


def test_names_match_plurals_and_possessives_and_skip_single_letters() -> None:
    text = "The Huguenot church in Virginia; Earth's forests."
    assert missing_names(["Huguenots", "Earth", "X", "Prime Minister"], text) == [
        "Prime Minister"]
