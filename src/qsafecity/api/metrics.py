"""Prometheus metrics of a KME: pool levels, requests, latencies, relay hops and key counters."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from qsafecity.errors import QSafeCityError
from qsafecity.kms.kme import KME

#: Latency buckets in seconds: key delivery should stay well under 50 ms.
_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _KMECollector(Collector):
    def __init__(self, kme: KME) -> None:
        self._kme = kme

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        levels = GaugeMetricFamily(
            "qsafecity_kme_pool_blocks",
            "Key blocks (256 bits each) in this KME's copy of each link pool",
            labels=["link"],
        )
        try:
            for link, count in sorted(self._kme.pool_levels().items()):
                levels.add_metric([link], count)
        except QSafeCityError:
            pass  # the store is down: readiness says so; the scrape still answers
        yield levels
        for name, help_text in (
            ("keys_issued", "Keys handed to master SAEs by enc_keys"),
            ("keys_delivered", "Keys handed to slave SAEs by dec_keys"),
            ("keys_reserved", "Keys stored here for slave SAEs"),
            (
                "relay_hops",
                "Hops of the keys this KME issued (1 per direct key, more when relayed)",
            ),
            ("relayed_hops", "Keys this KME forwarded as a trusted node"),
            ("key_blocks_consumed", "Pool blocks this KME consumed"),
            ("link_down_events", "Times a link's peer KME did not answer"),
            ("keys_stocked", "Keys agreed in advance with a slave's KME (stock)"),
            ("keys_issued_from_stock", "Keys handed to masters from the stock (no hop)"),
            ("stock_blocks_wasted", "Blocks lost to a failed advance agreement"),
            ("holds_expired", "Holds erased after HOLD_TTL_S (their hop never came)"),
            ("hold_blocks_expired", "Blocks lost in expired holds"),
            ("keys_expired_delivery", "Keys erased unfetched after KEY_TTL_S (waiting for slaves)"),
            (
                "keys_expired_stock",
                "Keys agreed in advance, never issued, erased after STOCK_TTL_S",
            ),
            ("keys_expired_origin", "Records of issued keys erased after KEY_TTL_S"),
        ):
            counter = CounterMetricFamily(f"qsafecity_kme_{name}", help_text)
            counter.add_metric([], self._kme.stats.get(name, 0))
            yield counter


class KMEMetrics:
    """A registry per app (so that tests may build several apps in one process)."""

    def __init__(self, kme: KME) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qsafecity_kme_requests",
            "ETSI 014 requests by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qsafecity_kme_request_seconds",
            "Time the KME spent on an ETSI 014 request",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_KMECollector(kme))

    def observe(self, endpoint: str, seconds: float) -> None:
        self.latency.labels(endpoint).observe(seconds)

    def count(self, endpoint: str, status: int) -> None:
        self.requests.labels(endpoint, str(status)).inc()
