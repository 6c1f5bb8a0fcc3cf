"""Where the pickup SLAs in force come from: an admin's change, else the environment, else the
``[sla]`` section of ``config/organisation.toml``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from config.catalog import SlaPolicy, load_catalog
from config.settings import load_settings
from hub.context import AppContext
from hub.tasks.clocks import P1_PICKUP_KEY, P2_PICKUP_KEY, PolicyProvider

CATALOG = SlaPolicy(p1_pickup=timedelta(minutes=7), p2_pickup=timedelta(minutes=11))


def _provider(tmp_path: Path, **env: str) -> PolicyProvider:
    return PolicyProvider(load_settings({"PTSA_VAR_DIR": str(tmp_path), **env}), CATALOG)


def test_the_catalogue_decides_when_nothing_overrides_it(tmp_path: Path) -> None:
    policy = _provider(tmp_path).build({}, [])
    assert (policy.p1_pickup, policy.p2_pickup) == (timedelta(minutes=7), timedelta(minutes=11))


def test_an_environment_variable_overrides_the_catalogue(tmp_path: Path) -> None:
    policy = _provider(tmp_path, PTSA_SLA_P1_PICKUP="90s").build({}, [])
    assert (policy.p1_pickup, policy.p2_pickup) == (timedelta(seconds=90), timedelta(minutes=11))


def test_an_admins_change_overrides_both(tmp_path: Path) -> None:
    provider = _provider(tmp_path, PTSA_SLA_P1_PICKUP="90s", PTSA_SLA_P2_PICKUP="2h")
    policy = provider.build({P1_PICKUP_KEY: "300", P2_PICKUP_KEY: "600"}, [])
    assert (policy.p1_pickup, policy.p2_pickup) == (timedelta(minutes=5), timedelta(minutes=10))


def test_the_app_reads_organisation_toml(tmp_path: Path) -> None:
    """The running app's defaults are the shipped file's [sla] section (15 and 30 minutes)."""
    settings = load_settings({"PTSA_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0"})
    ctx = AppContext(settings)  # builds parts, connects nothing
    assert ctx.policies.defaults == load_catalog().sla
    assert ctx.policies.defaults == SlaPolicy(timedelta(minutes=15), timedelta(minutes=30))
