"""HA's own frontend in a real browser: log in, Settings -> Devices & services -> Add
integration -> Qwen ASR, see every text en.json gives the dialog, a wrong key's translated
error, create the entry, change the language in its speech-to-text's settings dialog; add a
second speech-to-text, give each to an assistant of its own, both answer; and
reauthentication from the attention card after the service stopped accepting the key.

Screenshots go to $QWEN_E2E_SCREENSHOTS (the docs' come from there), else a temp dir; each
with its texts beside it, which must match those of the docs' picture of the same name.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.support.e2e.assist import run_pipeline, speech_pcm
from tests.support.e2e.browser import HassPage, chromium, hass_page
from tests.support.e2e.engines import _delete_pipeline, _pipeline
from tests.support.e2e.entries import (
    Entry,
    add_qwen_entry,
    diagnostics,
    flows_in_progress,
    stt_entity_of,
    stt_settings,
    subentries_of,
    wait_for,
    wait_until_loaded,
)
from tests.support.e2e.flows import (
    DOMAIN,
    ENDPOINT_FIELD,
    KEY_FIELD,
    REGION_FIELD,
    STT_FLOW,
    SUBENTRY_TYPE,
    abort_text,
    error_text,
    option_label,
    schema_fields,
    select_options,
    step_texts,
    translations,
)
from tests.support.e2e.hass_env import PROJECT
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.hass_ws import HassWebSocket
from tests.support.e2e.services import EmulatorProcess

from .conftest import API_KEY, COMMAND, WRONG_KEY

NAME = json.loads((PROJECT / "custom_components" / DOMAIN / "manifest.json").read_text())["name"]
NEW_LANGUAGE = "de"
HOME_NAMES_FIELD = "home_context"
NEW_KEY = "e2e-new-key"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def shots(tmp_path: Path, hass_version: str) -> Path:
    base = os.environ.get("QWEN_E2E_SCREENSHOTS")
    return Path(base).resolve() if base else tmp_path / hass_version


def _form_texts(form: dict[str, Any], flow: str, step: str) -> list[str]:
    """What the dialog must show for a form: title, description, and each field's label and
    description, plus the labels of options shown as radio buttons."""
    texts = step_texts(flow, step, form.get("description_placeholders") or {})
    fields = schema_fields(form)
    missing = [name for name in fields if name not in texts.labels]
    assert not missing, f"fields without a label in en.json: {missing}"
    shown = [texts.title, texts.description]
    shown += [texts.labels[name] for name in fields]
    shown += [texts.descriptions[name] for name in fields if name in texts.descriptions]
    for field in form["data_schema"]:
        select = field.get("selector", {}).get("select", {})
        if select.get("translation_key") and select.get("mode") == "list":
            values = select_options(form, field["name"])
            shown += [option_label(select["translation_key"], value) for value in values]
    return [text for text in shown if text]


def _user_form(hass: HassProcess) -> dict[str, Any]:
    """The first step as the REST API describes it (the dialog renders this)."""
    rest = hass.rest()
    form = rest.start_flow(DOMAIN)
    rest.abort_flow(str(form["flow_id"]))
    return form


def _label(text: str) -> re.Pattern[str]:
    """A field's accessible name: its label, with " *" when the field is required."""
    return re.compile(rf"^{re.escape(text)}\s*\*?$")


def _fill_account(tab: HassPage, api_key: str, endpoint: str) -> None:
    labels = step_texts("config", "user").labels
    tab.page.get_by_role("textbox", name=_label(labels[KEY_FIELD])).fill(api_key)
    tab.page.get_by_role("radio", name=option_label(REGION_FIELD, "custom"), exact=True).check()
    tab.page.get_by_role("textbox", name=_label(labels[ENDPOINT_FIELD])).fill(endpoint)


