"""Opposites put in place of a claim's word: the verifier's hard check against reversals."""

from __future__ import annotations

import pytest

from service.core.reversals import reverses


@pytest.mark.parametrize(("claim", "sentence"), [
    ("The pool is open every Monday.", "The pool closes every Monday for cleaning."),
    ("The ferry will continue its night crossings.",
     "While the ferry will stop night crossings, day sailings will continue."),
    ("Ticket prices rose in 2019.", "Ticket prices fell in 2019."),
    ("Membership grew.", "After the fee rise, membership shrank."),
    ("The vaccine increases the risk of fever.",
     "The vaccine decreased the risk of fever in older adults."),
    ("Visitors are allowed to bring dogs.", "Visitors are forbidden to bring dogs."),
])
def test_an_opposite_in_place_of_the_claims_word_reverses_it(claim: str, sentence: str) -> None:
    assert reverses(claim, sentence)


@pytest.mark.parametrize(("claim", "sentence"), [
    ("The pool is open every Monday.", "The pool is open every Monday and closes on Sunday."),
    ("Evening classes will continue.",
     "While the school will stop morning classes, evening classes will continue."),
    ("The school will stop morning classes.",
     "While the school will stop morning classes, evening classes will continue."),
    ("The vaccine increases the risk of fever.",
     "The vaccine increased the risk of fever but decreased the risk of rash."),
    ("Ticket prices rose in 2019.", "Ticket prices rose in 2019 and fell in 2020."),
    ("The clinic opens at nine.", "The clinic opens at nine and closes at five."),
    ("The road was closed.", "The road was closed, then opened again in May."),
    ("Ticket prices rose in 2019.", "In 2019, ticket prices rose, while wages fell in 2019."),
    ("The vaccine reduced the risk of infection.",
     "The risk of infection was reduced by the vaccine, though it increased the risk of fever."),
    ("The drug increases insulin levels.",
     "Insulin levels are increased by the drug, which also decreases insulin resistance."),
    ("The pool is open on Sundays.",
     "On Sundays the pool is open, while the archive is closed on Sundays."),
    ("The gym opens at six.", "At six the gym opens; the pool closes at six."),
])
def test_a_sentence_that_keeps_the_claims_word_where_it_stood_does_not(claim: str,
                                                                        sentence: str) -> None:
    assert not reverses(claim, sentence)
