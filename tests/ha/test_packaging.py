"""What hassfest and the HACS action would reject, checked without them."""

from __future__ import annotations

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
from custom_components.qwen_asr import account, config_flow, diagnostics
from custom_components.qwen_asr import stt as stt_platform

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "qwen_asr"
LANGUAGES = ("en", "zh-Hans")

QUALITY_RULES = {
    # bronze
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
    "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "entity-event-setup", "entity-unique-id", "has-entity-name",
    "runtime-data", "test-before-configure", "test-before-setup", "unique-config-entry",
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


def test_brand_icons() -> None:
    """Square PNG icons at 256 and 512 pixels."""
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        data = (INTEGRATION / "brand" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)


def test_quality_scale() -> None:
    """Every rule is done, or exempt with a reason."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for name, rule in rules.items():
        if rule == "done":
            continue
        assert rule["status"] == "exempt", name
        assert len(rule["comment"]) > 20, name


def test_quality_scale_claims_hold() -> None:
    """The 'done' rules that can be checked from the code (the behaviour behind the
    others is tested in test_init, test_config_flow, test_stt and test_diagnostics)."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    done = {name for name, rule in rules.items() if rule == "done"}
    setup_source = Path(integration.__file__).read_text()
    checks = {
        "parallel-updates": hasattr(stt_platform, "PARALLEL_UPDATES"),
        "has-entity-name": stt_platform.QwenSpeechToTextEntity._attr_has_entity_name,
        "reauthentication-flow": hasattr(config_flow.QwenAsrConfigFlow, "async_step_reauth"),
        "reconfiguration-flow": hasattr(config_flow.QwenAsrConfigFlow, "async_step_reconfigure"),
        "diagnostics": hasattr(diagnostics, "async_get_config_entry_diagnostics"),
        "strict-typing": (INTEGRATION / "realtime" / "py.typed").exists(),
        "test-before-setup": all(
            f"raise {name}(" in setup_source
            for name in ("ConfigEntryAuthFailed", "ConfigEntryNotReady")
        ),
        # Every exception raised to the user carries a translation key.
        "exception-translations": setup_source.count("raise ConfigEntry")
        == setup_source.count("translation_key="),
        "unique-config-entry": "_async_abort_entries_match"
        in Path(config_flow.__file__).read_text(),
        "config-flow": all(
            set(step["data"]) == set(step["data_description"])
            for name, step in _load(INTEGRATION / "translations" / "en.json")["config"][
                "step"
            ].items()
            if name != "reauth_confirm"
        ),
    }
    assert set(checks) <= done
    assert [rule for rule, holds in checks.items() if not holds] == []


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
        "options.step.init": config_flow._options_schema(),
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
        "config.abort.already_configured",
        "config.abort.reauth_successful",
        "config.abort.reconfigure_successful",
    }
    flow_errors = re.findall(r'\{[^{}]*: "([a-z_]+)"\}', Path(account.__file__).read_text())
    options_source = Path(config_flow.__file__).read_text().split("class QwenAsrOptionsFlow")[1]
    options_errors = re.findall(r'errors\[\w+\] = "([a-z_]+)"', options_source)
    setup_errors = re.findall(
        r'translation_key="([a-z_]+)"', Path(integration.__file__).read_text()
    )
    assert flow_errors and options_errors and setup_errors
    used |= {f"config.error.{code}" for code in flow_errors}
    used |= {f"options.error.{code}" for code in options_errors}
    used |= {f"exceptions.{code}.message" for code in setup_errors}
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
