"""Home Assistant's REST API as a user's browser or app reaches it: onboarding, tokens, the
config-entry flow API. Standard library only (blocking; every request has a timeout)."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 30.0


class HassHttpError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Owner:
    """The onboarded owner: login for the browser, tokens for the APIs."""

    name: str
    username: str
    password: str
    client_id: str
    access_token: str
    refresh_token: str
    token: str  # a long-lived access token (what add-ons and other services are given)


class HassRest:
    """JSON over HTTP to one HA instance, optionally with a bearer token."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        form: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                status, raw = resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read().decode(errors="replace")
        if status not in expect:
            raise HassHttpError(method, path, status, raw)
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def is_serving(self) -> bool:
        """True once HA's HTTP server answers (before or after onboarding)."""
        try:
            self.request("GET", "/manifest.json")
        except HassHttpError:
            return False
        return True

    # -- config entry flows (what the frontend's dialogs call) ---------------------------

    def start_flow(self, handler: str, **context: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"handler": handler, "show_advanced_options": False}
        if context:
            body.update(context)
        result: dict[str, Any] = self.post("/api/config/config_entries/flow", body)
        return result

    def flow_step(self, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/api/config/config_entries/flow/{flow_id}", user_input)
        return result

    def flow(self, flow_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/config/config_entries/flow/{flow_id}")
        return result

    def abort_flow(self, flow_id: str) -> None:
        self.request("DELETE", f"/api/config/config_entries/flow/{flow_id}")

    def start_options_flow(self, entry_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        return result

    def options_step(self, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            f"/api/config/config_entries/options/flow/{flow_id}", user_input
        )
        return result

    def start_subentry_flow(
        self, entry_id: str, subentry_type: str, subentry_id: str | None = None
    ) -> dict[str, Any]:
        """Add a subentry of this type; with ``subentry_id``, reconfigure that one."""
        body: dict[str, Any] = {"handler": [entry_id, subentry_type]}
        if subentry_id is not None:
            body["subentry_id"] = subentry_id
        result: dict[str, Any] = self.post("/api/config/config_entries/subentries/flow", body)
        return result

    def subentry_step(self, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            f"/api/config/config_entries/subentries/flow/{flow_id}", user_input
        )
        return result

    def abort_subentry_flow(self, flow_id: str) -> None:
        self.request("DELETE", f"/api/config/config_entries/subentries/flow/{flow_id}")

    def entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        query = f"?domain={domain}" if domain else ""
        result: list[dict[str, Any]] = self.get(f"/api/config/config_entries/entry{query}")
        return result

    def delete_entry(self, entry_id: str) -> None:
        self.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")

    def states(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/api/states")
        return result

    def state(self, entity_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/states/{entity_id}")
        return result


def onboard(url: str, *, name: str = "E2E Owner", language: str = "en") -> Owner:
    """Run onboarding's user, analytics and integration steps through the REST API.

    core_config must already be marked done (see HassProcess), so nothing reaches the internet.
    """
    rest = HassRest(url)
    client_id = f"{rest.url}/"
    username, password = "owner", secrets.token_urlsafe(12)
    user = rest.post(
        "/api/onboarding/users",
        {
            "client_id": client_id,
            "name": name,
            "username": username,
            "password": password,
            "language": language,
        },
    )
    tokens = rest.request(
        "POST",
        "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": user["auth_code"],
            "client_id": client_id,
        },
    )
    authed = HassRest(url, tokens["access_token"])
    authed.post("/api/onboarding/analytics")
    authed.post(
        "/api/onboarding/integration",
        {"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
    )
    remaining = [s for s in rest.get("/api/onboarding") if not s["done"]]
    if remaining:
        raise RuntimeError(f"onboarding steps left: {remaining}")
    # Imported here: the websocket helper needs the ``websockets`` package, the rest does not.
    from .hass_ws import create_long_lived_token  # noqa: PLC0415

    token = create_long_lived_token(url, tokens["access_token"])
    return Owner(
        name=name,
        username=username,
        password=password,
        client_id=client_id,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token=token,
    )