def _untick_home_names(tab: HassPage, user_form: dict[str, Any]) -> None:
    """The setup step offers the choice to send the home's names, ticked by default."""
    (field,) = (f for f in user_form["data_schema"] if f["name"] == HOME_NAMES_FIELD)
    assert field["default"] is True
    texts = step_texts("config", "user")
    label, help_text = texts.labels[HOME_NAMES_FIELD], texts.descriptions[HOME_NAMES_FIELD]
    # HA 2025.4 names a boolean field by its label; 2026.11 by its label and description.
    name = re.compile(rf"^{re.escape(label)}(\s+{re.escape(help_text)})?\s*\*?$")
    switch = tab.page.get_by_role("switch", name=name)
    checkbox = tab.page.get_by_role("checkbox", name=name)
    control = switch.or_(checkbox).first
    assert control.is_checked()
    # Where a person clicks: on 2026.11 the switch's thumb lies over its input.
    control.click(force=True)
    assert not control.is_checked()


def _stt_form(hass: HassProcess, entry: Entry) -> dict[str, Any]:
    """The speech-to-text's settings form as the REST API describes it (the dialog renders
    this); ``entry`` names the subentry, or none to add one."""
    rest = hass.rest()
    form = rest.start_subentry_flow(entry.entry_id, SUBENTRY_TYPE, entry.subentry_id)
    rest.abort_subentry_flow(str(form["flow_id"]))
    return form


def _home_names_switch(hass: HassProcess, entry: Entry) -> object:
    (field,) = (f for f in _stt_form(hass, entry)["data_schema"] if f["name"] == HOME_NAMES_FIELD)
    return (field.get("description") or {}).get("suggested_value")


def _just_added(hass: HassProcess, entry_id: str, title: str) -> Entry:
    """The entry made by the dialog, with its one speech-to-text, once that is set up."""
    (subentry,) = subentries_of(hass, entry_id)
    subentry_id = str(subentry["subentry_id"])
    entity_id = wait_for(
        lambda: stt_entity_of(hass, entry_id, subentry_id), what="the speech-to-text entity"
    )
    entry = Entry(entry_id, entity_id, title, subentry_id)
    wait_until_loaded(hass, entry)
    return entry


def _open_integration_page(tab: HassPage, ready: re.Pattern[str] | str) -> None:
    """After adding, HA may already show the integration's page; else open it from its card.
    ``ready``: what the page shows once it lists the entry."""
    target = tab.page.get_by_role("button", name=ready)
    card = tab.page.get_by_text(NAME, exact=True)
    target.or_(card).first.wait_for()
    if not target.first.is_visible():
        card.first.click()
    target.first.wait_for()


def _settings_button() -> re.Pattern[str]:
    """A speech-to-text row's settings button: HA 2026.11 labels its icon button with
    ``initiate_flow.reconfigure``; HA 2025.4 shows a "Configure" button."""
    label = _stt_translations()["initiate_flow"]["reconfigure"]
    return re.compile(rf"^({re.escape(label)}|Configure)$")


def _stt_translations() -> dict[str, Any]:
    stt: dict[str, Any] = translations()["config_subentries"][SUBENTRY_TYPE]
    return stt


def test_add_integration_and_settings_in_the_browser(
    hass: HassProcess,
    hass_version: str,
    live_emulator: EmulatorProcess,
    browser: Browser,
    shots: Path,
) -> None:
    user_form = _user_form(hass)
    with hass_page(browser, hass.url) as tab:
        tab.login(hass.onboard())
        tab.open_integrations()
        tab.add_integration(NAME)
        user_texts = _form_texts(user_form, "config", "user")
        tab.wait_for_texts(user_texts)
        tab.screenshot(shots / f"add-integration-{hass_version}.png", user_texts)

        _fill_account(tab, WRONG_KEY, live_emulator.url)
        tab.submit_button().click()
        tab.wait_for_texts([error_text("config", "invalid_auth")])
        tab.screenshot(
            shots / f"wrong-key-{hass_version}.png",
            [*user_texts, error_text("config", "invalid_auth")],
        )

        _fill_account(tab, API_KEY, live_emulator.url)
        _untick_home_names(tab, user_form)
        tab.submit_button().click()
        entries = wait_for(lambda: hass.rest().entries(DOMAIN), what="the new entry")
        entry_id = str(entries[0]["entry_id"])
        try:
            entry = _just_added(hass, entry_id, str(entries[0]["title"]))
            # The setup step's choice is what the speech-to-text's settings switch shows.
            assert _home_names_switch(hass, entry) is False
            tab.page.get_by_role("button", name="Finish").click()
            _change_language_in_settings(tab, hass, entry, shots / f"settings-{hass_version}.png")
            _check_brand_icon(tab, hass_version)
        finally:
            hass.rest().delete_entry(entry_id)


