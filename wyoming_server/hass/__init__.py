"""The home's names from Home Assistant (websocket API), as context for every request."""

from .connection import HassAuthError, HassConfig, HassConnection, HassError, websocket_url
from .names import read_home_names
from .source import HomeNamesSource

__all__ = [
    "HassAuthError",
    "HassConfig",
    "HassConnection",
    "HassError",
    "HomeNamesSource",
    "read_home_names",
    "websocket_url",
]
