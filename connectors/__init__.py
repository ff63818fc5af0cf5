"""Connectors: one module per platform protocol, each turning answers into canonical frames.

Each implements ``cockpit.source.Connector`` and imports only the core; the core's
connector table names them, so no other floor imports a connector directly. No connector
imports Dash.
"""
