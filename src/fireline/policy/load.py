"""YAML text → a validated `Policy`, or `PolicyInvalid` naming file, line and field."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fireline.policy.errors import PolicyInvalid, PolicyProblem, UnknownPreset
from fireline.policy.references import find_reference_problems
from fireline.policy.schema import Policy

PathKey = tuple[str | int, ...]


def _index_lines(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int]
) -> Iterator[tuple[str, int]]:
    """Record the line of every key and item; yield messages for duplicate keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                yield _dotted((*path, key)), key_node.start_mark.line + 1
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            yield from _index_lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _index_lines(item, (*path, index), lines)


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(path: PathKey, lines: dict[PathKey, int]) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def parse_policy(text: str, file: str = "<policy>") -> Policy:
    """Validate policy text completely; raise `PolicyInvalid` with every problem found."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = f"invalid YAML: {error.problem or error}"
        if error.context and error.context_mark and error.context_mark is not mark:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        raise PolicyInvalid([PolicyProblem(file, line, "", message)]) from None
    except yaml.reader.ReaderError as error:
        # A character YAML does not allow (a control character): no mark, only a position.
        line = text.count("\n", 0, error.position) + 1
        character = error.character if isinstance(error.character, int) else ord(error.character)
        message = f"invalid YAML: the character U+{character:04X} is not allowed"
        raise PolicyInvalid([PolicyProblem(file, line, "", message)]) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise PolicyInvalid([PolicyProblem(file, 1, "", "a policy is a YAML mapping")])
    lines: dict[PathKey, int] = {}
    duplicates = list(_index_lines(node, (), lines))
    if duplicates:
        raise PolicyInvalid(
            [PolicyProblem(file, line, field, "duplicate key") for field, line in duplicates]
        )
    data: Any = yaml.SafeLoader(text).get_single_data()
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            path = tuple(p for p in item["loc"] if isinstance(p, str | int))
            message = item["msg"].removeprefix("Value error, ")
            problems.append(PolicyProblem(file, _line_of(path, lines), _dotted(path), message))
        raise PolicyInvalid(problems) from None
    reference_problems = [
        PolicyProblem(file, _line_of(path, lines), _dotted(path), message)
        for path, message in find_reference_problems(policy)
    ]
    if reference_problems:
        raise PolicyInvalid(reference_problems)
    return policy


def load_policy_file(path: str | Path) -> Policy:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        problem = PolicyProblem(str(file), None, "", error.strerror or str(error))
        raise PolicyInvalid([problem]) from None
    return parse_policy(text, str(file))


def preset_names() -> list[str]:
    folder = resources.files("fireline.policy") / "presets"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def preset_text(name: str) -> str:
    if name not in preset_names():
        raise UnknownPreset(name, preset_names())
    return (resources.files("fireline.policy") / "presets" / f"{name}.yaml").read_text("utf-8")


def load_preset(name: str) -> Policy:
    return parse_policy(preset_text(name), f"preset:{name}")
