"""Fixtures: an in-process Wyoming server in front of the Qwen emulator."""

from server_helpers import port, start_server

__all__ = ["port", "start_server"]
