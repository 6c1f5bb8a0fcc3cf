"""The channel-name grammar accepts exactly the PROTOCOL.md shapes: look-alikes with a trailing
newline, other whitespace, non-ASCII digits or out-of-range ids are not channels."""

from __future__ import annotations

import json

import pytest

from channels import protocol as proto
from channels.names import parse_channel
from channels.permissions import moves_task

LOOK_ALIKES = [
    "task.5\n", "task.5\r\n", "task.5 ", " task.5", "task.05", "task.0", "task.+5", "task.-5",
    "task.５", "task.٥", "task.²", "task.2147483648", "task.99999999999", "task.5\x00",
    "p1.barenbang\n", "p1.barenbang\t", "p2.pusdatin\n", "sup.barenbang\n", "user.p0-1\n",
    "user.p0-1 ", "p0\n", "P0", "p1.Barenbang", "p1.barenbang-", "p1.bar--enbang",
    "user.p0..1", "p1.barenbang.x", "task.5.6", "user.é",
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alike_channel_names_are_not_channels(name: str) -> None:
    """A name that only looks like a channel parses to None and a subscribe frame is refused."""
    assert parse_channel(name) is None
    with pytest.raises(proto.ProtocolError) as caught:
        proto.parse(f'{{"op":"subscribe","channel":{json.dumps(name)}}}')
    assert caught.value.code == proto.BAD_CHANNEL


@pytest.mark.parametrize("name", ["p0", "task.5", "task.2147483647", "p1.barenbang",
                                  "p2.biro-humas", "sup.ptsa", "user.p0-1", "user.spv.x_y"])
def test_real_channel_names_parse(name: str) -> None:
    """Every PROTOCOL.md shape parses."""
    assert parse_channel(name) is not None


def test_only_task_moving_events_on_task_channels_trigger_a_recheck() -> None:
    """``moves_task`` reads the type of a task channel's event frame, and nothing else."""
    frame = ('{"op":"event","channel":"task.5","offset":"1-0","id":"ab","type":"%s",'
             '"at":"x","data":{"type":"task.disposed"}}')
    assert moves_task("task.5", frame % "task.disposed")
    assert moves_task("task.5", frame % "task.returned")
    assert not moves_task("task.5", frame % "task.message")
    assert not moves_task("p1.barenbang", frame % "task.disposed")
