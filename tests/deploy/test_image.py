"""
The container image, black-box: build it from the Dockerfile and run the
walking skeleton inside it against a redis-server on the host.

Opt-in (building takes minutes the first time): NUDGE_TEST_IMAGE=1.
Builds with Docker when `docker info` works, else with ../shared/tools/image
(buildah, host network; see tests/deploy/README.md). Skipped, saying why,
when neither can run here.

The image tool cannot mount files, so the server and worker use the shops
file the image ships (/opt/nudge/share/nudge/config/shops.example.json: the
demo shop, secret "demo-secret"), and the log provider's outbox stays inside
the container: the send is checked in Redis (the message's st becomes
"sent") instead.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "blackbox"))
from harness import decode_messages  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("NUDGE_IMAGE_TOOL") or REPO.parent / "shared" / "tools" / "image")
TAG = os.environ.get("NUDGE_TEST_IMAGE_TAG", "nudge:test")
REDIS_SERVER = "/usr/bin/redis-server"
SHOPS_IN_IMAGE = "/opt/nudge/share/nudge/config/shops.example.json"
SHOP, SECRET = "demo.myshopify.com", "demo-secret"
BUILD_TIMEOUT = 1800

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("NUDGE_TEST_IMAGE") != "1",
                       reason="image test is opt-in: set NUDGE_TEST_IMAGE=1 (builds the image; minutes)"),
]


# ------------------------------------------------------------------ helpers

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=5):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(what, fn, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, urllib.error.URLError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def sign(secret, body):
    """What `nudgectl sign` prints: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _children():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def descendants(pid):
    kids, out, todo = _children(), [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


# ------------------------------------------------------------------ engines

class Engine:
    """Builds TAG and runs commands in it with the host network."""
    name = "?"

    def build(self):
        raise NotImplementedError

    def argv(self, env, cmd, name):
        raise NotImplementedError

    def run(self, cmd, env=None, timeout=60):
        p = subprocess.run(self.argv(env or {}, cmd, "nudge-test-%s" % uuid.uuid4().hex[:8]),
                           capture_output=True, text=True, timeout=timeout, cwd=REPO)
        return p

    def start(self, cmd, env, log_path):
        name = "nudge-test-%s" % uuid.uuid4().hex[:8]
        log = open(log_path, "w")
        p = subprocess.Popen(self.argv(env, cmd, name), stdout=log, stderr=subprocess.STDOUT,
                             cwd=REPO, start_new_session=True)
        return Daemon(self, p, cmd[0], name, log, log_path)

    def terminate(self, daemon):
        raise NotImplementedError


class Docker(Engine):
    name = "docker"

    def build(self):
        return ["docker", "build", "-t", TAG, str(REPO)]

    def argv(self, env, cmd, name):
        a = ["docker", "run", "--rm", "--network", "host", "--name", name]
        for k, v in env.items():
            a += ["-e", "%s=%s" % (k, v)]
        return a + [TAG] + list(cmd)

    def terminate(self, daemon):
        subprocess.run(["docker", "kill", "--signal", "TERM", daemon.name],
                       capture_output=True, timeout=30)


class ImageTool(Engine):
    """../shared/tools/image: buildah, chroot isolation, host network and
    host PID namespace. `run` takes no -e, so the environment goes through
    env(1) inside the image."""
    name = "image tool"

    def build(self):
        return [str(TOOL), "build", TAG, str(REPO)]

    def argv(self, env, cmd, name):
        a = [str(TOOL), "run", TAG, "--"]
        if env:
            a += ["env"] + ["%s=%s" % kv for kv in env.items()]
        return a + list(cmd)

    def terminate(self, daemon):
        # SIGTERM to the daemon itself (the tool's own processes would kill
        # it instead of letting it drain); the tool then removes its container.
        pids = [p for p in descendants(daemon.proc.pid) if comm(p) == daemon.prog]
        for p in pids:
            os.kill(p, signal.SIGTERM)
        if not pids:
            os.killpg(daemon.proc.pid, signal.SIGTERM)


class Daemon:
    def __init__(self, engine, proc, prog, name, log, log_path):
        self.engine, self.proc, self.prog, self.name = engine, proc, prog, name
        self.log, self.log_path = log, log_path

    def output(self):
        self.log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def assert_running(self):
        assert self.proc.poll() is None, "%s exited %s:\n%s" % (
            self.prog, self.proc.returncode, self.output()[-3000:])

    def stop(self, timeout=30):
        """SIGTERM; the exit code (None when it had to be killed)."""
        if self.proc.poll() is None:
            self.engine.terminate(self)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
                self.log.close()
                return None
        self.log.close()
        return self.proc.returncode


def pick_engine():
    try:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
            return Docker()
        why_docker = "`docker info` fails (no Docker daemon)"
    except (OSError, subprocess.TimeoutExpired):
        why_docker = "no docker command"
    if not TOOL.is_file():
        return "%s, and the image tool %s does not exist (set NUDGE_IMAGE_TOOL)" % (why_docker, TOOL)
    if shutil.which("buildah") is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            return ("%s, buildah is not installed, and the image tool cannot install it "
                    "(needs root and apt-get)" % why_docker)
    return ImageTool()


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def engine():
    e = pick_engine()
    if isinstance(e, str):
        pytest.skip("cannot build the image here: " + e)
    t0 = time.monotonic()
    env = dict(os.environ, BUILDAH_FORMAT="docker")   # keep the HEALTHCHECK
    p = subprocess.run(e.build(), cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=BUILD_TIMEOUT)
    took = time.monotonic() - t0
    if p.returncode != 0 and isinstance(e, ImageTool) and re.search(
            r"(permission denied|operation not permitted|unshare|cannot .*mount)",
            p.stdout + p.stderr, re.I):
        pytest.skip("buildah cannot run here: " + (p.stdout + p.stderr)[-500:])
    assert p.returncode == 0, "image build failed (%s):\n%s" % (e.name, (p.stdout + p.stderr)[-5000:])
    print("\nimage %s built with %s in %.1f s" % (TAG, e.name, took))
    return e


@pytest.fixture
def redis_port(tmp_path):
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(REDIS_SERVER + " missing (make deps)")
    port = free_port()
    p = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
                          "--logfile", str(tmp_path / "redis.log")])
    try:
        wait_until("redis-server", lambda: socket.create_connection(("127.0.0.1", port), 1).close() or True)
        yield port
    finally:
        p.terminate()
        p.wait(timeout=10)


