"""The API key never leaks: logs, exceptions, repr, the process list; TLS is verified.

(The key file permission warning is covered in tests/wyoming_server/test_cli.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import logging
import os
import ssl
import subprocess
import sys
import textwrap
import traceback
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from qwen_asr_realtime import (
    AuthenticationError,
    QwenConnectionError,
    QwenError,
    QwenRealtimeClient,
    QwenTimeoutError,
    RateLimitError,
    RedactingLogger,
    RetryPolicy,
    ServiceError,
    SessionConfig,
    SessionState,
    Timeouts,
    redact,
    remember_secret,
)
from qwen_asr_realtime.const import REALTIME_PATH
from websockets.asyncio.server import ServerConnection, serve

from tests.support.ports import free_port
from tests.support.server_helpers import HOST, settings_for, transcribe
from wyoming_server.addresses import ListenAddress
from wyoming_server.cli.log_options import SecretFilter
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.qwen_client import new_client
from wyoming_server.request import TranscriptionRequest
from wyoming_server.server import QwenAsrServer

REPO = Path(__file__).resolve().parents[2]
SECRET = "sk-test-secret-key"  # one of conftest.TEST_API_KEYS: the log guard watches it
FAST = Timeouts(connect=1.0, setup=1.0, finish=1.0, close=0.3)
QUICK_RETRY = RetryPolicy(delays=(0.01,), jitter=0)


def _everything_about(err: BaseException) -> str:
    """Message, repr, attributes and the formatted traceback with its whole chain."""
    parts = [str(err), repr(err), repr(vars(err)) if hasattr(err, "__dict__") else ""]
    parts += traceback.format_exception(err)
    return "\n".join(parts)


@pytest.fixture
async def secret_emulator() -> AsyncIterator[QwenEmulator]:
    async with QwenEmulator(
        api_keys=frozenset({SECRET}), recognizer_factory=ScriptedRecognizer(["hello"])
    ) as emulator:
        yield emulator


class _Silent:
    """Accepts TCP and never answers."""

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._hold, HOST, 0)
        return f"ws://{HOST}:{self._server.sockets[0].getsockname()[1]}{REALTIME_PATH}"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass
        writer.close()

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()


def _unused_url() -> str:
    return f"ws://{HOST}:{free_port()}{REALTIME_PATH}"


async def _session(url: str, key: str = SECRET) -> QwenError:
    client = QwenRealtimeClient(
        key, SessionConfig(language="en"), endpoint=url, timeouts=FAST, retry=QUICK_RETRY
    )
    try:
        await client.connect()
        client.append_audio(bytes(16000))
        await client.finish()
    except QwenError as err:
        assert SECRET not in repr(client)
        return err
    finally:
        await client.close()
    raise AssertionError("the session should have failed")


@pytest.mark.parametrize(
    "path",
    [
        "auth",
        "refused",
        "rate-limited",
        "unreachable",
        "connect-timeout",
        "setup-timeout",
        "service-error",
    ],
)
async def test_no_failure_path_puts_the_key_in_the_exception(
    secret_emulator: QwenEmulator, path: str
) -> None:
    expected: type[QwenError] = QwenConnectionError
    url = secret_emulator.url
    if path == "auth":
        secret_emulator.api_keys = frozenset({"another-key"})
        expected = AuthenticationError
    elif path == "refused":
        secret_emulator.faults.reject_status = 503
    elif path == "rate-limited":
        secret_emulator.faults.reject_status = 429
        expected = RateLimitError
    elif path == "unreachable":
        url = _unused_url()
    elif path == "setup-timeout":
        secret_emulator.faults.stall = True
        expected = QwenTimeoutError
    elif path == "service-error":
        secret_emulator.faults.error_after_events = 1
        expected = ServiceError
    if path == "connect-timeout":
        async with _Silent() as silent_url:
            error = await _session(silent_url)
        expected = QwenTimeoutError
    else:
        error = await _session(url)
    assert isinstance(error, expected), repr(error)
    assert SECRET not in _everything_about(error)


def test_repr_of_settings_client_and_request_hide_the_key() -> None:
    settings = settings_for_key(SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    client = QwenRealtimeClient(SECRET, endpoint="ws://127.0.0.1:9/x")
    assert SECRET not in repr(client) and SECRET not in str(client)

    async def _request_repr() -> str:
        client = new_client(settings, settings.session_config("en"))
        request = TranscriptionRequest(
            settings,
            client,
            language="en",
            emit=_ignore,
            on_failure=_ignore,
        )
        return repr(request)

    assert SECRET not in asyncio.run(_request_repr())


async def _ignore(_: object) -> None:
    return None


def settings_for_key(key: str):  # type: ignore[no-untyped-def]
    from wyoming_server.settings import ServerSettings  # noqa: PLC0415

    return ServerSettings(api_key=key, endpoint="ws://127.0.0.1:9/x")


# -- the process list -------------------------------------------------------------------


@pytest.mark.parametrize("source", ["env", "file"])
def test_key_never_in_the_process_title_or_cmdline(tmp_path: Path, source: str) -> None:
    number = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("QWEN_API_KEY", None)
    args = [sys.executable, "-m", "wyoming_server", "serve", "--uri", f"tcp://{HOST}:{number}"]
    args += ["--region", f"ws://{HOST}:9{REALTIME_PATH}"]
    if source == "env":
        env["QWEN_API_KEY"] = SECRET
    else:
        key_file = tmp_path / "key"
        key_file.write_text(SECRET + "\n")
        key_file.chmod(0o600)
        args += ["--api-key-file", str(key_file)]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # wait until it serves
            if "Ready: listening" in line:
                break
        proc_dir = Path(f"/proc/{proc.pid}")
        cmdline = (proc_dir / "cmdline").read_bytes().decode()
        comm = (proc_dir / "comm").read_text()
        assert SECRET not in cmdline and SECRET not in comm
        ps = subprocess.run(
            ["ps", "-ww", "-o", "args=", "-p", str(proc.pid)], capture_output=True, check=False
        )
        assert SECRET not in ps.stdout.decode()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert SECRET not in err


# -- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def _confirm_session(ws: ServerConnection) -> None:
    await ws.recv()
    await ws.send('{"type": "session.created", "session": {"id": "sess_tls"}}')
    await ws.send('{"type": "session.updated", "session": {}}')
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


@pytest.fixture
async def wss_url(self_signed: tuple[Path, Path]) -> AsyncIterator[str]:
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # websockets logs handshake headers at debug level: this test service masks them too.
    logger = RedactingLogger(logging.getLogger("tls-service"), SECRET)
    async with serve(_confirm_session, HOST, 0, ssl=context, logger=logger) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"wss://{HOST}:{port}{REALTIME_PATH}"


async def test_untrusted_certificate_is_refused(wss_url: str) -> None:
    client = QwenRealtimeClient(SECRET, endpoint=wss_url, timeouts=FAST)
    with pytest.raises(QwenConnectionError, match=r"(?i)certificate"):
        await client.connect()
    await client.close()


async def test_trusted_certificate_connects(wss_url: str, self_signed: tuple[Path, Path]) -> None:
    """The refusal above is certificate verification: trusting the CA makes it work."""
    context = ssl.create_default_context(cafile=str(self_signed[0]))
    async with QwenRealtimeClient(
        SECRET, endpoint=wss_url, timeouts=FAST, ssl_context=context
    ) as client:
        assert client.results.state is SessionState.READY


async def test_wyoming_server_refuses_an_untrusted_certificate(
    wss_url: str, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    server = QwenAsrServer(settings_for(emulator, endpoint=wss_url, timeouts=FAST))
    await server.start(ListenAddress("tcp", host=HOST, port=0))
    try:
        reply = await transcribe(server.bound_port, speech_pcm("what_time_is_it"))
    finally:
        await server.stop(grace=2.0)
    assert reply.error is not None and reply.error.code == "connection-failed"
    assert "certificate" in reply.error.text.lower()


# -- the log guard itself ---------------------------------------------------------------


def test_the_log_guard_fails_a_test_that_logs_the_key(tmp_path: Path) -> None:
    """tests/conftest.py's autouse fixture turns a logged key into a failing test."""
    probe = Path(__file__).parent / f"_leak_probe_{os.getpid()}.py"
    probe.write_text(
        textwrap.dedent(
            """
            import logging

            def test_leaks():
                logging.getLogger("probe").debug("Authorization: Bearer %s", "test-key")

            def test_clean():
                logging.getLogger("probe").debug("Authorization: Bearer ***")
            """
        )
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", str(probe), "-q", "-p", "no:cacheprovider"],
            cwd=REPO,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe.unlink()
    assert "API key ['test-key'] appeared in the logs" in result.stdout, result.stdout
    # test_leaks fails in teardown, where the guard runs; test_clean passes.
    assert "ERROR at teardown of test_leaks" in result.stdout, result.stdout
    assert "1 error" in result.stdout and "test_clean" not in result.stdout, result.stdout


# -- the outbound boundary: redact() ----------------------------------------------------

FOREIGN = "sk-test-FOREIGN0123456789"  # a credential the process does not know by value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"Cannot connect to h: InvalidHeaderValue: invalid Authorization header: "
            f"Bearer {FOREIGN}\n# my key",
            "Cannot connect to h: InvalidHeaderValue: invalid Authorization header: ***",
        ),
        ("invalid Cookie header: session=abc; token=def", "invalid Cookie header: ***"),
        (f"headers [('Authorization', 'Bearer {FOREIGN}')]", "headers [('Authorization', ***"),
        (f"Proxy-Authorization: Basic {FOREIGN}", "Proxy-Authorization: ***"),
        (f"sent Bearer {FOREIGN} to h", "sent Bearer *** to h"),
        (f"key {FOREIGN} refused", "key *** refused"),
        ("ws://user:password@example.com/x", "ws://***@example.com/x"),
        # Ordinary error texts pass unchanged.
        ("HTTP 401 from dashscope-intl.aliyuncs.com", None),
        ("Authorization failed: check the key (HTTP 401)", None),
        ("Cannot connect to 127.0.0.1: ConnectionRefusedError: [Errno 111] refused", None),
        ("fallback tcp://127.0.0.1:10301 ready; disk-full task-list", None),
    ],
)
def test_redact_masks_every_credential_shape_and_nothing_else(
    text: str, expected: str | None
) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_redact_masks_known_secrets_by_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given, and remembered for the process (the server remembers its key and token)."""
    redaction = importlib.import_module("qwen_asr_realtime.redaction")
    monkeypatch.setattr(redaction, "_known_secrets", [])
    assert redact("tok3n and tok3n", "tok3n") == "*** and ***"
    remember_secret("hass-token-value")
    assert redact("Home Assistant said hass-token-value") == "Home Assistant said ***"


async def test_websockets_own_header_error_is_masked_where_it_is_raised(
    secret_emulator: QwenEmulator,
) -> None:
    """The error the issue found, raised by the real websockets library for a key the
    client would now refuse: open_socket's exception carries neither key nor value."""
    from qwen_asr_realtime.connection import open_socket  # noqa: PLC0415

    for key in (f"{SECRET}\n# comment", f"sk-\u200b{SECRET}", f"sk-ж{SECRET}"):
        with pytest.raises(QwenConnectionError) as caught:
            await open_socket(
                secret_emulator.url, "m", key, timeouts=FAST, ssl_context=None, user_agent="t"
            )
        assert "InvalidHeaderValue: invalid Authorization header: ***" in str(caught.value)
        assert SECRET not in _everything_about(caught.value)
        assert "comment" not in str(caught.value)


