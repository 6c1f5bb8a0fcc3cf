"""Who may subscribe to which channel (docs/PROTOCOL.md).

A P0 → ``p0``; a P1 of unit X → ``p1.X``; a P2 of unit Y → ``p2.Y``; a supervisor → ``sup.`` of
their unit and the level channels under it; anyone who may see a task → ``task.<id>``; a user →
their own ``user.`` channel; an admin → everything. Everything else is refused, and the refusal
says only that the channel is not allowed: it never tells whether a task or unit exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from channels import names
from hub.auth.principal import Principal
from hub.domain.tasks import FRONT_OFFICE, Role

# Looks up whether the principal may see task <id> (a database read, done by the caller's side).
TaskVisibility = Callable[[Principal, int], Awaitable[bool]]

# Events after which a task may be seen by other people than before (it moved to another unit or
# level). When one arrives on ``task.<id>``, every hub process re-checks the subscribers it holds
# on that channel before forwarding it (``channels.realtime``): the event is the signal, so the
# decision reaches every process, in order with the channel's other events. A command that moves
# a task (a future reassign or reroute) adds its event type here and needs nothing else.
# Events after which a task may sit where some of its watchers may no longer see it: a desk's
# and a supervisor's moves (hub.domain.tasks, hub.domain.supervision).
REAUTHORISE_ON = frozenset({"task.disposed", "task.returned", "task.resubmitted",
                            "task.reassigned", "task.released", "task.taken_over",
                            "task.rerouted"})
_TYPE_MARK = ',"type":"'


def moves_task(channel: str, frame: str) -> bool:
    """True for an event frame on a ``task.`` channel whose type is in ``REAUTHORISE_ON``.

    The frame is read without decoding it: ``channels.history.event_body`` writes the type right
    after the event id, and neither a channel name nor an event id holds a quote.
    """
    if not channel.startswith("task."):
        return False
    start = frame.find(_TYPE_MARK)
    if start < 0:
        return False
    start += len(_TYPE_MARK)
    return frame[start:frame.find('"', start)] in REAUTHORISE_ON


def default_channels(principal: Principal) -> list[str]:
    """The channels a workstation of this principal subscribes to when its board opens."""
    role, unit = principal.role, principal.unit
    chans: list[str] = [names.user(principal.username)]
    if role == Role.P0:
        chans.insert(0, names.p0())
    elif role == Role.P1:
        chans.insert(0, names.p1(unit))
    elif role == Role.P2:
        chans.insert(0, names.p2(unit))
    elif role == Role.SUPERVISOR:
        chans[:0] = supervisor_channels(principal)
    elif role == Role.ADMIN:
        chans.insert(0, names.p0())
    return chans


def supervisor_channels(principal: Principal) -> list[str]:
    chans: list[str] = [names.sup(principal.unit)]
    if principal.unit == FRONT_OFFICE:
        chans.append(names.p0())
        return chans
    for unit in sorted(principal.scope):
        if unit == principal.unit:
            # An Eselon I supervisor's own desk is p1.<unit>; an Eselon II one's is p2.<unit>.
            eselon1 = principal.unit_level == "eselon1"
            chans.append(names.p1(unit) if eselon1 else names.p2(unit))
        else:
            chans.append(names.p2(unit))
            chans.append(names.sup(unit))
    return chans


def may_see_hall(principal: Principal) -> bool:
    """The hall queue (the ``hall`` channel, its KPIs): the counters (P0), the front office's
    penyelia and the admin."""
    return principal.role in (Role.P0, Role.ADMIN) or (
        principal.role == Role.SUPERVISOR and principal.unit == FRONT_OFFICE)


async def may_subscribe(principal: Principal, channel: str,
                        task_visible: TaskVisibility) -> bool:
    parsed = names.parse_channel(channel)
    if parsed is None:
        return False
    if principal.role == Role.ADMIN:
        return True
    if principal.role in ("kiosk", "display"):  # devices (hub/queue/devices.py): the hall only
        return parsed.kind == "hall"
    if parsed.kind == "user":
        return parsed.key == principal.username
    if parsed.kind == "task":
        return await task_visible(principal, int(parsed.key))
    if parsed.kind == "hall":
        return may_see_hall(principal)
    role, unit = principal.role, principal.unit
    if role == Role.P0:
        return parsed.kind == "p0"
    if role == Role.P1:
        return parsed.kind == "p1" and parsed.key == unit
    if role == Role.P2:
        return parsed.kind == "p2" and parsed.key == unit
    if role == Role.SUPERVISOR:
        return channel in supervisor_channels(principal)
    return False
