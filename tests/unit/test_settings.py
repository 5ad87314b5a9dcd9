"""Deployment settings: production refuses what is only fit for trying Fireline out."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from fireline.cli.app import app
from fireline.settings import ClientSettings, Settings, UnsafeSettings


def test_in_development_the_default_webhook_secret_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FIRELINE_ENV", raising=False)
    monkeypatch.delenv("FIRELINE_WEBHOOK_SECRET", raising=False)

    assert (Settings().env, Settings().webhook_secret) == ("development", "change-me")


@pytest.mark.parametrize("secret", [None, "change-me", ""])
def test_production_refuses_the_default_webhook_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("FIRELINE_ENV", "production")
    if secret is None:
        monkeypatch.delenv("FIRELINE_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("FIRELINE_WEBHOOK_SECRET", secret)

    with pytest.raises(UnsafeSettings, match="FIRELINE_WEBHOOK_SECRET is the default"):
        Settings()


def test_production_starts_with_a_secret_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRELINE_ENV", "production")
    monkeypatch.setenv("FIRELINE_WEBHOOK_SECRET", "a-long-random-value-of-our-own")

    assert Settings().env == "production"


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["db", "upgrade"]])
def test_the_server_commands_refuse_to_start_and_say_why(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.delenv("FIRELINE_WEBHOOK_SECRET", raising=False)
    result = CliRunner().invoke(app, command, env={"FIRELINE_ENV": "production"})

    assert result.exit_code == 1
    assert "Fireline refuses to start" in result.output
    assert "FIRELINE_WEBHOOK_SECRET" in result.output


def test_the_cli_client_needs_no_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """`fireline ticket list` and friends talk to a server: its secret is not theirs."""
    monkeypatch.setenv("FIRELINE_ENV", "production")
    monkeypatch.delenv("FIRELINE_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("FIRELINE_TOKEN", "fl_x")

    assert ClientSettings().token == "fl_x"


def test_only_a_database_in_a_process_s_memory_keeps_the_intake_writer_in_that_process() -> None:
    from fireline.store.db import in_memory

    assert in_memory("sqlite://") and in_memory("sqlite:///:memory:")
    assert not in_memory("sqlite:///var/fireline.db")
    assert not in_memory("postgresql+psycopg://fireline@db/fireline")


def test_one_intake_writer_process_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().intake_writers == 1
    monkeypatch.setenv("FIRELINE_INTAKE_WRITERS", "2")
    assert Settings().intake_writers == 2


def test_intake_writer_processes_are_one_to_sixteen(monkeypatch: pytest.MonkeyPatch) -> None:
    for wrong in ("0", "17"):
        monkeypatch.setenv("FIRELINE_INTAKE_WRITERS", wrong)
        with pytest.raises(ValidationError, match="intake_writers"):
            Settings()


def test_the_intake_writer_gives_up_on_a_statement_after_ten_seconds_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().intake_statement_timeout_seconds == 10.0
    monkeypatch.setenv("FIRELINE_INTAKE_STATEMENT_TIMEOUT_SECONDS", "2.5")
    assert Settings().intake_statement_timeout_seconds == 2.5
    monkeypatch.setenv("FIRELINE_INTAKE_STATEMENT_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValidationError, match="intake_statement_timeout_seconds"):
        Settings()
