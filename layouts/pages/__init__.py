"""Dash pages: each a layout plus its callbacks."""
