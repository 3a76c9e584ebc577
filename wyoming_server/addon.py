"""The Home Assistant add-on's run script: ``wyoming-qwen-asr addon``.

It maps the Supervisor's ``/data/options.json`` onto the server's environment variables,
starts the server on port 10300 (as the unprivileged ``wyoming`` user when started as root),
waits until it answers ``Describe``, then announces it through the Supervisor's discovery API
so that Home Assistant's Wyoming integration offers to add it. The API key travels only in the
server's environment: never in a log line or on a command line.

With ``homeassistant_api: true`` the Supervisor gives the add-on ``SUPERVISOR_TOKEN`` and
proxies Core's websocket API at ``/core/websocket``: the server reads the home's names (floors,
areas, exposed entities) there, given the token as its ``QWEN_ASR_HASS_TOKEN``.
"""

from __future__ import annotations

import asyncio
import grp
import json
import logging
import os
import pwd
import signal
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qwen_asr_realtime import SecretFormatError, check_secret

from .hass.connection import SUPERVISOR_CORE_PATH
from .health import HealthError, describe

_LOGGER = logging.getLogger("wyoming_server.addon")

OPTIONS_FILE = Path("/data/options.json")
PORT = 10300
SERVER_USER = "wyoming"
SUPERVISOR_API = "http://supervisor"
READY_TIMEOUT_SECONDS = 60.0
DISCOVERY_TIMEOUT_SECONDS = 10.0
# Options the Supervisor stores as given; each becomes one of the server's variables.
_VALUES = {
    "region": "QWEN_ASR_REGION",
    "model": "QWEN_ASR_MODEL",
    "vad_threshold": "QWEN_ASR_VAD_THRESHOLD",
    "vad_silence_ms": "QWEN_ASR_VAD_SILENCE_MS",
    "endpointing": "QWEN_ASR_ENDPOINTING",
    "fallback_uri": "QWEN_ASR_FALLBACK_URI",
    "daily_audio_minutes": "QWEN_ASR_DAILY_AUDIO_MINUTES",
}
_FLAGS = {"vad": "QWEN_ASR_VAD", "debug_logging": "QWEN_ASR_DEBUG"}
# "Same as the Assist pipeline": the server then uses each request's language.
PIPELINE_LANGUAGE = "pipeline"


class AddonError(Exception):
    """The add-on's configuration cannot start the server; the message says what to fix."""


def load_options(path: Path) -> dict[str, Any]:
    """Read the add-on's options (JSON object) from ``path``; AddonError says what is wrong."""
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise AddonError(f"cannot read {path}: {err.__class__.__name__}") from None
    except ValueError:
        raise AddonError(f"{path} is not JSON") from None
    if not isinstance(options, dict):
        raise AddonError(f"{path} does not hold an object of options")
    return options


def options_to_env(
    options: Mapping[str, Any], context_file: Path, port: int, state_file: Path | None = None
) -> dict[str, str]:
    """Return the server's variables for these options; write the context text to ``context_file``.

    ``state_file`` (in the add-on's persistent /data) keeps the daily audio count.
    """
    env = {"QWEN_ASR_URI": f"tcp://0.0.0.0:{port}"}
    if state_file is not None:
        env["QWEN_ASR_STATE_FILE"] = str(state_file)
    key = options.get("api_key")
    if not isinstance(key, str) or not key.strip():
        raise AddonError("set your DashScope API key (api_key) in the add-on's configuration")
    try:
        env["QWEN_API_KEY"] = check_secret(key, "the API key (api_key)")
    except SecretFormatError as err:
        raise AddonError(f"{err}; paste the key again in the add-on's configuration") from None
    for option, variable in _VALUES.items():
        value = options.get(option)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise AddonError(f"option {option} must be a single value, not {value!r}")
        env[variable] = str(value)
    for option, variable in _FLAGS.items():
        value = options.get(option)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise AddonError(f"option {option} must be true or false, not {value!r}")
        env[variable] = "true" if value else "false"
    language = options.get("language")
    if language not in (None, "", PIPELINE_LANGUAGE):
        env["QWEN_ASR_LANGUAGE"] = str(language)
    lines = options.get("context") or []
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise AddonError("option context must be a list of words or names")
    text = "\n".join(line.strip() for line in lines if line.strip())
    if text:
        context_file.write_text(text + "\n", encoding="utf-8")
        env["QWEN_ASR_CONTEXT_FILE"] = str(context_file)
    return env


