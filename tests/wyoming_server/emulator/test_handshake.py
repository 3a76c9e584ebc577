"""Upgrade-time behaviour: path, authentication, model allow-list, rejection faults, pings."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wyoming_server.emulator import Behaviour, QwenEmulator

MODEL_QUERY = "?model=qwen3-asr-flash-realtime"


async def _status_and_body(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, additional_headers=headers):
            pass
    response = info.value.response
    assert response.headers["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic test-key"}],
    ids=["missing", "wrong-key", "wrong-scheme"],
)
async def test_bad_key_rejected_with_401_json(emulator: QwenEmulator, headers) -> None:
    status, body = await _status_and_body(emulator.url + MODEL_QUERY, headers)
    assert status == 401
    assert body["code"] == "InvalidApiKey"
    assert body["message"] == "Invalid API-key provided."
    assert body["request_id"]
    assert emulator.sessions == []
    assert emulator.rejected[-1].status == 401


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_bearer_scheme_is_case_insensitive(emulator, connect_client, scheme) -> None:
    await connect_client(scheme=scheme)
    assert emulator.sessions[0].auth_scheme == scheme


async def test_key_never_recorded(emulator, connect_client) -> None:
    await connect_client()
    assert "test-key" not in repr(emulator.sessions[0])


async def test_trailing_slash_accepted(connect_client) -> None:
    await connect_client(path_suffix="/")


async def test_unknown_path_is_404(emulator: QwenEmulator) -> None:
    url = emulator.url.replace("/realtime", "/other") + MODEL_QUERY
    status, _ = await _status_and_body(url, {"Authorization": "Bearer test-key"})
    assert status == 404


@pytest.mark.parametrize("model", [None, "qwen3-omni-flash-realtime"])
async def test_unknown_model_rejected_by_default(emulator: QwenEmulator, model) -> None:
    url = emulator.url + (f"?model={model}" if model else "")
    status, body = await _status_and_body(url, {"Authorization": "Bearer test-key"})
    assert status == 404
    assert body["code"] == "ModelNotFound"


async def test_unknown_model_error_event_mode(emulator, connect_client) -> None:
    emulator.behaviour = Behaviour(unknown_model="error")
    client = await connect_client(model="nope")
    event = await client.recv()
    assert event["type"] == "error"
    assert event["error"]["code"] == "model_not_found"
    with pytest.raises(ConnectionClosed):
        await client.recv()


@pytest.mark.parametrize("status", [401, 403, 429])
async def test_reject_status_fault(emulator: QwenEmulator, status: int) -> None:
    emulator.faults.reject_status = status
    got, body = await _status_and_body(
        emulator.url + MODEL_QUERY, {"Authorization": "Bearer test-key"}
    )
    assert got == status
    assert body["code"]
    emulator.faults.reject_status = None
    async with connect(
        emulator.url + MODEL_QUERY, additional_headers={"Authorization": "Bearer test-key"}
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"


async def test_any_key_mode() -> None:
    async with QwenEmulator(api_keys=None) as server:
        async with connect(
            server.url + MODEL_QUERY, additional_headers={"Authorization": "Bearer anything"}
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"


async def test_answers_pings(connect_client) -> None:
    client = await connect_client()
    latency = await (await client.ws.ping())
    assert latency >= 0


async def test_stop_closes_open_connections(connect_client, emulator) -> None:
    client = await connect_client()
    await emulator.stop()
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert emulator.sessions[0].closed_at is not None
