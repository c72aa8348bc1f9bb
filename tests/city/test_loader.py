"""The manifest loader: every problem at once, with its path; hostile input refused; no tracebacks."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from qsafecity.city import CityManifest, load_manifest_text, validate_document
from qsafecity.errors import ManifestError
from qsafecity.manifests import sample_city_text


def sample_document() -> dict[str, Any]:
    document = yaml.safe_load(sample_city_text())
    assert isinstance(document, dict)
    return document


def problems_of(document: Any) -> dict[str, str]:
    with pytest.raises(ManifestError) as caught:
        validate_document(document, "test.yaml")
    return {p.path: p.message for p in caught.value.problems}


def test_sample_document_validates() -> None:
    assert isinstance(validate_document(sample_document()), CityManifest)


def test_json_and_yaml_give_the_same_city() -> None:
    document = sample_document()
    from_json = load_manifest_text(json.dumps(document, default=str))
    from_yaml = load_manifest_text(sample_city_text())
    assert from_json == from_yaml


def test_models_are_immutable() -> None:
    city = load_manifest_text(sample_city_text())
    with pytest.raises(ValueError, match="frozen"):
        city.services[0].migration_years = 1  # type: ignore[misc]


def test_every_problem_is_reported_at_once_with_paths() -> None:
    document = sample_document()
    document["services"][3]["data"]["shelf_life_years"] = -2
    document["services"][5]["operator"] = "acme"
    document["services"][7]["tier"] = "critical"
    document["sites"][2]["surprise"] = 1
    document["links"][0]["b"] = "nowhere"
    found = problems_of(document)
    assert found["services[3].data.shelf_life_years"].startswith(
        "Input should be greater than or equal to 0"
    )
    assert found["services[5].operator"] == "no operator has this id"
    assert "needs a reason" in found["services[7].tier_reason"]
    assert found["sites[2].surprise"] == "unknown key"
    assert found["links[0].b"] == "no site has this id"
    assert len(found) == 5


def test_offending_value_is_shown() -> None:
    document = sample_document()
    document["services"][0]["crypto"]["cipher"] = "ROT13"
    with pytest.raises(ManifestError) as caught:
        validate_document(document)
    (problem,) = caught.value.problems
    assert problem.path == "services[0].crypto.cipher"
    assert problem.value is not None
    assert "ROT13" in problem.value
    assert "AES-256-GCM" in problem.message, "the message lists the accepted names"


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (
            lambda d: d["services"].append(copy.deepcopy(d["services"][0])),
            "services[44].id",
            "duplicate id",
        ),
        (lambda d: d["sites"].append(copy.deepcopy(d["sites"][1])), "sites[22].id", "duplicate id"),
        (
            lambda d: d["operators"].append(copy.deepcopy(d["operators"][0])),
            "operators[10].id",
            "duplicate id",
        ),
        (
            lambda d: d["services"][0].update(function="juggling"),
            "services[0].function",
            "not in the vocabulary",
        ),
        (
            lambda d: d["services"][0].update(tier_reason="because"),
            "services[0].tier",
            "no `tier` override",
        ),
        (
            lambda d: d["services"][0]["endpoints"].append("mars-base"),
            "services[0].endpoints[2]",
            "no site",
        ),
        (
            lambda d: d["services"][0]["endpoints"].append("dc-main"),
            "services[0].endpoints[2]",
            "listed twice",
        ),
        (lambda d: d["links"][1].update(b="dc-main"), "links[1].b", "two different sites"),
        (lambda d: d["links"].append(dict(d["links"][0])), "links[29]", "duplicate link"),
        (lambda d: d["links"][0].update(length_km=-1), "links[0].length_km", "greater than 0"),
        (lambda d: d["links"][0].update(length_km=1e9), "links[0].length_km", "less than or equal"),
        (lambda d: d["city"].update(population=10**10), "city.population", "less than or equal"),
        (
            lambda d: d["sites"][0]["location"].update(lat=123.0),
            "sites[0].location.lat",
            "less than or equal",
        ),
        (
            lambda d: d["services"][0]["data"].update(volume_gb_per_day=-5),
            "services[0].data.volume_gb_per_day",
            "greater",
        ),
        (
            lambda d: d["services"][0].update(migration_years=500),
            "services[0].migration_years",
            "less than",
        ),
        (
            lambda d: d["services"][0]["data"].update(categories=["gossip"]),
            "services[0].data.categories",
            "unknown data categories",
        ),
        (
            lambda d: d["operators"][3]["contract"].update(clauses=["free-lunch"]),
            "operators[3].contract.clauses[0]",
            "Input should be",
        ),
        (
            lambda d: d["operators"][3]["finance"].update(loan_years=0),
            "operators[3].finance.loan_years",
            "greater than or equal to 1",
        ),
        (lambda d: d.update(format=2), "format", "Input should be 1"),
        (lambda d: d.pop("city"), "city", "required field is missing"),
        (lambda d: d.update(services=[]), "services", "at least 1"),
        (
            lambda d: d["assumptions"].update(crqc_forecast={2031: 0.5, 2036: 0.3}),
            "assumptions.crqc_forecast",
            "must not fall",
        ),
        (
            lambda d: d["assumptions"].update(crqc_forecast={2031: 1.5}),
            "assumptions.crqc_forecast",
            "outside 0..1",
        ),
        (
            lambda d: d["assumptions"].update(start_year=1800),
            "assumptions.start_year",
            "greater than or equal",
        ),
        (
            lambda d: d["services"][0].update(id="Video Surveillance!"),
            "services[0].id",
            "should match pattern",
        ),
        (
            lambda d: d["services"][0].update(tier="super-critical", tier_reason="x"),
            "services[0].tier",
            "Input should be",
        ),
    ],
)
def test_each_rule_is_a_clear_error(mutate: Any, path: str, fragment: str) -> None:
    document = sample_document()
    mutate(document)
    found = problems_of(document)
    assert path in found, found
    assert fragment in found[path]


def test_override_is_accepted_with_reason_for_any_function() -> None:
    document = sample_document()
    document["services"][0].update(function="new-thing", tier="important", tier_reason="assumed")
    city = validate_document(document)
    assert city.services[0].tier is not None


def test_names_are_case_insensitive_and_canonicalised() -> None:
    document = sample_document()
    document["services"][0]["crypto"] = {
        "key_exchange": "x25519mlkem768",
        "signature": "ml-dsa-65",
        "cipher": "aes-256-gcm",
    }
    city = validate_document(document)
    assert city.services[0].crypto.key_exchange == "X25519MLKEM768"
    assert city.services[0].crypto.signature == "ML-DSA-65"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "must be a mapping"),
        ("- a\n- b\n", "must be a mapping"),
        ("just a string", "must be a mapping"),
        ("format: 1\ncity: {name: x\n", "not valid YAML"),
        ('{"format": 1,', "not valid YAML or JSON"),
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("format: 1\nformat: 1\n", "duplicate key"),
        ('{"format": 1, "format": 1}', "duplicate key"),
        ("!!python/object/apply:os.system ['true']", "not valid YAML"),
        ("\x00\x01\x02", "not valid YAML"),
        ("[" * 100_000, "not valid YAML"),
    ],
)
def test_hostile_or_malformed_text_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, "hostile.yaml")
    assert fragment in str(caught.value)


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 10)
    ]
    with pytest.raises(ManifestError, match="aliases"):
        load_manifest_text("\n".join(lines))
