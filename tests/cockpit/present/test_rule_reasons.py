"""Why a rule is refused, in the form's words and the viewer's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from cockpit.errors import WordedError
from cockpit.present.i18n import translator
from cockpit.present.rule_reasons import (
    CONDITIONS,
    FIELD_LABELS,
    FORM_WORDING,
    as_worded,
    reason_in_words,
)

PAGE = Path(__file__).resolve().parents[3] / "layouts/pages/rules.py"


def test_every_reason_and_condition_has_german_and_fields_are_the_forms_labels() -> None:
    page = PAGE.read_text(encoding="utf-8")
    german = translator("de", "cockpit")
    for label in FIELD_LABELS.values():
        assert f'_("{label}")' in page, label  # named as the form names it
    for text in [*FORM_WORDING.values(), *CONDITIONS.values()]:
        assert german(text) != text, f"no German for {text!r}"


class Sample(BaseModel):
    when: int
    limit: float


def test_a_check_without_its_own_wording_still_names_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        Sample.model_validate({"when": "soon", "limit": 1})
    worded = as_worded(refused.value)
    assert worded.values["field"] == "when"
    assert reason_in_words(refused.value, translator("en", "cockpit")) == (
        "“Alert when” is not valid."
    )
    assert reason_in_words(refused.value, translator("de", "cockpit")).startswith("„")


def test_a_worded_error_reads_as_english_and_anything_else_as_itself() -> None:
    error = WordedError("no rule '{rule}'", rule="ring")
    assert str(error) == "no rule 'ring'"
    assert reason_in_words(error, translator("de", "cockpit")) == "Es gibt keine Regel „ring“."
    assert reason_in_words(ValueError("plain"), translator("de", "cockpit")) == "plain"
