"""`fireline policy …` and `fireline init`: questions to a policy, answered with no server or DB."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from fireline.cli.app import app
from fireline.policy.load import preset_names, preset_text

PRESETS = ["2i2c", "caseflow", "hail", "meltano", "openverse"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_presets_are_the_five_shipped() -> None:
    assert preset_names() == PRESETS


# -- check --------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_checks(runner: CliRunner, preset: str) -> None:
    result = run(runner, "policy", "check", "--preset", preset)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok {preset}: ")
    assert result.stderr == ""


def test_check_reports_counts(runner: CliRunner) -> None:
    result = run(runner, "policy", "check", "--preset", "hail")

    assert result.stdout.strip() == "ok hail: 3 levels, 12 rules, 3 incident states"


def test_a_broken_policy_file_fails_with_file_line_field_message(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = preset_text("hail").replace("timezone: America/New_York", "timezone: Mars/Olympus")
    line = source.splitlines().index("  timezone: Mars/Olympus") + 1
    path = write(tmp_path, "hail-with-a-long-name-so-the-line-is-long.yaml", source)

    result = run(runner, "policy", "check", str(path))

    assert result.exit_code == 1
    assert result.stdout == ""
    # One line per problem, whole, so editors and grep can jump to it.
    assert result.stderr.splitlines() == [
        f"{path}:{line}: calendar.timezone: unknown time zone 'Mars/Olympus' (use an IANA name)"
    ]


def test_every_problem_is_reported_not_just_the_first(runner: CliRunner, tmp_path: Path) -> None:
    source = (
        preset_text("hail")
        .replace("      level: P1\n", "      level: P9\n", 1)
        .replace("      level: P2\n", "      level: P4\n", 1)
    )
    lines = source.splitlines()
    p9 = lines.index("      level: P9") + 1
    p4 = lines.index("      level: P4") + 1
    path = write(tmp_path, "p.yaml", source)

    result = run(runner, "policy", "check", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:{p9}: classification.rules[0].level: unknown level 'P9'; known: P1, P2, P3",
        f"{path}:{p4}: classification.rules[5].level: unknown level 'P4'; known: P1, P2, P3",
    ]


def test_yaml_that_does_not_parse_is_reported_with_its_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, "bad.yaml", "fireline: 1\nname: [\n")

    result = run(runner, "policy", "check", str(path))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:")
    assert "YAML" in result.stderr


def test_a_missing_file_is_an_error_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "policy", "check", str(tmp_path / "nope.yaml"))

    assert result.exit_code == 1
    assert str(tmp_path / "nope.yaml") in result.stderr


def test_check_needs_exactly_one_of_file_or_preset(runner: CliRunner, tmp_path: Path) -> None:
    neither = run(runner, "policy", "check")
    path = write(tmp_path, "hail.yaml", preset_text("hail"))
    both = run(runner, "policy", "check", str(path), "--preset", "hail")

    assert neither.exit_code == 2
    assert both.exit_code == 2
    assert "--preset" in neither.stderr


# -- test ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "examples"),
    [("2i2c", 11), ("caseflow", None), ("hail", 23), ("meltano", 10), ("openverse", 10)],
)
def test_every_preset_passes_its_own_examples(
    runner: CliRunner, preset: str, examples: int | None
) -> None:
    result = run(runner, "policy", "test", "--preset", preset)

    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    found = re.fullmatch(r"(\d+) passed, 0 failed", last)
    assert found, last
    assert int(found.group(1)) > 0
    if examples is not None:
        assert int(found.group(1)) == examples


def test_a_wrong_example_fails_with_a_diff(runner: CliRunner, tmp_path: Path) -> None:
    source = preset_text("hail").replace(
        "{name: cost exactly 100 USD/hour, signals: {cost_usd_per_hour: 100}, expect: P1, "
        "expect_rule: cost-hourly-critical}",
        "{name: cost exactly 100 USD/hour, signals: {cost_usd_per_hour: 100}, expect: P2, "
        "expect_rule: cost-hourly-severe}",
    )
    assert source != preset_text("hail")
    path = write(tmp_path, "hail.yaml", source)

    result = run(runner, "policy", "test", str(path))

    assert result.exit_code == 1
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines == [
        "FAIL cost exactly 100 USD/hour",
        "- expected: P2 by cost-hourly-severe",
        "+ got:      P1 by cost-hourly-critical",
        "22 passed, 1 failed",
    ]


def test_an_example_expecting_no_level_shows_none(runner: CliRunner, tmp_path: Path) -> None:
    source = preset_text("hail").replace(
        "{name: cost 25.01 USD/hour, signals: {cost_usd_per_hour: 25.01}, expect: P2}",
        "{name: cost 25.01 USD/hour, signals: {cost_usd_per_hour: 25.01}, expect: null}",
    )
    assert source != preset_text("hail")
    path = write(tmp_path, "hail.yaml", source)

    result = run(runner, "policy", "test", str(path))

    assert result.exit_code == 1
    assert "FAIL cost 25.01 USD/hour" in result.stdout
    assert "- expected: None" in result.stdout
    assert "+ got:      P2 by cost-hourly-severe" in result.stdout


# -- classify -----------------------------------------------------------------------------------


def test_classify_names_the_level_and_the_rule(runner: CliRunner) -> None:
    result = run(runner, "policy", "classify", "--preset", "hail", "cost_usd_per_hour=120")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "P1 (rule: cost-hourly-critical)"
    assert lines[1] == "also matched: cost-hourly-severe"


def test_classify_takes_a_policy_file_first(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "mine.yaml", preset_text("openverse"))

    result = run(runner, "policy", "classify", str(path), "users=large-number")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "severity-2 (rule: many-users-or-critical-functionality)"
    assert lines[-1] == "incident criteria met: might-be-an-incident"


def test_classify_takes_a_policy_file_as_an_option(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "mine.yml", preset_text("hail"))

    result = run(runner, "policy", "classify", "--file", str(path), "cost_usd_per_day=720")

    assert result.stdout.splitlines()[0] == "P1 (rule: cost-daily-critical)"


def test_classify_with_labels_and_bare_labels(runner: CliRunner) -> None:
    dask = run(
        runner,
        "policy",
        "classify",
        "--preset",
        "2i2c",
        "symptom=cannot-start-dask-workers",
        "dask-gateway",
    )
    no_dask = run(
        runner, "policy", "classify", "--preset", "2i2c", "symptom=cannot-start-dask-workers"
    )

    assert dask.stdout.splitlines()[0] == "urgent (rule: dask-workers-not-starting)"
    assert "incident criteria met: users-cannot-start-dask-workers" in dask.stdout
    assert no_dask.stdout.splitlines()[0] == "no rule fired"


def test_when_no_rule_fires_it_says_so(runner: CliRunner) -> None:
    result = run(runner, "policy", "classify", "--preset", "hail", "cost_usd_per_hour=25")

    assert result.exit_code == 0
    assert result.stdout.strip() == "no rule fired"


# -- due ----------------------------------------------------------------------------------------


def test_due_skips_thanksgiving(runner: CliRunner) -> None:
    result = run(
        runner,
        "policy",
        "due",
        "--preset",
        "hail",
        "--level",
        "P2",
        "--opened",
        "2026-11-25T10:00:00-05:00",
    )

    assert result.exit_code == 0, result.output
    assert "P2 opened 2026-11-25T10:00:00-05:00 (America/New_York)" in result.stdout
    response = next(line for line in result.stdout.splitlines() if "response" in line)
    assert "3 business days" in response
    assert "2026-12-01T10:00:00-05:00" in response


def test_due_answers_in_the_policys_zone_whatever_the_input_offset(runner: CliRunner) -> None:
    result = run(
        runner, "policy", "due", "--preset", "hail", "-l", "P2", "--opened", "2026-11-25T15:00:00Z"
    )

    assert "2026-12-01T10:00:00-05:00" in result.stdout


@pytest.mark.parametrize(
    ("level", "opened"),
    [("P7", "2026-11-25T10:00:00-05:00"), ("P2", "next tuesday")],
    ids=["unknown-level", "bad-instant"],
)
def test_due_refuses_what_it_cannot_read(runner: CliRunner, level: str, opened: str) -> None:
    result = run(runner, "policy", "due", "--preset", "hail", "-l", level, "--opened", opened)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip()


# -- init ---------------------------------------------------------------------------------------


def test_init_writes_a_preset_that_checks(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "x.yaml"

    written = run(runner, "init", "--preset", "openverse", "-o", str(target))
    checked = run(runner, "policy", "check", str(target))

    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == preset_text("openverse")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("ok openverse: ")


def test_init_does_not_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    target = write(tmp_path, "x.yaml", "mine\n")

    refused = run(runner, "init", "--preset", "hail", "-o", str(target))
    assert refused.exit_code == 1
    assert target.read_text(encoding="utf-8") == "mine\n"

    forced = run(runner, "init", "--preset", "hail", "-o", str(target), "--force")
    assert forced.exit_code == 0
    assert target.read_text(encoding="utf-8") == preset_text("hail")


@pytest.mark.parametrize(
    "args",
    [
        ["init", "--preset", "pagerduty", "-o", "{tmp}/x.yaml"],
        ["policy", "check", "--preset", "pagerduty"],
        ["policy", "test", "--preset", "pagerduty"],
        ["policy", "classify", "--preset", "pagerduty", "a=1"],
    ],
    ids=["init", "check", "test", "classify"],
)
def test_an_unknown_preset_exits_2_naming_the_presets(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    result = run(runner, *[a.format(tmp=tmp_path) for a in args])

    assert result.exit_code == 2
    assert "pagerduty" in result.stderr
    assert ", ".join(PRESETS) in result.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_policy_text_that_looks_like_markup_is_printed_as_written(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = preset_text("hail").replace("      level: P1\n", '      level: "[/x]"\n', 1)
    line = source.splitlines().index('      level: "[/x]"') + 1
    path = write(tmp_path, "markup.yaml", source)

    result = run(runner, "policy", "check", str(path))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:{line}: classification.rules[0].level: unknown level '[/x]'; known: P1, P2, P3"
    ]
