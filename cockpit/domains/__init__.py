"""The domain registry: every domain of the city, each declared once in its own module.

The built-in domains (traffic, air, parking, pedestrians) are registered when this
package is imported; a city adds its own by naming modules in its config's
``domains = ["mycity.bikes"]`` (see ``cockpit.domains.registry``). Four more ship here and
are named the same way by the cities that have their data, so a city without them shows
no empty cards: ``cockpit.domains.bike_share``, ``cockpit.domains.cycling``,
``cockpit.domains.weather`` and ``cockpit.domains.noise``.
"""

from __future__ import annotations

from cockpit.domains import air, parking, pedestrians, registry, traffic
from cockpit.domains.registry import *  # noqa: F403  (the registry's names are the package's)

__all__ = list(registry.__all__)

# Registration order is the order of the cockpit's KPI cards and the phone view's lines.
for _builtin in (traffic, air, parking, pedestrians):
    registry.register(_builtin.DOMAIN)
