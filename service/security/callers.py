"""Who may hold a page token: with API keys set, only a caller who may already use the API.

That is a caller with a valid key, one whose portal vouches for them with a valid user token
(`X-Citeqa-User`), or anyone when the operator opens the chat to the public
(`CITEQA_PUBLIC_CHAT=true`). Without reader keys the API is open, so every page gets a token.
"""

from __future__ import annotations

from flask import g, request

from service.security import user_token
from service.security.keys import parse_keys
from service.settings import Config


def identified(config: Config) -> bool:
    """Tell whether this request carries a valid key or a valid portal user token."""
    if "caller" in g:
        return True
    token = request.headers.get(user_token.HEADER, "").strip()
    if not token:
        return False
    try:
        user_token.verify(config, token)
    except user_token.UserTokenError:
        return False
    return True


def may_hold_token(config: Config) -> bool:
    """Tell whether this request's caller may be given a page token."""
    return not parse_keys(config.api_keys) or config.public_chat or identified(config)
