"""City Cockpit core: config, canonical data, store, refresh and KPIs (no Dash imports here)."""

__version__ = "0.1.0"
