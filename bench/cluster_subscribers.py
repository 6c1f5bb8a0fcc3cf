"""One subscriber process of the cluster client benchmark, with one client library.

    python -m bench.cluster_subscribers --lib LIB --nodes H:P,H:P --channels a,b,c \
        --out result.json      (LIB: redispy, product, coredis, glide, glide-tuned)

Prints ``ready`` once every channel is subscribed, records each delivery (channel, sequence
number, send and receive wall time) and each gap signal the library gave the application, and
writes them as JSON at SIGTERM. The recording is the same for every library, so the CPU figures
differ only by the library's own cost.

Gap signals, per library (what an application could act on to ask for history):
- redispy: ``ManualShardedSubscriber``'s ``on_gap`` (connection lost, server ``sunsubscribe``);
- product: the hub's ``channels/sharded_subscriber.py`` (redis-py by hand, as chosen), whose
  ``on_reconnect`` names the channels to fill from history;
- coredis: a ``ssubscribe``/``sunsubscribe`` message after the initial subscription (its
  resubscription after a reconnect, or the server dropping the channel) — the application sees
  these only if it does not ignore subscribe messages;
- glide: none is offered (it re-subscribes inside its Rust core, silently); ``glide-tuned`` is
  glide with a 1 s topology check and a 500 ms subscription reconciliation instead of defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from bench.cluster_manual import ManualShardedSubscriber


class Recorder:
    def __init__(self) -> None:
        self.deliveries: list[tuple[str, int, float, float]] = []
        self.signals: list[tuple[float, str, list[str]]] = []
        self.misrouted = 0

    def message(self, channel: str, data: bytes) -> None:
        now = time.time()
        seq, sent, named = data.decode().split("|", 2)
        if named != channel:
            self.misrouted += 1
        self.deliveries.append((channel, int(seq), float(sent), now))

    def gap(self, channels: list[str], why: str) -> None:
        self.signals.append((time.time(), why, channels))


async def run_redispy(nodes: list[tuple[str, int]], channels: list[str], rec: Recorder,
                      stop: asyncio.Event) -> None:
    sub = ManualShardedSubscriber(nodes, rec.message, rec.gap)
    await sub.subscribe(channels)
    while len(sub._all_subscribed()) < len(channels):
        await asyncio.sleep(0.02)
    print("ready", flush=True)
    await stop.wait()
    await sub.close()


async def run_product(nodes: list[tuple[str, int]], channels: list[str], rec: Recorder,
                      stop: asyncio.Event) -> None:
    """The hub's own subscriber (``channels/sharded_subscriber.py``, built on the choice)."""
    from channels.sharded_subscriber import ShardedSubscriber

    async def refill(gap: object) -> None:
        rec.gap(sorted(gap), "on_reconnect")  # type: ignore[call-overload]

    sub = ShardedSubscriber(nodes, lambda channel, data: rec.message(channel, data.encode()),
                            refill)
    sub.start()
    await asyncio.gather(*(sub.acquire(c) for c in channels))
    print("ready", flush=True)
    await stop.wait()
    await sub.stop()


async def run_coredis(nodes: list[tuple[str, int]], channels: list[str], rec: Recorder,
                      stop: asyncio.Event) -> None:
    import coredis

    client = coredis.RedisCluster(startup_nodes=[{"host": h, "port": p} for h, p in nodes])
    async with client, client.sharded_pubsub(channels=channels) as pubsub:
        confirmed: set[str] = set()
        initial = True

        async def consume() -> None:
            nonlocal initial
            async for msg in pubsub:
                kind, channel = msg["type"], _text(msg["channel"])
                if kind == "smessage" or kind == "message":
                    rec.message(channel, _bytes(msg["data"]))
                elif initial and kind == "ssubscribe":
                    confirmed.add(channel)
                    if len(confirmed) == len(channels):
                        initial = False
                        print("ready", flush=True)
                else:  # a re-subscription or a server-sent sunsubscribe: a gap happened
                    rec.gap([channel], kind)

        task = asyncio.create_task(consume())
        await stop.wait()
        task.cancel()


async def run_glide(nodes: list[tuple[str, int]], channels: list[str], rec: Recorder,
                    stop: asyncio.Event, tuned: bool = False) -> None:
    from glide import GlideClusterClient, GlideClusterClientConfiguration, NodeAddress
    from glide_shared.config import (
        AdvancedGlideClusterClientConfiguration,
        PeriodicChecksManualInterval,
    )

    modes = GlideClusterClientConfiguration.PubSubChannelModes

    def callback(msg: Any, context: Any) -> None:
        rec.message(_text(msg.channel), _bytes(msg.message))

    config = GlideClusterClientConfiguration(
        addresses=[NodeAddress(h, p) for h, p in nodes],
        pubsub_subscriptions=GlideClusterClientConfiguration.PubSubSubscriptions(
            channels_and_patterns={modes.Sharded: set(channels)}, callback=callback,
            context=None),
        # glide-tuned: topology checked every second (default: 60 s) and subscriptions
        # reconciled every 500 ms, to see whether glide then follows a failover in time.
        **({"periodic_checks": PeriodicChecksManualInterval(1),
            "advanced_config": AdvancedGlideClusterClientConfiguration(
                pubsub_reconciliation_interval=500)} if tuned else {}))
    client = await GlideClusterClient.create(config)
    # Subscriptions configured at creation are made before create() returns; check anyway.
    for _ in range(100):
        state = await client.get_subscriptions()
        actual = getattr(state, "actual_subscriptions", None)
        if actual is None or len(actual.get(modes.Sharded, ())) >= len(channels):
            break
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await stop.wait()
    await client.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


async def run_glide_tuned(nodes: list[tuple[str, int]], channels: list[str], rec: Recorder,
                          stop: asyncio.Event) -> None:
    await run_glide(nodes, channels, rec, stop, tuned=True)


RUNNERS = {"redispy": run_redispy, "product": run_product, "coredis": run_coredis,
           "glide": run_glide, "glide-tuned": run_glide_tuned}


async def main_async(args: argparse.Namespace) -> None:
    nodes = [(h, int(p)) for h, _, p in (n.rpartition(":") for n in args.nodes.split(","))]
    channels = args.channels.split(",")
    rec = Recorder()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    started = time.process_time()
    runner = asyncio.create_task(RUNNERS[args.lib](nodes, channels, rec, stop))
    await stop.wait()
    try:
        await asyncio.wait_for(runner, 5)
    except Exception as exc:  # a library failing at shutdown must not lose the record
        print(f"shutdown: {exc!r}", file=sys.stderr)
    with open(args.out, "w") as out:
        json.dump({"lib": args.lib, "deliveries": rec.deliveries, "signals": rec.signals,
                   "misrouted": rec.misrouted, "cpu_s": time.process_time() - started}, out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_subscribers")
    parser.add_argument("--lib", choices=sorted(RUNNERS), required=True)
    parser.add_argument("--nodes", required=True, help="host:port,... (any cluster nodes)")
    parser.add_argument("--channels", required=True, help="comma-separated sharded channels")
    parser.add_argument("--out", required=True)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
