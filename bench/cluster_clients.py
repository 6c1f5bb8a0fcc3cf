"""Redis Cluster client libraries for sharded pub/sub, compared (issue 15, item 3).

    python -m bench.cluster_clients failover [--libs redispy,coredis,glide,glide-tuned,product]
    python -m bench.cluster_clients cpu [--libs ...] [--channels 50] [--rate 2000] \
        [--duration 10] [--rounds 3]

Both start a real cluster (``tests/support/redis_cluster.py``: 3 primaries + 3 replicas).

*failover* (correctness, per library on a fresh cluster): a subscriber process
(``bench/cluster_subscribers.py``) subscribes to N sharded channels spread over the primaries; a
publisher process (``bench/cluster_publisher.py``) SPUBLISHes with per-channel sequence numbers;
the primary owning channel 0's slot is SIGKILLed, and after delivery settles one slot of a
surviving primary is moved (``move_slot``). Per event: did the affected channels' delivery
resume, after how long, was the application told (gap signal), how many accepted messages were
lost; duplicates and misrouted messages over the whole run.

*cpu*: one cluster, libraries interleaved (A B C A B C ...), each round a fresh subscriber
process on N channels and a publisher at a fixed rate; the subscriber's CPU (user+sys from
/proc, all its threads) per 1,000 deliveries; medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import procstat
from tests.support.redis_cluster import RedisCluster

LIBS = ("redispy", "coredis", "glide", "glide-tuned")
_ROOT = Path(__file__).resolve().parent.parent


def channel_names(n: int) -> list[str]:
    # The hub's live channels carry the channel in a hash tag: one slot per channel.
    return [f"ptsa:live:{{bench{i}}}" for i in range(n)]


def start_subscriber(lib: str, cluster: RedisCluster, channels: list[str],
                     out: Path) -> subprocess.Popen[str]:
    nodes = ",".join(n.address for n in cluster.alive())
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cluster_subscribers", "--lib", lib, "--nodes", nodes,
         "--channels", ",".join(channels), "--out", str(out)],
        cwd=_ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline, line = time.monotonic() + 30, ""
    while line.strip() != "ready" and time.monotonic() < deadline:
        # Libraries may log to stdout (glide's Rust core does): skip to our own line.
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        line = proc.stdout.readline() if ready else ""
        if line and line.strip() != "ready":
            print(f"{lib}: {line.rstrip()}", file=sys.stderr)
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"{lib} subscriber did not get ready: {line!r}")
    return proc


def start_publisher(cluster: RedisCluster, channels: list[str], rate: float, duration: float,
                    out: Path) -> subprocess.Popen[bytes]:
    nodes = ",".join(n.address for n in cluster.alive())
    return subprocess.Popen(
        [sys.executable, "-m", "bench.cluster_publisher", "--nodes", nodes, "--channels",
         ",".join(channels), "--rate", str(rate), "--duration", str(duration), "--out",
         str(out)], cwd=_ROOT)


def stop_subscriber(proc: subprocess.Popen[str], out: Path) -> dict[str, Any]:
    proc.terminate()
    proc.wait(timeout=20)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# --- correctness under failover ------------------------------------------------------------
def event_outcome(sub: dict[str, Any], pub: dict[str, Any], channels: list[str],
                  at: float, end: float) -> dict[str, Any]:
    """For channels affected by an event at wall time ``at`` (the publisher stopped at ``end``):
    did delivery resume (a message sent in the last 3 s arrived), the longest pause between two
    deliveries after the event, whether the application was told (gap signal), accepted
    messages lost."""
    received: dict[str, set[int]] = {c: set() for c in channels}
    arrivals: dict[str, list[float]] = {c: [at] for c in channels}
    resumed: set[str] = set()
    for channel, seq, sent, got in sub["deliveries"]:
        if channel in received:
            received[channel].add(seq)
            if got > at:
                arrivals[channel].append(got)
            if sent > end - 3:
                resumed.add(channel)
    signalled = {c for t, _why, chans in sub["signals"] if at - 0.5 <= t <= end for c in chans}
    lost = sum(len(set(pub["accepted"][c]) - received[c]) for c in channels)
    pauses = [max(b - a for a, b in zip(sorted(arrivals[c]), sorted(arrivals[c])[1:], strict=False))
              for c in resumed if len(arrivals[c]) > 1]
    return {"channels": len(channels),
            "resumed": f"{len(resumed)}/{len(channels)}",
            "pause_s": round(max(pauses), 2) if pauses and len(resumed) == len(channels)
            else None,
            "signalled": f"{len(signalled & set(channels))}/{len(channels)}",
            "lost": lost}


def run_failover(lib: str, n: int, rate: float, workdir: Path) -> dict[str, Any]:
    channels = channel_names(n)
    with RedisCluster() as cluster:
        sub_out, pub_out = workdir / f"{lib}-sub.json", workdir / f"{lib}-pub.json"
        sub = start_subscriber(lib, cluster, channels, sub_out)
        duration = 45.0
        pub = start_publisher(cluster, channels, rate, duration, pub_out)
        time.sleep(4)
        victim = cluster.primary_for_slot(cluster.slot_of(channels[0]))
        # First a slot move between the two primaries that will not be killed...
        others = [p for p in cluster.shards() if p != victim.port]
        moved = next(c for c in channels
                     if cluster.primary_for_slot(cluster.slot_of(c)).port == others[0])
        move_at = time.time()
        cluster.move_slot(cluster.slot_of(moved), cluster.node(others[1]))
        time.sleep(8)
        # ...then SIGKILL the primary of channel 0.
        killed = [c for c in channels
                  if cluster.primary_for_slot(cluster.slot_of(c)).port == victim.port]
        replicas = cluster.shards()[victim.port]
        kill_at = time.time()
        cluster.kill(victim)
        cluster.wait_for_failover(victim, replicas)
        failover_s = time.time() - kill_at
        pub.wait(timeout=duration + 60)
        end = time.time()
        time.sleep(2)
        result = stop_subscriber(sub, sub_out)
        published = json.loads(pub_out.read_text())
    seqs: dict[str, list[int]] = {}
    for channel, seq, _s, _g in result["deliveries"]:
        seqs.setdefault(channel, []).append(seq)
    duplicates = sum(len(v) - len(set(v)) for v in seqs.values())
    dup_killed = sum(len(seqs.get(c, [])) - len(set(seqs.get(c, []))) for c in killed)
    untouched = [c for c in channels if c not in killed and c != moved]
    lost_untouched = sum(len(set(published["accepted"][c]) - set(seqs.get(c, [])))
                         for c in untouched)
    return {"lib": lib, "failover_s": round(failover_s, 2),
            "kill": event_outcome(result, published, killed, kill_at, end),
            "move": event_outcome(result, published, [moved], move_at, end),
            "duplicates": duplicates, "duplicates_on_killed": dup_killed,
            "misrouted": result["misrouted"],
            "lost_untouched": lost_untouched,
            "accepted": sum(len(v) for v in published["accepted"].values()),
            "delivered": len(result["deliveries"]),
            "signals": [(round(t - kill_at, 2), why, len(chans))
                        for t, why, chans in result["signals"]]}


# --- CPU per 1,000 deliveries --------------------------------------------------------------
def cpu_round(lib: str, cluster: RedisCluster, channels: list[str], rate: float,
              duration: float, workdir: Path) -> dict[str, Any]:
    sub_out, pub_out = workdir / f"cpu-{lib}.json", workdir / "cpu-pub.json"
    sub = start_subscriber(lib, cluster, channels, sub_out)
    time.sleep(1)
    before = procstat.cpu_seconds(sub.pid)
    pub = start_publisher(cluster, channels, rate, duration, pub_out)
    pub.wait(timeout=duration + 60)
    time.sleep(0.5)
    cpu = procstat.cpu_seconds(sub.pid) - before
    result = stop_subscriber(sub, sub_out)
    delivered = len(result["deliveries"])
    latencies = sorted(got - sent for _c, _s, sent, got in result["deliveries"])
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    return {"lib": lib, "cpu_s": cpu, "delivered": delivered,
            "cpu_ms_per_1000": 1000 * cpu / max(delivered, 1) * 1000, "p99_ms": p99}


def run_cpu(libs: list[str], n: int, rate: float, duration: float, rounds: int,
            workdir: Path) -> dict[str, Any]:
    channels = channel_names(n)
    rows: list[dict[str, Any]] = []
    with RedisCluster() as cluster:
        for r in range(rounds):
            for lib in libs:
                row = cpu_round(lib, cluster, channels, rate, duration, workdir)
                row["round"] = r
                rows.append(row)
                print(f"round {r} {lib}: {row['delivered']} deliveries, "
                      f"{row['cpu_ms_per_1000']:.1f} ms CPU / 1,000, p99 {row['p99_ms']:.1f} ms",
                      flush=True)
    medians = {lib: {"cpu_ms_per_1000": statistics.median(
                         r["cpu_ms_per_1000"] for r in rows if r["lib"] == lib),
                     "p99_ms": statistics.median(r["p99_ms"] for r in rows if r["lib"] == lib)}
               for lib in libs}
    return {"rows": rows, "medians": medians}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_clients")
    parser.add_argument("mode", choices=("failover", "cpu"))
    parser.add_argument("--libs", default=",".join(LIBS))
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--rate", type=float, help="messages/s (failover 500, cpu 2000)")
    parser.add_argument("--duration", type=float, default=10.0, help="cpu: seconds per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    libs = args.libs.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="ptsa-cluster-clients-"))
    results_dir = _ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.mode == "failover":
        report: Any = []
        for lib in libs:
            outcome = run_failover(lib, args.channels, args.rate or 500.0, workdir)
            print(json.dumps(outcome), flush=True)
            report.append(outcome)
    else:
        report = run_cpu(libs, args.channels, args.rate or 2000.0, args.duration, args.rounds,
                         workdir)
        print(json.dumps(report["medians"], indent=1))
    path = results_dir / f"cluster-clients-{args.mode}-{stamp}.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"written {path}")


if __name__ == "__main__":
    main()
