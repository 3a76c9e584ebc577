"""Fixtures: an in-process Wyoming server in front of the Qwen emulator."""

from tests.support.fallback_helpers import fallback, primary
from tests.support.server_helpers import port, start_server

__all__ = ["fallback", "port", "primary", "start_server"]
