"""The add-on folder as the Supervisor reads it: one add-on, a schema it can parse, defaults
the server accepts, every option translated, and versions that agree."""

from __future__ import annotations

import os
import re
import struct
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from qwen_asr_realtime.const import (
    DEFAULT_MODEL,
    DEFAULT_REGION,
    DEFAULT_SILENCE_MS,
    DEFAULT_VAD_THRESHOLD,
    ENDPOINTING_HOME_ASSISTANT,
    ENDPOINTING_QWEN,
    LANGUAGES,
)

from wyoming_server import __version__
from wyoming_server.addon import PORT, options_to_env
from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.settings import build_settings
from wyoming_server.settings import Endpointing

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "wyoming_qwen_asr"
CONFIG_SUFFIXES = {".json", ".yaml", ".yml"}
# The option types the Supervisor's schema language knows (its add-on documentation); ranges
# written with non-negative numbers only, which every Supervisor version parses.
SCHEMA_TYPE = re.compile(
    r"(bool|email|url|port|str(\(\d*,\d*\))?|password(\(\d*,\d*\))?|int(\(\d*,\d*\))?"
    r"|float(\([\d.]*,[\d.]*\))?|match\(.+\)|list\([^|()]+(\|[^|()]+)*\))\??"
)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data = load(ADDON / "config.yaml")
    assert isinstance(data, dict)
    return data


def test_the_repository_holds_exactly_this_add_on() -> None:
    """The Supervisor takes every config.json/yaml/yml outside dot and rootfs folders for an
    add-on; a stray one elsewhere would show up in the store as a broken add-on."""
    found = [
        path.relative_to(ROOT)
        for path in ROOT.glob("**/config.*")
        if path.suffix in CONFIG_SUFFIXES
        and not any(
            part.startswith(".") or part == "rootfs" for part in path.relative_to(ROOT).parts
        )
    ]
    assert found == [Path("wyoming_qwen_asr/config.yaml")]
    repository = load(ROOT / "repository.yaml")
    assert repository["name"] and repository["url"].startswith("https://")


