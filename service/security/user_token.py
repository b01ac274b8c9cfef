"""Portal user tokens: a short-lived JWT, signed by the portal, that says who reads and in which
groups, so restricted documents open only to people the portal vouches for.

The portal signs `{"groups": ["hr", …], "exp": …}` (plus `aud`/`iss` when configured) with
`CITEQA_USER_TOKEN_SECRET` (HS256) or its RS256 private key (`CITEQA_USER_TOKEN_PUBLIC_KEY`
verifies), and sends it in `X-Citeqa-User`. PyJWT checks the signature, the algorithm (never
`none`), the expiry (required), and the audience and issuer when set.

    >>> import jwt, time
    >>> cfg = Config.from_env(user_token_secret="s" * 32)
    >>> token = jwt.encode({"groups": ["hr"], "exp": time.time() + 60}, "s" * 32, "HS256")
    >>> verify(cfg, token)
    ('hr',)
"""

from __future__ import annotations

from typing import Any

from flask import Request

from index.access import GroupError, clean_groups
from service.http.errors import ApiError
from service.settings import Config

HEADER = "X-Citeqa-User"
LEEWAY_SECONDS = 30  # clock skew tolerated between the portal and citeqa


class UserTokenError(ValueError):
    """A user token that must be refused; the message says why, without echoing it."""


def _keys(config: Config) -> list[tuple[str, Any]]:
    """Return `(algorithm, key)` pairs the settings allow."""
    found: list[tuple[str, Any]] = []
    if config.user_token_secret:
        found.append(("HS256", config.user_token_secret))
    if config.user_token_public_key:
        found.append(("RS256", config.user_token_public_key))
    return found


def verify(config: Config, token: str) -> tuple[str, ...]:
    """Return the groups of a valid token, or raise UserTokenError."""
    keys = _keys(config)
    if not keys:
        raise UserTokenError("user tokens are not configured on this service")
    import jwt  # PyJWT (and the cryptography it loads) only where user tokens are in use

    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise UserTokenError("the user token is not a JWT") from exc
    key = dict(keys).get(str(algorithm))
    if key is None:
        raise UserTokenError(f"the user token's algorithm {str(algorithm)[:10]!r} is not "
                             "accepted")
    try:
        claims = jwt.decode(
            token, key, algorithms=[str(algorithm)], leeway=LEEWAY_SECONDS,
            audience=config.user_token_audience or None,
            issuer=config.user_token_issuer or None,
            options={"require": ["exp"], "verify_aud": bool(config.user_token_audience)})
    except jwt.ExpiredSignatureError as exc:
        raise UserTokenError("the user token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise UserTokenError("the user token is for another audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise UserTokenError("the user token comes from another issuer") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise UserTokenError(f"the user token has no `{exc.claim}` claim") from exc
    except jwt.PyJWTError as exc:
        raise UserTokenError("the user token's signature is not valid") from exc
    groups = claims.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise UserTokenError("the user token's `groups` claim must be a list of strings")
    try:
        return clean_groups(groups)
    except GroupError as exc:
        raise UserTokenError(f"the user token's groups: {exc}") from exc


def groups_of(request: Request, config: Config) -> tuple[str, ...] | None:
    """Return the groups of the request's user token, None without one; 401 if it is bad."""
    token = request.headers.get(HEADER, "").strip()
    if not token:
        return None
    try:
        return verify(config, token)
    except UserTokenError as exc:
        raise ApiError(401, str(exc), "invalid_user_token") from exc
