"""A real ``hass -c DIR`` process: temporary config, the integration installed as HACS does,
a free loopback port, start, wait until it serves, stop by PID.

Reusable outside this suite::

    from tests.support.e2e.hass_env import runtime
    from tests.support.e2e.hass_process import HassProcess

    with HassProcess(runtime("2025.4.4"), extra_yaml="input_boolean:\\n") as hass:
        owner = hass.onboard()           # owner user, access + long-lived tokens
        print(hass.url, owner.token)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support.ports import free_port

from .hass_env import PROJECT, HassRuntime
from .hass_rest import HassRest, Owner, onboard
from .hass_ws import HassCommandError, command_sync
from .services import terminate

INTEGRATION = PROJECT / "custom_components" / "qwen_asr"
# What the suite's HA loads beyond the integrations it sets up through config flows.
BASE_YAML = """\
homeassistant:
  name: E2E Home
  unit_system: metric
  time_zone: UTC
  country: DE
  language: en
  internal_url: "{url}"
http:
  server_host: 127.0.0.1
  server_port: {port}
frontend:
api:
config:
assist_pipeline:
stt:
conversation:
logger:
  default: warning
  logs:
    homeassistant.setup: info
    homeassistant.components.assist_pipeline: debug
    homeassistant.components.wyoming: debug
    custom_components.qwen_asr: debug
"""


def install_like_hacs(config_dir: Path, source: Path = INTEGRATION) -> Path:
    """Copy ``custom_components/<domain>`` of the repository into the config, as HACS does."""
    target = config_dir / "custom_components" / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


class HassError(RuntimeError):
    """hass did not start or stop as expected; the message carries its log's tail."""


class HassProcess:
    """One Home Assistant process on 127.0.0.1 with its own temporary config directory."""

    def __init__(
        self,
        runtime: HassRuntime,
        *,
        extra_yaml: str = "",
        integrations: tuple[Path, ...] = (INTEGRATION,),
        start_timeout: float = 180.0,
    ) -> None:
        self.runtime = runtime
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.config_dir = Path(tempfile.mkdtemp(prefix="qwen-e2e-hass-", dir=runtime.tmp_base))
        self.log_path = self.config_dir / "hass.out.log"
        self.owner: Owner | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config(extra_yaml, integrations)

    # -- configuration ------------------------------------------------------------------

    def _write_config(self, extra_yaml: str, integrations: tuple[Path, ...]) -> None:
        yaml = BASE_YAML.format(url=self.url, port=self.port) + extra_yaml
        (self.config_dir / "configuration.yaml").write_text(yaml)
        for source in integrations:
            install_like_hacs(self.config_dir, source)
        # Onboarding's core_config step would set up Met.no, Radio Browser and others, which
        # call the internet: mark it done while HA is stopped (the other steps run via REST).
        storage = self.config_dir / ".storage"
        storage.mkdir()
        (storage / "onboarding").write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config"]},
                }
            )
        )

    # -- process ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start hass and return once its HTTP server answers."""
        if self._process is not None:
            raise HassError("already running")
        argv, env = self.runtime.command(["hass", "-c", self.runtime.inner_path(self.config_dir)])
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        # HA's HTTP server starts listening when HA has started (EVENT_HOMEASSISTANT_START).
        deadline = time.monotonic() + self.start_timeout
        rest = HassRest(self.url)
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise HassError(f"hass exited with {self._process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if rest.is_serving():
                    return
            time.sleep(0.25)
        self.stop()
        raise HassError(f"hass did not serve within {self.start_timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM by PID (HA shuts down cleanly), SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        return None if process is None else terminate(process, timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_text()
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        """hass's own log (home-assistant.log) or, before it exists, its stdout."""
        for path in (self.config_dir / "home-assistant.log", self.log_path):
            if path.exists():
                return path.read_text(errors="replace")
        return ""

    # -- API ----------------------------------------------------------------------------

    def onboard(self) -> Owner:
        """Onboard through the REST API (owner user, tokens); idempotent per process."""
        if self.owner is None:
            self.owner = onboard(self.url)
            self._confirm_http_config(self.owner.token)
        return self.owner

    def _confirm_http_config(self, token: str) -> None:
        """HA 2026.11+ moves ``http:`` from YAML into storage as a trial that reverts (and
        restarts HA on port 8123, all interfaces) unless confirmed within 5 minutes: confirm
        it as the frontend's dialog does. Older versions have no such command."""
        try:
            command_sync(self.url, token, "http/config/promote")
        except HassCommandError as err:
            if err.code not in ("unknown_command", "not_allowed"):
                raise

    def rest(self) -> HassRest:
        """A REST client authenticated as the owner."""
        return HassRest(self.url, self.onboard().token)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/api/websocket"

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        self.stop()
        if os.environ.get("QWEN_E2E_KEEP"):
            print(f"e2e: kept {self.config_dir}")
            return
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
