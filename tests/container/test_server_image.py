"""The server image (repository Dockerfile) run with podman against the emulator on this
machine's loopback: health check, a real transcription, secrets, a graceful stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.container.container_helpers import KEY, transcribe_like_ha, wait_healthy
from tests.support.container.podman_helpers import RUN_LIMITS, exit_status, inspect, logs, podman
from tests.support.ports import free_port
from wyoming_server.emulator import PocketSphinxRecognizer, QwenEmulator

pytest.importorskip("pocketsphinx")


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


def run_detached(name: str, image: str, *options: str, command: tuple[str, ...] = ()) -> None:
    podman(
        "run", "--detach", "--pull=never", "--name", name, *RUN_LIMITS, *options, image, *command
    )


def in_image(image: str, script: str) -> str:
    """Run a shell script in a throw-away container of the image (as its user)."""
    return podman(
        "run", "--rm", "--pull=never", *RUN_LIMITS, "--entrypoint", "/bin/sh", image, "-c", script
    )


def test_image_runs_unprivileged_with_only_runtime_parts(server_image: str) -> None:
    image = inspect(server_image)
    config = image["Config"]
    assert config["User"] == "wyoming"
    assert "10300/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ["wyoming-qwen-asr"]
    assert image["Healthcheck"]["Test"] == ["CMD", "wyoming-qwen-asr", "health", "--timeout", "5"]
    assert "QWEN_API_KEY_FILE=/run/secrets/qwen_api_key" in config["Env"]
    uid, groups, tools, certificates = in_image(
        server_image,
        "id -u; id -Gn; echo tools: $(command -v gcc cc pip pip3); "
        "python -c 'import alsaaudio, zeroconf, ssl; "
        'print(ssl.create_default_context().cert_store_stats()["x509_ca"])\'',
    ).splitlines()
    assert uid == "10300"
    assert "audio" in groups.split()  # the microphone's device nodes
    assert tools == "tools:"  # no compiler or pip left in the runtime image
    # The mic and zeroconf extras import; public CAs are there to verify Qwen's wss://.
    assert int(certificates) > 100


async def test_container_serves_heals_and_stops_gracefully(
    server_image: str,
    container_name: Callable[[], str],
    emulator: QwenEmulator,
    sphinx: PocketSphinxRecognizer,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    emulator.api_keys = frozenset({KEY})
    emulator.recognizer_factory = sphinx
    name = container_name()
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    await asyncio.to_thread(podman, "secret", "create", name, str(key_file))
    port = free_port()
    await asyncio.to_thread(
        run_detached,
        name,
        server_image,
        "--network=host",
        f"--secret={name},target=qwen_api_key,mode=0400,uid=10300",
        f"--env=QWEN_ASR_URI=tcp://127.0.0.1:{port}",
        f"--env=QWEN_ASR_REGION={emulator.url}",
        "--env=QWEN_ASR_VAD_THRESHOLD=0",
        "--env=QWEN_ASR_VAD_SILENCE_MS=400",
    )
    await wait_healthy(name)
    state = await asyncio.to_thread(inspect, name)
    assert state["State"]["Health"]["Status"] == "healthy"

    reply = await transcribe_like_ha(port, speech_pcm("what_time_is_it"))
    assert reply.text == "what time is it", reply.events
    assert emulator.sessions[-1].audio_bytes > 0

    # docker stop: SIGTERM, the server drains and exits 0 within the grace period.
    await asyncio.to_thread(podman, "stop", "--time", "35", name, timeout=60)
    state = await asyncio.to_thread(inspect, name)
    assert state["State"]["ExitCode"] == 0
    output = await asyncio.to_thread(logs, name)
    assert "Shutting down" in output
    # The key came from the secret file: not in the logs, not in the container's config.
    assert KEY not in output
    assert KEY not in json.dumps(state)


async def test_health_check_fails_without_a_server(
    server_image: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    await asyncio.to_thread(
        run_detached, name, server_image, "--network=none", "--entrypoint=sleep", command=("120",)
    )
    status = await asyncio.to_thread(exit_status, "healthcheck", "run", name, timeout=60)
    assert status == 1  # podman: 1 = unhealthy


def test_missing_key_stops_with_the_reason(server_image: str) -> None:
    name = f"qwen-asr-test-nokey-{free_port()}"
    try:
        status = exit_status(
            "run", "--name", name, "--pull=never", *RUN_LIMITS, "--network=none", server_image
        )
        output = logs(name)
    finally:
        podman("rm", "--force", name, check=False)
    assert status == 2
    assert "cannot read --api-key-file /run/secrets/qwen_api_key" in output
