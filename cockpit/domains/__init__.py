"""The domain registry: every domain of the city, each declared once in its own module.

The built-in domains (traffic, air, parking, pedestrians) are registered when this
package is imported; a city adds its own by naming modules in its config's
``domains = ["mycity.bikes"]`` (see ``cockpit.domains.registry``). Four more ship here and
are named the same way by the cities that have their data, so a city without them shows
no empty cards: ``cockpit.domains.bike_share``, ``cockpit.domains.cycling``,
``cockpit.domains.weather`` and ``cockpit.domains.noise``.
"""

from __future__ import annotations

from cockpit.domains import air, parking, pedestrians, traffic
from cockpit.domains.registry import (
    AGGREGATIONS,
    Aggregation,
    Domain,
    KpiSpec,
    MapRule,
    PhoneSummary,
    SlideSpec,
    all_domains,
    domain_names,
    domain_of_kpi,
    get,
    kpi_names,
    kpi_spec,
    load_domain_module,
    load_domain_modules,
    register,
    translation,
    unregister,
)

__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "Domain",
    "KpiSpec",
    "MapRule",
    "PhoneSummary",
    "SlideSpec",
    "all_domains",
    "domain_names",
    "domain_of_kpi",
    "get",
    "kpi_names",
    "kpi_spec",
    "load_domain_module",
    "load_domain_modules",
    "register",
    "translation",
    "unregister",
]

# Registration order is the order of the cockpit's KPI cards and the phone view's lines.
for _builtin in (traffic, air, parking, pedestrians):
    register(_builtin.DOMAIN)
