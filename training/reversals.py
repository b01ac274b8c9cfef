"""Reverse what a claim says, to teach the model that one swapped word makes a contradiction.

SNLI's contradictions rarely differ from the sentence by one word, so a model trained on them
alone takes "the shop opens on Sundays" against "the shop closes on Sundays" for support. The
training pairs add, for claims a sentence supports, the claim reversed: one direction word
swapped for its opposite or a "not" taken out, else a "not" put in after the first auxiliary.

    >>> reverse("Aspirin increases the risk of bleeding.")
    'Aspirin decreases the risk of bleeding.'
    >>> reverse("A man is sleeping.")
    'A man is not sleeping.'
"""

from __future__ import annotations

import re

_PAIRS = (
    ("increase", "decrease"), ("increases", "decreases"), ("increased", "decreased"),
    ("increasing", "decreasing"), ("higher", "lower"), ("high", "low"), ("more", "less"),
    ("greater", "smaller"), ("larger", "smaller"), ("enhances", "reduces"),
    ("enhanced", "reduced"), ("promotes", "inhibits"), ("promote", "inhibit"),
    ("activates", "suppresses"), ("positive", "negative"), ("positively", "negatively"),
    ("upregulates", "downregulates"), ("upregulated", "downregulated"),
    ("improves", "worsens"), ("improved", "worsened"), ("above", "below"),
    ("before", "after"), ("earlier", "later"), ("early", "late"), ("starts", "stops"),
    ("start", "stop"), ("allows", "prohibits"),
    ("allow", "prohibit"), ("accepted", "rejected"), ("accepts", "rejects"), ("rises", "falls"),
    ("rose", "fell"), ("won", "lost"), ("wins", "loses"), ("always", "never"),
    ("true", "false"), ("present", "absent"), ("presence", "absence"),
    ("success", "failure"), ("succeeded", "failed"), ("resistant", "susceptible"),
    ("stable", "unstable"), ("stronger", "weaker"), ("strong", "weak"), ("faster", "slower"),
    ("longer", "shorter"), ("most", "least"), ("maximum", "minimum"), ("first", "last"),
    ("supports", "opposes"), ("agree", "disagree"), ("same", "different"),
    ("necessary", "unnecessary"), ("sufficient", "insufficient"), ("likely", "unlikely"),
    ("common", "rare"), ("often", "rarely"), ("includes", "excludes"),
    ("included", "excluded"), ("inside", "outside"), ("effective", "ineffective"),
    ("safe", "unsafe"), ("indoors", "outdoors"), ("empty", "full"), ("young", "old"),
    ("sitting", "standing"), ("awake", "asleep"), ("wet", "dry"), ("day", "night"),
)
_OPPOSITE = {**dict(_PAIRS), **{b: a for a, b in _PAIRS}}
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
_NOT = re.compile(r"\b(?:(can)not|(\w+) not|(\w+)n't)\b", re.I)
_CONTRACTED = {"wo": "will", "ca": "can", "sha": "shall"}
_OTHER_NEGATION = re.compile(r"\b(?:no|none|nor|neither|without|nothing|nobody)\b", re.I)
_AUXILIARY = re.compile(
    r"\b(?:is|are|was|were|can|could|will|would|may|might|should|must|has|have|had|does|do|"
    r"did)\b", re.I)


def _cased(word: str, like: str) -> str:
    """Return `word` capitalised as `like` is."""
    return word.capitalize() if like[:1].isupper() else word


def reverse(text: str) -> str | None:
    """Return `text` with its "not" taken out, else its first direction word swapped, else a
    "not" put in; None for other negations ("no", "without"), whose reversal is not one word."""
    negation = _NOT.search(text)
    if negation:
        kept = next(g for g in negation.groups() if g)
        kept = _cased(_CONTRACTED.get(kept.lower(), kept), kept)
        return text[:negation.start()] + kept + text[negation.end():]
    if _OTHER_NEGATION.search(text):
        return None
    for match in _WORD.finditer(text):
        opposite = _OPPOSITE.get(match.group().lower())
        if opposite:
            return text[:match.start()] + _cased(opposite, match.group()) + text[match.end():]
    auxiliary = _AUXILIARY.search(text)
    if auxiliary:
        return text[:auxiliary.end()] + " not" + text[auxiliary.end():]
    return None
