"""The Supervisor's API on a loopback port (the real Supervisor cannot run here).

``POST /discovery``: records what the add-on sends and answers as the Supervisor does.
``GET /core/websocket``: Core's websocket API as the Supervisor proxies it to add-ons with
``homeassistant_api: true`` — ``auth`` with the add-on's token, then the read-only commands
the home-names source sends (wyoming_server/hass/names.py), answered from ``FakeSupervisor.home``
in the shapes Home Assistant 2026.11 sends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

TOKEN = "supervisor-token-0123456789"
CORE_WEBSOCKET = "/core/websocket"
HA_VERSION = "2026.11.0"
READ_BYTES = 65_536
MAX_MESSAGE_BYTES = 2**20
# websockets logs frames at debug level, the auth frame with its token too: keep it quiet.
_WS_LOGGER = logging.getLogger(__name__ + ".core")
_WS_LOGGER.setLevel(logging.INFO)


@dataclass
class Discovery:
    """One request the add-on sent to the Supervisor's API."""

    path: str
    authorization: str | None
    body: Any


def _entry(**fields: Any) -> dict[str, Any]:
    """Make an entity registry entry as ``config/entity_registry/get_entries`` gives it."""
    base = {"name": None, "aliases": [], "options": {}, "entity_category": None, "hidden_by": None}
    return {**base, **fields}


@dataclass
class FakeHome:
    """The home Core's websocket API describes.

    A floor, an area, a light exposed to Assist (renamed in the registry, with an alias) and
    a sensor that is not exposed.
    """

    floors: list[dict[str, Any]] = field(
        default_factory=lambda: [{"floor_id": "rez", "name": "Rez-de-chaussée", "aliases": []}]
    )
    areas: list[dict[str, Any]] = field(
        default_factory=lambda: [{"area_id": "veranda", "name": "Véranda", "aliases": ["Sunroom"]}]
    )
    states: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"entity_id": "light.abat_jour", "state": "on", "attributes": {"friendly_name": "L"}},
            {"entity_id": "sensor.cave", "state": "12", "attributes": {"friendly_name": "Cave"}},
        ]
    )
    entries: dict[str, Any] = field(
        default_factory=lambda: {
            "light.abat_jour": _entry(name="Abat-jour Tiffany", aliases=["Lampe bleue"]),
            "sensor.cave": _entry(options={"conversation": {"should_expose": False}}),
        }
    )

    def answer(self, kind: str, fields: dict[str, Any]) -> Any:
        """Return a command's ``result``; raise KeyError for a command Core would not know."""
        if kind == "config/entity_registry/get_entries":
            return {entity_id: self.entries.get(entity_id) for entity_id in fields["entity_ids"]}
        results: dict[str, Any] = {
            "subscribe_events": None,
            "get_states": self.states,
            "homeassistant/expose_entity/list": {"exposed_entities": {}},
            "homeassistant/expose_new_entities/get": {"expose_new": True},
            "config/floor_registry/list": self.floors,
            "config/area_registry/list": self.areas,
        }
        return results[kind]


@dataclass
class FakeSupervisor:
    """The stand-in's address, token and what it received."""

    url: str
    token: str = TOKEN
    status: int = 200
    requests: list[Discovery] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    home: FakeHome = field(default_factory=FakeHome)
    # False: the Supervisor's answer to an add-on without ``homeassistant_api`` (auth_invalid).
    core_access: bool = True
    # Core's websocket: the access tokens offered and the commands answered, in order.
    core_tokens: list[str] = field(default_factory=list)
    core_commands: list[str] = field(default_factory=list)
    core_sockets: set[socket.socket] = field(default_factory=set)


class _CoreWebSocket:
    """One add-on connection to Core's websocket API, served on the handler's thread."""

    def __init__(self, handler: BaseHTTPRequestHandler, state: FakeSupervisor) -> None:
        self._socket = handler.connection
        self._state = state
        self._protocol = ServerProtocol(max_size=MAX_MESSAGE_BYTES, logger=_WS_LOGGER)
        # http.server has read the upgrade request: the protocol parses it again, as read.
        headers = "".join(f"{name}: {value}\r\n" for name, value in handler.headers.items())
        self._protocol.receive_data(handler.raw_requestline + headers.encode("latin-1") + b"\r\n")
        (request,) = self._protocol.events_received()
        assert isinstance(request, Request)
        self._protocol.send_response(self._protocol.accept(request))
        self._authenticated = False

    def serve(self) -> None:
        """Authenticate the add-on and answer its commands until it closes the connection."""
        self._state.core_sockets.add(self._socket)
        try:
            self._send({"type": "auth_required", "ha_version": HA_VERSION})
            while not self._protocol.close_expected():
                data = self._socket.recv(READ_BYTES)  # "" once the fixture shuts it down
                if not data:
                    break
                self._protocol.receive_data(data)
                for event in self._protocol.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                        self._on_message(json.loads(event.data))
                self._flush()
        except OSError:
            pass  # the add-on went away
        finally:
            self._state.core_sockets.discard(self._socket)

    def _on_message(self, message: dict[str, Any]) -> None:
        if not self._authenticated:
            token = str(message.get("access_token"))
            self._state.core_tokens.append(token)
            valid = message.get("type") == "auth" and token == self._state.token
            if not (valid and self._state.core_access):
                self._send({"type": "auth_invalid", "message": "Invalid access"})
                self._protocol.send_close(1000)
                return
            self._authenticated = True
            self._send({"type": "auth_ok", "ha_version": HA_VERSION})
            return
        kind = str(message.pop("type"))
        message_id = message.pop("id")
        self._state.core_commands.append(kind)
        try:
            result = self._state.home.answer(kind, message)
        except KeyError:
            error = {"code": "unknown_command", "message": "Unknown command."}
            self._send({"id": message_id, "type": "result", "success": False, "error": error})
        else:
            self._send({"id": message_id, "type": "result", "success": True, "result": result})

    def _send(self, message: dict[str, Any]) -> None:
        self._protocol.send_text(json.dumps(message).encode())
        self._flush()

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data:
                self._socket.sendall(data)


@pytest.fixture
def supervisor() -> Iterator[FakeSupervisor]:
    """Serve the Supervisor's API on a loopback port for one test."""
    state: FakeSupervisor

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != CORE_WEBSOCKET or self.headers.get("Upgrade") != "websocket":
                self.send_error(404)
                return
            self.close_connection = True
            _CoreWebSocket(self, state).serve()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            state.requests.append(Discovery(self.path, self.headers.get("Authorization"), body))
            authorized = self.headers.get("Authorization") == f"Bearer {state.token}"
            status = state.status if authorized else 401
            reply = (
                {"result": "ok", "data": {"uuid": "0123456789abcdef0123456789abcdef"}}
                if status == 200
                else {"result": "error", "message": "Unauthorized"}
            )
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            state.received.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = FakeSupervisor(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        for sock in list(state.core_sockets):  # end the websocket threads' reads
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        thread.join(5)
