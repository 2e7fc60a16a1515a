"""Coupon codes: unguessable, reproducible secrets.

code = HMAC-SHA256(key, "settlement_month|referrer_account_id"), 120 bits in base32.
The same key and inputs always give the same code, so a rerun re-renders identical
files; without the key nobody can derive one. Codes are never stored in the warehouse,
logged, or passed through Prefect; they exist only in the rendered batch file.
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

KEY_ENVIRONMENT_VARIABLE = "CREDITFLOW_COUPON_KEY"
DEVELOPMENT_KEY = b"creditflow-DEVELOPMENT-key-NOT-FOR-REAL-COUPONS"
CODE_BITS = 120


@dataclass(frozen=True)
class CouponKey:
    secret: bytes
    kind: str  # 'configured' (from the environment), 'development' or 'what-if'

    @property
    def is_development(self) -> bool:
        return self.kind == "development"

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key, recorded with a publication to catch a key change."""
        return hmac.new(self.secret, b"creditflow key id", hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:  # never print the secret
        return f"CouponKey(kind={self.kind!r}, key_id={self.key_id!r})"


def key_from_environment(environ: dict[str, str] | None = None) -> CouponKey:
    """The configured key, or the clearly named development key when none is set."""
    environ = os.environ if environ is None else environ
    value = environ.get(KEY_ENVIRONMENT_VARIABLE, "")
    if value:
        problem = key_problem(value)
        if problem:
            raise ValueError(
                f"{KEY_ENVIRONMENT_VARIABLE} {problem}; make one with: python -c 'import "
                "secrets; print(secrets.token_urlsafe(32))'"
            )
        return CouponKey(value.encode(), "configured")
    return CouponKey(DEVELOPMENT_KEY, "development")


# the key of a what-if replay (creditflow whatif): codes are rendered in memory to digest
# the batch a month would have published, and never written; the operator's key is not read
WHAT_IF_KEY = CouponKey(b"creditflow-what-if-replay-NO-COUPONS-ARE-WRITTEN", "what-if")


MIN_KEY_CHARACTERS = 16
MIN_DISTINCT_KEY_CHARACTERS = 8


def key_problem(value: str) -> str | None:
    """Why a configured key is too weak to issue real coupons with (None: it will do). Not a
    measure of entropy, a floor under it: every code is only as unguessable as the key."""
    if value.strip() != value:
        return "has spaces or a line end around it (copied with them?)"
    if len(value) < MIN_KEY_CHARACTERS:
        return f"must be at least {MIN_KEY_CHARACTERS} characters"
    if len(set(value)) < MIN_DISTINCT_KEY_CHARACTERS:
        return f"must hold at least {MIN_DISTINCT_KEY_CHARACTERS} different characters"
    if value.encode() == DEVELOPMENT_KEY:
        return "is the development key, which never issues real coupons"
    return None


def coupon_code(key: CouponKey, settlement_month: str, referrer_account_id: str) -> str:
    """The coupon code of one referrer's coupon for one month (DEV- prefix under the dev key)."""
    message = f"{settlement_month}|{referrer_account_id}".encode()
    digest = hmac.new(key.secret, message, hashlib.sha256).digest()
    text = base64.b32encode(digest[: CODE_BITS // 8]).decode()
    groups = "-".join(text[i : i + 4] for i in range(0, len(text), 4))
    return ("DEV-" if key.is_development else "RAF-") + groups


def key_for_run(environ: dict[str, str] | None = None) -> CouponKey:
    """The key a run issues with; a key that is set but unusable is a usage error (exit 2)."""
    from transforms.errors import UsageError

    try:
        return key_from_environment(environ)
    except ValueError as error:
        raise UsageError(str(error)) from error
