"""A stateful property test: across any sequence of requests, every key is delivered to its
master once and to each slave at most once, always the same bytes, and both ends of every link
keep the same pool."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from tests.kms_testbed import make_testbed

from qsafecity.errors import KeyManagementError, KeyRequestError
from qsafecity.kms.kme import KeyRequest

# (master, slave, additional slaves): direct both ways, relayed, multicast.
PAIRS = [
    ("a", "dispatch@a", "dispatch@b", ()),
    ("b", "dispatch@b", "dispatch@a", ()),
    ("a", "dispatch@a", "dispatch@c", ()),
    ("c", "dispatch@c", "dispatch@a", ()),
    ("a", "dispatch@a", "dispatch@b", ("dispatch@c",)),
    ("b", "video@b", "video@a", ()),
]
SITE_OF = {"dispatch@a": "a", "dispatch@b": "b", "dispatch@c": "c", "video@a": "a", "video@b": "b"}


class KeyDelivery(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.bed = make_testbed(rate_bps=25_600.0)  # 100 blocks a second
        self.bed.fill(20.0)  # 2,000 blocks: some stock can be agreed in advance
        self.issued: dict[str, tuple[str, bytes, tuple[str, ...]]] = {}
        self.fetched: dict[tuple[str, str], bytes] = {}

    @rule(
        pair=st.sampled_from(PAIRS), number=st.integers(1, 4), size=st.sampled_from([64, 256, 1024])
    )
    def enc_keys(self, pair: tuple[str, str, str, tuple[str, ...]], number: int, size: int) -> None:
        site, master, slave, extra = pair
        try:
            keys = self.bed.kmes[site].enc_keys(
                master, slave, KeyRequest(number, size, additional_slave_sae_ids=extra)
            )
        except KeyManagementError:
            return  # pools ran dry: a 503, nothing issued
        for key in keys:
            assert key.key_id not in self.issued, "a key id was handed to a master twice"
            assert len(key.key) == size // 8
            self.issued[key.key_id] = (master, key.key.value, (slave, *extra))

    @precondition(lambda self: bool(self.issued))
    @rule(data=st.data())
    def dec_keys(self, data: st.DataObject) -> None:
        key_id = data.draw(st.sampled_from(list(self.issued)))
        master, value, slaves = self.issued[key_id]
        slave = data.draw(st.sampled_from(slaves))
        kme = self.bed.kmes[SITE_OF[slave]]
        if (key_id, slave) in self.fetched:
            try:
                kme.dec_keys(slave, master, [key_id])
            except KeyRequestError:
                return
            raise AssertionError("a key was delivered to the same slave twice")
        fetched = kme.dec_keys(slave, master, [key_id])
        assert fetched[0].key.value == value
        self.fetched[key_id, slave] = value

    @rule(site=st.sampled_from(["a", "b", "c"]))
    def restock(self, site: str) -> None:
        # Keys agreed in advance for the pairs that asked lately (issued later without a hop).
        self.bed.kmes[site].restock()

    @rule(seconds=st.floats(0.0, 2.0))
    def time_passes(self, seconds: float) -> None:
        self.bed.fill(seconds)

    @invariant()
    def both_ends_of_each_link_hold_the_same_pool(self) -> None:
        for link in self.bed.kmes["a"].directory.links:
            first = self.bed.kmes[link.site_a].pool_levels()[link.link_id]
            second = self.bed.kmes[link.site_b].pool_levels()[link.link_id]
            # The follower reads its device only up to what the leader named, and the refill of
            # both ends runs on the same clock: their pools match block for block.
            assert first == second, link.link_id

    @invariant()
    def every_issued_and_undelivered_key_is_still_held(self) -> None:
        for key_id, (_, _, slaves) in self.issued.items():
            if all((key_id, s) in self.fetched for s in slaves):
                for kme in self.bed.kmes.values():
                    assert key_id not in kme.store.keys  # type: ignore[attr-defined]


KeyDelivery.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_key_delivery = KeyDelivery.TestCase
