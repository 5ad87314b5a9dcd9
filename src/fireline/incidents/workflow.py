"""The status workflow as a pure state machine, read from the policy."""

from __future__ import annotations

from fireline.policy.schema import State, Workflow


class UnknownState(ValueError):
    def __init__(self, state: str, known: list[str]) -> None:
        self.state = state
        self.known = known
        super().__init__(f"unknown state {state!r}; states: {', '.join(known)}")


class TransitionRefused(Exception):
    """A move the workflow does not allow; names the moves it does."""

    def __init__(self, current: str, requested: str, allowed: list[str]) -> None:
        self.current = current
        self.requested = requested
        self.allowed = allowed
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot move from {current!r} to {requested!r}; allowed next: {allowed_text}"
        )


def state(workflow: Workflow, name: str) -> State:
    for candidate in workflow.states:
        if candidate.name == name:
            return candidate
    raise UnknownState(name, [s.name for s in workflow.states])


def allowed_next(workflow: Workflow, current: str) -> list[str]:
    """Every state reachable in one move, in the order the policy lists them."""
    targets: list[str] = []
    for transition in workflow.transitions:
        if transition.source == current:
            targets.extend(t for t in transition.targets if t not in targets)
    return targets


def check_move(workflow: Workflow, current: str, requested: str) -> State:
    """The requested state if the workflow allows the move; `TransitionRefused` if not."""
    state(workflow, current)  # a record in a state the policy no longer has says so plainly
    target = state(workflow, requested)
    allowed = allowed_next(workflow, current)
    if requested not in allowed:
        raise TransitionRefused(current, requested, allowed)
    return target


def initial_state(workflow: Workflow, requested: str | None) -> State:
    """The state a new record starts in: the requested one if allowed, else the first."""
    if requested is None:
        return state(workflow, workflow.initial[0])
    chosen = state(workflow, requested)
    if requested not in workflow.initial:
        raise TransitionRefused("(new)", requested, list(workflow.initial))
    return chosen
