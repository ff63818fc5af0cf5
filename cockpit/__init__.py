"""City Cockpit core: config, canonical data, store, refresh and KPIs (no Dash imports here)."""

__version__ = "0.1.0"

# The built-in domains register their metrics in ``cockpit.model`` on import.
from cockpit import domains as _domains  # noqa: F401
