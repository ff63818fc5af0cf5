"""What staff did about an alert: acknowledged (with a note), assigned to a colleague,
resolved, and each step undoable.

An alert's handling is the list of its steps, oldest first; its status is what the last
step made it. The journal keeps one acknowledgement record per alert (who acted last,
when, and a note), so the steps travel in that record's note as JSON (``encode`` /
``decode``); a plain-text note written before steps existed reads as one acknowledgement
with that note. Undoing removes the last step, so undoing every step leaves the alert
open again. Everything here is pure: the page writes what ``apply`` or ``undo`` returns.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from cockpit.storage import Acknowledgement

__all__ = [
    "ACTIONS",
    "Action",
    "Handling",
    "HandlingError",
    "Step",
    "apply",
    "decode",
    "encode",
    "handling",
    "undo",
]

Action = Literal["acknowledge", "assign", "resolve"]
ACTIONS: tuple[Action, ...] = ("acknowledge", "assign", "resolve")
Status = Literal["open", "acknowledged", "assigned", "resolved"]
_STATUS: dict[str, Status] = {
    "acknowledge": "acknowledged",
    "assign": "assigned",
    "resolve": "resolved",
}
NOTE_CHARS = 500  # a note longer than this is cut


class HandlingError(ValueError):
    """A step that cannot be taken: what was asked and why not."""


@dataclass(frozen=True)
class Step:
    """One thing a person did about an alert."""

    action: Action
    user: str
    time: datetime
    note: str = ""
    assignee: str = ""  # for "assign": the colleague's user name


@dataclass(frozen=True)
class Handling:
    """An alert's steps, oldest first, and what they make of it."""

    steps: tuple[Step, ...] = ()

    @property
    def status(self) -> Status:
        return _STATUS[self.steps[-1].action] if self.steps else "open"

    @property
    def last(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    @property
    def assignee(self) -> str:
        """Who the alert is assigned to now ("" when nobody)."""
        for step in reversed(self.steps):
            if step.action == "assign":
                return step.assignee
        return ""

    @property
    def note(self) -> str:
        """The newest note written ("" when none)."""
        return next((s.note for s in reversed(self.steps) if s.note), "")


def apply(current: Handling, step: Step, colleagues: set[str]) -> Handling:
    """``current`` with ``step`` taken. Raises HandlingError for an assignment to someone
    not in ``colleagues``, for any step on a resolved alert, and for an empty
    acknowledgement of an alert already acknowledged by the same person."""
    if current.status == "resolved":
        raise HandlingError("the alert is resolved; undo the resolution first")
    if step.action == "assign" and step.assignee not in colleagues:
        raise HandlingError(f"cannot assign to {step.assignee!r}: not a colleague")
    last = current.last
    if (
        step.action == "acknowledge"
        and last is not None
        and last.action == "acknowledge"
        and last.user == step.user
        and not step.note.strip()
    ):
        raise HandlingError("already acknowledged")
    clean = Step(step.action, step.user, step.time, step.note.strip()[:NOTE_CHARS], step.assignee)
    return Handling((*current.steps, clean))


def undo(current: Handling) -> Handling:
    """``current`` without its last step. Raises HandlingError when there is none."""
    if not current.steps:
        raise HandlingError("nothing to undo")
    return Handling(current.steps[:-1])


def encode(current: Handling) -> str:
    """The steps as the journal's note (JSON)."""
    steps = [{**asdict(s), "time": s.time.astimezone(UTC).isoformat()} for s in current.steps]
    return json.dumps({"steps": steps}, ensure_ascii=False, separators=(",", ":"))


def decode(ack: Acknowledgement | None) -> Handling:
    """The handling kept in an acknowledgement record (none: an open alert). A note that
    is not the steps' JSON is an acknowledgement with that note."""
    if ack is None:
        return Handling()
    try:
        data = json.loads(ack.note) if ack.note.startswith("{") else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return Handling((Step("acknowledge", ack.user, ack.time, ack.note),))
    steps = []
    for raw in data["steps"]:
        if not isinstance(raw, dict) or raw.get("action") not in ACTIONS:
            continue
        steps.append(
            Step(
                cast(Action, raw["action"]),
                str(raw.get("user", "")),
                datetime.fromisoformat(str(raw.get("time"))),
                str(raw.get("note", "")),
                str(raw.get("assignee", "")),
            )
        )
    return Handling(tuple(steps))


def handling(acks: dict[str, Acknowledgement], key: str) -> Handling:
    """The handling of alert ``key`` from the journal's acknowledgements."""
    return decode(acks.get(key))
