"""The slot map of the sharded subscriber (pure: no Redis)."""

from __future__ import annotations

from channels.slot_map import SlotMap, parse_moved, slot_of


def test_slot_of_honours_hash_tags_as_redis_does() -> None:
    # Values from CLUSTER KEYSLOT on Redis 7.
    assert slot_of("foo") == 12182
    assert slot_of("ptsa:live:{p0}") == slot_of("ptsa:stream:{p0}") == slot_of("p0")


def test_map_from_cluster_slots_answers_owners_and_gaps() -> None:
    reply = [[0, 5460, ["127.0.0.1", 7000, "a"], ["127.0.0.1", 7003, "d"]],
             [5461, 10922, ["", 7001, "b"]],
             [12000, 16383, ["10.0.0.3", 7002, "c"]]]
    slots = SlotMap.parse(reply, ("10.0.0.9", 7005))
    assert slots.owner(0) == slots.owner(5460) == ("127.0.0.1", 7000)
    assert slots.owner(5461) == ("10.0.0.9", 7001)  # empty host: the node we asked
    assert slots.owner(11000) is None  # not covered
    assert slots.owner(16383) == ("10.0.0.3", 7002)
    assert slots.nodes() == [("10.0.0.3", 7002), ("10.0.0.9", 7001), ("127.0.0.1", 7000)]


def test_moved_updates_one_slot_only() -> None:
    slots = SlotMap([(0, 100, ("a", 1)), (101, 200, ("b", 2))])
    slots.set_slot(50, ("c", 3))
    assert [slots.owner(s) for s in (0, 49, 50, 51, 100, 101)] == [
        ("a", 1), ("a", 1), ("c", 3), ("a", 1), ("a", 1), ("b", 2)]
    slots.set_slot(0, ("c", 3))
    assert slots.owner(0) == ("c", 3) and slots.owner(1) == ("a", 1)
    assert parse_moved("MOVED 3999 127.0.0.1:6381") == (3999, ("127.0.0.1", 6381))
    assert parse_moved("3999 127.0.0.1:6381") == (3999, ("127.0.0.1", 6381))
    assert parse_moved("CLUSTERDOWN The cluster is down") is None
