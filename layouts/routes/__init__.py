"""Flask blueprints: JSON API, downloads, map data, sign-in, security, audit."""
