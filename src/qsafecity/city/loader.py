"""Reading a city manifest from YAML or JSON text into a validated ``CityManifest``.

The parser is hardened against hostile input: YAML aliases (the "billion laughs" expansion) are
refused, duplicate mapping keys are an error instead of a silent overwrite, and the document size
is capped. Every problem (syntax, fields, references) becomes a ``Problem`` in one
``ManifestError``; nothing here prints or exits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import yaml
from pydantic import ValidationError

from qsafecity.city.model import CityManifest
from qsafecity.city.validation import check_references
from qsafecity.errors import ManifestError, Problem

#: A manifest of 10,000 services is about 6 MB of YAML; 64 MB leaves room and stops abuse.
MAX_MANIFEST_BYTES: Final = 64 * 1024 * 1024

if hasattr(yaml, "CSafeLoader"):  # libyaml's C parser: ten times faster on large cities

    class _BaseLoader(yaml.CSafeLoader):
        pass

else:  # pragma: no cover - PyYAML wheels ship libyaml

    class _BaseLoader(yaml.SafeLoader):  # type: ignore[no-redef]
        pass


_SafeLoader = _BaseLoader


class _StrictLoader(_BaseLoader):
    """A safe YAML loader that refuses duplicate keys (a later key would silently win)."""


def _construct_mapping_without_duplicates(
    loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError as error:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from error
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping_without_duplicates,
)


def _format_location(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(document)"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for detail in error.errors(include_url=False):
        location = tuple(
            part for part in detail["loc"] if not (isinstance(part, str) and "[" in part)
        )
        # Pydantic adds the tag of a union member ("str", "dict[int,float]") to the location; the
        # member names are not fields of the manifest, so they are dropped from the path.
        location = tuple(
            part for part in location if part not in ("str", "dict[int,float]", "int", "float")
        )
        kind = detail["type"]
        if kind == "extra_forbidden":
            message, value = "unknown key", None
        elif kind == "missing":
            message, value = "required field is missing", None
        else:
            message = detail["msg"].removeprefix("Value error, ")
            value = _shown(detail.get("input"))
        problems.append(Problem(_format_location(location), message, value))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def parse_document(text: str, source: str = "<manifest>") -> Mapping[str, Any]:
    """Parse YAML or JSON text (JSON is YAML) into a mapping, refusing hostile constructs."""
    if len(text.encode("utf-8", errors="replace")) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            source, [Problem("(document)", f"the file is larger than {MAX_MANIFEST_BYTES} bytes")]
        )
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            document = json.loads(text, object_pairs_hook=_json_object_without_duplicates)
        else:
            for event in yaml.parse(text, Loader=_SafeLoader):
                if isinstance(event, yaml.AliasEvent):
                    raise ManifestError(
                        source,
                        [
                            Problem(
                                "(document)", "YAML aliases (*name) are not accepted in a manifest"
                            )
                        ],
                    )
            document = yaml.load(text, Loader=_StrictLoader)
    except ManifestError:
        raise
    except (yaml.YAMLError, json.JSONDecodeError, ValueError, RecursionError) as error:
        raise ManifestError(
            source, [Problem("(document)", f"not valid YAML or JSON: {error}")]
        ) from None
    if not isinstance(document, Mapping):
        raise ManifestError(
            source,
            [
                Problem(
                    "(document)",
                    "a manifest must be a mapping with `format`, `city`, `sites`, ...",
                    _shown(document),
                )
            ],
        )
    return document


def _json_object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def validate_document(document: Mapping[str, Any], source: str = "<manifest>") -> CityManifest:
    """Validate a parsed document, reporting every field and reference problem at once."""
    problems: list[Problem] = []
    manifest: CityManifest | None = None
    try:
        manifest = CityManifest.model_validate(document)
    except ValidationError as error:
        problems.extend(_pydantic_problems(error))
    except RecursionError:
        problems.append(Problem("(document)", "the document is nested too deeply"))
    problems.extend(check_references(document))
    problems = _dedupe(problems)
    if problems or manifest is None:
        raise ManifestError(source, problems or [Problem("(document)", "invalid manifest")])
    return manifest


def load_manifest_text(text: str, source: str = "<manifest>") -> CityManifest:
    """Parse and validate manifest text (YAML or JSON)."""
    return validate_document(parse_document(text, source), source)