def redis_cmd(port, *args):
    """One command over RESP (no client library needed)."""
    def enc(a):
        a = str(a).encode()
        return b"$%d\r\n%s\r\n" % (len(a), a)
    s = socket.create_connection(("127.0.0.1", port), 5)
    f = s.makefile("rb")
    s.sendall(b"*%d\r\n" % len(args) + b"".join(enc(a) for a in args))

    def read():
        line = f.readline().rstrip(b"\r\n")
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest.decode()
        if t == b"-":
            raise AssertionError("redis: " + rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data.decode()
        if t == b"*":
            return [read() for _ in range(int(rest))]
        raise AssertionError("redis: unexpected %r" % line)
    try:
        return read()
    finally:
        s.close()


def messages(port):
    """{id: fields} of every message nudge stored (decoded as the black-box
    harness does: tests/blackbox/harness.py decode_messages)."""
    out, cursor = {}, "0"
    while True:
        cursor, keys = redis_cmd(port, "SCAN", cursor, "MATCH", "nudge:*:s:*", "COUNT", "1000")
        for k in keys:
            flat = redis_cmd(port, "HGETALL", k)
            out.update(decode_messages(k.rsplit(":s:", 1)[1], dict(zip(flat[::2], flat[1::2]))))
        if cursor == "0":
            return out


def base_env(redis_port):
    return {"NUDGE_REDIS_URL": "redis://127.0.0.1:%d/0" % redis_port,
            "NUDGE_SHOPS_FILE": SHOPS_IN_IMAGE}


# ------------------------------------------------------------------ tests

def test_binaries_and_user_in_image(engine):
    for cmd, want in ((["nudge-server", "--help"], "NUDGE_LISTEN"),
                      (["nudge-worker", "--help"], "NUDGE_WORKER_METRICS_LISTEN"),
                      (["nudgectl", "version"], "nudgectl ")):
        p = engine.run(cmd)
        assert p.returncode == 0 and want in p.stdout, (cmd, p.stdout, p.stderr)
    p = engine.run(["sh", "-c", "id -u; id -g; echo $NUDGE_FLOWS_FILE; ls $NUDGE_TEMPLATES_DIR; "
                    "test -f $NUDGE_FLOWS_FILE && test -w /var/lib/nudge && echo ok; "
                    "command -v gcc cc make || true"])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[:3] == ["10001", "10001", "/opt/nudge/share/nudge/config/flows.json"], p.stdout
    locales = sorted(d.name for d in (REPO / "templates").iterdir() if d.is_dir())
    assert lines[3:3 + len(locales)] == locales, p.stdout
    assert lines[3 + len(locales):] == ["ok"], "unexpected (a compiler in the image?): " + p.stdout


def test_webhook_to_sent_in_image(engine, redis_port, tmp_path):
    port = free_port()
    server = engine.start(["nudge-server"],
                          dict(base_env(redis_port), NUDGE_LISTEN="127.0.0.1:%d" % port),
                          tmp_path / "server.log")
    worker = None
    try:
        base = "http://127.0.0.1:%d" % port

        def ready():
            server.assert_running()
            return http("GET", base + "/readyz", timeout=2)[0] == 200
        wait_until("nudge-server /readyz in the image", ready, timeout=60)
        assert http("GET", base + "/healthz")[0] == 200

        # The image's own HEALTHCHECK command, run in the image (curl is there).
        hc = re.search(r"HEALTHCHECK[^\n]*?CMD (.+)$",
                       re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text()), re.M).group(1)
        p = engine.run(["sh", "-c", hc], env={"NUDGE_LISTEN": "0.0.0.0:%d" % port})
        assert p.returncode == 0, "HEALTHCHECK failed: %s %s" % (p.stdout, p.stderr)

        body = (REPO / "examples" / "orders-create.json").read_bytes()
        sig = sign(SECRET, body)
        ctl = REPO / "bin" / "nudgectl"
        if ctl.is_file():
            out = subprocess.run([str(ctl), "sign", "--secret", SECRET,
                                  str(REPO / "examples" / "orders-create.json")],
                                 capture_output=True, text=True, timeout=10)
            assert out.stdout.strip() == sig, "nudgectl sign disagrees with HMAC-SHA256/base64"
        status, answer = http("POST", base + "/webhooks/shopify", body, {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Event-Id": "image-smoke-" + uuid.uuid4().hex,
            "X-Shopify-Hmac-Sha256": sig,
        })
        assert status == 200, answer
        doc = json.loads(answer)
        assert doc["result"] == "scheduled" and doc["messages"] >= 1, doc

        confirmations = {k: m for k, m in messages(redis_port).items()
                         if m.get("t") == "order_confirmation"}
        assert len(confirmations) == 1, messages(redis_port)
        (key,) = confirmations

        mport = free_port()
        worker = engine.start(["nudge-worker"],
                              dict(base_env(redis_port), NUDGE_EMAIL_PROVIDER="log",
                                   NUDGE_WORKER_METRICS_LISTEN="127.0.0.1:%d" % mport),
                              tmp_path / "worker.log")

        def sent():
            worker.assert_running()
            return messages(redis_port)[key]["st"] == "sent"
        wait_until("the confirmation's st = sent", sent, timeout=60)
        m = messages(redis_port)[key]
        assert m["ch"] == "email" and m["st"] == "sent", m
        # The log provider wrote it into the image's outbox (inside the
        # container, gone with it): the worker's log line names the file.
        logs = [json.loads(l) for l in worker.output().splitlines() if l.startswith("{")]
        assert "error" not in [l.get("level") for l in logs], worker.output()[-3000:]
        sends = [l for l in logs if l.get("msg") == "sent" and l.get("step") == "confirmation"]
        assert len(sends) == 1, worker.output()[-3000:]
        assert sends[0]["provider"] == "log"
        assert sends[0]["provider_id"].startswith("/var/lib/nudge/outbox/"), sends[0]
    finally:
        rc_worker = worker.stop() if worker else 0
        rc_server = server.stop()
    assert rc_worker == 0, "nudge-worker exit %s after SIGTERM:\n%s" % (rc_worker, worker.output()[-3000:])
    assert rc_server == 0, "nudge-server exit %s after SIGTERM:\n%s" % (rc_server, server.output()[-3000:])


