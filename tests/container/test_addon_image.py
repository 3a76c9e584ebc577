"""The add-on image (built from its folder as the Supervisor builds it) run as the Supervisor
runs it: options in /data/options.json, SUPERVISOR_TOKEN in the environment, discovery sent
to the Supervisor (a loopback stand-in), the server reachable, the key never shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.container.container_helpers import KEY, transcribe_like_ha, wait_healthy
from tests.support.container.podman_helpers import ROOT, RUN_LIMITS, inspect, logs, podman
from tests.support.container.supervisor_build import SupervisorBuild
from tests.support.fake_supervisor import FakeSupervisor
from tests.support.ports import free_port
from wyoming_server.emulator import PocketSphinxRecognizer, QwenEmulator

pytest.importorskip("pocketsphinx")

HOSTNAME = "qwen-asr-addon-test"


async def test_addon_reads_its_options_announces_itself_and_serves(
    addon_image: str,
    container_name: Callable[[], str],
    emulator: QwenEmulator,
    supervisor: FakeSupervisor,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    emulator.api_keys = frozenset({KEY})
    emulator.recognizer_factory = PocketSphinxRecognizer()
    options = tmp_path / "options.json"
    options.write_text(
        json.dumps(
            {
                "api_key": KEY,
                "region": emulator.url,
                "model": "qwen3-asr-flash-realtime",
                "language": "en",
                "vad": True,
                "vad_threshold": 0.0,
                "vad_silence_ms": 400,
                "endpointing": "home_assistant",
                "context": ["Lumière", "Kitchen"],
                "debug_logging": True,
            }
        ),
        encoding="utf-8",
    )
    options.chmod(0o600)  # as the Supervisor writes it: readable by root only
    name = container_name()
    port = free_port()
    await asyncio.to_thread(
        podman,
        "run",
        "--detach",
        "--pull=never",
        f"--name={name}",
        *RUN_LIMITS,
        "--network=host",  # the emulator and the stand-in Supervisor are on loopback
        f"--hostname={HOSTNAME}",
        f"--volume={options}:/data/options.json:ro",
        f"--env=SUPERVISOR_TOKEN={supervisor.token}",
        f"--env=SUPERVISOR_API={supervisor.url}",
        # Port 10300 may be taken on this shared machine: the run script and the image's
        # health check move together.
        f"--env=QWEN_ASR_URI=tcp://0.0.0.0:{port}",
        addon_image,
        f"--port={port}",
    )
    assert await asyncio.to_thread(supervisor.received.wait, 60), await asyncio.to_thread(
        logs, name
    )
    (request,) = supervisor.requests
    assert (request.path, request.authorization) == ("/discovery", f"Bearer {supervisor.token}")
    assert request.body == {"service": "wyoming", "config": {"uri": f"tcp://{HOSTNAME}:{port}"}}
    await wait_healthy(name)

    reply = await transcribe_like_ha(port, speech_pcm("turn_on_kitchen_lights"))
    assert reply.text == "turn on the kitchen lights", reply.events
    assert any("Lumière\nKitchen" in text for text in emulator.sessions[-1].corpus_texts)

    # The run script starts as root (it reads the options); the server runs unprivileged and
    # its command line carries no key.
    processes = await asyncio.to_thread(podman, "top", name, "user", "args")
    server = [line for line in processes.splitlines() if "wyoming_server serve" in line]
    assert len(server) == 1 and server[0].split()[0] == "wyoming", processes
    assert KEY not in processes

    await asyncio.to_thread(podman, "stop", "--time", "35", name, timeout=60)
    state = await asyncio.to_thread(inspect, name)
    assert state["State"]["ExitCode"] == 0
    output = await asyncio.to_thread(logs, name)
    assert "Home Assistant was told about" in output and "Shutting down" in output
    # Debug logging was on: neither the key nor the Supervisor's token in the add-on's log.
    assert KEY not in output and supervisor.token not in output


async def test_addon_without_a_key_stops_with_the_reason(
    addon_image: str, container_name: Callable[[], str], tmp_path: Path
) -> None:
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"api_key": None, "region": "intl"}), encoding="utf-8")
    name = container_name()
    await asyncio.to_thread(
        podman,
        "run",
        "--pull=never",
        f"--name={name}",
        *RUN_LIMITS,
        "--network=none",
        f"--volume={options}:/data/options.json:ro",
        addon_image,
        check=False,
    )
    state = await asyncio.to_thread(inspect, name)
    assert state["State"]["ExitCode"] == 2
    assert "set your DashScope API key" in await asyncio.to_thread(logs, name)


def test_addon_image_holds_the_checkouts_release_as_the_supervisor_labels_it(
    addon_image: str, addon_build: SupervisorBuild
) -> None:
    """Built from the add-on folder alone, the image has the package of config.yaml's version
    from the index (this checkout's code, byte for byte) and the Supervisor's labels."""
    labels = inspect(addon_image)["Config"]["Labels"]
    assert {k: labels.get(k) for k in addon_build.labels} == addon_build.labels
    script = (
        "wyoming-qwen-asr --version; "
        "python -c 'import wyoming_server.addon as m; print(m.__file__)'"
    )
    version, module = podman(
        "run", "--rm", "--pull=never", *RUN_LIMITS, "--network=none", "--entrypoint=/bin/sh",
        addon_image, "-c", script,
    ).splitlines()  # fmt: skip
    assert version == f"wyoming-qwen-asr {addon_build.version}"
    assert module.startswith("/opt/wyoming-qwen-asr/lib/")  # installed, not copied in
    inside = podman(
        "run", "--rm", "--pull=never", *RUN_LIMITS, "--network=none", "--entrypoint=/bin/cat",
        addon_image, module,
    )  # fmt: skip
    assert inside == (ROOT / "wyoming_server" / "addon.py").read_text(encoding="utf-8")
