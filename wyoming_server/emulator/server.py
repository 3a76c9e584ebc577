"""The emulator service: handshake checks (path, auth, model, faults) and session startup."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from qwen_asr_realtime import MODELS, REALTIME_PATH, RedactingLogger
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from .behaviour import Behaviour, Faults
from .ids import new_request_id, new_session_id
from .limits import take_rate_limit
from .recognizers import RecognizerFactory, ScriptedRecognizer
from .records import ClientEventHook, RejectedHandshake, ServerEventHook, SessionRecord
from .session import EmulatedSession, SessionContext

_LOGGER = logging.getLogger(__name__)

# One append may carry 15 MiB of base64; leave room for the JSON envelope.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 64 * 1024

# DashScope-style JSON bodies for rejected upgrades (shape of its HTTP API errors).
_REJECTION_BODIES: dict[int, tuple[str, str]] = {
    401: ("InvalidApiKey", "Invalid API-key provided."),
    403: ("AccessDenied", "Access denied."),
    404: ("ModelNotFound", "Model not found."),
    429: ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
}


def _auth_scheme(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, _ = header.strip().partition(" ")
    return scheme or None


def _bearer_key(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, key = header.strip().partition(" ")
    # The real service accepts "Bearer" and the SDK's former "bearer".
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


class QwenEmulator:
    """A local service speaking the Qwen3-ASR-Flash-Realtime WebSocket protocol.

    ``api_keys=None`` accepts any non-empty Bearer key. ``faults`` may be changed at any time.
    ``sessions`` records every accepted connection, ``rejected`` every refused upgrade.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: frozenset[str] | None = frozenset({"test-key"}),
        models: Iterable[str] = MODELS,
        recognizer_factory: RecognizerFactory | None = None,
        faults: Faults | None = None,
        behaviour: Behaviour | None = None,
        on_client_event: ClientEventHook | None = None,
        on_server_event: ServerEventHook | None = None,
    ) -> None:
        """Configure the service on ``host``:``port`` (0: any free port); ``start`` listens.

        ``models`` are the model names it accepts; ``recognizer_factory`` makes the transcripts
        (scripted by default); ``behaviour`` defaults to the profile QWEN_EMULATOR_PROFILE names.
        ``on_client_event``/``on_server_event`` see every event with its session and time.
        """
        self.host = host
        self._requested_port = port
        self.api_keys = api_keys
        self.models = frozenset(models)
        self.recognizer_factory: RecognizerFactory = recognizer_factory or ScriptedRecognizer()
        self.faults = faults if faults is not None else Faults()
        # Without an explicit behaviour: the profile QWEN_EMULATOR_PROFILE names (observed).
        self.behaviour = behaviour if behaviour is not None else Behaviour.from_env()
        self.on_client_event = on_client_event
        self.on_server_event = on_server_event
        self.sessions: list[SessionRecord] = []
        self.rejected: list[RejectedHandshake] = []
        self._server: Server | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen for WebSocket connections; nothing if already started."""
        if self._server is not None:
            return
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            max_size=MAX_MESSAGE_BYTES,
            # websockets logs each handshake header at debug level: mask Authorization.
            logger=RedactingLogger(_LOGGER),
        )
        _LOGGER.debug("Qwen emulator listening on %s", self.url)

    async def stop(self) -> None:
        """Close every connection (1001) and wait until all session handlers have ended."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        """Start the emulator."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the emulator."""
        await self.stop()

    @property
    def port(self) -> int:
        """The port the emulator listens on; RuntimeError before ``start``."""
        if self._server is None:
            raise RuntimeError("The emulator is not started")
        sockets = self._server.sockets
        return int(next(iter(sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        """Base URL without query; clients append ``?model=...``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{REALTIME_PATH}"

    # ----------------------------------------------------------------- handshake

    def _reject(
        self, connection: ServerConnection, request: Request, status: int, reason: str
    ) -> Response:
        auth = request.headers.get_all("Authorization")
        self.rejected.append(
            RejectedHandshake(
                status=status,
                reason=reason,
                path=request.path,
                auth_scheme=_auth_scheme(auth[0] if auth else None),
            )
        )
        code, message = _REJECTION_BODIES.get(status, ("BadRequest", reason))
        body = json.dumps({"code": code, "message": message, "request_id": new_request_id()})
        response = connection.respond(status, body)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if self.faults.handshake_delay_seconds > 0:
            await asyncio.sleep(self.faults.handshake_delay_seconds)
        url = urlsplit(request.path)
        if url.path.rstrip("/") != REALTIME_PATH:
            return self._reject(connection, request, 404, "unknown path")
        if self.faults.reject_status is not None:
            return self._reject(connection, request, self.faults.reject_status, "fault")
        if (limit := take_rate_limit(self.faults, "http")) is not None:
            return self._reject(connection, request, 429, limit[1])
        auth = request.headers.get_all("Authorization")
        key = _bearer_key(auth[0] if len(auth) == 1 else None)
        if key is None or (self.api_keys is not None and key not in self.api_keys):
            return self._reject(connection, request, 401, "invalid api key")
        model = self._model_of(request)
        if model not in self.models and self.behaviour.unknown_model == "reject":
            return self._reject(
                connection, request, self.behaviour.unknown_model_status, "unknown model"
            )
        return None

    @staticmethod
    def _model_of(request: Request) -> str | None:
        values = parse_qs(urlsplit(request.path).query).get("model")
        return values[0] if values else None

    # ----------------------------------------------------------------- sessions

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None  # set once the handshake succeeded
        model = self._model_of(request)
        auth = request.headers.get_all("Authorization")
        record = SessionRecord(
            session_id=new_session_id(dash=self.behaviour.ids_with_dash),
            model=model,
            auth_scheme=_auth_scheme(auth[0] if auth else None),
            opened_at=time.monotonic(),
        )
        self.sessions.append(record)
        model_error = None
        if model not in self.models:
            model_error = f"Model not found ({model})." if model else "Missing model parameter."
        context = SessionContext(
            behaviour=self.behaviour,
            faults=self.faults,
            recognizer_factory=self.recognizer_factory,
            on_client_event=self.on_client_event,
            on_server_event=self.on_server_event,
        )
        await EmulatedSession(
            connection,
            record,
            context,
            model_error=model_error,
            rate_limit=take_rate_limit(self.faults, "error"),
        ).run()
