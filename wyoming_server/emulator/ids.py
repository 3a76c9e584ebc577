"""Identifier formats that mimic the hosted service (clients must treat them as opaque)."""

from __future__ import annotations

import secrets
import string
import uuid

_ALPHANUMERIC = string.ascii_letters + string.digits
_ID_LENGTH = 21


def _random_suffix(length: int = _ID_LENGTH) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def new_event_id() -> str:
    return "event_" + _random_suffix()


def new_item_id() -> str:
    return "item_" + _random_suffix()


def new_session_id() -> str:
    return "sess_" + _random_suffix()


def new_request_id() -> str:
    return str(uuid.uuid4())
