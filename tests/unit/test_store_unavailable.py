"""A database that cannot be opened ends a command with a message and exit code 2, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.cli.common import EXIT_SETUP
from ridgeline.store.database import Store, StoreUnavailable


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unknown_dialect_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match=r"invalid database URL nosuch://app:\*\*\*@host/db"):
        Store("nosuch://app:Hunter2pw@host/db")


def test_unreachable_server_hides_password(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://app:Hunter2pw@127.0.0.1:{closed_port()}/db"
    export = tmp_path / "page.json"
    export.write_text('{"data": [], "count": 0, "total_records": 0}', encoding="utf-8")

    result = CliRunner().invoke(main, ["scan", "file", str(export), "--database", url,
                                       "--output-dir", str(tmp_path / "out")])

    assert result.exit_code == EXIT_SETUP, result.output
    assert "error: cannot open the database postgresql+psycopg://app:***@127.0.0.1" in result.output
    assert "Hunter2pw" not in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_read_command_with_unreachable_server(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://app:Hunter2pw@127.0.0.1:{closed_port()}/db"

    result = CliRunner().invoke(main, ["report", "latest", "--database", url])

    assert result.exit_code == EXIT_SETUP, result.output
    assert "Hunter2pw" not in result.output


def test_missing_driver_names_module_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def without_psycopg(name: str, *arguments: object, **keywords: object) -> object:
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError(f"No module named {name!r}", name="psycopg")
        return real_import(name, *arguments, **keywords)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", without_psycopg)
    with pytest.raises(StoreUnavailable) as raised:
        Store("postgresql+psycopg://app:Hunter2pw@127.0.0.1:5432/db")

    message = str(raised.value)
    assert "needs the Python module psycopg, which is not installed" in message
    assert "pip install 'ridgeline[postgres]'" in message
    assert "Hunter2pw" not in message
