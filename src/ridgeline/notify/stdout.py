"""Notifier that writes one JSON object per line, for piping into other tools."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from ridgeline.notify.model import DeliveryError, Notification


class StdoutNotifier:
    """Write each notification as a JSON line to a text stream (standard output by default)."""

    def __init__(self, stream: TextIO | None = None, name: str = "stdout") -> None:
        self._stream = stream
        self._name = name

    @property
    def name(self) -> str:
        """Name used in logs."""
        return self._name

    def send(self, batch: Sequence[Notification]) -> None:
        """Write the batch, one line per notification, and flush."""
        # Resolve sys.stdout at send time so that a replaced stdout (pytest capture, redirection) is used.
        stream = self._stream if self._stream is not None else sys.stdout
        lines = [json.dumps(item.document(), sort_keys=True, default=str) for item in batch]
        try:
            stream.write("".join(line + "\n" for line in lines))
            stream.flush()
        except OSError as error:
            raise DeliveryError(f"writing to {self._name} failed: {error}") from error