def test_identity_and_versions_agree(config: dict[str, Any]) -> None:
    assert config["slug"] == ADDON.name
    assert {"name", "description", "url", "arch"} <= set(config)
    assert set(config["arch"]) <= {"amd64", "aarch64", "armv7", "armhf", "i386"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["version"] == project["project"]["version"] == __version__
    # The Supervisor builds the add-on on Home Assistant's Debian base of each architecture
    # (the Dockerfile installs the release of config.yaml's version; tests/release checks the
    # versions, tests/container builds it).
    build = load(ADDON / "build.yaml")
    assert set(build["build_from"]) == set(config["arch"])
    for arch, image in build["build_from"].items():
        assert image == f"ghcr.io/home-assistant/{arch}-base-debian:bookworm"


def test_announces_wyoming_on_its_port(config: dict[str, Any]) -> None:
    assert config["discovery"] == ["wyoming"]
    assert f"{PORT}/tcp" in config["ports"]
    assert config["watchdog"] == f"tcp://[HOST]:[PORT:{PORT}]"
    assert "host_network" not in config  # discovery, not mDNS, tells Home Assistant


def test_reads_the_homes_names_through_the_supervisor(config: dict[str, Any]) -> None:
    """``homeassistant_api`` gives the add-on SUPERVISOR_TOKEN and Core's websocket proxy,
    which the run script hands to the server (tests/addon/test_addon_run.py)."""
    assert config["homeassistant_api"] is True
    assert config["options"]["home_names"] is True
    assert config["schema"]["home_names"] == "bool"


def test_schema_is_one_the_supervisor_parses(config: dict[str, Any]) -> None:
    # Every required option has a default (or null: the user must set it); optional ones
    # ("?") are left out, so an empty field stays unset.
    schema = config["schema"]
    optional = {name for name, kind in schema.items() if str(kind).endswith("?")}
    assert optional == {"fallback_uri", "daily_audio_minutes"}
    assert set(config["options"]) == set(schema) - optional
    for name, kind in config["schema"].items():
        element = kind[0] if isinstance(kind, list) else kind
        assert isinstance(element, str) and SCHEMA_TYPE.fullmatch(element), (name, kind)


def test_the_key_is_required_and_masked(config: dict[str, Any]) -> None:
    # No default and no "?": the Supervisor will not start the add-on without a key.
    assert config["options"]["api_key"] is None
    assert config["schema"]["api_key"] == "password"


def test_choices_match_the_server(config: dict[str, Any]) -> None:
    schema = config["schema"]
    assert schema["language"] == f"list({'|'.join(['pipeline', 'auto', *LANGUAGES])})"
    # The integration's words first; the earlier ones keep saved options valid.
    assert schema["endpointing"] == (
        f"list({ENDPOINTING_HOME_ASSISTANT}|{ENDPOINTING_QWEN}|ha|server)"
    )
    region = re.compile(schema["region"].removeprefix("match(").removesuffix(")"))
    for good in ("intl", "cn", "wss://ws.example.com/api-ws/v1/realtime", "ws://127.0.0.1:8765"):
        assert region.match(good), good
    for bad in ("", "eu", "https://example.com", "wss://x.example.com/?model=a", "intl cn"):
        assert not region.match(bad), bad


def test_defaults_are_the_servers(config: dict[str, Any]) -> None:
    options = config["options"]
    assert options["region"] == DEFAULT_REGION
    assert options["model"] == DEFAULT_MODEL
    assert options["vad_threshold"] == DEFAULT_VAD_THRESHOLD
    assert options["vad_silence_ms"] == DEFAULT_SILENCE_MS
    assert options["endpointing"] == Endpointing.HOME_ASSISTANT == ENDPOINTING_HOME_ASSISTANT
    assert (options["language"], options["vad"]) == ("pipeline", True)


def server_settings_for(
    options: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """What the server makes of these options, through the run script's mapping."""
    for name in [name for name in os.environ if name.startswith("QWEN_")]:
        monkeypatch.delenv(name)
    for name, value in options_to_env(options, tmp_path / "context.txt", PORT).items():
        monkeypatch.setenv(name, value)
    args = parse_args([])
    return args, build_settings(args, "sk-test-secret-key")


def test_every_choice_is_accepted_by_the_server(
    config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = {**config["options"], "api_key": "sk-test-secret-key"}
    args, settings = server_settings_for(defaults, tmp_path, monkeypatch)
    assert args.uri == f"tcp://0.0.0.0:{PORT}"
    assert settings.language is None and not settings.force_language  # the pipeline's
    languages = config["schema"]["language"].removeprefix("list(").removesuffix(")").split("|")
    for language in languages:
        _, settings = server_settings_for({**defaults, "language": language}, tmp_path, monkeypatch)
        assert settings.force_language == (language != "pipeline")
        assert settings.language == (None if language in ("pipeline", "auto") else language)
    for value, meaning in (
        ("qwen", "qwen"),
        ("home_assistant", "home_assistant"),
        ("server", "qwen"),
        ("ha", "home_assistant"),
    ):
        options = {**defaults, "endpointing": value}
        _, settings = server_settings_for(options, tmp_path, monkeypatch)
        assert settings.endpointing == meaning, value


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
def test_every_option_is_translated(config: dict[str, Any], language: str) -> None:
    translation = load(ADDON / "translations" / f"{language}.yaml")
    assert set(translation["configuration"]) == set(config["schema"])
    for name, text in translation["configuration"].items():
        assert text["name"].strip() and text["description"].strip(), name
    assert set(translation["network"]) == set(config["ports"])


def test_docs_have_the_add_on_layout_and_a_section_per_option(config: dict[str, Any]) -> None:
    """The Documentation tab as official add-ons lay it out: an ``### Option:`` section for
    each option, in the order of the Configuration tab, under ``## Configuration``."""
    docs = (ADDON / "DOCS.md").read_text(encoding="utf-8")
    headings = re.findall(r"^(#{1,3}) (.+)$", docs, flags=re.MULTILINE)
    sections = [title for level, title in headings if level == "##"]
    assert {"Installation", "Configuration", "Support"} <= set(sections)
    assert sections.index("Installation") < sections.index("Configuration") < len(sections) - 1
    assert sections[-1] == "Support"
    configuration = docs.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^### Option: `([a-z_]+)`$", configuration, flags=re.MULTILINE)
    assert documented == list(config["schema"])
    assert len(re.findall(r"^### Option:", docs, flags=re.MULTILINE)) == len(documented)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (RGBA, so transparent corners work)."""
    header = path.read_bytes()[:29]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR", path
    width, height, depth, color = struct.unpack(">IIBB", header[16:26])
    assert (depth, color) == (8, 6), path
    return width, height


def test_store_images_have_the_sizes_the_store_shows() -> None:
    """The store shows ``icon.png`` (square, 128 px) and ``logo.png`` (about 250 by 100)."""
    assert png_size(ADDON / "icon.png") == (128, 128)
    assert png_size(ADDON / "logo.png") == (250, 100)
