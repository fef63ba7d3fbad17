"""The error raised for an invalid rule file, naming the file, line and field."""

from __future__ import annotations


class RuleError(ValueError):
    """An invalid rule: where it is and what to change."""

    def __init__(self, message: str, *, file: str = "", line: int = 0, field: str = "") -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return "FILE:LINE: field 'F': MESSAGE" with whatever parts are known."""
        where = self.file or "<rule>"
        if self.line:
            where += f":{self.line}"
        field = f" field '{self.field}':" if self.field else ""
        return f"{where}:{field} {self.reason}"

    def located(self, file: str, line: int, field: str) -> RuleError:
        """Return a copy with the location filled in where it is still unknown."""
        return RuleError(
            self.reason,
            file=self.file or file,
            line=self.line or line,
            field=f"{field}.{self.field}" if self.field and field else (self.field or field),
        )
