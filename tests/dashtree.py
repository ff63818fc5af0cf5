"""Reading a Dash component tree in tests: its text, its components, one by id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["by_id", "components", "text_of"]


def text_of(component: Any) -> str:
    """All text in a Dash component tree, in order."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def components(node: Any) -> Iterator[Any]:
    """Every component in the tree under ``node`` (itself first), depth first."""
    if isinstance(node, list | tuple):
        for child in node:
            yield from components(child)
        return
    if node is None or isinstance(node, str | int | float):
        return
    yield node
    yield from components(getattr(node, "children", None))


def by_id(node: Any, component_id: str) -> Any:
    """The component with ``id == component_id`` under ``node``; KeyError when none."""
    for found in components(node):
        if getattr(found, "id", None) == component_id:
            return found
    raise KeyError(component_id)
