"""Realistic sensor telemetry: NGSI-LD entities after the FIWARE Smart Data Models.

Every service of the city publishes readings shaped like the FIWARE Smart Data Models of its
domain (SmartCities, SmartEnvironment, SmartEnergy, SmartWater; REFERENCE.md §10), in the
NGSI-LD *normalized* form (ETSI GS CIM 009: every attribute a ``Property`` with its value, unit
code and observation time), which is what an Orion-LD broker exchanges. Such payloads measure
667-1,772 bytes (REFERENCE.md §10); a test checks that the generated ones stay in that range.

Values are drawn from the injected random generator within plausible ranges (units are UN/CEFACT
codes as NGSI-LD uses them).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Final

import numpy as np

#: The range of measured FIWARE example payload sizes (REFERENCE.md §10), in bytes.
MIN_PAYLOAD_BYTES: Final = 667
MAX_PAYLOAD_BYTES: Final = 1_772


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured attribute: its NGSI-LD name, UN/CEFACT unit code and plausible range."""

    name: str
    unit_code: str
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class EntityModel:
    """A Smart Data Model entity type and the quantities a reading of it carries."""

    entity_type: str
    data_model: str
    quantities: tuple[Quantity, ...]


_AIR = EntityModel(
    "AirQualityObserved",
    "dataModel.Environment",
    (
        Quantity("no2", "GQ", 5, 120),
        Quantity("pm10", "GQ", 2, 90),
        Quantity("pm25", "GQ", 1, 60),
        Quantity("o3", "GQ", 10, 140),
        Quantity("temperature", "CEL", -25, 35),
        Quantity("relativeHumidity", "P1", 15, 100),
    ),
)
_NOISE = EntityModel(
    "NoiseLevelObserved",
    "dataModel.Environment",
    (
        Quantity("LAeq", "2N", 35, 90),
        Quantity("LAmax", "2N", 45, 110),
        Quantity("LAS", "2N", 35, 95),
        Quantity("LAeq_d", "2N", 40, 80),
    ),
)
_METER = EntityModel(
    "WaterConsumptionObserved",
    "dataModel.WaterConsumption",
    (
        Quantity("acquisitionStageFlag", "C62", 0, 1),
        Quantity("flow", "G51", 0, 40),
        Quantity("cumulativeVolume", "MTQ", 0, 5000),
        Quantity("temperature", "CEL", 3, 25),
        Quantity("batteryLevel", "P1", 5, 100),
    ),
)
_ENERGY = EntityModel(
    "ThreePhaseAcMeasurement",
    "dataModel.Energy",
    (
        Quantity("activePower", "KWT", 0, 15),
        Quantity("reactivePower", "K5", 0, 5),
        Quantity("voltage", "VLT", 215, 245),
        Quantity("current", "AMP", 0, 63),
        Quantity("frequency", "HTZ", 49.8, 50.2),
        Quantity("totalActiveEnergyImport", "KWH", 0, 90000),
    ),
)
_TRAFFIC = EntityModel(
    "TrafficFlowObserved",
    "dataModel.Transportation",
    (
        Quantity("intensity", "E50", 0, 2400),
        Quantity("occupancy", "P1", 0, 100),
        Quantity("averageVehicleSpeed", "KMH", 0, 90),
        Quantity("averageVehicleLength", "MTR", 3.5, 12),
        Quantity("averageHeadwayTime", "SEC", 0.5, 30),
    ),
)
_SCADA = EntityModel(
    "Device",
    "dataModel.Device",
    (
        Quantity("pressure", "BAR", 1, 12),
        Quantity("flowRate", "G51", 0, 900),
        Quantity("valvePosition", "P1", 0, 100),
        Quantity("pumpSpeed", "RPM", 0, 3000),
        Quantity("temperature", "CEL", 4, 130),
        Quantity("batteryLevel", "P1", 20, 100),
    ),
)
_VIDEO = EntityModel(
    "CrowdFlowObserved",
    "dataModel.Transportation",
    (
        Quantity("peopleCount", "C62", 0, 400),
        Quantity("occupancy", "P1", 0, 100),
        Quantity("averageCrowdSpeed", "KMH", 0, 6),
        Quantity("averageHeadwayTime", "SEC", 0, 60),
        Quantity("segmentBytes", "AD", 1e6, 6e7),
    ),
)
_LIGHT = EntityModel(
    "Streetlight",
    "dataModel.Streetlighting",
    (
        Quantity("illuminanceLevel", "P1", 0, 100),
        Quantity("powerConsumption", "WTT", 0, 250),
        Quantity("voltage", "VLT", 215, 245),
        Quantity("lanternTemperature", "CEL", -20, 70),
    ),
)
_WASTE = EntityModel(
    "WasteContainer",
    "dataModel.WasteManagement",
    (
        Quantity("fillingLevel", "P1", 0, 100),
        Quantity("temperature", "CEL", -25, 45),
        Quantity("methaneConcentration", "59", 0, 500),
        Quantity("cargoWeight", "KGM", 0, 600),
    ),
)
_PARKING = EntityModel(
    "OnStreetParking",
    "dataModel.Parking",
    (
        Quantity("availableSpotNumber", "C62", 0, 120),
        Quantity("totalSpotNumber", "C62", 120, 120),
        Quantity("occupancyRate", "P1", 0, 100),
        Quantity("averageStayMinutes", "MIN", 5, 240),
    ),
)
_VEHICLE = EntityModel(
    "Vehicle",
    "dataModel.Transportation",
    (
        Quantity("speed", "KMH", 0, 70),
        Quantity("heading", "DD", 0, 360),
        Quantity("passengerCount", "C62", 0, 120),
        Quantity("fuelLevel", "P1", 5, 100),
        Quantity("mileageFromOdometer", "KMT", 1000, 900000),
    ),
)
_GENERIC = EntityModel(
    "DeviceMeasurement",
    "dataModel.Device",
    (
        Quantity("requestsPerMinute", "C62", 0, 3000),
        Quantity("activeSessions", "C62", 0, 20000),
        Quantity("responseTime", "C26", 5, 900),
        Quantity("errorRate", "P1", 0, 5),
        Quantity("payloadVolume", "AD", 1e3, 1e7),
    ),
)

