"""REDIS_URL naming a Redis Cluster, and PTSA_QUEUE_URL (config/settings.py)."""

from __future__ import annotations

import pytest

from config.settings import Settings, cluster_password, load_settings, parse_cluster_url
from hub.errors import ConfigError

BASE = {"PTSA_VAR_DIR": "/tmp/ptsa-cluster-settings"}


def test_cluster_url_lists_seed_nodes_and_requires_a_queue_redis() -> None:
    s = load_settings({**BASE, "REDIS_URL": "redis+cluster://10.0.0.1:7000, 10.0.0.2:7001",
                       "PTSA_QUEUE_URL": "redis://10.0.0.5:6379/0"})
    assert s.redis_cluster
    assert s.cluster_nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001))
    assert s.queue_url == "redis://10.0.0.5:6379/0"
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "REDIS_URL": "redis+cluster://10.0.0.1:7000"})
    assert caught.value.message.startswith(
        "PTSA_QUEUE_URL must name a standalone Redis for arq: arq does not support Redis Cluster")


def test_standalone_redis_is_also_the_queue_unless_told_otherwise() -> None:
    s = load_settings({**BASE, "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert not s.redis_cluster and s.queue_url == "redis://127.0.0.1:6379/0"
    s = load_settings({**BASE, "REDIS_URL": "redis://127.0.0.1:6379/0",
                       "PTSA_QUEUE_URL": "redis://127.0.0.1:6380/0"})
    assert s.queue_url == "redis://127.0.0.1:6380/0"
    # Built in code with another REDIS_URL (as tests do), the queue follows it.
    assert Settings(redis_url="redis://h:1/0").queue_url == "redis://h:1/0"
    assert Settings(redis_url="redis+cluster://h:1").queue_url is None


@pytest.mark.parametrize(("env", "expected"), [
    ({"REDIS_URL": "redis+cluster://10.0.0.1"}, "'10.0.0.1' is not HOST:PORT"),
    ({"REDIS_URL": "redis+cluster://10.0.0.1:7000,:7001"}, "':7001' is not HOST:PORT"),
    ({"REDIS_URL": "redis+cluster://h:99999"}, "'h:99999' is not HOST:PORT"),
    ({"REDIS_URL": "redis+cluster://"}, "'' is not HOST:PORT"),
    ({"REDIS_URL": "http://h:1"}, "REDIS_URL must start with redis://"),
    ({"REDIS_URL": "redis://h:1/0", "PTSA_QUEUE_URL": "redis+cluster://h:1"},
     "PTSA_QUEUE_URL must name a standalone Redis"),
])
def test_malformed_cluster_settings_are_refused_in_plain_words(env: dict[str, str],
                                                               expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "PTSA_QUEUE_URL": "redis://q:6379/0", **env})
    assert expected in caught.value.message


def test_cluster_password_is_read_and_never_part_of_a_node() -> None:
    url = "redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7000"
    assert cluster_password(url) == "s3cret"
    assert parse_cluster_url(url) == (("10.0.0.1", 7000), ("10.0.0.2", 7000))
    assert cluster_password("redis+cluster://10.0.0.1:7000") is None