def test_worker_health_listener_in_image(engine, redis_port, tmp_path):
    """What the deployments probe: the worker's /healthz (and /metrics) on
    NUDGE_WORKER_METRICS_LISTEN, and nudge-server's /metrics on its port."""
    mport, port = free_port(), free_port()
    worker = engine.start(["nudge-worker"],
                          dict(base_env(redis_port), NUDGE_WORKER_METRICS_LISTEN="127.0.0.1:%d" % mport),
                          tmp_path / "worker.log")
    server = engine.start(["nudge-server"],
                          dict(base_env(redis_port), NUDGE_LISTEN="127.0.0.1:%d" % port),
                          tmp_path / "server.log")
    try:
        def healthy():
            worker.assert_running()
            return http("GET", "http://127.0.0.1:%d/healthz" % mport, timeout=2)[0] == 200
        wait_until("nudge-worker /healthz on NUDGE_WORKER_METRICS_LISTEN", healthy, timeout=60)
        status, text = http("GET", "http://127.0.0.1:%d/metrics" % mport)
        assert status == 200 and b"nudge_" in text, (status, text[:500])

        def ready():
            server.assert_running()
            return http("GET", "http://127.0.0.1:%d/readyz" % port, timeout=2)[0] == 200
        wait_until("nudge-server /readyz", ready, timeout=60)
        status, text = http("GET", "http://127.0.0.1:%d/metrics" % port)
        assert status == 200 and b"nudge_" in text, (status, text[:500])
    finally:
        rc_worker, rc_server = worker.stop(), server.stop()
    assert (rc_worker, rc_server) == (0, 0), (worker.output()[-2000:], server.output()[-2000:])
