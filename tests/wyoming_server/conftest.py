"""Fixtures: an in-process Wyoming server in front of the Qwen emulator."""

from fallback_helpers import fallback, primary
from server_helpers import port, start_server

__all__ = ["fallback", "port", "primary", "start_server"]
