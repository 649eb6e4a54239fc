"""Grafana over its HTTP API (grafana-client): push the dashboards and the Prometheus datasource,
and annotate runs and faults.

Grafana runs only with Docker (compose); where none answers at `CQRS_GRAFANA_URL`, every call
raises `GrafanaUnavailable`, whose message names that setting. grafana-client calls are blocking
(requests): from async code, call them through `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from bench.export import dashboards
from bench.export.panels import DATASOURCE_UID, FAULT_TAG, RUN_TAG, TAG
from system.config import Settings

TIMEOUT_S = 5.0
FOLDER_UID = "cqrs-bench"
FOLDER_TITLE = "cqrs-bench"
DATASOURCE_NAME = "Prometheus"
RUN_TAGS: tuple[str, ...] = (TAG, RUN_TAG)
"""Tags of a run's annotation (add the run id)."""
FAULT_TAGS: tuple[str, ...] = (TAG, FAULT_TAG)
"""Tags of a fault's annotation (add the service and the action)."""


class GrafanaUnavailable(RuntimeError):
    """No Grafana answers at the configured URL (or it refused our credentials)."""


@dataclass(frozen=True)
class Pushed:
    """What `push` did with one object: `created`/`updated`, or `kept` (provisioned: read-only)."""

    kind: str
    uid: str
    outcome: str


def _credential(settings: Settings) -> str | tuple[str, str]:
    if settings.grafana_token:
        return settings.grafana_token
    return (settings.grafana_user, settings.grafana_password)


def connect(settings: Settings) -> GrafanaApi:
    """A client for `settings.grafana_url`, after proving a Grafana answers there."""
    url = settings.grafana_url
    api = GrafanaApi.from_url(url, credential=_credential(settings), timeout=TIMEOUT_S)
    try:
        health = api.health.check()
    except requests.RequestException as exc:
        raise GrafanaUnavailable(
            f"no Grafana answers at {url} (CQRS_GRAFANA_URL): {type(exc).__name__}."
            " Grafana runs only with Docker here (`docker compose up grafana`);"
            " set CQRS_GRAFANA_URL to a running Grafana."
        ) from exc
    except GrafanaException as exc:
        raise GrafanaUnavailable(
            f"{url} (CQRS_GRAFANA_URL) is not a Grafana: GET /api/health answered {exc.status_code}"
        ) from exc
    if not isinstance(health, dict) or "version" not in health:
        raise GrafanaUnavailable(
            f"{url} (CQRS_GRAFANA_URL) is not a Grafana: /api/health answered {health!r:.80}"
        )
    return api


def _call(url: str, what: str, call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except requests.RequestException as exc:
        raise GrafanaUnavailable(f"Grafana at {url} (CQRS_GRAFANA_URL) went away: {exc}") from exc
    except GrafanaClientError as exc:
        if exc.status_code in (401, 403):
            raise GrafanaUnavailable(
                f"Grafana at {url} refused {what} ({exc.status_code}): set CQRS_GRAFANA_TOKEN,"
                " or CQRS_GRAFANA_USER and CQRS_GRAFANA_PASSWORD"
            ) from exc
        raise


def _existing(api: GrafanaApi, url: str, getter: Any, uid: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = _call(url, f"reading {uid}", getter, uid)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise
    return found


def datasource(prometheus_url: str) -> dict[str, Any]:
    """The Prometheus datasource the dashboards refer to (uid `prometheus`)."""
    return {
        "name": DATASOURCE_NAME,
        "uid": DATASOURCE_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": prometheus_url,
        "isDefault": True,
        "jsonData": {"timeInterval": "1s"},
    }


def push(settings: Settings, prometheus_url: str | None = None) -> list[Pushed]:
    """Create or update the Prometheus datasource and every generated dashboard (in folder
    `cqrs-bench`). Objects provisioned from files (compose) are read-only and kept as they are.

    `prometheus_url` is Prometheus as Grafana reaches it (default: `settings.prometheus_url`).
    """
    api, url = connect(settings), settings.grafana_url
    done: list[Pushed] = []
    source = datasource(prometheus_url or settings.prometheus_url)
    current = _existing(api, url, api.datasource.get_datasource_by_uid, DATASOURCE_UID)
    if current is None:
        _call(url, "creating the datasource", api.datasource.create_datasource, source)
        done.append(Pushed("datasource", DATASOURCE_UID, "created"))
    elif current.get("readOnly"):
        done.append(Pushed("datasource", DATASOURCE_UID, "kept"))
    else:
        update = api.datasource.update_datasource_by_uid
        _call(url, "updating the datasource", update, DATASOURCE_UID, source)
        done.append(Pushed("datasource", DATASOURCE_UID, "updated"))
    if _existing(api, url, api.folder.get_folder, FOLDER_UID) is None:
        _call(url, "creating a folder", api.folder.create_folder, FOLDER_TITLE, FOLDER_UID)
    for name, model in dashboards.generated().items():
        uid = str(model["uid"])
        found = _existing(api, url, api.dashboard.get_dashboard, uid)
        if found is not None and found.get("meta", {}).get("provisioned"):
            done.append(Pushed("dashboard", uid, "kept"))
            continue
        body = {"dashboard": model, "folderUid": FOLDER_UID, "overwrite": True}
        _call(url, f"saving {name}", api.dashboard.update_dashboard, body)
        done.append(Pushed("dashboard", uid, "created" if found is None else "updated"))
    return done


def _ms(moment: datetime | float) -> int:
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return round(seconds * 1000)


def annotate(
    settings: Settings,
    text: str,
    tags: list[str],
    start: datetime | float,
    end: datetime | float | None = None,
) -> int:
    """Post an organisation-wide annotation (a region when `end` is given) and return its id.

    Times are aware datetimes or Unix seconds. Tags always include `cqrs-bench`; tag runs with
    `run` and faults with `fault` (plus e.g. the run id or the service): the dashboards'
    "Runs" and "Faults" annotation queries select those. Raises GrafanaUnavailable when no
    Grafana answers at CQRS_GRAFANA_URL; a load run calls it only when that URL is set.
    """
    api = connect(settings)
    every = [TAG, *(t for t in tags if t != TAG)]
    answer = _call(
        settings.grafana_url,
        "an annotation",
        lambda: api.annotations.add_annotation(
            time_from=_ms(start),
            time_to=_ms(end) if end is not None else None,
            tags=every,
            text=text,
        ),
    )
    return int(answer["id"])
