"""Identity keys compared as people, not as bytes (docs/data-contract.md#identity-keys).

Rules 3 to 5 (self-referral, one person referring from several accounts, one person
registering several friend accounts) compare the accounts' identity keys. Two keys that a
person reads as the same must compare equal, or a lookalike (a Cyrillic "\u0430" for a Latin
"a", a zero-width space) makes one person two and pays them. The skeleton, after Unicode
TS #39 (simplified): NFKC, then drop invisible format and control characters (zero-width
spaces and joiners, the byte-order mark, soft hyphens), case-fold, map every character the
Unicode confusables list gives a one-character ASCII lookalike to that character, and
NFKC again. The delivered key is kept as delivered everywhere; only comparisons use the
skeleton (sql/intermediate/int_referral_reasons.sql, through the SQL macro
identity_skeleton of sql/macros/identity.sql: it takes this function's first step itself, and
calls the function, which sql_runner registers on every connection, for every other key).
"""

import json
import unicodedata
from functools import cache
from importlib import resources

_INVISIBLE = ("Cf", "Cc")  # format characters (zero-width, BOM, soft hyphen) and controls


@cache
def _ascii_lookalikes() -> dict[str, str]:
    """character -> its one-character ASCII lookalike, from the confusables list the
    confusable-homoglyphs package ships (Unicode's confusables.txt)."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    )
    found = {}
    for character, homoglyphs in data.items():
        ascii_ones = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii()]
        if len(character) == 1 and not character.isascii() and ascii_ones:
            found[character] = ascii_ones[0].casefold()
    return found


def identity_skeleton(key: str | None) -> str | None:
    """The form of an identity key that two lookalike keys share (None stays None)."""
    if key is None:
        return None
    if key.isascii() and key.isprintable():  # nothing to fold but the case (the common key)
        return key.lower()
    text = unicodedata.normalize("NFKC", key)
    text = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE).casefold()
    lookalikes = _ascii_lookalikes()
    return unicodedata.normalize("NFKC", "".join(lookalikes.get(c, c) for c in text))
