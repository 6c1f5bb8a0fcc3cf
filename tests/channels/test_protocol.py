"""The /ws frame parser and frame builders (pure)."""

from __future__ import annotations

import json

import pytest

from channels import protocol as proto


def test_subscribe_with_position_is_parsed() -> None:
    """A subscribe with since and epoch yields those values."""
    op = proto.parse('{"op":"subscribe","channel":"p1.barenbang","since":"1732700000000-2",'
                     '"epoch":"1732699999123456"}')
    assert op == proto.Subscribe("p1.barenbang", "1732700000000-2", "1732699999123456")


def test_subscribe_without_position_has_nones() -> None:
    """since and epoch are optional and default to None."""
    assert proto.parse('{"op":"subscribe","channel":"p0"}') == proto.Subscribe("p0", None, None)


def test_ping_and_unsubscribe_are_parsed() -> None:
    """ping and unsubscribe are recognised."""
    assert proto.parse('{"op":"ping"}') == proto.Ping()
    assert proto.parse('{"op":"unsubscribe","channel":"task.7"}') == proto.Unsubscribe("task.7")


@pytest.mark.parametrize("text, code", [
    ("not json", proto.BAD_JSON),
    ("[1, 2]", proto.BAD_FRAME),
    ('{"channel":"p0"}', proto.BAD_FRAME),
    ('{"op": 5}', proto.BAD_FRAME),
    ('{"op":"publish","channel":"p0"}', proto.UNKNOWN_OP),
    ('{"op":"subscribe"}', proto.BAD_CHANNEL),
    ('{"op":"subscribe","channel":"p1.*"}', proto.BAD_CHANNEL),
    ('{"op":"subscribe","channel":"p1..barenbang"}', proto.BAD_CHANNEL),
    ('{"op":"subscribe","channel":"task.../p0"}', proto.BAD_CHANNEL),
    ('{"op":"subscribe","channel":"P0"}', proto.BAD_CHANNEL),
    ('{"op":"subscribe","channel":"p0","since":"yesterday"}', proto.BAD_OFFSET),
    ('{"op":"subscribe","channel":"p0","since":17}', proto.BAD_OFFSET),
    ('{"op":"subscribe","channel":"p0","since":"1-0","epoch":"x y"}', proto.BAD_OFFSET),
    ('{"op":"unsubscribe","channel":["p0"]}', proto.BAD_CHANNEL),
    ("[" * 100_000, proto.BAD_JSON),
])
def test_malformed_frames_raise_the_documented_code(text: str, code: str) -> None:
    """Each kind of malformed frame is refused with its own error code."""
    with pytest.raises(proto.ProtocolError) as caught:
        proto.parse(text)
    assert caught.value.code == code


def test_error_frame_echoes_a_well_formed_channel_only() -> None:
    """The error for a wildcard channel names it; an oversized or non-string one is not echoed."""
    with pytest.raises(proto.ProtocolError) as wild:
        proto.parse('{"op":"subscribe","channel":"p2.*"}')
    assert json.loads(wild.value.frame())["channel"] == "p2.*"
    with pytest.raises(proto.ProtocolError) as big:
        proto.parse(json.dumps({"op": "subscribe", "channel": "x" * 500}))
    assert "channel" not in json.loads(big.value.frame())


def test_server_frames_are_compact_json() -> None:
    """subscribed and error frames have the documented fields."""
    frame = json.loads(proto.subscribed_frame("p0", "5-0", "123", True, 2))
    assert frame == {"op": "subscribed", "channel": "p0", "offset": "5-0", "epoch": "123",
                     "recovered": True, "missed": 2}
    assert json.loads(proto.error_frame("forbidden", "no", "p0")) == {
        "op": "error", "code": "forbidden", "message": "no", "channel": "p0"}
    assert json.loads(proto.PONG) == {"op": "pong"}
