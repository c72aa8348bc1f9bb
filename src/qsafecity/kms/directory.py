"""Who is where: the SAEs of a city, the KME at each site and the QKD links between KMEs.

The naming rule for SAE ids (documented in ``docs/kms.md``):

* a KME runs at each site and its KME id is the site id (``dc-main``);
* a service with an end at one site only is one SAE whose id is the service id (``city-sso``);
* a service with ends at several sites has one SAE per end, ``SERVICE@SITE``
  (``video-surveillance@police-hq``), served by the KME of that site.

An SAE may ask for keys shared with another end of the same service only: the ends of a service
are the parties that need a common key, and a key for a pair of unrelated services would let one
operator's system obtain key material meant for another's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from qsafecity.city import CityManifest


def link_id(site_a: str, site_b: str) -> str:
    """The canonical name of the link between two sites (order-free)."""
    first, second = sorted((site_a, site_b))
    return f"{first}~{second}"


@dataclass(frozen=True, slots=True)
class SAE:
    sae_id: str
    service_id: str
    site_id: str


@dataclass(frozen=True, slots=True)
class QKDLink:
    """A QKD link between the KMEs of two sites."""

    site_a: str
    site_b: str
    length_km: float

    @property
    def link_id(self) -> str:
        return link_id(self.site_a, self.site_b)

    def peer_of(self, site_id: str) -> str:
        if site_id == self.site_a:
            return self.site_b
        if site_id == self.site_b:
            return self.site_a
        raise ValueError(f"{site_id} is not an end of {self.link_id}")

    def leader(self) -> str:
        """The end that allocates the link's key blocks (the lexically smaller site id)."""
        return min(self.site_a, self.site_b)


@dataclass(frozen=True)
class Directory:
    """The SAEs and the KME network of one city."""

    saes: dict[str, SAE]
    links: tuple[QKDLink, ...]
    sites: frozenset[str]

    @classmethod
    def from_city(cls, city: CityManifest, *, links: Iterable[QKDLink] | None = None) -> Directory:
        """The SAEs of ``city`` and its KME network: the manifest's ``qkd: true`` links, or
        ``links`` when given (e.g. the planned network the live city runs)."""
        saes: dict[str, SAE] = {}
        for service in city.services:
            ends = list(dict.fromkeys(service.endpoints))
            for site in ends:
                sae_id = service.id if len(ends) == 1 else f"{service.id}@{site}"
                saes[sae_id] = SAE(sae_id, service.id, site)
        if links is None:
            links = (
                QKDLink(link.a, link.b, link.length_km)
                for link in city.links
                if link.qkd and link.a != link.b
            )
        chosen = tuple(links)
        unknown = {s for link in chosen for s in (link.site_a, link.site_b)} - set(city.sites_by_id)
        if unknown:
            raise ValueError(f"links name sites the city does not have: {sorted(unknown)}")
        return cls(saes, chosen, frozenset(city.sites_by_id))

    @cached_property
    def links_by_id(self) -> dict[str, QKDLink]:
        return {link.link_id: link for link in self.links}

    def links_of(self, site_id: str) -> tuple[QKDLink, ...]:
        return tuple(link for link in self.links if site_id in (link.site_a, link.site_b))

    def link_between(self, site_a: str, site_b: str) -> QKDLink | None:
        return self.links_by_id.get(link_id(site_a, site_b))

    def saes_at(self, site_id: str) -> tuple[SAE, ...]:
        return tuple(sae for sae in self.saes.values() if sae.site_id == site_id)

    def may_share_keys(self, first: SAE, second: SAE) -> bool:
        """Ends of the same service at different sites may share keys; nothing else may."""
        return first.service_id == second.service_id and first.sae_id != second.sae_id
