"""HA's own frontend in a real browser: log in, Settings -> Devices & services -> Add
integration -> Qwen ASR, see every text en.json gives the dialog, a wrong key's translated
error, create the entry, change the language in the options dialog; and reauthentication
from the attention card after the service stopped accepting the key.

Screenshots go to $QWEN_E2E_SCREENSHOTS (the README's come from there), else a temp dir.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from .browser import HassPage, chromium, hass_page
from .conftest import API_KEY, WRONG_KEY
from .entries import (
    add_qwen_entry,
    diagnostics,
    flows_in_progress,
    wait_for,
    wait_until_loaded,
)
from .flows import (
    DOMAIN,
    ENDPOINT_FIELD,
    KEY_FIELD,
    REGION_FIELD,
    abort_text,
    error_text,
    option_label,
    schema_fields,
    select_options,
    step_texts,
)
from .hass_env import PROJECT
from .hass_process import HassProcess
from .services import EmulatorProcess

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


def _home_names_switch(hass: HassProcess, entry_id: str) -> object:
    rest = hass.rest()
    form = rest.start_options_flow(entry_id)
    rest.request("DELETE", f"/api/config/config_entries/options/flow/{form['flow_id']}")
    (field,) = (f for f in form["data_schema"] if f["name"] == HOME_NAMES_FIELD)
    return (field.get("description") or {}).get("suggested_value")


def test_add_integration_and_options_in_the_browser(
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
        tab.wait_for_texts(_form_texts(user_form, "config", "user"))
        tab.screenshot(shots / f"add-integration-{hass_version}.png")

        _fill_account(tab, WRONG_KEY, live_emulator.url)
        tab.submit_button().click()
        tab.wait_for_texts([error_text("config", "invalid_auth")])
        tab.screenshot(shots / f"wrong-key-{hass_version}.png")

        _fill_account(tab, API_KEY, live_emulator.url)
        _untick_home_names(tab, user_form)
        tab.submit_button().click()
        entries = wait_for(lambda: hass.rest().entries(DOMAIN), what="the new entry")
        entry_id = str(entries[0]["entry_id"])
        try:
            # The setup step's choice is what the options dialog's switch shows.
            assert _home_names_switch(hass, entry_id) is False
            tab.page.get_by_role("button", name="Finish").click()
            _change_language_in_options(tab, hass, entry_id, shots / f"options-{hass_version}.png")
            _check_brand_icon(tab, hass_version)
        finally:
            hass.rest().delete_entry(entry_id)


def _change_language_in_options(
    tab: HassPage, hass: HassProcess, entry_id: str, shot: Path
) -> None:
    rest = hass.rest()
    form = rest.start_options_flow(entry_id)
    rest.request("DELETE", f"/api/config/config_entries/options/flow/{form['flow_id']}")
    # After adding, HA may already show the integration's page; else open it from its card.
    configure = tab.page.get_by_role("button", name="Configure")
    card = tab.page.get_by_text(NAME, exact=True)
    configure.or_(card).first.wait_for()
    if not configure.is_visible():
        card.first.click()
    configure.click()
    tab.wait_for_texts(_form_texts(form, "options", "init"))
    tab.screenshot(shot)
    language_label = step_texts("options", "init").labels["language"]
    tab.choose(language_label, option_label("language", NEW_LANGUAGE))
    tab.submit_button().click()
    wait_for(
        lambda: diagnostics(hass, entry_id)["options"]["language"] == NEW_LANGUAGE,
        what="the language option saved",
    )


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
            tab.wait_for_texts(
                [
                    texts.title,
                    texts.description,
                    texts.labels[KEY_FIELD],
                    *texts.descriptions.values(),
                ]
            )
            tab.screenshot(shots / f"reauth-{hass_version}.png")
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
