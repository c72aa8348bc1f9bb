"""Property-based fuzzing of the loader: whatever the document, the loader returns a valid city
or raises ManifestError with at least one located problem; it never raises anything else."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsafecity.city import CityManifest, load_manifest_text, validate_document
from qsafecity.errors import ManifestError
from tests.city.test_loader import sample_document

BASE = sample_document()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _paths(value, (*prefix, index))
    return found


PATHS = [p for p in _paths(BASE) if p]


def _check(document: Any) -> None:
    try:
        city = validate_document(document, "fuzz")
    except ManifestError as error:
        assert error.problems
        assert all(p.path and p.message for p in error.problems)
    else:
        assert isinstance(city, CityManifest)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=4))
def test_mutated_sample_never_crashes(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    document = copy.deepcopy(BASE)
    for path, value in mutations:
        node = document
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _check(document)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=10), values, max_size=6))
def test_arbitrary_documents_never_crash(document: dict[str, Any]) -> None:
    _check(document)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        load_manifest_text(text, "fuzz")
    except ManifestError as error:
        assert error.problems
