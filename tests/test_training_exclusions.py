"""The committed training data holds nothing that evaluation or tuning keeps for itself."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.paths import FIXTURES
from training import data, docnli, selqa, squad_pages
from training.squad_pages import fingerprint, kept, never_trained, parse_page

PAGE = FIXTURES / "squad_pages" / "Harbour.html"


def texts_of(path: Path, *fields: str) -> list[str]:
    """Return every paragraph text and question of a committed SQuAD-shaped training file."""
    found: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            found += [row[f] for f in fields] + [q["question"] for q in row["questions"]]
    return found


def test_the_never_list_holds_every_held_out_group() -> None:
    groups = json.loads(squad_pages.NEVER.read_text(encoding="utf-8"))
    assert {k: len(v) for k, v in groups.items()} == {
        "squad_sample_paragraphs": 411, "squad_sample_sentences": 2174,
        "squad_sample_held_out_questions": 250,
        "scifact_test_claims": 300, "fever_test_claims": 9880}


@pytest.mark.parametrize("path", [data.SQUAD_DEV_PAGES, data.SQUAD_TRAIN])
def test_committed_squad_training_files_hold_no_held_out_text(path: Path) -> None:
    never = never_trained()
    texts = texts_of(path, "context")
    assert texts
    assert not [t for t in texts if fingerprint(t) in never]


def test_dev_page_pairs_teach_answers_and_refusals() -> None:
    pairs = data.squad_dev_pairs(20)
    answered = {p.first for p in pairs if p.label == data.SUPPORTS}
    unanswerable = {p.first for p in pairs} - answered
    assert answered and unanswerable  # an unanswerable question gets only neutral sentences


def test_a_page_parses_into_paragraphs_with_answers_and_unanswerables() -> None:
    [harbour, ferries] = parse_page(PAGE.read_text(encoding="utf-8"), "Harbour")
    assert harbour.context.startswith("The harbour of Lindvik was dug in 1871.")
    assert [(q.question, q.answers, q.impossible) for q in harbour.questions] == [
        ("When was the harbour of Lindvik dug?", ["1871", "in 1871"], False),
        ("Who dug the harbour of Lindvik?", [], True)]
    assert '"nine"' in ferries.context  # entities decoded, as the evaluation data holds them


def test_a_held_out_paragraph_is_dropped_with_its_questions_and_a_held_out_question_alone() -> None:
    paragraphs = parse_page(PAGE.read_text(encoding="utf-8"), "Harbour")
    never = {fingerprint(paragraphs[0].context), fingerprint("When do the  ferries leave?")}
    [left] = kept(paragraphs, never)
    assert [q.question for q in left.questions] == ["Where do the ferries go?"]


@pytest.mark.parametrize(("pairs_of", "size"), [(data.breaking_pairs, 8193),
                                                (data.counterfactual_pairs, 11330),
                                                (data.negation_pairs, 3000)])
def test_nli_pair_files_hold_every_label_and_no_held_out_text(
        pairs_of: Callable[[random.Random, int], list[data.Pair]], size: int) -> None:
    never = never_trained()
    pairs = pairs_of(random.Random(0), 10**6)
    assert len(pairs) == size
    assert {p.label for p in pairs} == {data.CONTRADICTS, data.SUPPORTS, data.NEUTRAL}
    assert all(p.first != p.second or p.label == data.SUPPORTS for p in pairs)
    assert not [p for p in pairs if fingerprint(p.first) in never or fingerprint(p.second) in never]


@pytest.mark.parametrize(("path", "size"), [(docnli.FEVER, 8023), (docnli.MNLI, 19647)])
def test_binary_pair_files_hold_no_held_out_claim(path: Path, size: int) -> None:
    never = never_trained()
    pairs = data.docnli_pairs(path, path.name, random.Random(0), 10**6)
    assert len(pairs) == size
    assert {p.label for p in pairs} == {data.SUPPORTS, data.NOT_SUPPORTED}
    assert not [p for p in pairs if fingerprint(p.first) in never or fingerprint(p.second) in never]


def test_a_fever_test_claim_is_dropped_from_the_built_file(tmp_path: Path) -> None:
    source = tmp_path / "dev.txt"
    source.write_text("entailment\tThe pier is 40 m long.\tThe pier is long.\n"
                      "not_entailment\tThe pier is 40 m long.\tThe pier is short.\n",
                      encoding="utf-8")
    out = tmp_path / "out.tsv.gz"
    assert docnli.write([source], out, {fingerprint("The pier is  short.")}) == 1
    with gzip.open(out, "rt", encoding="utf-8") as handle:
        assert handle.read().endswith("The pier is long.\n")


def test_selqa_holds_every_question_and_no_held_out_text() -> None:
    never = never_trained()
    rows = list(selqa.questions([selqa.SELQA]))
    assert len(rows) == 2375 and all(r.answers for r in rows)
    texts = [t for r in rows for t in (r.question, *r.candidates)]
    assert not [t for t in texts if fingerprint(t) in never]
    pairs = data.selqa_pairs(random.Random(0), 10**6)
    assert {p.label for p in pairs} == {data.SUPPORTS, data.NEUTRAL}


def test_a_selqa_section_inside_a_held_out_paragraph_is_dropped(tmp_path: Path) -> None:
    held = "The survey found 17 wrecks.  Divers mapped the silt beside the ferry pier in 1904."
    rows = [selqa.Question("When was the silt mapped?", ["Divers mapped the silt beside the "
                                                         "ferry pier in 1904 ."], [0]),
            selqa.Question("How many wrecks?", ["The survey counted seventeen wrecks.", "."], [0]),
            selqa.Question("Who dug it?", ["Workers dug the harbour."], [0])]
    out = tmp_path / "selqa.jsonl.gz"
    assert selqa.write(rows, out, [held], {fingerprint("Who dug  it?")}) == (1, 2)
    assert [r.question for r in selqa.questions([out])] == ["How many wrecks?"]
