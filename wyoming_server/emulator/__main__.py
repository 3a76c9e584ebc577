"""Entry point for ``python -m wyoming_server.emulator``."""

from .cli import run

if __name__ == "__main__":
    run()
