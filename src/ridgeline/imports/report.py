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
    """"item N" (0-based index in the file's list), "line N" (1-based, JSON lines), "row N" (0-based, a Resource
    Graph table), two of them ("line 3, item 7") or "" for the whole file."""

    message: str

    def describe(self) -> str:
        """Return a one-line description such as "snap.json, item 3: missing resourceType".

        An issue of the whole import, such as a count of incomplete assets over every file, has no file.
        """
        if not self.file:
            return self.message
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
    """Resources (or parts of one) given more than once with different content. Each issue is at the copy
    read last and names the other copy and the one judged. They are warnings, not errors: the choice is
    made by the copies' own times where they have them."""

    warnings: list[ImportIssue] = field(default_factory=list)
    """Items imported whole whose meaning is in doubt, such as an asset whose project is unknown. Unlike
    errors, they do not make coverage partial: nothing of the files is missing."""

    def add_warning(self, file: str, location: str, message: str) -> None:
        """Record an item imported with a doubt, and log it at INFO level."""
        issue = ImportIssue(file, location, message)
        self.warnings.append(issue)
        logger.info("import: %s", issue.describe())

    def add_duplicate(self, file: str, location: str, subject: str, *, other: str, judged: str, reason: str) -> None:
        """Record a resource given twice with different content, and log it at INFO level.

        `file` and `location` are the position of the copy read last, `other` is the "FILE, LOCATION" of
        the copy read before it, `judged` that of the copy judged, and `reason` explains the choice.
        """
        message = (f"{subject} is also given at {other} with other content, and the copy at {judged} is judged "
                   f"because {reason}")
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


_FIELD_BITS = 32
_FIELD_MASK = (1 << _FIELD_BITS) - 1


class Positions:
    """The positions (file and location) of the items of an import, each kept as one integer.

    An import keeps the position of every resource it has read, to name both copies of one given twice.
    In CPython 3.11 a location string such as "line 123456" takes 60 bytes, and a position integer 32 to
    36 bytes. Each file and location pattern ("line N", "item N", "line N, item M", "row N") is stored
    once, and a position is the pattern's index with the location's numbers packed above it. A location
    of any other form is stored as text.
    """

    def __init__(self) -> None:
        self._patterns: list[tuple[str, str, str]] = []
        """(file, first word, second word) of each pattern. The second word is "" in a one-number pattern."""

        self._pattern_index: dict[tuple[str, str, str], int] = {}
        self._texts: list[tuple[str, str]] = []
        """(file, location) of the positions that no pattern fits, numbered -1, -2, ..."""

        # The last one-number pattern added. Consecutive items mostly share it, and reusing it spares the
        # building and look-up of its key.
        self._last_file: str | None = None
        self._last_word = ""
        self._last_index = 0

    def add(self, file: str, location: str) -> int:
        """Return the position of an item of `file` at `location`, such as "line 40" or "line 3, item 7"."""
        head, space, last = location.rpartition(" ")
        if space and _canonical_number(last):
            if head == self._last_word and file == self._last_file:
                return self._last_index | int(last) << _FIELD_BITS
            first_word, comma, second_word = head.partition(", ")
            if not comma:
                return self.add_numbered(file, head, int(last))
            word, space, digits = first_word.rpartition(" ")
            if space and second_word and _canonical_number(digits) and int(digits) <= _FIELD_MASK:
                return (self._pattern(file, word, second_word) | int(digits) << _FIELD_BITS
                        | int(last) << 2 * _FIELD_BITS)

        # The whole file (""), or a form that the packing above would not give back exactly.
        self._texts.append((file, location))
        return -len(self._texts)

    def add_numbered(self, file: str, word: str, number: int) -> int:
        """Return the position of the item at `word` `number` of `file` ("line", 40), without making its text.

        `number` is 0 or more, and the position is the one that add(file, "line 40") returns.
        """
        if word == self._last_word and file == self._last_file:
            return self._last_index | number << _FIELD_BITS
        index = self._pattern(file, word, "")
        self._last_file, self._last_word, self._last_index = file, word, index
        return index | number << _FIELD_BITS

    def file(self, position: int) -> str:
        """Return the file of a position that `add` returned."""
        if position < 0:
            return self._texts[-position - 1][0]
        return self._patterns[position & _FIELD_MASK][0]

    def location(self, position: int) -> str:
        """Return the location of a position that `add` returned, as it was given."""
        if position < 0:
            return self._texts[-position - 1][1]
        _, first_word, second_word = self._patterns[position & _FIELD_MASK]
        if not second_word:
            return f"{first_word} {position >> _FIELD_BITS}"
        return f"{first_word} {position >> _FIELD_BITS & _FIELD_MASK}, {second_word} {position >> 2 * _FIELD_BITS}"

    def describe(self, position: int) -> str:
        """Return a position as ImportIssue.describe names one: "FILE, LOCATION", or "FILE" for a whole file."""
        location = self.location(position)
        return f"{self.file(position)}, {location}" if location else self.file(position)

    def _pattern(self, file: str, first_word: str, second_word: str) -> int:
        key = (file, first_word, second_word)
        index = self._pattern_index.get(key)
        if index is None:
            index = self._pattern_index[key] = len(self._patterns)
            self._patterns.append(key)
        return index


def _canonical_number(digits: str) -> bool:
    """Tell whether `digits` is a number that str(int(digits)) gives back unchanged."""
    return digits.isascii() and digits.isdigit() and (digits[0] != "0" or len(digits) == 1)