def _change_language_in_settings(
    tab: HassPage, hass: HassProcess, entry: Entry, shot: Path
) -> None:
    form = _stt_form(hass, entry)
    _open_integration_page(tab, _settings_button())
    tab.page.get_by_role("button", name=_settings_button()).first.click()
    settings_texts = _form_texts(form, STT_FLOW, "reconfigure")
    tab.wait_for_texts(settings_texts)
    tab.screenshot(shot, settings_texts)
    language_label = step_texts(STT_FLOW, "reconfigure").labels["language"]
    tab.choose(language_label, option_label("language", NEW_LANGUAGE))
    tab.submit_button().click()
    wait_for(
        lambda: stt_settings(hass, entry)["language"] == NEW_LANGUAGE,
        what="the language setting saved",
    )


def _add_speech_to_text_in_the_browser(
    tab: HassPage, hass: HassProcess, entry: Entry, name: str, shot: Path
) -> Entry:
    """The integration page's "Add speech-to-text" (HA 2026.11: a button on the page; 2025.4:
    an item of the entry's ⋮ menu), named ``name``, language Cantonese."""
    label = _stt_translations()["initiate_flow"]["user"]
    form = _stt_form(hass, Entry(entry.entry_id, entry.entity_id, entry.title))
    _open_integration_page(tab, _settings_button())
    button = tab.page.get_by_role("button", name=label, exact=True)
    if button.count() and button.first.is_visible():
        button.first.click()
    else:
        tab.page.locator("ha-md-button-menu ha-icon-button[slot=trigger]").first.click()
        tab.page.get_by_role("menuitem", name=label).first.click()
    add_texts = _form_texts(form, STT_FLOW, "user")
    tab.wait_for_texts(add_texts)
    known = {sub["subentry_id"] for sub in subentries_of(hass, entry.entry_id)}
    texts = step_texts(STT_FLOW, "user")
    tab.page.get_by_role("textbox", name=_label(texts.labels["name"])).fill(name)
    tab.choose(texts.labels["language"], option_label("language", "yue"))
    tab.screenshot(shot, [*add_texts, option_label("language", "yue")])
    tab.submit_button().click()
    added = wait_for(
        lambda: {str(s["subentry_id"]) for s in subentries_of(hass, entry.entry_id)} - known,
        what=f"the speech-to-text {name}",
    )
    (subentry_id,) = added
    entity_id = wait_for(
        lambda: stt_entity_of(hass, entry.entry_id, subentry_id), what=f"the entity of {name}"
    )
    second = Entry(entry.entry_id, entity_id, name, subentry_id)
    wait_until_loaded(hass, second)
    assert stt_settings(hass, second)["language"] == "yue"
    return second


async def _answer(hass: HassProcess, pipeline_id: str) -> tuple[str, str | None]:
    """The engine an assistant's run used, and its transcript."""
    async with HassWebSocket(hass.url, hass.onboard().token) as ws:
        run = await run_pipeline(ws, pipeline_id, speech_pcm())
    return str(run.data("stt-start")["engine"]), run.transcript


