"""Errors raised by the directory package.

Library code raises these; only ``web/`` turns them into HTTP statuses or exit codes.
Each problem in an input file is a :class:`Problem` so an importer can collect *all* of
them before refusing the file, and print each as ``FILE:ROW:COLUMN: reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
                "unknown_category_suggest", lang, value=self.text,
                suggestions="、".join(self.suggestions) if lang == "ja"
                else ", ".join(self.suggestions),
            )
        return message("unknown_category", lang, value=self.text)


class ConcurrentEditError(DirectoryError):
    """Someone else saved the same record first; nothing was overwritten."""
