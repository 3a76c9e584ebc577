"""The harness itself: a real hass of the requested version, onboarded through REST, the
integration installed as HACS does, the kitchen light in its area."""

from __future__ import annotations

import json

from tests.support.e2e.entries import ws_call
from tests.support.e2e.flows import DOMAIN
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.hass_rest import HassHttpError, HassRest
from tests.support.e2e.hass_ws import HassWebSocket

from .conftest import KITCHEN_LIGHT


def test_onboarding_done_and_tokens_work(hass: HassProcess, hass_version: str) -> None:
    steps = HassRest(hass.url).get("/api/onboarding")
    assert steps and all(step["done"] for step in steps), steps
    owner = hass.onboard()
    assert HassRest(hass.url, owner.token).get("/api/") == {"message": "API running."}
    assert HassRest(hass.url, owner.access_token).get("/api/config")["version"] == hass_version
    try:
        HassRest(hass.url, "not-a-token").get("/api/")
    except HassHttpError as err:
        assert err.status == 401
    else:
        raise AssertionError("a wrong token was accepted")


async def test_websocket_api_authenticates(hass: HassProcess, hass_version: str) -> None:
    async with HassWebSocket(hass.url, hass.onboard().token) as ws:
        assert ws.ha_version == hass_version
        entity = await ws.command("config/entity_registry/get", entity_id=KITCHEN_LIGHT)
    assert entity["area_id"] == "kitchen"


def test_integration_installed_like_hacs(hass: HassProcess) -> None:
    installed = hass.config_dir / "custom_components" / DOMAIN / "manifest.json"
    assert json.loads(installed.read_text())["domain"] == DOMAIN
    manifest = ws_call(hass, "manifest/get", integration=DOMAIN)
    assert manifest["is_built_in"] is False
    assert DOMAIN in hass.rest().get("/api/config/config_entries/flow_handlers")