def test_second_speech_to_text_serves_a_second_assistant(
    hass: HassProcess,
    hass_version: str,
    live_emulator: EmulatorProcess,
    browser: Browser,
    shots: Path,
) -> None:
    """Two speech-to-text subentries of one entry (one key), the second added in the browser;
    each is the engine of its own assistant, and both assistants answer."""
    first = add_qwen_entry(hass, live_emulator.url, API_KEY)
    pipelines: list[str] = []
    try:
        with hass_page(browser, hass.url) as tab:
            tab.login(hass.onboard())
            tab.open_integrations()
            tab.page.get_by_text(NAME, exact=True).first.click()
            second = _add_speech_to_text_in_the_browser(
                tab, hass, first, "Cantonese", shots / f"add-speech-to-text-{hass_version}.png"
            )
            tab.page.get_by_role("button", name="Finish").click()
            tab.page.get_by_text("Cantonese", exact=True).first.wait_for()
            page_texts = [_stt_translations()["initiate_flow"]["user"], "Cantonese"]
            tab.wait_for_texts(page_texts)
            tab.screenshot(shots / f"two-speech-to-text-{hass_version}.png", page_texts)
        assert second.entity_id != first.entity_id
        # The browser's (sync Playwright's) loop runs in this thread: the websocket work
        # runs in a worker thread with a loop of its own.
        with ThreadPoolExecutor(1) as pool:
            for engine in (first, second):
                name = f"Assistant of {engine.title}"
                pipelines.append(pool.submit(_pipeline, hass, name, engine.entity_id).result())
            for engine, pipeline_id in zip((first, second), pipelines, strict=True):
                answer = pool.submit(asyncio.run, _answer(hass, pipeline_id)).result()
                assert answer == (engine.entity_id, COMMAND)
        # Each answered with its own settings: the pipeline's language, and Cantonese.
        sessions = {
            item["subentry_id"]: item["last_session"]
            for item in diagnostics(hass, first.entry_id)["speech_to_text"]
        }
        assert sessions[first.subentry_id]["language"] == "en"
        assert sessions[second.subentry_id]["language"] == "yue"
    finally:
        for pipeline_id in pipelines:
            _delete_pipeline(hass, pipeline_id)
        hass.rest().delete_entry(first.entry_id)


def _check_brand_icon(tab: HassPage, hass_version: str) -> None:
    """HA serves a custom integration's brand/ folder from 2026.3 on; older versions ask the
    brands CDN, which this suite blocks (so the icon stays blank offline)."""
    major_minor = tuple(int(part) for part in hass_version.split(".")[:2])
    if major_minor >= (2026, 3):
        assert tab.image_loaded(f"/api/brands/integration/{DOMAIN}/") is True
    else:
        assert any(f"/{DOMAIN}/" in url for url in tab.blocked), tab.blocked
    assert all("brands.home-assistant.io" in url for url in tab.blocked), tab.blocked


def test_reauth_in_the_browser(
    hass: HassProcess,
    hass_version: str,
    live_emulator: EmulatorProcess,
    browser: Browser,
    shots: Path,
) -> None:
    """The service stops accepting the key: the integrations page asks for attention, and the
    reauth dialog takes a new key (its label and description from en.json)."""
    entry = add_qwen_entry(hass, live_emulator.url, API_KEY)
    try:
        live_emulator.restart(api_keys=[NEW_KEY])
        hass.rest().post(f"/api/config/config_entries/entry/{entry.entry_id}/reload")
        wait_for(lambda: flows_in_progress(hass), what="the reauth flow")
        texts = step_texts("config", "reauth_confirm", {"name": entry.title})
        with hass_page(browser, hass.url) as tab:
            tab.login(hass.onboard())
            tab.open_integrations()
            # The attention card of a reauth flow; its button is "Reconfigure" in the
            # frontends of 2025.4 and 2026.11.
            tab.page.get_by_role("button", name=re.compile(r"^reconfigure$", re.I)).first.click()
            reauth_texts = [
                texts.title,
                texts.description,
                texts.labels[KEY_FIELD],
                *texts.descriptions.values(),
            ]
            tab.wait_for_texts(reauth_texts)
            tab.screenshot(shots / f"reauth-{hass_version}.png", reauth_texts)
            tab.page.get_by_role("textbox", name=_label(texts.labels[KEY_FIELD])).fill(NEW_KEY)
            tab.submit_button().click()
            # HA 2025.4 shows the flow's abort text; the 2026.11 frontend its own success line.
            done = re.escape(abort_text("config", "reauth_successful"))
            tab.page.get_by_text(
                re.compile(f"{done}|Re-authentication was successful")
            ).first.wait_for()
        wait_until_loaded(hass, entry)
    finally:
        hass.rest().delete_entry(entry.entry_id)
        live_emulator.restart(api_keys=[API_KEY])
