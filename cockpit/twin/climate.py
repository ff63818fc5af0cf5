"""Climate KPI: an estimate of road traffic's CO₂ per day from the vehicle counts.

Counting sites measure vehicles, not emissions. The estimate multiplies the vehicles
counted in a day by an assumed distance each counted vehicle drives in the city and an
emission factor in grams of CO₂ per vehicle-kilometre, both stated in the city config
(``[twin] km_per_counted_vehicle`` and ``co2_g_per_vehicle_km``, with ``co2_source``
saying where the factor comes from). Everything returned here says it is an estimate and
carries the sentence explaining how it was made.

Vehicles counted at a site in an hour are its mean flow in that hour (veh/h over one
hour); a day's count is the sum over the hours with a count, so hours without data add
nothing (the ``hours`` field says how many site-hours were counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from cockpit.config import TwinConfig
from cockpit.twin.kpi import Kpi

__all__ = ["Co2Estimate", "Co2Factors", "co2_kpi", "co2_per_day", "vehicles_per_day"]


@dataclass(frozen=True)
class Co2Factors:
    """The assumptions of the estimate, from the city config."""

    g_per_vehicle_km: float
    km_per_vehicle: float
    source: str = ""

    @classmethod
    def from_config(cls, twin: TwinConfig) -> Co2Factors:
        return cls(twin.co2_g_per_vehicle_km, twin.km_per_counted_vehicle, twin.co2_source)

    @property
    def explanation(self) -> str:
        text = (
            f"Estimate, not a measurement: vehicles counted × {self.km_per_vehicle:g} km "
            f"assumed per counted vehicle × {self.g_per_vehicle_km:g} g CO₂ per vehicle-km."
        )
        return f"{text} Emission factor: {self.source}." if self.source else text


@dataclass(frozen=True)
class Co2Estimate:
    """Estimated road-traffic CO₂ of one day (the city's calendar day). Always an estimate."""

    day: date
    vehicles: float
    vehicle_km: float
    tonnes: float
    sites: int
    hours: int  # site-hours with a count
    factors: Co2Factors
    is_estimate: bool = True
    label: str = "Estimated road-traffic CO₂"

    @property
    def explanation(self) -> str:
        return (
            f"{self.vehicles:,.0f} vehicles counted at {self.sites} sites on {self.day:%Y-%m-%d}"
            f" × {self.factors.km_per_vehicle:g} km × {self.factors.g_per_vehicle_km:g} g/km"
            f" ≈ {self.tonnes:,.1f} t CO₂. {self.factors.explanation}"
        )


def vehicles_per_day(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Vehicles counted per site and city day from ``vehicle_flow`` observations.

    Columns: day (date), site_id, vehicles, hours (hours with a count).
    """
    flow = frame[frame["metric"] == "vehicle_flow"]
    if flow.empty:
        return pd.DataFrame(columns=["day", "site_id", "vehicles", "hours"])
    local = pd.DatetimeIndex(flow["time"]).tz_convert(timezone)
    keyed = pd.DataFrame(
        {
            "site_id": flow["site_id"].astype(str).to_numpy(),
            "hour": local.floor("h", ambiguous="NaT", nonexistent="shift_forward"),
            "day": local.date,
            "value": flow["value"].astype(float).to_numpy(),
        }
    ).dropna(subset=["hour"])
    per_hour = keyed.groupby(["day", "site_id", "hour"])["value"].mean()
    per_day = per_hour.groupby(level=["day", "site_id"]).agg(["sum", "count"])
    per_day = per_day.rename(columns={"sum": "vehicles", "count": "hours"}).reset_index()
    return per_day[["day", "site_id", "vehicles", "hours"]]


def co2_per_day(frame: pd.DataFrame, timezone: str, factors: Co2Factors) -> list[Co2Estimate]:
    """The estimated road-traffic CO₂ of each city day in ``frame``, oldest first."""
    counts = vehicles_per_day(frame, timezone)
    out = []
    for day, group in counts.groupby("day", sort=True):
        vehicles = float(group["vehicles"].sum())
        vkm = vehicles * factors.km_per_vehicle
        out.append(
            Co2Estimate(
                day=day,  # type: ignore[arg-type]
                vehicles=vehicles,
                vehicle_km=vkm,
                tonnes=vkm * factors.g_per_vehicle_km / 1e6,
                sites=int(group["site_id"].nunique()),
                hours=int(group["hours"].sum()),
                factors=factors,
            )
        )
    return out


def co2_kpi(estimate: Co2Estimate | None) -> Kpi:
    """A KPI card's figure for one day's estimate, labelled as an estimate."""
    title = "Road-traffic CO₂ (estimate)"
    if estimate is None:
        return Kpi("co2", title, None, "t/day", "–", "none", "no data", "No vehicle counts.")
    return Kpi(
        "co2",
        title,
        estimate.tonnes,
        "t/day",
        f"≈ {estimate.tonnes:,.1f}",
        "none",
        "estimate",
        estimate.explanation,
    )
