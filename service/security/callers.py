"""Who may hold a page token: with API keys set, only a caller who may already use the API.

That is a caller with a valid key, one a registered check vouches for (a portal's signed user
token), or anyone when the operator opens the chat to the public (`CITEQA_PUBLIC_CHAT=true`).
Without keys the API is open, so every page gets a token.

    allow_callers(app, lambda config: user_token_is_valid(config))   # a portal's sign-in
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g

from service.security.keys import parse_keys
from service.settings import Config

Check = Callable[[Config], bool]
_CHECKS = "citeqa.caller_checks"


def allow_callers(app: Flask, check: Check) -> None:
    """Let callers that `check` vouches for (during their request) hold page tokens."""
    app.extensions.setdefault(_CHECKS, []).append(check)


def identified(config: Config) -> bool:
    """Tell whether this request carries a valid key or a credential a check vouches for."""
    checks: list[Check] = current_app.extensions.get(_CHECKS, [])
    return "caller" in g or any(check(config) for check in checks)


def may_hold_token(config: Config) -> bool:
    """Tell whether this request's caller may be given a page token."""
    return not parse_keys(config.api_keys) or config.public_chat or identified(config)
