"""Connectors: one module per platform protocol, each turning answers into canonical frames.

A source in the city config names its connector by the keys below; ``build_connector``
imports only the module it needs. No connector imports Dash.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import Connector, SourceContext

__all__ = ["build_connector", "known_connectors"]

_REGISTRY: dict[str, str] = {
    "melbourne-replay": "connectors.replay:MelbourneReplay",
    "sensorthings": "connectors.sensorthings:SensorThingsConnector",
    "ngsi-ld": "connectors.ngsi:NgsiLdConnector",
    "ngsi-v2": "connectors.ngsi:NgsiV2Connector",
    "opendatasoft": "connectors.opendatasoft:OpenDataSoftConnector",
    "ckan": "connectors.ckan:CkanConnector",
}


def known_connectors() -> frozenset[str]:
    """Names a source's ``connector`` key may take."""
    return frozenset(_REGISTRY)


def build_connector(context: SourceContext) -> Connector:
    """Create the connector a source's config names; raises ``KeyError`` for an unknown one."""
    module_name, class_name = _REGISTRY[context.config.connector].split(":")
    cls = getattr(import_module(module_name), class_name)
    connector: Connector = cls(context)
    return connector
