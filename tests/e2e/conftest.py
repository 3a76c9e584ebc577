"""Fixtures of the end-to-end suite: a real ``hass`` per HA version (onboarded, with a kitchen
light), the Qwen emulator and the Wyoming server as processes.

Run from the server venv: ``.venv/bin/python -m pytest tests/e2e``. The HA versions come from
``QWEN_E2E_HA_VERSIONS`` (default ``2025.4.4,2026.11.0``); missing installs are made first
(tests/support/e2e/hass_env.py). Other suites may reuse ``hass`` and ``hass_version`` as they are.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.e2e.engines import ENGINES, Engine
from tests.support.e2e.entries import wait_for, ws_call
from tests.support.e2e.hass_env import HassRuntime, runtime, selected_versions
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.services import EmulatorProcess

# Kitchen lights for "turn on the kitchen lights": a template light backed by a boolean, so
# the test can see the intent's effect; placed in the Kitchen area after onboarding (which
# creates the default areas).
HOME_YAML = """\
input_boolean:
  kitchen_power:
    name: Kitchen power
template:
  - light:
      - name: Kitchen lights
        unique_id: e2e_kitchen_lights
        state: "{{ is_state('input_boolean.kitchen_power', 'on') }}"
        turn_on:
          - action: input_boolean.turn_on
            target:
              entity_id: input_boolean.kitchen_power
        turn_off:
          - action: input_boolean.turn_off
            target:
              entity_id: input_boolean.kitchen_power
"""
KITCHEN_LIGHT = "light.kitchen_lights"
API_KEY = "sk-e2e-valid-key"
WRONG_KEY = "sk-e2e-wrong-key"
COMMAND = "turn on the kitchen lights"


@pytest.fixture(scope="session", params=selected_versions())
def hass_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def hass_runtime(hass_version: str) -> HassRuntime:
    rt = runtime(hass_version)
    rt.install()
    return rt


def _put_in_area(hass: HassProcess, entity_id: str, area_id: str) -> None:
    # Template entities may register a moment after HA reports it has started.
    wait_for(
        lambda: any(
            e["entity_id"] == entity_id for e in ws_call(hass, "config/entity_registry/list")
        ),
        what=f"{entity_id} in the entity registry",
    )
    ws_call(hass, "config/entity_registry/update", entity_id=entity_id, area_id=area_id)


@pytest.fixture(scope="session")
def hass(hass_runtime: HassRuntime) -> Iterator[HassProcess]:
    """An onboarded hass with the integration installed as HACS does and a kitchen light."""
    with HassProcess(hass_runtime, extra_yaml=HOME_YAML) as process:
        process.onboard()
        _put_in_area(process, KITCHEN_LIGHT, "kitchen")
        yield process


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    """The Qwen emulator: accepts API_KEY, answers COMMAND for every first utterance."""
    with EmulatorProcess(api_keys=[API_KEY], transcripts=[COMMAND]) as process:
        process.start()
        yield process


@pytest.fixture
def live_emulator(emulator: EmulatorProcess) -> EmulatorProcess:
    """The emulator, running with API_KEY accepted (a test may have stopped or re-keyed it)."""
    if not emulator.running or emulator.api_keys != [API_KEY] or emulator.models:
        emulator.restart(api_keys=[API_KEY], models=[])
    return emulator


@pytest.fixture(params=sorted(ENGINES))
def engine(
    request: pytest.FixtureRequest, hass: HassProcess, live_emulator: EmulatorProcess
) -> Iterator[Engine]:
    """Each speech-to-text engine in its own Assist pipeline (set up through HA's flows)."""
    with ENGINES[request.param](hass, live_emulator, API_KEY) as made:
        yield made
