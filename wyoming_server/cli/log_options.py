"""Logging: ``--debug`` and ``--log-format``, and the filter that masks secrets in every record."""

from __future__ import annotations

import argparse
import logging
import sys

from qwen_asr_realtime import redact, remember_secret

from .options import flag, option

DEFAULT_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug`` and ``--log-format`` (every subcommand but ``health``)."""
    log = parser.add_argument_group("logging")
    flag(log, "--debug", env="QWEN_ASR_DEBUG", help="debug logging")
    option(
        log,
        "--log-format",
        env="QWEN_ASR_LOG_FORMAT",
        default=DEFAULT_LOG_FORMAT,
        help="Python logging format",
    )


class SecretFilter(logging.Filter):
    """Last line of defence: ``redact`` every log record, its message and traceback.

    That masks the process's secrets and any credential-shaped text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place (every later handler sees it masked); keep it."""
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text: the traceback is formatted once, here, masked.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def configure_logging(args: argparse.Namespace) -> None:
    """Log to stderr at the level and in the format the options ask for."""
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format=args.log_format,
        stream=sys.stderr,
    )
    if args.command in ("demo", "listen", "check") and not args.debug:
        # These print their results; the emulator's connection chatter would bury them.
        logging.getLogger().setLevel(logging.WARNING)


def protect_secret(secret: str) -> None:
    """Mask ``secret`` in everything that leaves the process (``redact``), logs included."""
    remember_secret(secret)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(known, SecretFilter) for known in handler.filters):
            handler.addFilter(SecretFilter())
