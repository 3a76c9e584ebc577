"""Language code handling shared by the integration and the Wyoming server."""

from __future__ import annotations

from .const import LANGUAGES

# Locales whose spoken language has a different Qwen code than their primary subtag.
_LOCALE_ALIASES = {"zh-hk": "yue", "zh-mo": "yue", "yue-hk": "yue"}
_SUBTAG_ALIASES = {"nb": "no", "nn": "no", "tl": "fil", "cmn": "zh"}


def normalize_language(language: str | None) -> str | None:
    """Map a locale such as ``en-US``, ``zh_HK`` or ``EN`` to a Qwen language code.

    Returns None, meaning automatic detection, for empty, "auto" or unsupported values.
    """
    if not language:
        return None
    code = language.strip().replace("_", "-").lower()
    if code in LANGUAGES:
        return code
    if code in _LOCALE_ALIASES:
        return _LOCALE_ALIASES[code]
    base = code.split("-", 1)[0]
    if base in LANGUAGES:
        return base
    return _SUBTAG_ALIASES.get(base)
