"""The Supervisor's ``POST /discovery`` on a loopback port (the real Supervisor cannot run
here): records what the add-on sends and answers as the Supervisor does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOKEN = "supervisor-token-0123456789"


@dataclass
class Discovery:
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeSupervisor:
    url: str
    token: str = TOKEN
    status: int = 200
    requests: list[Discovery] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def supervisor() -> Iterator[FakeSupervisor]:
    state: FakeSupervisor

    class Handler(BaseHTTPRequestHandler):
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
        server.server_close()
        thread.join(5)
