"""Errors raised by the directory package.

Library code raises these; only ``web/`` turns them into HTTP statuses or exit codes.
Each problem in an input file is a :class:`Problem` so an importer can collect *all* of
them before refusing the file, and print each as ``FILE:ROW:COLUMN: reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.i18n import translate
from directory.messages import message


class DirectoryError(Exception):
    """Base class for errors raised by the directory package."""


@dataclass(frozen=True)
class Problem:
    """One error or warning about one place in an input file.

    ``row`` is the line number with the header as line 1 (``None`` for files without rows,
    such as GeoJSON, which name a ``feature`` instead: its index and, when known, its code).
    ``code`` selects the message in :mod:`directory.messages`; ``params`` fill it in.
    """

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    row: int | None = None
    column: str | None = None
    feature: str | None = None

    def reason(self, lang: str = "ja") -> str:
        return message(self.code, lang, **self.params)

    def location(self, path: str) -> str:
        where = self.feature if self.row is None else self.row
        parts = [path]
        if where is not None:
            parts.append(str(where))
        if self.column:
            parts.append(self.column)
        return ":".join(parts)

    def format(self, path: str, lang: str = "ja") -> str:
        return f"{self.location(path)}: {self.reason(lang)}"

    def as_json(self, lang: str = "ja") -> dict[str, Any]:
        return {
            "row": self.row,
            "feature": self.feature,
            "column": self.column,
            "code": self.code,
            "reason": self.reason(lang),
        }


class InvalidInputError(DirectoryError, ValueError):
    """An input file (or form) has problems; nothing was written.

    Carries every problem found, not just the first, so the user can fix them all at once.
    """

    def __init__(self, path: str, problems: list[Problem], warnings: list[Problem] | None = None):
        self.path = path
        self.problems = problems
        self.warnings = warnings or []
        super().__init__(self.describe("en"))

    def describe(self, lang: str = "ja") -> str:
        return "\n".join(p.format(self.path, lang) for p in self.problems)


class UnknownCategoryError(DirectoryError, ValueError):
    """A category label, synonym or code that the taxonomy does not know."""

    def __init__(self, text: str, suggestions: list[str] | None = None):
        self.text = text
        self.suggestions = suggestions or []
        super().__init__(self.reason("en"))

    def reason(self, lang: str = "ja") -> str:
        if self.suggestions:
            return message(
                "unknown_category_suggest",
                lang,
                value=self.text,
                suggestions=translate(", ", lang).join(self.suggestions),
            )
        return message("unknown_category", lang, value=self.text)


class ConcurrentEditError(DirectoryError):
    """Someone else saved the same record first; nothing was overwritten."""


class DatabaseProblem(DirectoryError):
    """A database error told in plain words; nothing was written.

    Raised (``from None``) in place of SQLAlchemy's and the driver's exceptions, whose
    text can carry SQL parameters or, on PostgreSQL, the failing row (``DETAIL: Failing
    row contains (…)``): needs are 要配慮個人情報, so an error message must never repeat a
    value. ``code`` selects the message in :mod:`directory.messages`; ``params`` hold only
    names of tables, columns and constraints, never data.
    """

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(self.describe("en"))

    def describe(self, lang: str = "ja") -> str:
        return message(self.code, lang, **self.params)

    def as_json(self, lang: str = "ja") -> dict[str, Any]:
        return {"code": self.code, "reason": self.describe(lang)}


NUL = "\x00"


def has_nul(value: Any) -> bool:
    """Whether a text anywhere in ``value`` (a JSON value: keys too) holds a NUL character.

    PostgreSQL refuses NUL in text (with an error that quoted the row) while SQLite stores
    it, so importers refuse it up front, the same way on both engines.
    """
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def without_nul(value: Any) -> Any:
    """``value`` with every NUL removed, so checks after the NUL error see plain text."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value
