"""The examples in the crypto layer's docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "qsafecity.crypto.sealed",
        "qsafecity.crypto.session",
        "qsafecity.crypto.combiner",
        "qsafecity.crypto.entropy",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
