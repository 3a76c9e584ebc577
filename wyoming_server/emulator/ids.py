"""Identifier formats that mimic the hosted service (clients must treat them as opaque).

A prefix and 21 characters. The documented examples use letters and digits; the live
service's ids can contain ``-`` too (``event_04cIDHwiM-gHSc0rSktQG``). With ``dash`` one
character of each id is a ``-``, so every session exercises the observed form.
"""

from __future__ import annotations

import secrets
import string
import uuid

_ALPHANUMERIC = string.ascii_letters + string.digits
_ID_LENGTH = 21


def _random_suffix(*, dash: bool, length: int = _ID_LENGTH) -> str:
    chars = [secrets.choice(_ALPHANUMERIC) for _ in range(length)]
    if dash:
        chars[secrets.randbelow(length)] = "-"
    return "".join(chars)


def new_event_id(*, dash: bool = False) -> str:
    """Return a new server event id."""
    return "event_" + _random_suffix(dash=dash)


def new_item_id(*, dash: bool = False) -> str:
    """Return a new item id."""
    return "item_" + _random_suffix(dash=dash)


def new_session_id(*, dash: bool = False) -> str:
    """Return a new session id."""
    return "sess_" + _random_suffix(dash=dash)


def new_request_id() -> str:
    """Return a new request id (the JSON body of a refused upgrade)."""
    return str(uuid.uuid4())
