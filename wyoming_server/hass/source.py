"""Keeps the home's names current: load, follow registry changes, reconnect with backoff.

Requests never wait for Home Assistant: they use the names loaded last (none until the
first load). A failure is logged once per outage, with what to check; the connection
is then retried with a growing delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from qwen_asr_realtime import format_home_names, trim_context

from .connection import (
    SUPERVISOR_CORE_PATH,
    HassAuthError,
    HassConfig,
    HassConnection,
    HassError,
)
from .names import read_home_names

_LOGGER = logging.getLogger(__name__)

# Registry changes that can change the names (exposure settings live in the entity
# registry's options, so exposing or hiding an entity is an entity registry update).
WATCHED_EVENTS = (
    "entity_registry_updated",
    "area_registry_updated",
    "floor_registry_updated",
)
RETRY_DELAYS_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # then every 60 s
DEBOUNCE_SECONDS = 0.3  # one reload for a burst of registry events
# Friendly names of entities without a registry entry change without any registry event.
REFRESH_SECONDS = 600.0


class HomeNamesSource:
    """Keep the context text of Home Assistant's names current; ``text`` is "" until loaded."""

    def __init__(
        self,
        config: HassConfig,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        """Read from ``config``; retry after a failure with ``retry_delays`` (the last repeats).

        ``refresh_seconds``: the names are reloaded this often even without a registry event.
        """
        self._config = config
        self._retry_delays = retry_delays
        self._refresh_seconds = refresh_seconds
        self._text = ""
        self._task: asyncio.Task[None] | None = None
        self.loads = 0  # successful loads, for tests and diagnostics
        self.loaded = asyncio.Event()
        self.ha_version: str | None = None

    def __repr__(self) -> str:
        """Show the URL and the number of loads, never the token."""
        return f"<HomeNamesSource url={self._config.url!r} loads={self.loads}>"

    @property
    def text(self) -> str:
        """The context text of the names loaded last ("" before the first load)."""
        return self._text

    def __call__(self) -> str:
        """Return the current context text; the settings call this for each request."""
        return self._text

    def start(self) -> None:
        """Start loading and following the names in the background; once only."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="home-names")

    async def stop(self) -> None:
        """Stop following Home Assistant and wait until the background task has ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                async with HassConnection(self._config) as hass:
                    self.ha_version = hass.ha_version
                    for event_type in WATCHED_EVENTS:
                        await hass.subscribe(event_type)
                    await self._load(hass)
                    if failures:
                        _LOGGER.info("Home Assistant reachable again; home names loaded")
                    failures = 0
                    await self._follow(hass)
            except HassError as err:
                delay = self._retry_delays[min(failures, len(self._retry_delays) - 1)]
                self._log_failure(err, failures, delay)
                failures += 1
                await asyncio.sleep(delay)

    def _log_failure(self, err: HassError, failures: int, delay: float) -> None:
        if isinstance(err, HassAuthError):
            self._text = ""  # a revoked token must not keep serving the home's names
        if failures:
            _LOGGER.debug("Home Assistant still unavailable (%s); next try in %g s", err, delay)
            return
        what = (
            "check --hass-token (a long-lived access token of an administrator)"
            if isinstance(err, HassAuthError)
            else "check --hass-url and that Home Assistant is running"
        )
        if urlsplit(self._config.url).path == SUPERVISOR_CORE_PATH:
            # An add-on: no options of its own to check, but its access to Home Assistant.
            what = "check that the add-on has Home Assistant API access (homeassistant_api)"
        names = "keeping the names loaded before" if self._text else "without home names"
        _LOGGER.warning(
            "Home Assistant names unavailable: %s; %s. Transcribing %s; retrying with backoff",
            err,
            what,
            names,
        )

    async def _load(self, hass: HassConnection) -> None:
        text = trim_context(format_home_names(await read_home_names(hass)))
        if text != self._text or not self.loads:
            _LOGGER.info("Home names from Home Assistant: %d lines", text.count("\n") + bool(text))
        self._text = text
        self.loads += 1
        self.loaded.set()

    async def _follow(self, hass: HassConnection) -> None:
        """Reload after registry changes (debounced) and every ``refresh_seconds``."""
        while True:
            try:
                async with asyncio.timeout(self._refresh_seconds):
                    event = await hass.next_event()
                _LOGGER.debug("Home Assistant %s: reloading names", event.get("event_type"))
                await self._drain(hass)
            except TimeoutError:
                pass
            await self._load(hass)

    async def _drain(self, hass: HassConnection) -> None:
        """Let a burst of registry events pass before reloading once."""
        while True:
            try:
                async with asyncio.timeout(DEBOUNCE_SECONDS):
                    await hass.next_event()
            except TimeoutError:
                return
