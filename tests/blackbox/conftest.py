"""
Fixtures of the black-box suite: a real redis-server, a SendGrid stub and
the real nudge binaries on free 127.0.0.1 ports, all per test, all stopped
at the end of the test whatever happened. The harness fails a test (at
teardown) on a daemon exit code other than 0 after SIGTERM, a daemon that
ignores SIGTERM for 10 s, a process left behind in a daemon's session, a
leaked fd (Daemon.fd_leak: a file, or a connection its peer closed, still
open; the server's fd count more than 8 above its count at ready), a
sanitizer report in a daemon's log or in the stderr of a nudge.run() (a
leak report only when the process exited 0: harness.sanitizer_problems), a
log line that is not a JSON object with a level, and an "error" log line
unless the test is marked allow_errors. Every process gets harness.SAN_ENV
(ASAN_OPTIONS, UBSAN_OPTIONS) ahead of the caller's own.

Logs stay in the test's tmp dir (pytest keeps the last runs' dirs); a failing
test's report shows their tails, the stub's requests and the Redis keys.
"""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import harness
from harness import (BIN, FROM_EMAIL, FROM_NAME, OTHER_SECRET, OTHER_SHOP, PREVIOUS_SECRET,
                     SECRET, SENDGRID_KEY, SHOP, Daemon, RedisServer, SendGridStub, free_port,
                     tail)

# Environment passed through to the daemons; everything else is dropped so
# a developer's NUDGE_* settings cannot change what the tests see.
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",
            "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "allow_errors(*progs): error log lines are expected (from the named "
        "programs, e.g. 'nudge-worker'; from all when none are named)")


def pytest_sessionfinish(session, exitstatus):
    left = harness.kill_leftovers()
    if left:
        print("\nblackbox: killed processes left running: %s" % ", ".join(left))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    h = getattr(item, "_nudge", None)
    if rep.failed and h is not None:
        for title, text in h.post_mortem():
            rep.sections.append((title, text))


# ----------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def nudge_bin():
    """The binaries' directory; fails every test using it when they are missing."""
    missing = harness.missing_binaries()
    if missing:
        pytest.fail("build first: make  (missing %s; NUDGE_BIN=%s)" % (
            ", ".join(missing), BIN), pytrace=False)
    return BIN


@pytest.fixture
def redis_server(tmp_path):
    """RedisServer on a free port, data and log in <tmp>/redis. .stop() and
    .start() restart it on the same port and dir; .client() is redis.Redis
    with decode_responses=True; .url is the NUDGE_REDIS_URL value."""
    r = RedisServer(tmp_path / "redis")
    r.start()
    yield r
    r.stop()


@pytest.fixture
def sendgrid_stub(tmp_path):
    """SendGridStub on a free port expecting SENDGRID_KEY; every request is
    also appended to <tmp>/sendgrid.jsonl."""
    stub = SendGridStub(SENDGRID_KEY, log_path=tmp_path / "sendgrid.jsonl")
    yield stub
    stub.close()


def default_shops():
    return [
        {"domain": SHOP, "platform": "shopify", "secret": SECRET,
         "previous_secret": PREVIOUS_SECRET, "timezone": "Europe/Athens", "locale": "en",
         "from_email": FROM_EMAIL, "from_name": FROM_NAME},
        {"domain": OTHER_SHOP, "platform": "shopify", "secret": OTHER_SECRET,
         "timezone": "Europe/Warsaw", "locale": "en",
         "from_email": "hello@other.example", "from_name": "Other Shop"},
    ]


@pytest.fixture
def shops_file(tmp_path):
    """<tmp>/shops.json with SHOP (secret SECRET, previous PREVIOUS_SECRET)
    and OTHER_SHOP (secret OTHER_SECRET)."""
    p = tmp_path / "shops.json"
    p.write_text(json.dumps(default_shops(), indent=1))
    return p


