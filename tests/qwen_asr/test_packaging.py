"""What hassfest and the HACS action would reject, checked without them."""

from __future__ import annotations

import importlib
import json
import re
import struct
from pathlib import Path
from typing import Any

import yaml
from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.helpers.selector import SelectSelector

import custom_components.qwen_asr as integration
from custom_components.qwen_asr import account, config_flow, stt_flow
from custom_components.qwen_asr.failures import Cause

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "qwen_asr"
LANGUAGES = ("en", "zh-Hans")

# The current rule list: script/hassfest/quality_scale.py (ALL_RULES) of Home Assistant core.
QUALITY_RULES = {
    # bronze
    "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
    "config-flow-test-coverage", "dependency-transparency", "docs-actions", "docs-conditions",
    "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry",
    # silver
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    # gold
    "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices",
    # platinum
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip

# What shows each "done" rule: behaviour tests (module::test), README or docs/ page sections
# (for the documentation rules: the claim is the text) and .ci/run gates (coverage).
DONE_BY = {
    "config-flow": [
        "test_config_flow::test_user_creates_entry",
        "test_packaging::test_every_field_is_described",
    ],
    "config-flow-test-coverage": [
        "ci:--include='custom_components/qwen_asr/config_flow.py,"
        "custom_components/qwen_asr/stt_flow.py' \\\n  --fail-under=100"
    ],
    "dependency-transparency": ["test_packaging::test_manifest"],
    "docs-high-level-description": ["readme:# wyoming-qwen-asr"],
    "docs-installation-instructions": ["docs:home-assistant.md:## Install"],
    "docs-removal-instructions": ["docs:home-assistant.md:## Removal"],
    "entity-unique-id": ["test_stt::test_entity_and_device"],
    "has-entity-name": ["test_stt::test_entity_and_device"],
    "runtime-data": [
        "test_diagnostics::test_diagnostics_redact_the_key",
        "test_diagnostics::test_diagnostics_of_an_unloaded_entry",
    ],
    "test-before-configure": ["test_config_flow::test_user_errors_then_recover"],
    "test-before-setup": [
        "test_init::test_rejected_key_at_setup_starts_reauth",
        "test_init::test_unreachable_service_at_setup_is_retried",
        "test_repairs::test_retired_model_at_setup_is_a_setup_error_with_a_repair",
    ],
    "unique-config-entry": ["test_config_flow::test_user_already_configured_before_any_session"],
    "config-entry-unloading": [
        "test_stt::test_setup_and_unload",
        "test_stt::test_closing_belongs_to_the_entry",
    ],
    "docs-configuration-parameters": [
        "docs:home-assistant.md:| Language | same as the Assist pipeline"
    ],
    "docs-installation-parameters": ["docs:home-assistant.md:Enter the API key"],
    "integration-owner": ["test_packaging::test_manifest"],
    "parallel-updates": ["test_stt::test_recognitions_run_in_parallel"],
    "reauthentication-flow": [
        "test_config_flow::test_reauth_replaces_only_the_key",
        "test_stt::test_auth_failure_starts_reauth",
    ],
    "test-coverage": ["ci:--include='custom_components/qwen_asr/*' --fail-under=95"],
    "devices": ["test_stt::test_entity_and_device"],
    # Each speech-to-text subentry has its device: added with it, removed with it.
    "dynamic-devices": [
        "test_config_flow::test_adding_speech_to_text_makes_an_entity_with_its_own_device"
    ],
    "stale-devices": [
        "test_config_flow::test_adding_speech_to_text_makes_an_entity_with_its_own_device"
    ],
    "diagnostics": [
        "test_diagnostics::test_diagnostics_redact_the_key",
        "test_diagnostics::test_diagnostics_of_an_entry_whose_setup_failed",
    ],
    "docs-data-update": ["docs:home-assistant.md:Audio streams to Qwen chunk by chunk"],
    "docs-examples": ["docs:home-assistant.md:## Examples"],
    "docs-known-limitations": ["docs:home-assistant.md:## Troubleshooting and known limitations"],
    "docs-supported-functions": ["docs:home-assistant.md:| Language | same as the Assist pipeline"],
    "docs-troubleshooting": ["docs:home-assistant.md:## Troubleshooting and known limitations"],
    "docs-use-cases": ["docs:home-assistant.md:## Examples"],
    "exception-translations": ["test_diagnostics::test_diagnostics_of_an_entry_whose_setup_failed"],
    "reconfiguration-flow": ["test_config_flow::test_reconfigure_keeps_key_changes_model"],
    "repair-issues": [
        "test_repairs::test_fix_flow_leads_to_reconfigure",
        "test_repairs::test_model_retired_while_loaded_raises_the_repair",
    ],
    "async-dependency": ["test_stt::test_cancellation_releases_everything"],
    "strict-typing": ["test_typecheck::test_mypy_strict_passes"],
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest() -> None:
    """hassfest: required keys for a custom integration, sorted after domain and name."""
    manifest = _load(INTEGRATION / "manifest.json")
    required = {
        "domain", "name", "codeowners", "config_flow", "documentation", "integration_type",
        "iot_class", "issue_tracker", "loggers", "requirements", "version",
    }  # fmt: skip
    assert required <= manifest.keys()
    assert manifest["domain"] == "qwen_asr" == INTEGRATION.name
    assert list(manifest)[:2] == ["domain", "name"]
    assert list(manifest)[2:] == sorted(list(manifest)[2:])
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "cloud_push"
    assert manifest["config_flow"] is True
    assert AwesomeVersion(manifest["version"]).valid
    assert all(re.fullmatch(r"@[\w-]+", owner) for owner in manifest["codeowners"])
    assert any(req.startswith("websockets") for req in manifest["requirements"])
    # Debug logging from the UI also covers the library's loggers (the client's own
    # loggers live inside the integration's package).
    assert manifest["loggers"] == ["websockets"]
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")


def test_license_is_the_declared_mit() -> None:
    """HACS and reviewers expect the license file that pyproject declares."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_hacs_json() -> None:
    """Only keys HACS accepts; the minimum HA is no newer than the one testing it."""
    hacs = _load(ROOT / "hacs.json")
    allowed = {
        "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
        "country", "homeassistant", "hacs", "persistent_directory", "render_readme",
    }  # fmt: skip
    assert set(hacs) <= allowed
    assert hacs["name"]
    assert hacs.get("content_in_root", False) is False
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(HA_VERSION)
    # The README states the same minimum (the oldest version the suites test).
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = set(re.findall(r"(20\d\d\.\d+(?:\.\d+)?) or newer", readme))
    assert stated == {hacs["homeassistant"]}


def test_brand_icons() -> None:
    """Square PNG icons at 256 and 512 pixels."""
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        data = (INTEGRATION / "brand" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)


def test_quality_scale() -> None:
    """Every current rule is there: done, todo, or exempt with a reason."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for name, rule in rules.items():
        if rule == "done":
            continue
        assert rule["status"] in ("exempt", "todo"), name
        assert len(rule["comment"]) > 20, name


def _shown(evidence: str) -> bool:
    kind, _, what = evidence.partition(":")
    if kind == "readme":
        return what in (ROOT / "README.md").read_text(encoding="utf-8")
    if kind == "docs":
        page, _, text = what.partition(":")
        return text in (ROOT / "docs" / page).read_text(encoding="utf-8")
    if kind == "ci":
        return what in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    module, _, test = evidence.partition("::")
    return callable(getattr(importlib.import_module(f"tests.qwen_asr.{module}"), test, None))


def test_every_done_rule_is_shown() -> None:
    """Each "done" rule names what shows it, and that test, section or CI gate exists
    (the tests themselves run in this suite)."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    done = {name for name, rule in rules.items() if rule == "done"}
    assert done == set(DONE_BY)
    missing = [item for items in DONE_BY.values() for item in items if not _shown(item)]
    assert missing == []


def test_every_field_is_described() -> None:
    """Every form field has a description (hassfest's config-flow rule), reauth and the
    speech-to-text subentry's steps included."""
    english = _load(INTEGRATION / "translations" / "en.json")
    steps = {**english["config"]["step"]}
    steps |= {f"stt.{k}": v for k, v in english["config_subentries"]["stt"]["step"].items()}
    assert {"stt.user", "stt.reconfigure"} <= set(steps)
    for name, step in steps.items():
        assert set(step["data"]) == set(step["data_description"]), name


def _flatten(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        keys |= _flatten(value, path + ".") if isinstance(value, dict) else {path}
    return keys


def _used_keys() -> set[str]:
    """Translation keys the flows can show, read from the flows' own schemas and code."""
    used: set[str] = set()
    forms = {
        "config.step.user": config_flow._account_schema({}, key_required=True),
        "config.step.reconfigure": config_flow._account_schema({}, key_required=False),
        "config_subentries.stt.step.reconfigure": stt_flow._settings_schema(),
        "config_subentries.stt.step.user": stt_flow._settings_schema().extend({"name": str}),
    }
    for step, schema in forms.items():
        used |= {f"{step}.title", f"{step}.description"}
        for key, selector in schema.schema.items():
            used.add(f"{step}.data.{key}")
            validators = getattr(selector, "validators", [selector])
            for item in validators:
                if isinstance(item, SelectSelector) and item.config.get("translation_key"):
                    translation_key = item.config["translation_key"]
                    for option in item.config["options"]:
                        value = option if isinstance(option, str) else option["value"]
                        used.add(f"selector.{translation_key}.options.{value}")
    used |= {
        "config.step.reauth_confirm.title",
        "config.step.reauth_confirm.description",
        "config.step.reauth_confirm.data.api_key",
        "config.step.reauth_confirm.data_description.api_key",
        "config.abort.already_configured",
        "config.abort.reauth_successful",
        "config.abort.reconfigure_successful",
        "config_subentries.stt.entry_type",
        "config_subentries.stt.initiate_flow.user",
        "config_subentries.stt.initiate_flow.reconfigure",
        "config_subentries.stt.abort.entry_not_loaded",
        "config_subentries.stt.abort.reconfigure_successful",
    }
    flow_errors = re.findall(r'\{[^{}]*: "([a-z_]+)"\}', Path(account.__file__).read_text())
    settings_source = Path(stt_flow.__file__).read_text().split("def _settings_errors")[1]
    settings_errors = re.findall(r'\{CONF_\w+: "([a-z_]+)"\}', settings_source)
    setup_errors = re.findall(
        r'translation_key="([a-z_]+)"', Path(integration.__file__).read_text()
    )
    assert flow_errors and settings_errors and setup_errors
    used |= {f"config.error.{code}" for code in flow_errors}
    used |= {f"config_subentries.stt.error.{code}" for code in settings_errors}
    used |= {f"exceptions.{code}.message" for code in setup_errors}
    for cause in Cause:  # each repair issue and its fix flow (repairs.py)
        issue = f"issues.{cause}"
        used |= {f"{issue}.title", f"{issue}.fix_flow.step.confirm.title"}
        used.add(f"{issue}.fix_flow.step.confirm.description")
        for reason in ("reconfigure_started", "reconfigure_in_settings", "entry_removed"):
            used.add(f"{issue}.fix_flow.abort.{reason}")
    return used


def test_translations_complete() -> None:
    """Every key the flows use exists in every language; the languages agree."""
    used = _used_keys()
    english = _flatten(_load(INTEGRATION / "translations" / "en.json"))
    assert used <= english, sorted(used - english)
    for language in LANGUAGES:
        translation = _load(INTEGRATION / "translations" / f"{language}.json")
        assert _flatten(translation) == english, language
        for key in english:
            value = _get(translation, key)
            assert value.strip(), (language, key)
            assert "[%key:" not in value, (language, key)
            assert _placeholders(value) == _placeholders(
                _get(_load(INTEGRATION / "translations" / "en.json"), key)
            ), (language, key)


def _get(tree: dict[str, Any], dotted: str) -> str:
    for part in dotted.split("."):
        tree = tree[part]
    assert isinstance(tree, str)
    return tree


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))
