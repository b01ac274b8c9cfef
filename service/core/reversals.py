"""Words whose opposite, put where they stood, reverses a statement (open and close, rise and fall).

A hard check of the verifier: a sentence that says "closes every Sunday" does not support "is
open every Sunday", however many words the two share, and a model trained on pairs that rarely
flip one word takes it for support. A claim is reversed when a word of it has its opposite in
the sentence next to the same word (after it, or before it at the end of a clause), and the
sentence does not also put the claim's own word there.
"""

from __future__ import annotations

import re
from functools import lru_cache

from index.terms import STOPWORDS, stemmer

# Pairs of opposites, any form of each (they are compared stemmed). General English only: the
# verbs, adjectives and adverbs that state a change, a state or a direction.
OPPOSITES = (
    ("open", "close"), ("open", "shut"), ("continue", "cease"), ("continue", "stop"),
    ("continue", "end"), ("continue", "halt"), ("continue", "discontinue"), ("start", "stop"),
    ("start", "end"), ("start", "finish"), ("begin", "end"), ("begin", "stop"),
    ("increase", "decrease"), ("increase", "reduce"), ("increase", "decline"),
    ("increase", "lower"), ("increase", "drop"), ("rise", "fall"), ("rise", "decline"),
    ("rise", "drop"), ("raise", "lower"), ("raise", "reduce"), ("grow", "shrink"),
    ("expand", "shrink"), ("expand", "reduce"), ("extend", "shorten"), ("gain", "lose"),
    ("win", "lose"), ("allow", "forbid"), ("allow", "prohibit"), ("allow", "ban"),
    ("permit", "forbid"), ("permit", "prohibit"), ("accept", "reject"), ("accept", "refuse"),
    ("approve", "reject"), ("approve", "deny"), ("include", "exclude"), ("add", "remove"),
    ("enable", "disable"), ("activate", "deactivate"), ("activate", "inhibit"),
    ("promote", "inhibit"), ("promote", "suppress"), ("promote", "prevent"),
    ("stimulate", "inhibit"), ("enhance", "reduce"), ("enhance", "impair"),
    ("enhance", "inhibit"), ("improve", "worsen"), ("improve", "impair"),
    ("strengthen", "weaken"), ("upregulate", "downregulate"), ("induce", "inhibit"),
    ("induce", "suppress"), ("attach", "detach"), ("import", "export"), ("buy", "sell"),
    ("succeed", "fail"), ("pass", "fail"), ("arrive", "depart"), ("enter", "leave"),
    ("higher", "lower"), ("more", "less"), ("more", "fewer"), ("larger", "smaller"),
    ("greater", "smaller"), ("greater", "lower"), ("longer", "shorter"), ("faster", "slower"),
    ("earlier", "later"), ("before", "after"), ("above", "below"), ("over", "under"),
    ("positive", "negative"), ("present", "absent"), ("maximum", "minimum"),
    ("high", "low"), ("strong", "weak"), ("early", "late"), ("long", "short"),
    ("large", "small"), ("same", "different"), ("true", "false"), ("legal", "illegal"),
    ("public", "private"), ("first", "last"), ("always", "never"), ("all", "none"),
    ("inside", "outside"), ("north", "south"), ("east", "west"),
)
# Irregular forms the stemmer leaves apart from their verb
_IRREGULAR = {"rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall", "grew": "grow",
              "grown": "grow", "shrank": "shrink", "shrunk": "shrink", "won": "win",
              "lost": "lose", "began": "begin", "begun": "begin", "sold": "sell",
              "bought": "buy", "forbade": "forbid", "forbidden": "forbid"}
_TOKEN = re.compile(r"\w+|[^\w\s]")
# What ends a clause: a word's neighbour is not looked for past these
_BREAKS = frozenset({",", ";", ":", ".", "!", "?", "(", ")", "and", "or", "but", "while",
                     "whereas", "although", "though", "yet"})
