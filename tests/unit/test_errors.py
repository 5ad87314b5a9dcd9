"""Fireline's errors survive pickling (they cross back from the intake's writer process)."""

from __future__ import annotations

import pickle

from fireline.errors import Conflict, Invalid, NotFound


def test_errors_keep_their_class_detail_field_and_extensions_through_pickle() -> None:
    for error in (
        Invalid("title", "must not be empty", limit=300),
        NotFound("no integration has this key"),
        Conflict("this team has no policy yet", allowed=["open"]),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.detail, copy.extensions, copy.args) == (
            error.detail,
            error.extensions,
            error.args,
        )
    assert pickle.loads(pickle.dumps(Invalid("title", "x"))).field == "title"
