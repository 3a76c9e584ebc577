"""The credential rule: one line of printable ASCII; each violation named, the text never."""

from __future__ import annotations

import pytest
from qwen_asr_realtime import ConfigError, QwenRealtimeClient
from qwen_asr_realtime.key_format import (
    MAX_SECRET_CHARS,
    SecretFormatError,
    check_secret,
    secret_problem,
)

KEY = "sk-test-SECRET0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"{KEY}\n# my DashScope key\n", "it has 2 lines (a comment or a second key?)"),
        (f"{KEY}\r\n{KEY}\r\n{KEY}", "it has 3 lines (a comment or a second key?)"),
        (f"sk-\u200b{KEY}", "character 4 is a zero-width space (U+200B)"),
        (f"\ufeff{KEY}", "character 1 is a zero-width no-break space (U+FEFF)"),
        (f"sk-{KEY}\u00a0x", f"character {len(KEY) + 4} is a no-break space (U+00A0)"),
        (f"sk-\u2003{KEY}", "character 4 is an em space (U+2003)"),
        (f"sk-ж{KEY}", "character 4 is a non-ASCII letter"),
        (f"sk-é{KEY}", "character 4 is a non-ASCII letter"),
        (f"sk-\u2013{KEY}", "character 4 is a non-ASCII character"),  # an en dash
        (f"sk-\t{KEY}", "character 4 is a control character (U+0009)"),
        (f"sk-\x7f{KEY}", "character 4 is a control character (U+007F)"),
        (f"sk- {KEY}", "character 4 is a space"),
        (f"sk-ж\u200b{KEY}", "character 4 is a non-ASCII letter (and 1 more such characters)"),
        ("", "it is empty"),
        (" \n\t", "it is empty"),
        ("k" * (MAX_SECRET_CHARS + 1), f"it is longer than {MAX_SECRET_CHARS} characters"),
    ],
)
def test_each_kind_of_bad_key_is_named_without_the_key(text: str, problem: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        check_secret(text, "--api-key-file /etc/qwen/key")
    message = str(caught.value)
    assert message == (
        f"--api-key-file /etc/qwen/key is not one line of printable ASCII: {problem}"
    )
    assert KEY not in message and "sk-" not in message.split(":", 1)[1]
    assert "\n" not in message  # one line: the key's second line never follows


@pytest.mark.parametrize(
    "text", [KEY, f"{KEY}\n", f"  {KEY} \r\n", f"\t{KEY}\n\n", "k" * MAX_SECRET_CHARS]
)
def test_one_line_of_printable_ascii_passes_with_surrounding_spaces_stripped(text: str) -> None:
    assert check_secret(text) == text.strip(" \t\r\n")
    assert secret_problem(text.strip()) is None


def test_only_ascii_spaces_and_newlines_are_stripped() -> None:
    """A pasted no-break space at the end is reported, not silently kept or dropped."""
    with pytest.raises(SecretFormatError, match=r"no-break space \(U\+00A0\)"):
        check_secret(f"{KEY}\u00a0")


@pytest.mark.parametrize("key", [f"{KEY}\n# comment", f"{KEY}\u200b", f"{KEY}ж"])
def test_the_client_refuses_such_a_key_before_connecting(key: str) -> None:
    """Whatever front end: the shared client never hands such a key to the HTTP layer."""
    with pytest.raises(ConfigError, match="not one line of printable ASCII") as caught:
        QwenRealtimeClient(key, endpoint="ws://127.0.0.1:9/x")
    assert KEY not in str(caught.value)