class Nudge:
    """Starts nudge binaries for one test; see the `nudge` fixture."""

    def __init__(self, request, tmp_path, redis_server, stub, shops_file):
        self.request = request
        self.tmp = tmp_path
        self.logdir = tmp_path / "logs"
        self.logdir.mkdir(exist_ok=True)
        self.outbox = tmp_path / "outbox"
        self.outbox.mkdir(exist_ok=True)
        self.redis_server = redis_server
        self.stub = stub
        self.shops_file = shops_file
        self.daemons = []
        self.runs = []
        self.run_problems = []
        m = request.node.get_closest_marker("allow_errors")
        self.allowed = None if m is None else (set(m.args) or {"*"})

    @property
    def redis(self):
        return self.redis_server.client()

    def env(self, overrides=None):
        """The daemons' environment: base settings merged with overrides
        (a value of None removes the variable)."""
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        env.update(harness.san_env(os.environ))
        env.update({
            "NUDGE_REDIS_URL": self.redis_server.url,
            "NUDGE_SHOPS_FILE": str(self.shops_file),
            "NUDGE_EMAIL_PROVIDER": "sendgrid",
            "SENDGRID_API_KEY": SENDGRID_KEY,
            "NUDGE_SENDGRID_URL": self.stub.url,
            "NUDGE_OUTBOX_DIR": str(self.outbox),
            "NUDGE_POLL_MS": "100",
            "NUDGE_BACKOFF_BASE_MS": "100",
            "NUDGE_BACKOFF_MAX_MS": "400",
            "NUDGE_SEND_TIMEOUT_MS": "5000",
            "NUDGE_LOG_LEVEL": "debug",
        })
        for k, v in (overrides or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def _allow(self, prog, allow_errors):
        if allow_errors is not None:
            return allow_errors
        return self.allowed is not None and ("*" in self.allowed or prog in self.allowed)

    def start(self, prog, env=None, allow_errors=None, wait=True):
        """Starts prog (cwd = repo root). A server gets NUDGE_LISTEN on a
        free port unless env sets it, and with wait=True is ready (/readyz
        200) on return. A worker is checked to be still running 0.2 s in."""
        self.request.getfixturevalue("nudge_bin")
        env = dict(env or {})
        if prog == "nudge-server" and "NUDGE_LISTEN" not in env:
            env["NUDGE_LISTEN"] = "127.0.0.1:%d" % free_port()
        d = Daemon(prog, self.env(env), self.logdir, self._allow(prog, allow_errors))
        d.fd_mark()     # what it inherited (stdin, stdout, stderr), never a leak
        self.daemons.append(d)
        if prog == "nudge-server" and wait:
            d.wait_ready()
        elif wait:
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline and d.alive():
                time.sleep(0.02)
            if not d.alive():
                raise AssertionError("%s exited with %s at startup:\n%s" % (
                    d.name, d.proc.returncode, tail(d.log_path)))
        return d

    def server(self, env=None, **kw):
        return self.start("nudge-server", env, **kw)

    def worker(self, env=None, **kw):
        return self.start("nudge-worker", env, **kw)

    def run(self, prog, *args, env=None, timeout=10):
        """Runs prog to completion (cwd = repo root, stdin closed); returns
        subprocess.CompletedProcess with text stdout/stderr. A run that
        outlives timeout is killed and fails the test."""
        self.request.getfixturevalue("nudge_bin")
        e = dict(env or {})
        if prog == "nudge-server" and "NUDGE_LISTEN" not in e:
            e["NUDGE_LISTEN"] = "127.0.0.1:%d" % free_port()
        p = subprocess.Popen([str(BIN / prog)] + [str(a) for a in args], cwd=str(harness.REPO),
                             env=self.env(e), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        harness._track(p)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError("%s %s still running after %ss; stderr:\n%s" % (
                prog, " ".join(map(str, args)), timeout, err.decode("utf-8", "replace")[-3000:]))
        finally:
            harness._untrack(p)
        res = subprocess.CompletedProcess(p.args, p.returncode,
                                          out.decode("utf-8", "replace"),
                                          err.decode("utf-8", "replace"))
        n = len(self.runs) + 1
        (self.logdir / ("run.%d.%s.log" % (n, prog))).write_text(
            "argv: %s\nexit: %s\n--- stdout\n%s--- stderr\n%s" % (
                res.args, res.returncode, res.stdout, res.stderr))
        self.runs.append(res)
        # A sanitizer report of a run fails the test at teardown, as a
        # daemon's does (a leak only when it exited 0: see sanitizer_problems).
        self.run_problems.extend("run %d (%s): %s" % (n, prog, p) for p in
                                 harness.sanitizer_problems(res.stderr, res.returncode <= 0))
        return res

    def finish(self):
        """Stops every daemon (newest first); returns the problems found."""
        problems = list(self.run_problems)
        for d in reversed(self.daemons):
            if d.killed:
                continue
            leak = d.fd_leak()
            if leak:
                problems.append("%s: %s" % (d.name, leak))
            try:
                rc = d.stop(timeout=10)
            except Exception as e:  # keep stopping the others
                d.kill()
                problems.append("%s: stopping failed: %r" % (d.name, e))
                continue
            if rc is None:
                problems.append("%s: still running 10 s after SIGTERM (SIGKILLed)" % d.name)
            elif rc != d.expect_code:
                problems.append("%s: exit code %s after SIGTERM, want %s" % (
                    d.name, rc, d.expect_code))
        for d in self.daemons:
            left = session_leftovers(d.pid)
            if left:
                problems.append("%s: processes left in its session: %s" % (d.name, left))
            problems.extend("%s: %s" % (d.name, p) for p in d.log_problems())
        return problems

    def post_mortem(self):
        """(title, text) sections for a failing test's report. Taken once:
        at teardown it must be taken before Redis is stopped."""
        if getattr(self, "_post_mortem", None) is not None:
            return self._post_mortem
        if not self.daemons and not self.runs:
            return []
        out = []
        for d in self.daemons:
            out.append(("%s log (%s) tail" % (d.name, d.log_path), tail(d.log_path, 60)))
        out.append(("sendgrid stub", self.stub.report()))
        out.append(("redis log tail", tail(self.redis_server.log_path, 8)))
        if self.redis_server.running():
            try:
                keys = harness.nudge_keys(self.redis)
                out.append(("redis nudge:* keys (%d)" % len(keys), "\n".join(keys[:80])))
            except Exception as e:
                out.append(("redis nudge:* keys", "unavailable: %r" % e))
        return out


def session_leftovers(sid):
    """Processes still alive in session sid (the daemon was its leader);
    they are SIGKILLed and described."""
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append("%s(%s)" % (p.name, stat[stat.index("(") + 1:stat.rindex(")")]))
            try:
                os.kill(int(p.name), 9)
            except OSError:
                pass
    return found


@pytest.fixture
def nudge(request, tmp_path, redis_server, sendgrid_stub, shops_file):
    """Factory of nudge processes for this test:

      nudge.server(env=None, allow_errors=None, wait=True) -> Daemon (.url)
      nudge.worker(env=None, allow_errors=None) -> Daemon
      nudge.run(prog, *args, env=None, timeout=10) -> CompletedProcess
      nudge.redis (redis.Redis), nudge.stub, nudge.outbox, nudge.env()

    env overrides merge into the base environment (Redis, shops file,
    SendGrid stub, outbox, NUDGE_POLL_MS=100, backoff 100..400 ms, debug
    logs); None removes a variable. At teardown every daemon gets SIGTERM
    and must exit 0 within 10 s (Daemon.kill() opts out), and its log is
    checked (see the module comment)."""
    n = Nudge(request, tmp_path, redis_server, sendgrid_stub, shops_file)
    request.node._nudge = n
    yield n
    problems = n.finish()
    if problems:
        n._post_mortem = n.post_mortem()
        pytest.fail("harness checks failed (logs in %s):\n  %s" % (
            n.logdir, "\n  ".join(problems)), pytrace=False)
