"""
Fixtures of the fault tests: those of the black-box suite (tests/blackbox,
imported from its conftest, so every daemon gets the same teardown checks),
plus a Redis whose fsync policy a test can choose, the shops of every
platform, and a SendGrid stub fast enough for 20,000 messages.

tests/faults is a package (__init__.py): its conftest is `faults.conftest`,
not a second top-level `conftest` module that would shadow the black-box
one (lifecycle.py imports `from conftest import default_shops`).
"""
import json
import os
import sys
from pathlib import Path

import pytest

BLACKBOX = Path(__file__).resolve().parents[1] / "blackbox"
if str(BLACKBOX) not in sys.path:
    sys.path.insert(0, str(BLACKBOX))

import harness  # noqa: E402
from conftest import (nudge, nudge_bin, pytest_runtest_makereport,  # noqa: E402,F401
                      pytest_sessionfinish, sendgrid_stub)
from conftest import pytest_configure as _blackbox_configure  # noqa: E402
from harness import SENDGRID_KEY, RedisServer  # noqa: E402
from lifecycle import lifecycle_shops  # noqa: E402

from faults.faststub import FastStub  # noqa: E402

# the black-box fixtures and hooks, re-exported for this directory's tests
__all__ = ["nudge", "nudge_bin", "sendgrid_stub", "pytest_runtest_makereport",
           "pytest_sessionfinish", "redis_server", "shops_file", "fast_stub"]


def pytest_configure(config):
    _blackbox_configure(config)
    config.addinivalue_line(
        "markers", "appendfsync(policy): the test's redis-server runs with this "
                   "appendfsync policy (always, everysec, no)")


class FaultRedis(RedisServer):
    """harness.RedisServer with an appendfsync policy, and kill() (SIGKILL:
    a crash, no shutdown fsync) next to stop()."""

    def __init__(self, workdir, appendfsync="everysec"):
        super().__init__(workdir)
        self.appendfsync = appendfsync

    def start(self, timeout=10):
        import subprocess
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        self.proc = subprocess.Popen(
            [harness.REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", self.appendfsync,
             "--dir", str(self.dir), "--logfile", str(self.log_path), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        harness._track(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise harness.GiveUp("redis-server exited %s:\n%s" % (
                    self.proc.returncode, harness.tail(self.log_path)))
            try:
                return self.client(socket_timeout=0.5).ping()
            except Exception:
                return False
        harness.wait_until(up, timeout, what="redis-server PING on port %d" % self.port)
        return self

    def kill(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.kill()
        p.wait()
        harness._untrack(p)


@pytest.fixture
def redis_server(request, tmp_path):
    """Overrides the black-box fixture: same server, with the appendfsync
    policy of the test's `appendfsync` mark (default everysec)."""
    m = request.node.get_closest_marker("appendfsync")
    r = FaultRedis(tmp_path / "redis", m.args[0] if m else "everysec")
    r.start()
    yield r
    r.stop()


@pytest.fixture
def shops_file(tmp_path):
    """Every platform: the two Shopify shops, a WooCommerce shop (with a
    CartFlows token) and a generic (Standard Webhooks) shop."""
    p = tmp_path / "shops.json"
    p.write_text(json.dumps(lifecycle_shops(), indent=1))
    return p


@pytest.fixture
def fast_stub():
    """FastStub expecting SENDGRID_KEY; point workers at it with
    {"NUDGE_SENDGRID_URL": fast_stub.url}."""
    stub = FastStub(SENDGRID_KEY)
    yield stub
    stub.close()


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default
