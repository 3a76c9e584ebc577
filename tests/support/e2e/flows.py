"""What the suite knows about the integration's flows, read at test time from the flow itself
(its ``data_schema`` as the REST API returns it) and from ``translations/en.json``, so the tests
follow the integration instead of restating it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .hass_env import PROJECT

DOMAIN = "qwen_asr"
TRANSLATIONS = PROJECT / "custom_components" / DOMAIN / "translations" / "en.json"
# Fields the tests fill with their own values; every other field keeps the schema's default.
KEY_FIELD = "api_key"
REGION_FIELD = "region"
ENDPOINT_FIELD = "endpoint"
CUSTOM_REGION = "custom"
# The speech-to-text subentry's flows (add, reconfigure): their texts in en.json.
STT_FLOW = "config_subentries.stt"
SUBENTRY_TYPE = "stt"


@cache
def translations() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TRANSLATIONS.read_text())
    return data


def _flow(flow: str) -> dict[str, Any]:
    """A flow's part of en.json: ``config``, or a dotted path such as ``STT_FLOW``."""
    part: dict[str, Any] = translations()
    for key in flow.split("."):
        part = part[key]
    return part


@dataclass(frozen=True)
class StepTexts:
    """The English texts a form step shows: title, description, and per field its label
    and (optional) description."""

    title: str
    description: str
    labels: dict[str, str]
    descriptions: dict[str, str]

    def all_texts(self) -> list[str]:
        texts = [self.title, self.description, *self.labels.values(), *self.descriptions.values()]
        return [text for text in texts if text]


def step_texts(flow: str, step_id: str, placeholders: dict[str, Any] | None = None) -> StepTexts:
    """``flow`` is ``config`` or ``STT_FLOW``. With ``placeholders`` (a form's
    ``description_placeholders``) every ``{name}`` is filled, and one the form does not
    provide is an error; without, the texts stay as written."""
    step = _flow(flow)["step"][step_id]

    def value(match: re.Match[str]) -> str:
        if placeholders is None:  # the caller wants the texts as written
            return match[0]
        if match[1] not in placeholders:
            raise AssertionError(
                f"en.json {flow}.step.{step_id} uses {match[0]}, which the flow does not "
                f"provide (its placeholders: {sorted(placeholders)})"
            )
        return str(placeholders[match[1]])

    def fill(text: str) -> str:
        return re.sub(r"\{(\w+)\}", value, text)

    return StepTexts(
        title=fill(step.get("title", "")),
        description=fill(step.get("description", "")),
        labels={k: fill(v) for k, v in step.get("data", {}).items()},
        descriptions={k: fill(v) for k, v in step.get("data_description", {}).items()},
    )


def error_text(flow: str, key: str) -> str:
    """The translated message of a form error; KeyError if en.json lacks it."""
    return str(_flow(flow)["error"][key])


def abort_text(flow: str, key: str) -> str:
    return str(_flow(flow)["abort"][key])


def option_label(selector: str, value: str) -> str:
    return str(translations()["selector"][selector]["options"][value])


def schema_fields(result: dict[str, Any]) -> list[str]:
    """Field names of a form result's ``data_schema``."""
    return [str(field["name"]) for field in result["data_schema"]]


def select_options(result: dict[str, Any], name: str) -> list[str]:
    """Option values of a select field (plain values or ``{"value", "label"}`` dicts)."""
    for field in result["data_schema"]:
        if field["name"] == name:
            options = field["selector"]["select"]["options"]
            return [str(o["value"]) if isinstance(o, dict) else str(o) for o in options]
    raise KeyError(name)


def form_input(result: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Input for a form: ``values`` for the fields they name, the schema's default (or
    suggested value) for every other field that has one."""
    user_input: dict[str, Any] = {}
    for field in result["data_schema"]:
        name = str(field["name"])
        if name in values:
            user_input[name] = values[name]
        elif "default" in field:
            user_input[name] = field["default"]
        elif (suggested := (field.get("description") or {}).get("suggested_value")) is not None:
            user_input[name] = suggested
        elif field.get("required"):
            raise AssertionError(f"required field {name!r} has no default: {field}")
    unknown = set(values) - set(user_input)
    if unknown:
        raise AssertionError(f"the form has no fields {sorted(unknown)}: {schema_fields(result)}")
    return user_input


def account_input(result: dict[str, Any], *, api_key: str | None, endpoint: str) -> dict[str, Any]:
    """An account form (user or reconfigure) pointed at a custom endpoint (the emulator)."""
    assert CUSTOM_REGION in select_options(result, REGION_FIELD)
    values: dict[str, Any] = {REGION_FIELD: CUSTOM_REGION, ENDPOINT_FIELD: endpoint}
    if api_key is not None:
        values[KEY_FIELD] = api_key
    return form_input(result, values)
