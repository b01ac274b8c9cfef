"""Build the (question or claim, sentence, label) pairs the relevance model learns from.

Labels follow the NLI convention: 0 the sentence contradicts the claim, 1 it supports the
claim or answers the question, 2 it says nothing either way. Only training splits are read.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaldata.scifact import held_out_claims
from evaldata.squad import FIRST_HELD_OUT
from index.chunking import sentence_spans
from index.terms import content_terms
from training import selqa
from training.docnli import FEVER, MNLI
from training.reversals import reverse

HERE = Path(__file__).resolve().parent
ESNLI = HERE / "data" / "esnli_dev_test.jsonl.gz"
SQUAD_TRAIN = HERE / "data" / "squad2_train_head.jsonl.gz"
SQUAD_DEV_PAGES = HERE / "data" / "squad_dev_pages.jsonl.gz"  # built by training.squad_pages
BREAKING_NLI = HERE / "data" / "breaking_nli_dataset.zip"  # as released, 8,193 pairs
# counterfactually augmented SNLI: all_combined's train, dev and test in one file, 11,330 pairs
COUNTERFACTUAL_NLI = HERE / "data" / "cad_nli_all_combined.tsv.gz"
# SNLI and MultiNLI pairs with a negation added to either side: SNLI.txt and MNLI.txt, 3,000 pairs
NEGATION_NLI = HERE / "data" / "negation_nli_snli_mnli.tsv.gz"
CONTRADICTS, SUPPORTS, NEUTRAL = 0, 1, 2
LABELS = ("contradiction", "entailment", "neutral")
# A pair from a binary set that says only "the sentence does not support the claim": trained
# to lower the support probability, whether by contradiction or by saying nothing.
NOT_SUPPORTED = 3
NAMES = (*LABELS, "not entailment")
# Questions 251-500 of the SQuAD sample are evaluation only; 176-250 and every fifth SciFact
# train claim are kept out of training to tune the service's limits on (bench/tune.py).
SQUAD_TRAIN_QUESTIONS = 175
SQUAD_TUNE_QUESTIONS = range(176, FIRST_HELD_OUT)


@dataclass(frozen=True)
class Pair:
    """A question or claim, a sentence, what the sentence does for it, and where it came from."""

    first: str
    second: str
    label: int
    source: str


def _overlap(a: str, b: str) -> int:
    """Return how many key terms two texts share."""
    return len(set(content_terms(a)) & set(content_terms(b)))


def _hardest(text: str, sentences: Iterable[str], n: int) -> list[str]:
    """Return the `n` sentences sharing the most key terms with `text`."""
    return sorted(sentences, key=lambda s: -_overlap(text, s))[:n]


def for_tuning(claim_id: str) -> bool:
    """Return whether a SciFact train claim is kept out of training to tune limits on."""
    return int(claim_id) % 5 == 0


def scifact_claims(folder: Path, tuning: bool) -> list[dict[str, Any]]:
    """Return the SciFact train claims (minus any test claim) for training or for tuning."""
    test_claims = held_out_claims(folder)
    rows = [json.loads(line) for line in
            (folder / "scifact" / "claims_train_with_evidence.jsonl").open(encoding="utf-8")]
    return [r for r in rows if r["claim"] not in test_claims and for_tuning(r["id"]) == tuning]


def abstracts(folder: Path) -> dict[str, list[str]]:
    """Return each SciFact abstract as its list of sentences."""
    found: dict[str, list[str]] = {}
    with (folder / "scifact" / "corpus_sentences.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            found[str(row["_id"])] = row["sentences"]
    return found


def scifact_pairs(folder: Path, rng: random.Random, reversed_claims: bool = False) -> list[Pair]:
    """Return claim/sentence pairs from the SciFact train claims not kept for tuning, and with
    `reversed_claims` each supported claim reversed against its evidence, as a contradiction."""
    sentences_of = abstracts(folder)
    pairs: list[Pair] = []
    for row in scifact_claims(folder, tuning=False):
        claim = row["claim"]
        for doc in row["cited_doc_ids"]:
            sentences = sentences_of.get(str(doc), [])
            ev = row["evidence"].get(str(doc))
            used: set[str] = set()
            if ev:
                label = SUPPORTS if ev["label"] == "SUPPORT" else CONTRADICTS
                reversed_claim = reverse(claim) if reversed_claims and label == SUPPORTS else None
                for sentence in ev["sentences"]:
                    pairs.append(Pair(claim, sentence, label, "scifact"))
                    if reversed_claim:
                        pairs.append(Pair(reversed_claim, sentence, CONTRADICTS,
                                          "scifact-reversed"))
                    used.add(sentence)
            rest = [s for s in sentences if s not in used]
            # a claim without evidence in this abstract: its closest sentences say nothing
            negatives = _hardest(claim, rest, 1 if ev else 3)
            others = [s for s in rest if s not in negatives]
            if others:
                negatives.append(rng.choice(others))
            pairs += [Pair(claim, s, NEUTRAL, "scifact") for s in negatives]
    return pairs


def _question_pairs(question: str, context: str, answers: list[str], negatives: int,
                    source: str) -> list[Pair]:
    """Return the sentence holding an answer as supporting, the closest others as neutral."""
    sentences = [context[s.start:s.end] for s in sentence_spans(context)]
    holding = [s for s in sentences if any(a and a in s for a in answers)][:1]
    return _answer_pairs(question, holding, sentences, negatives, source)


def _answer_pairs(question: str, holding: list[str], sentences: list[str], negatives: int,
                  source: str) -> list[Pair]:
    """Return the `holding` sentences as supporting, the `negatives` closest of the other
    `sentences` as neutral."""
    rest = [s for s in sentences if s not in holding]
    return ([Pair(question, s, SUPPORTS, source) for s in holding]
            + [Pair(question, s, NEUTRAL, source) for s in _hardest(question, rest, negatives)])


def squad_pairs(folder: Path, limit: int = SQUAD_TRAIN_QUESTIONS) -> list[Pair]:
    """Return question/sentence pairs from the first `limit` SQuAD sample questions."""
    pairs: list[Pair] = []
    with (folder / "squad2" / "squad2_dev_sample500.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if number > min(limit, SQUAD_TRAIN_QUESTIONS):
                break
            row = json.loads(line)
            pairs += _question_pairs(row["question"], row["context"], row["answers"], 3,
                                     "squad")
    return pairs


def squad_train_pairs(limit: int) -> list[Pair]:
    """Return question/sentence pairs from the first `limit` SQuAD 2.0 train paragraphs."""
    pairs: list[Pair] = []
    with gzip.open(SQUAD_TRAIN, "rt", encoding="utf-8") as handle:
        for line in list(handle)[:limit]:
            row = json.loads(line)
            for q in row["questions"]:
                pairs += _question_pairs(q["question"], row["context"], q["answers"], 2,
                                         "squad-train")
    return pairs


def squad_dev_pairs(limit: int) -> list[Pair]:
    """Return question/sentence pairs from the first `limit` SQuAD dev-page paragraphs.

    An unanswerable question's closest sentences say nothing about it: the refusals to learn.
    """
    pairs: list[Pair] = []
    with gzip.open(SQUAD_DEV_PAGES, "rt", encoding="utf-8") as handle:
        for line in itertools.islice(handle, limit):
            row = json.loads(line)
            for q in row["questions"]:
                pairs += _question_pairs(q["question"], row["context"], q["answers"], 2,
                                         "squad-dev-pages")
    return pairs


def selqa_pairs(rng: random.Random, count: int) -> list[Pair]:
    """Return the pairs of `count` SelQA questions: each sentence that answers it supporting,
    the two closest of the rest of its section neutral (training/selqa.py)."""
    if not count:
        return []
    rows = list(selqa.questions([selqa.SELQA]))
    pairs: list[Pair] = []
    for row in rng.sample(rows, min(count, len(rows))):
        pairs += _answer_pairs(row.question, [row.candidates[i] for i in row.answers],
                               row.candidates, 2, "selqa")
    return pairs


def breaking_pairs(rng: random.Random, count: int) -> list[Pair]:
    """Return `count` Breaking NLI pairs: a sentence and itself with one word replaced.

    Most are contradictions made by an antonym or another colour, number or country: what the
    model takes for support today (docs/relevance-model.md).
    """
    if not count:
        return []
    with zipfile.ZipFile(BREAKING_NLI) as archive:
        rows = [json.loads(line) for line in
                archive.read("data/dataset.jsonl").decode("utf-8").splitlines() if line]
    pairs = [Pair(r["sentence2"], r["sentence1"], LABELS.index(r["gold_label"]), "breaking-nli")
             for r in rows if r["gold_label"] in LABELS]
    return rng.sample(pairs, min(count, len(pairs)))


def counterfactual_pairs(rng: random.Random, count: int) -> list[Pair]:
    """Return `count` counterfactually augmented SNLI pairs: one side minimally edited by hand
    so that the label flips, as a reversed claim does."""
    return _tsv_pairs(COUNTERFACTUAL_NLI, "counterfactual-nli", rng, count)


def negation_pairs(rng: random.Random, count: int) -> list[Pair]:
    """Return `count` SNLI and MultiNLI pairs with a negation added to either side, labelled
    anew (Hossain et al. 2020): whether a negation reverses a sentence is what it must learn."""
    return _tsv_pairs(NEGATION_NLI, "negation-nli", rng, count)


def _tsv_pairs(path: Path, source: str, rng: random.Random, count: int) -> list[Pair]:
    """Return `count` pairs of a gzipped TSV whose last three columns are premise, hypothesis
    and label (after one header line)."""
    if not count:
        return []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t")[-3:] for line in handle][1:]
    pairs = [Pair(hypothesis, premise, LABELS.index(label), source)
             for premise, hypothesis, label in rows if label in LABELS]
    return rng.sample(pairs, min(count, len(pairs)))


def docnli_pairs(path: Path, source: str, rng: random.Random, count: int) -> list[Pair]:
    """Return `count` pairs of a binary DocNLI training file (training/docnli.py): the claim,
    the evidence, and SUPPORTS or NOT_SUPPORTED."""
    if not count:
        return []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    pairs = [Pair(hypothesis, premise, SUPPORTS if label == "entailment" else NOT_SUPPORTED,
                  source) for label, premise, hypothesis in rows]
    return rng.sample(pairs, min(count, len(pairs)))


def esnli_pairs(rng: random.Random, count: int, reversals: int = 0) -> list[Pair]:
    """Return `count` SNLI premise/hypothesis pairs, the same number of each label, and
    `reversals` entailed hypotheses reversed into contradictions."""
    by_label: dict[int, list[Pair]] = {CONTRADICTS: [], SUPPORTS: [], NEUTRAL: []}
    with gzip.open(ESNLI, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["label"] in LABELS:
                label = LABELS.index(row["label"])
                # the sentence is the premise; the claim is the hypothesis it may imply
                by_label[label].append(Pair(row["hypothesis"], row["premise"], label, "esnli"))
    chosen: list[Pair] = []
    for items in by_label.values():
        chosen += rng.sample(items, min(len(items), count // 3))
    if reversals:
        entailed = rng.sample(by_label[SUPPORTS], len(by_label[SUPPORTS]))
        flipped = ((reverse(p.first), p.second) for p in entailed)
        chosen += [Pair(first, second, CONTRADICTS, "esnli-reversed")
                   for first, second in flipped if first][:reversals]
    return chosen


def training_pairs(folder: Path, seed: int, esnli: int, squad_repeats: int,
                   squad_questions: int = SQUAD_TRAIN_QUESTIONS,
                   squad_paragraphs: int = 10**6, scifact_repeats: int = 1,
                   reversals: int = 0, squad_dev_paragraphs: int = 0,
                   breaking: int = 0, counterfactual: int = 0,
                   negation: int = 0, fever: int = 0, mnli: int = 0,
                   selqa_questions: int = 0) -> list[Pair]:
    """Return every training pair, shuffled with `seed`; small sets repeated for weight.

    With `reversals`, supported SciFact claims and that many entailed SNLI hypotheses are
    reversed into contradictions (tried, not in the shipped model: see docs/relevance-model.md)."""
    rng = random.Random(seed)
    pairs = (scifact_pairs(folder, rng, reversed_claims=reversals > 0) * scifact_repeats
             + squad_pairs(folder, squad_questions) * squad_repeats
             + squad_train_pairs(squad_paragraphs) + esnli_pairs(rng, esnli, reversals)
             + squad_dev_pairs(squad_dev_paragraphs) + breaking_pairs(rng, breaking)
             + counterfactual_pairs(rng, counterfactual) + negation_pairs(rng, negation)
             + docnli_pairs(FEVER, "fever-nli", rng, fever)
             + docnli_pairs(MNLI, "mnli-binary", rng, mnli)
             + selqa_pairs(rng, selqa_questions))
    rng.shuffle(pairs)
    return pairs


def counts(pairs: Iterable[Pair]) -> dict[str, dict[str, int]]:
    """Return how many pairs of each label each source gave."""
    table: dict[str, dict[str, int]] = {}
    for pair in pairs:
        row = table.setdefault(pair.source, dict.fromkeys(LABELS, 0))
        row[NAMES[pair.label]] = row.get(NAMES[pair.label], 0) + 1
    return table
