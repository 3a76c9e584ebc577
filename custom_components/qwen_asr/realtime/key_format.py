"""Which text can be a credential: one line of printable ASCII, checked before any use.

An API key or access token travels in an HTTP header. A second line (a comment in a key
file), a pasted zero-width space or another non-ASCII character makes the HTTP library
refuse the header with an error that quotes it, key and all; so such text is refused up
front, with a message that says where the problem is and never shows the text.
"""

from __future__ import annotations

import re
import unicodedata

# Longer than any DashScope key or Home Assistant token; bounds what is read and checked.
MAX_SECRET_CHARS = 4096
# Only these surround a key by accident (an editor's final newline, a pasted space);
# anything else around it is reported, not silently dropped.
_SURROUNDING = " \t\r\n"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# What a character that is not printable ASCII is called in a message.
_ASCII_CONTROL = "a control character"
_NON_ASCII_LETTER = "a non-ASCII letter"
_NON_ASCII = "a non-ASCII character"


class SecretFormatError(ValueError):
    """The text cannot be a key; the message names the problem, never the text."""


def check_secret(text: str, what: str = "the API key") -> str:
    """Return ``text`` without surrounding spaces and newlines, if it is one line of ASCII.

    Raise SecretFormatError naming the problem (``what`` says which secret) if it is not.
    """
    secret = text.strip(_SURROUNDING)
    problem = secret_problem(secret)
    if problem is not None:
        raise SecretFormatError(f"{what} is not one line of printable ASCII: {problem}")
    return secret


def secret_problem(secret: str) -> str | None:
    """Say what keeps ``secret`` (already stripped) from being a key, or None; never quote it."""
    if not secret:
        return "it is empty"
    lines = len(_LINE_BREAK.split(secret))
    if lines > 1:
        return f"it has {lines} lines (a comment or a second key?)"
    if len(secret) > MAX_SECRET_CHARS:
        return f"it is longer than {MAX_SECRET_CHARS} characters"
    bad = [index for index, char in enumerate(secret) if not "!" <= char <= "~"]
    if not bad:
        return None
    first = bad[0]
    more = f" (and {len(bad) - 1} more such characters)" if len(bad) > 1 else ""
    return f"character {first + 1} is {describe_character(secret[first])}{more}"


def describe_character(char: str) -> str:
    """Name the class of a character that is not printable ASCII.

    Invisible characters (spaces, controls, format characters such as a zero-width space)
    are named with their code point: the user cannot see them, and they are never part of
    a real key. A visible non-ASCII character is only classed, since it may be a mistyped
    character of the key.
    """
    code = ord(char)
    if char == " ":
        return "a space"
    if code < 0x80:
        return f"{_ASCII_CONTROL} (U+{code:04X})"
    category = unicodedata.category(char)
    if category[0] in "CZ":  # Cc, Cf (format: zero-width ...), Zs, Zl, Zp
        name = unicodedata.name(char, "").lower().replace("zero width", "zero-width")
        article = "an" if name[:1] in ("a", "e", "i", "o", "u") else "a"
        return f"{f'{article} {name}' if name else _NON_ASCII} (U+{code:04X})"
    return _NON_ASCII_LETTER if category[0] == "L" else _NON_ASCII