_BY_FUNCTION: Final[dict[str, EntityModel]] = {
    "environment-monitoring": _AIR,
    "utility-metering": _METER,
    "traffic-control": _TRAFFIC,
    "utility-control": _SCADA,
    "public-safety-video": _VIDEO,
    "street-lighting": _LIGHT,
    "waste-management": _WASTE,
    "parking": _PARKING,
    "public-transport": _VEHICLE,
    "drone-logistics": _VEHICLE,
}


def model_for(function: str, service_id: str) -> EntityModel:
    """The entity model a service's sensors publish (noise and energy meters by their name)."""
    if "noise" in service_id:
        return _NOISE
    if "electric" in service_id or "heat" in service_id:
        return _ENERGY
    return _BY_FUNCTION.get(function, _GENERIC)


def reading(
    *,
    service_id: str,
    function: str,
    sender: str,
    sequence: int,
    lat: float,
    lon: float,
    observed_at: dt.datetime,
    rng: np.random.Generator,
) -> dict[str, object]:
    """One NGSI-LD entity in normalized form, as a device of ``service_id`` would send it."""
    model = model_for(function, service_id)
    when = observed_at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    entity: dict[str, object] = {
        "id": f"urn:ngsi-ld:{model.entity_type}:{service_id}:{sender}:{sequence}",
        "type": model.entity_type,
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": when}},
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Point",
                "coordinates": [
                    round(lon + float(rng.normal(0.0, 0.01)), 6),
                    round(lat + float(rng.normal(0.0, 0.01)), 6),
                ],
            },
        },
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{sender}"},
        "dataProvider": {"type": "Property", "value": service_id},
        "source": {"type": "Property", "value": f"urn:qsafecity:{service_id}"},
    }
    for quantity in model.quantities:
        value = float(rng.uniform(quantity.low, quantity.high))
        entity[quantity.name] = {
            "type": "Property",
            "value": round(value, 2),
            "unitCode": quantity.unit_code,
            "observedAt": when,
        }
    entity["@context"] = [
        f"https://smartdatamodels.org/{model.data_model}/context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    ]
    return entity


def encode(entity: dict[str, object]) -> bytes:
    """The compact JSON bytes of an entity (what goes on the wire, before protection)."""
    return json.dumps(entity, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
