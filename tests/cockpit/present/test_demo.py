"""A source's origin in the viewer's language, and how many of a domain's places are
simulated."""

from __future__ import annotations

import pytest

from cockpit.present.demo import origin_text


@pytest.mark.parametrize(
    ("origin", "language", "expected"),
    [
        ("May 2025, replayed", "en", "May 2025, replayed"),
        ("May 2025, replayed", "de", "Mai 2025, wiedergegeben"),
        ("2024, replayed; 10 sites simulated", "en", "2024, replayed; 10 places simulated"),
        ("2024, replayed; 10 sites simulated", "de", "2024, wiedergegeben; 10 Orte simuliert"),
        ("replayed", "de", "wiedergegeben"),
        ("simulated", "de", "simuliert"),
        (
            "simulated (from a 2025 status snapshot)",
            "de",
            "simuliert (nach einer Momentaufnahme von 2025)",
        ),
        ("October 2006, replayed", "de", "Oktober 2006, wiedergegeben"),
        ("measured", "de", "gemessen"),
        ("from a partner feed", "de", "from a partner feed"),  # another shape stays as it is
    ],
)
def test_origins_in_the_viewer_language(origin: str, language: str, expected: str) -> None:
    assert origin_text(origin, language) == expected
