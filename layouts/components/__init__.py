"""Dash components the pages share."""
