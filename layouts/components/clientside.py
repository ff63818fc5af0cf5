"""Names of City Cockpit's browser functions.

Every function the pages run in the browser lives in ``assets/`` under one namespace,
``window.dash_clientside.cockpit`` (see ``assets/cockpit.js``): clientside callbacks are
named with :func:`clientside`, dash-leaflet's map functions with :func:`js_function`.
"""

from __future__ import annotations

from dash import ClientsideFunction

__all__ = ["NAMESPACE", "clientside", "js_function"]

NAMESPACE = "cockpit"


def clientside(function_name: str) -> ClientsideFunction:
    """The clientside callback ``function_name`` of the cockpit namespace."""
    return ClientsideFunction(namespace=NAMESPACE, function_name=function_name)


def js_function(function_name: str) -> dict[str, str]:
    """A map option naming the browser function ``function_name`` (dash-leaflet resolves
    ``{"variable": "a.b.c"}`` from ``window``)."""
    return {"variable": f"dash_clientside.{NAMESPACE}.{function_name}"}
