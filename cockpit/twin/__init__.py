"""The twin: what the city's data means (KPIs, baselines, anomalies, forecasts, alerts)."""
