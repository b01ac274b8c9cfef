"""Refusal reasons that read as English and keep their message id for the pages to translate.

`Reason("the sources do not mention %(what)s", what=…)` is the English text wherever a plain
string is expected (API, logs, tests); the web layer looks its message id up in the catalogs
(service/web/translations) and fills the same values in. `pybabel extract -k Reason` finds them.
"""

from __future__ import annotations

from collections.abc import Mapping


class Reason(str):
    """An English message that remembers its message id and the values filled into it."""

    msgid: str
    params: Mapping[str, str]

    def __new__(cls, msgid: str, **params: str) -> Reason:
        """Fill `params` into `msgid` (`%(name)s` placeholders) and remember both."""
        made = super().__new__(cls, msgid % params if params else msgid)
        made.msgid = msgid
        made.params = params
        return made

    def __reduce__(self) -> tuple[object, tuple[str, dict[str, str]]]:
        """Copy (dataclasses.asdict deep-copies) with the message id and values kept."""
        return (_remake, (self.msgid, dict(self.params)))


def _remake(msgid: str, params: dict[str, str]) -> Reason:
    """Rebuild a copied reason."""
    return Reason(msgid, **params)


# What a question asks for (service.core.questions.expected_kind), as a refusal names it.
KINDS = {
    "number": Reason("the number"),
    "date": Reason("the date"),
    "person": Reason("the person"),
    "place": Reason("the place"),
    "list": Reason("the list"),
}
