"""Rules that relate several fields or records of a manifest.

They run on the raw document (the parsed YAML or JSON, before pydantic), defensively: a record whose
own fields are malformed is skipped here, since pydantic reports those. That way a manifest with a
wrong number *and* a dangling reference reports both at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qsafecity.city.vocabulary import TIER_OF_FUNCTION
from qsafecity.errors import Problem


def _records(document: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    value = document.get(key)
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [(i, r) for i, r in enumerate(value) if isinstance(r, Mapping)]


def _ids(records: Iterable[tuple[int, Mapping[str, Any]]]) -> set[str]:
    return {r["id"] for _, r in records if isinstance(r.get("id"), str)}


def _duplicate_ids(key: str, records: list[tuple[int, Mapping[str, Any]]]) -> list[Problem]:
    first_seen: dict[str, int] = {}
    problems = []
    for index, record in records:
        identifier = record.get("id")
        if not isinstance(identifier, str):
            continue
        if identifier in first_seen:
            problems.append(
                Problem(
                    f"{key}[{index}].id",
                    f"duplicate id, already used by {key}[{first_seen[identifier]}]",
                    repr(identifier),
                )
            )
        else:
            first_seen[identifier] = index
    return problems


def check_references(document: Mapping[str, Any]) -> list[Problem]:
    """Every cross-record problem of ``document``, in document order."""
    sites = _records(document, "sites")
    operators = _records(document, "operators")
    services = _records(document, "services")
    links = _records(document, "links")
    site_ids, operator_ids = _ids(sites), _ids(operators)

    problems: list[Problem] = []
    for key, records in (("sites", sites), ("operators", operators), ("services", services)):
        problems.extend(_duplicate_ids(key, records))

    seen_pairs: dict[frozenset[str], int] = {}
    for index, link in links:
        ends = [link.get("a"), link.get("b")]
        for end_key, end in zip(("a", "b"), ends, strict=True):
            if isinstance(end, str) and end not in site_ids:
                problems.append(
                    Problem(f"links[{index}].{end_key}", "no site has this id", repr(end))
                )
        end_a, end_b = ends
        if isinstance(end_a, str) and isinstance(end_b, str):
            if end_a == end_b:
                problems.append(
                    Problem(
                        f"links[{index}].b", "a link must join two different sites", repr(ends[1])
                    )
                )
            pair = frozenset((end_a, end_b))
            if pair in seen_pairs:
                problems.append(
                    Problem(
                        f"links[{index}]",
                        f"duplicate link, the same sites are joined by links[{seen_pairs[pair]}]",
                        f"{end_a}-{end_b}",
                    )
                )
            else:
                seen_pairs[pair] = index

    for index, service in services:
        path = f"services[{index}]"
        operator = service.get("operator")
        if isinstance(operator, str) and operator not in operator_ids:
            problems.append(Problem(f"{path}.operator", "no operator has this id", repr(operator)))
        endpoints = service.get("endpoints")
        if isinstance(endpoints, Sequence) and not isinstance(endpoints, str | bytes):
            seen: set[str] = set()
            for position, endpoint in enumerate(endpoints):
                if not isinstance(endpoint, str):
                    continue
                if endpoint not in site_ids:
                    problems.append(
                        Problem(
                            f"{path}.endpoints[{position}]", "no site has this id", repr(endpoint)
                        )
                    )
                if endpoint in seen:
                    problems.append(
                        Problem(
                            f"{path}.endpoints[{position}]", "endpoint listed twice", repr(endpoint)
                        )
                    )
                seen.add(endpoint)
        problems.extend(_tier_override_problems(path, service))
    return problems


def _tier_override_problems(path: str, service: Mapping[str, Any]) -> list[Problem]:
    function = service.get("function")
    has_tier = service.get("tier") is not None
    reason = service.get("tier_reason")
    has_reason = isinstance(reason, str) and bool(reason.strip())
    problems = []
    if isinstance(function, str) and function.lower() not in TIER_OF_FUNCTION and not has_tier:
        problems.append(
            Problem(
                f"{path}.function",
                "function is not in the vocabulary; give `tier` and `tier_reason` to classify it",
                repr(function),
            )
        )
    if has_tier and not has_reason:
        problems.append(
            Problem(f"{path}.tier_reason", "a tier override needs a reason (`tier_reason`)")
        )
    if has_reason and not has_tier:
        problems.append(
            Problem(f"{path}.tier", "`tier_reason` is given but no `tier` override", None)
        )
    return problems
