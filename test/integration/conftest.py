"""Shared fixtures of the integration tests."""

import pytest

from cluster_env import virtual_cluster


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A one-node virtual cluster for the whole test module."""
    base = str(tmp_path_factory.mktemp("vc"))
    with virtual_cluster(base) as e:
        yield e