def test_the_log_filter_masks_messages_and_tracebacks() -> None:
    """SecretFilter (every root handler of the server) applies redact() to the formatted
    message and to the traceback of a logged exception."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter())
    logger = logging.getLogger("test_secrets.filter")
    logger.addHandler(handler)
    logger.propagate = False  # the log guard reads records, which this test fills on purpose
    try:
        logger.warning("Transcription failed: %s", f"invalid Authorization header: {FOREIGN}")
        try:
            raise ValueError(f"Bearer {FOREIGN}")
        except ValueError:
            logger.exception("Unexpected error")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert FOREIGN not in output
    assert "invalid Authorization header: ***" in output and "Bearer ***" in output
    assert "Traceback" in output


def test_a_key_file_is_read_bounded_and_checked(tmp_path: Path) -> None:
    """A wrong path (a log, an image) is refused after a few KiB, never read whole; a file
    with a second line is refused naming the line count, never the text."""
    from wyoming_server.cli.secret_file import MAX_SECRET_FILE_BYTES, read_secret_file  # noqa: PLC0415

    big = tmp_path / "big"
    big.write_bytes(b"k" * (16 * MAX_SECRET_FILE_BYTES))
    big.chmod(0o600)
    with pytest.raises(ValueError, match=f"is larger than {MAX_SECRET_FILE_BYTES} bytes"):
        read_secret_file(big, "--api-key-file")
    two_lines = tmp_path / "two"
    two_lines.write_text(f"{SECRET}\n{SECRET}\n")
    two_lines.chmod(0o600)
    with pytest.raises(ValueError, match="it has 2 lines") as caught:
        read_secret_file(two_lines, "--api-key-file")
    assert SECRET not in str(caught.value)
    one_line = tmp_path / "one"
    one_line.write_text(f"  {SECRET} \r\n")
    one_line.chmod(0o600)
    assert read_secret_file(one_line, "--api-key-file") == SECRET