NEIGHBOUR_REACH = 3  # words looked past (stopwords) for a word's neighbour


@lru_cache(maxsize=1)
def _opposites() -> dict[str, frozenset[str]]:
    """Return each stemmed word's stemmed opposites."""
    found: dict[str, set[str]] = {}
    for one, other in OPPOSITES:
        a, b = stemmer().stemWord(one), stemmer().stemWord(other)
        found.setdefault(a, set()).add(b)
        found.setdefault(b, set()).add(a)
    return {word: frozenset(opposite) for word, opposite in found.items()}


@lru_cache(maxsize=32768)
def _tokens(text: str) -> tuple[str, ...]:
    """Return the lower-cased words and punctuation of `text`, words stemmed.

    Once per distinct text: every sentence of the passages read is checked for every question.
    """
    return tuple(stemmer().stemWord(_IRREGULAR.get(t, t)) if t[0].isalnum() else t
                 for t in _TOKEN.findall(text.lower()))


def _neighbour(tokens: tuple[str, ...], at: int, step: int) -> str:
    """Return the first content word from `at` in direction `step` within its clause ("" if
    none): "" also when the clause ends first."""
    i = at + step
    for _ in range(NEIGHBOUR_REACH + 1):
        if not 0 <= i < len(tokens) or tokens[i] in _BREAKS:
            return ""
        if tokens[i] not in STOPWORDS and tokens[i][0].isalnum():
            return tokens[i]
        i += step
    return ""


def _sides(tokens: tuple[str, ...], at: int) -> set[tuple[int, str]]:
    """Return the neighbours that tie the word at `at` to what it is said of.

    The word after it (its object, or what it qualifies); the word before it only at the end
    of a clause ("prices fell").
    """
    after = _neighbour(tokens, at, 1)
    if after:
        return {(1, after)}
    before = _neighbour(tokens, at, -1)  # the clause ends here
    return {(-1, before)} if before else set()


def _clause(tokens: tuple[str, ...], at: int) -> set[str]:
    """Return the words of the clause that holds the word at `at`."""
    start, end = at, at
    while start > 0 and tokens[start - 1] not in _BREAKS:
        start -= 1
    while end + 1 < len(tokens) and tokens[end + 1] not in _BREAKS:
        end += 1
    return set(tokens[start:end + 1])


def reverses(claim: str, sentence: str) -> bool:
    """Tell whether `sentence` puts an opposite where the claim has one of its words.

    The opposite must be tied to the same neighbour as the claim's word (and not the claim's
    word too, there), and its clause must name something else the claim names, when the claim
    names anything else: "wages fell in 2019" does not reverse "prices rose in 2019".
    """
    opposites = _opposites()
    said, heard = _tokens(claim), _tokens(sentence)
    terms = {t for t in said if t[0].isalnum() and t not in STOPWORDS}
    for i, word in enumerate(said):
        against = opposites.get(word, frozenset()) - set(said)
        claimed = _sides(said, i) if against else set()
        if not claimed:
            continue
        kept = {s for j, token in enumerate(heard) if token == word for s in _sides(heard, j)}
        for j, token in enumerate(heard):
            tied = (_sides(heard, j) & claimed) - kept if token in against else set()
            if not tied:
                continue
            others = terms - {word} - {n for _, n in tied}
            if not others or others & _clause(heard, j):
                return True
    return False


def opposite_only(question: str, sentence: str) -> bool:
    """Tell whether `sentence` holds the opposite of a word of `question` and not the word.

    "The boathouse opens at six" does not say when it closes. The word after "how" ("how
    long", "how high") asks for a measure and is not compared.
    """
    opposites = _opposites()
    asked = _tokens(question)
    heard = set(_tokens(sentence))
    words = {w for i, w in enumerate(asked) if not (i and asked[i - 1] == "how")}
    return any(w not in heard and opposites.get(w, frozenset()) & heard - words for w in words)
