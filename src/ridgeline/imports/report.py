"""The outcome of an import, shared by every importer: what came in, what was left out, and every error."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """A file or item that could not be imported, or imported only in part."""

    file: str
    location: str
    """"item N" (0-based index in the file's list), "line N" (1-based, JSON lines) or "" for the whole file."""

    message: str

    def describe(self) -> str:
        """Return a one-line description such as "snap.json, item 3: missing resourceType"."""
        where = f", {self.location}" if self.location else ""
        return f"{self.file}{where}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    """Import totals: resources per type, items left out on purpose, and every error."""

    imported: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Items left out on purpose, counted by reason: AWS Config's configurationItemStatus (ResourceDeleted,
    ...), or an Azure child resource that no catalogued setting of its parent holds."""

    errors: list[ImportIssue] = field(default_factory=list)

    folded: dict[str, int] = field(default_factory=dict)
    """Azure child and extension resources stored in their parent's `supplementary`, counted by type."""

    not_imported: dict[str, int] = field(default_factory=dict)
    """Supplementary settings that the files lack and a live scan reads, counted as "TYPE key". Each such
    resource has the path in `Resource.errors`, so the rules reading it report ERROR."""

    incomplete: dict[tuple[str, str], str] = field(default_factory=dict)
    """(provider, account) -> why the files hold only part of that account's inventory (a truncated
    Resource Graph result). Its coverage units are partial, so no finding of it is resolved."""

    duplicates: list[ImportIssue] = field(default_factory=list)
    """Resources (or parts of one) given more than once with different content, and which copy is judged.
    They are warnings, not errors: the choice is made by the copies' own times where they have them."""

    warnings: list[ImportIssue] = field(default_factory=list)
    """Items imported whole whose meaning is in doubt, such as an asset whose project is unknown. Unlike
    errors, they do not make coverage partial: nothing of the files is missing."""

    def add_warning(self, file: str, location: str, message: str) -> None:
        """Record an item imported with a doubt, and log it at INFO level."""
        issue = ImportIssue(file, location, message)
        self.warnings.append(issue)
        logger.info("import: %s", issue.describe())

    def add_duplicate(self, file: str, location: str, message: str) -> None:
        """Record a resource given more than once, and log it at INFO level."""
        issue = ImportIssue(file, location, message)
        self.duplicates.append(issue)
        logger.info("import: %s", issue.describe())

    def add_error(self, file: str, location: str, message: str) -> None:
        """Record an error and log it at INFO level."""
        issue = ImportIssue(file, location, message)
        self.errors.append(issue)
        # The report keeps every issue for the caller to show, so the log repeats it only when asked (-v).
        logger.info("import: %s", issue.describe())

    def count(self, counter: dict[str, int], key: str) -> None:
        """Add one to `counter[key]`."""
        counter[key] = counter.get(key, 0) + 1
