"""The publisher process of the cluster client benchmark: SPUBLISH at a steady rate.

    python -m bench.cluster_publisher --nodes H:P,H:P --channels a,b --rate 500 \
        --duration 30 --out published.json

Round-robin over the channels, one sequence number per channel per attempt, payload
``seq|sent-wall-time|channel``. Each SPUBLISH is sent exactly once, to the slot's primary from
the publisher's own slot map (``CLUSTER SLOTS``, read again after any failure): redis-py's
``RedisCluster`` retries commands whose connection broke, and a retried SPUBLISH that had in
fact gone out is delivered twice (seen here during a failover: ~100-180 duplicates on channels
of the *surviving* primaries) — which would be charged to the subscriber library under test.
A publish that fails (node down, ``-MOVED``) is recorded as failed and the next one goes on
schedule (its number is skipped, so the subscriber sees the gap). Writes, per channel, the
sequence numbers the cluster accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from redis.asyncio import Redis

from bench.cluster_manual import Address, SlotMap, read_slot_map

_MAX_IN_FLIGHT = 2000  # during a failover publishes wait on retries; do not pile up forever


async def publish(args: argparse.Namespace) -> None:
    channels = args.channels.split(",")
    seeds: list[Address] = [(h, int(p)) for h, _, p in
                            (n.rpartition(":") for n in args.nodes.split(","))]
    slot_map: SlotMap = await read_slot_map(seeds)
    clients: dict[Address, Redis] = {}
    refreshing: asyncio.Task[SlotMap] | None = None
    accepted: dict[str, list[int]] = {c: [] for c in channels}
    receivers: dict[str, int] = {}
    failed = 0
    skipped = 0
    seqs = dict.fromkeys(channels, 0)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(channel: str, seq: int) -> None:
        nonlocal failed, slot_map, refreshing
        owner = slot_map.owner(channel)
        try:
            if owner is None:
                raise LookupError(channel)
            if owner not in clients:
                clients[owner] = Redis(host=owner[0], port=owner[1], socket_connect_timeout=0.5,
                                       socket_timeout=2.0)
            got = await clients[owner].execute_command(
                "SPUBLISH", channel, f"{seq}|{time.time():.6f}|{channel}")
            accepted[channel].append(seq)
            receivers[channel] = int(got)
        except Exception:
            failed += 1
            if refreshing is None or refreshing.done():
                refreshing = asyncio.create_task(read_slot_map([*seeds, *clients]))
                refreshing.add_done_callback(_adopt)

    def _adopt(task: asyncio.Task[SlotMap]) -> None:
        nonlocal slot_map
        if not task.cancelled() and task.exception() is None:
            slot_map = task.result()

    tick = 0.01
    per_tick = args.rate * tick
    start = time.monotonic()
    owed = 0.0
    i = 0
    while (now := time.monotonic()) - start < args.duration:
        owed += per_tick
        while owed >= 1:
            owed -= 1
            channel = channels[i % len(channels)]
            i += 1
            seqs[channel] += 1
            if len(in_flight) >= _MAX_IN_FLIGHT:
                skipped += 1
                continue
            task = asyncio.create_task(one(channel, seqs[channel]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.sleep(max(0.0, start + (round((now - start) / tick) + 1) * tick
                                - time.monotonic()))
    if in_flight:
        await asyncio.wait(in_flight, timeout=15)
    for client in clients.values():
        await client.aclose()
    with open(args.out, "w") as out:
        json.dump({"accepted": accepted, "failed": failed, "skipped": skipped,
                   "attempted": i}, out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_publisher")
    parser.add_argument("--nodes", required=True, help="host:port,... of cluster nodes")
    parser.add_argument("--channels", required=True)
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second, total")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--out", required=True)
    asyncio.run(publish(parser.parse_args()))


if __name__ == "__main__":
    main()
