"""Accessibility checks in a real browser with axe-core (vendored from the npm registry).

``assert_accessible(driver)`` injects ``tests/vendor/axe-core/axe.min.js`` into the page the
driver shows, runs axe on the whole document (``<html>`` and its ``lang`` included) or on
``context`` (a CSS selector) and fails when any violation of impact
"serious" or "critical" is found, listing each rule, its help text and the offending nodes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

# Runs axe asynchronously; Selenium passes the callback as the last argument.
_RUN = """
const context = arguments[0] === null ? document : arguments[0];
const done = arguments[arguments.length - 1];
axe.run(context, {resultTypes: ['violations']})
  .then(r => done({ok: true, violations: r.violations}))
  .catch(e => done({ok: false, error: String(e)}));
"""


class AxeError(RuntimeError):
    """axe-core could not be loaded or could not run on the page."""


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def _context(context: str | None, exclude: tuple[str, ...]) -> Any:
    if not exclude:
        return context
    return {"include": [[context or "html"]], "exclude": [[e] for e in exclude]}


def axe_violations(
    driver: Any, context: str | None = None, exclude: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """All axe-core violations on ``context`` (None: the whole document) of the page
    ``driver`` shows, leaving out the parts matching the ``exclude`` selectors."""
    if not driver.execute_script("return typeof window.axe !== 'undefined';"):
        driver.execute_script(_axe_source())
    previous = driver.timeouts.script
    driver.set_script_timeout(60)
    try:
        result = driver.execute_async_script(_RUN, _context(context, exclude))
    finally:
        driver.set_script_timeout(previous)
    if not result or not result.get("ok"):
        raise AxeError(f"axe-core failed on {context!r}: {result and result.get('error')}")
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable list of violations: rule, impact, help and up to five nodes each."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v.get('help')} [{v.get('helpUrl')}]")
        for node in v.get("nodes", [])[:5]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}: {summary}")
        if len(v.get("nodes", [])) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_accessible(
    driver: Any, context: str | None = None, exclude: tuple[str, ...] = ()
) -> None:
    """Fail when axe-core finds a serious or critical violation in ``context`` (None: the
    whole document; less the parts matching ``exclude``); the message lists each rule and
    the offending nodes."""
    found = axe_violations(driver, context, exclude)
    blocking = [v for v in found if v.get("impact") in BLOCKING]
    assert not blocking, (
        f"{len(blocking)} serious/critical accessibility violation(s) in {context!r}:\n"
        + describe(blocking)
    )