def home_assistant_env(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Return the server's Home Assistant variables: Core's websocket API, with the token.

    Core is reached through the Supervisor's proxy with the add-on's own token; nothing is
    returned when ``home_names`` is off or no Supervisor started the add-on.
    """
    enabled = options.get("home_names", True)
    if not isinstance(enabled, bool):
        raise AddonError(f"option home_names must be true or false, not {enabled!r}")
    token = environ.get("SUPERVISOR_TOKEN", "").strip()
    if not enabled or not token:
        return {}
    api = environ.get("SUPERVISOR_API", SUPERVISOR_API).rstrip("/")
    return {"QWEN_ASR_HASS_URL": api + SUPERVISOR_CORE_PATH, "QWEN_ASR_HASS_TOKEN": token}


def server_environment(mapped: Mapping[str, str]) -> dict[str, str]:
    """Return the inherited environment with the mapped options.

    The image's QWEN_* defaults are dropped, and so is the Supervisor's token: the server gets
    it only as QWEN_ASR_HASS_TOKEN, in ``mapped``.
    """
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QWEN_") and name != "SUPERVISOR_TOKEN"
    }
    return {**inherited, **mapped}


def state_directory(data: Path) -> Path:
    """Return a folder in the add-on's persistent ``data`` that the server user may write.

    The daily audio count survives restarts and updates there.
    """
    folder = data / "state"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        identity = server_identity()
        if identity:
            os.chown(folder, identity["user"], identity["group"])
    except OSError as err:
        _LOGGER.warning("Cannot prepare %s for the daily audio count: %s", folder, err)
    return folder


def server_identity() -> dict[str, Any]:
    """Run the server as SERVER_USER (with its groups) when the add-on starts as root."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(SERVER_USER)
    except KeyError:
        return {}
    groups = [group.gr_gid for group in grp.getgrall() if SERVER_USER in group.gr_mem]
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": groups}


async def wait_ready(process: asyncio.subprocess.Process, port: int) -> bool:
    """Wait until the server answers Describe (True); False if it exits first or never answers."""
    uri = f"tcp://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    exited = asyncio.ensure_future(process.wait())
    try:
        while not exited.done() and loop.time() < deadline:
            try:
                await describe(uri, 2.0)
            except HealthError:
                await asyncio.wait({exited}, timeout=0.5)  # retry soon, or stop at its exit
                continue
            return True
        return False
    finally:
        exited.cancel()


def discovery_request(api: str, token: str, uri: str) -> urllib.request.Request:
    """Build the Supervisor request announcing the Wyoming service at ``uri`` to Home Assistant."""
    body = json.dumps({"service": "wyoming", "config": {"uri": uri}}).encode()
    return urllib.request.Request(  # noqa: S310 - the Supervisor's own http:// API
        f"{api.rstrip('/')}/discovery",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def post_discovery(request: urllib.request.Request) -> None:
    """Send a discovery request to the Supervisor; AddonError unless it answers ``ok``."""
    with urllib.request.urlopen(request, timeout=DISCOVERY_TIMEOUT_SECONDS) as response:  # noqa: S310
        reply = json.loads(response.read() or b"{}")
    if reply.get("result") != "ok":
        raise AddonError(f"the Supervisor answered {reply.get('message') or reply!r}")


async def announce(port: int) -> None:
    """Tell Home Assistant, through the Supervisor, where the Wyoming service is."""
    token = os.environ.get("SUPERVISOR_TOKEN")
    if not token:
        _LOGGER.info("Not started by the Home Assistant Supervisor: no discovery to send")
        return
    uri = f"tcp://{socket.gethostname()}:{port}"
    api = os.environ.get("SUPERVISOR_API", SUPERVISOR_API)
    try:
        await asyncio.to_thread(post_discovery, discovery_request(api, token, uri))
    except urllib.error.HTTPError as err:
        _LOGGER.error("Wyoming discovery failed: the Supervisor answered HTTP %s", err.code)
    except (OSError, ValueError, AddonError) as err:
        _LOGGER.error("Wyoming discovery failed: %s", err)
    else:
        _LOGGER.info("Home Assistant was told about %s (Wyoming discovery)", uri)


async def supervise(env: Mapping[str, str], port: int) -> int:
    """Run the server, announce it once it answers, and return its exit status."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_server", "serve", env=dict(env), **server_identity()
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _forward, process, signum)
    if await wait_ready(process, port):
        await announce(port)
    elif process.returncode is None:
        _LOGGER.error("The server did not answer within %.0f s", READY_TIMEOUT_SECONDS)
    return await process.wait()


def _forward(process: asyncio.subprocess.Process, signum: int) -> None:
    if process.returncode is None:
        process.send_signal(signum)


async def run_addon(options_file: Path, port: int) -> int:
    """Map ``options_file`` to the server's environment, run the server on ``port``.

    Return its exit status; raise AddonError for options the server cannot start with.
    """
    with tempfile.TemporaryDirectory(prefix="qwen-asr-addon-") as folder:
        env = addon_environment(options_file, port, Path(folder))
        status = await supervise(env, port)
    # A server ended by a signal exits as a shell reports it.
    return status if status >= 0 else 128 - status


def addon_environment(options_file: Path, port: int, folder: Path) -> dict[str, str]:
    """Return the server's environment for ``options_file``; its context file goes in ``folder``.

    Raise AddonError for options the server cannot start with.
    """
    # The server user reads the context file; it holds words, not secrets.
    folder.chmod(0o755)
    options = load_options(options_file)
    state_file = state_directory(options_file.parent) / "audio-usage.json"
    mapped = options_to_env(options, folder / "context.txt", port, state_file)
    mapped.update(home_assistant_env(options, os.environ))
    return server_environment(mapped)
