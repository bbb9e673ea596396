"""
harness: what the black-box tests drive and inspect, kept apart from the
pytest fixtures (conftest.py) so test files can import it by name.

  RedisServer    a real /usr/bin/redis-server on a free port, restartable on
                 the same port and directory (outage tests)
  SendGridStub   POST /v3/mail/send on a free port: checks the request
                 shape, records every request, answers from a script
  Daemon         one nudge-server / nudge-worker process and its log
  make_order     a realistic Shopify order payload (exact 64-bit id)
  post_order     a signed Shopify webhook delivery
  wait_until     polling instead of sleeping

Everything listens on 127.0.0.1 only.
"""
import base64
import collections
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NUDGE_BIN") or REPO / "bin")
PROGS = ("nudge-server", "nudge-worker", "nudgectl")
REDIS_SERVER = "/usr/bin/redis-server"

SHOP = "demo.myshopify.com"
SECRET = "s3cret"
PREVIOUS_SECRET = "old"
FROM_EMAIL = "shop@demo.example"
FROM_NAME = "Demo Shop"
OTHER_SHOP = "other.myshopify.com"
OTHER_SECRET = "other-s3cret"
SENDGRID_KEY = "SG.test-key.nudge-blackbox"

HTTP_TIMEOUT = 10

# Every live process any test started, so a crash of the harness itself
# (KeyboardInterrupt, fixture bug) cannot leave one behind; see
# kill_leftovers(), called at session end.
_live = set()
_live_lock = threading.Lock()


def _track(proc):
    with _live_lock:
        _live.add(proc)


def _untrack(proc):
    with _live_lock:
        _live.discard(proc)


def kill_leftovers():
    """SIGKILLs whatever is still tracked; returns their descriptions."""
    left = []
    with _live_lock:
        procs = list(_live)
        _live.clear()
    for p in procs:
        if p.poll() is None:
            left.append("pid %d %s" % (p.pid, " ".join(map(str, p.args))[:80]))
            p.kill()
            p.wait()
    return left


def missing_binaries():
    return [str(BIN / p) for p in PROGS if not os.access(BIN / p, os.X_OK)]


# --------------------------------------------------------------- ports, time

_given_ports = set()


def free_port():
    """A TCP port free on 127.0.0.1 now, never handed out twice per session."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


class GiveUp(Exception):
    """Raised by a wait_until predicate to stop waiting at once."""


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy; returns it.
    Exceptions from pred are retried (the last one is reported) except
    GiveUp, which propagates. Raises AssertionError naming `what` after
    timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except GiveUp:
            raise
        except Exception as e:  # keep polling; report the last one
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, "" if last_exc is None else " (last error: %r)" % last_exc))
        time.sleep(interval)


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "<%s: %s>" % (path, e)
    return "\n".join(lines[-n:])


# ------------------------------------------------------------------- redis

class RedisServer:
    """redis-server on 127.0.0.1:port, AOF on, RDB off, data in dir.
    stop() and start() keep the port and directory, so an outage test gets
    the same server (and data) back."""

    def __init__(self, workdir, port=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = self.dir / "redis.log"
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def start(self, timeout=10):
        assert self.proc is None or self.proc.poll() is not None, "redis already running"
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--dir", str(self.dir),
             "--logfile", str(self.log_path), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        _track(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise GiveUp("redis-server exited %s:\n%s" % (
                    self.proc.returncode, tail(self.log_path)))
            try:
                return self.client(socket_timeout=0.5).ping()
            except redis.ConnectionError:
                return False
        try:
            wait_until(up, timeout, what="redis-server PING on port %d" % self.port)
        except AssertionError:
            raise AssertionError("redis-server did not answer PING:\n%s" % tail(self.log_path))
        return self

    def stop(self, timeout=10):
        """SIGTERM (redis fsyncs its AOF), SIGKILL after timeout."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        _untrack(p)

    def running(self):
        return self.proc is not None and self.proc.poll() is None


# Key helpers. Keys are nudge:{p<N>}:<kind>; N is never assumed.
_KEY = re.compile(r"^nudge:\{p(\d+)\}:(.+)$")


def nudge_keys(r):
    return sorted(r.scan_iter(match="nudge:*", count=1000))


def keys_of_kind(r, kind):
    """Keys nudge:{p<N>}:<kind> for every N (kind e.g. "due", "dead")."""
    out = []
    for k in r.scan_iter(match="nudge:*:" + kind, count=1000):
        m = _KEY.match(k)
        if m and m.group(2) == kind:
            out.append(k)
    return sorted(out)


def zset_members(r, kind):
    """All members of every nudge:{p<N>}:<kind> ZSET."""
    out = []
    for k in keys_of_kind(r, kind):
        out.extend(r.zrange(k, 0, -1))
    return out


# The storage encoding (src/lua/_lib.lua): one hash per subject,
# nudge:{pN}:s:<loc>, holding each message's record. These read it back
# as one dict per message with the fields the scripts give nudgectl:
# f s sh sj cu ch cl t a st, r / err / pid and at, lt (lease), cr (cap
# reservation), code and cx (discount code), d (the planned due time).
_ST = {"d": "due", "i": "inflight", "s": "sent", "c": "cancelled", "k": "skipped", "x": "dead"}
_CH = {"e": "email", "s": "sms", "w": "webhook"}
_OUTCOME_FIELD = {"d": "r", "e": "err", "x": "err", "s": "pid", "k": "r", "c": "r", "p": "r"}


def subject_loc(shop, subject):
    """The 16 hex naming a subject's hash (and starting its messages' ids)."""
    return hashlib.sha1(("%s\n%s" % (shop, subject)).encode()).hexdigest()[:16]


def decode_messages(loc, h):
    """{id: fields} of the messages in one subject hash."""
    out = {}
    cu = h.get("cu") or (h["sj"][2:] if h.get("sj", "").startswith("u:") else "")
    for f, v in h.items():
        if not (f.startswith("m") and len(f) == 9):
            continue
        mid = f[1:]
        st, a, fl, flow, step, tpl = v.split("|", 5)
        m = {"f": flow, "s": step, "t": tpl or step, "a": a, "st": _ST[st],
             "sh": h.get("sh", ""), "sj": h.get("sj", ""), "cu": cu, "ch": _CH[fl[0]],
             "cl": "promotional" if fl[1] == "p" else "transactional"}
        if fl[2] != "-":
            m["cm"] = {"d": "defer", "s": "skip"}[fl[2]]
        if fl[3] == "1":
            m["dc"] = "1"
        if "r" + mid in h:
            at, code, text = h["r" + mid].split("|", 2)
            m[_OUTCOME_FIELD[code]] = text
            m["at"] = at
            for line in h.get("h" + mid, "").split("\n") if "err" not in m else []:
                if line and line.split("|", 2)[1] in "ex":
                    m["err"] = line.split("|", 2)[2]
                    break
        if "t" + mid in h:
            m["d"] = h["t" + mid].split("|", 2)[1]
        if h.get("l" + mid):
            m["lt"] = h["l" + mid]
        if "p" + mid in h:
            m["cr"] = h["p" + mid]
        if "k" + mid in h:
            m["code"], m["cx"] = h["k" + mid].rsplit("|", 1)
        out[loc + mid] = m
    return out


def all_messages(r):
    """{id: fields} of every message stored, read with pipelines."""
    keys = [k for k in r.scan_iter(match="nudge:*:s:*", count=1000)
            if _KEY.match(k) and _KEY.match(k).group(2).startswith("s:")]
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.hgetall(k)
    out = {}
    for k, h in zip(keys, pipe.execute()):
        out.update(decode_messages(k.rsplit(":s:", 1)[1], h))
    return out


def message_ids(r):
    return sorted(all_messages(r))


def message(r, msg_id):
    """One message's fields (see all_messages), or None when absent."""
    for k in r.scan_iter(match="nudge:*:s:" + _glob_escape(msg_id[:16]), count=1000):
        m = decode_messages(msg_id[:16], r.hgetall(k)).get(msg_id)
        if m is not None:
            return m
    return None


def _glob_escape(s):
    return re.sub(r"([*?\[\]\\])", r"\\\1", s)


# ----------------------------------------------------------- SendGrid stub

_SG_TOP = {"asm", "attachments", "batch_id", "categories", "content", "custom_args",
           "from", "headers", "ip_pool_name", "mail_settings", "personalizations",
           "reply_to", "reply_to_list", "send_at", "subject", "template_id",
           "tracking_settings"}
_SG_PERS = {"bcc", "cc", "custom_args", "dynamic_template_data", "from", "headers",
            "send_at", "subject", "substitutions", "to"}
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class Resp:
    """One scripted answer of the stub. drop="close" hangs up without
    answering (FIN: the client reads an empty reply); drop="reset" aborts
    the connection (RST: "connection reset by peer"). A dropped request is
    recorded with status None and .dropped set; delay applies before it."""

    def __init__(self, status=202, headers=None, body=None, delay=0.0, drop=None):
        assert drop in (None, "close", "reset"), drop
        self.status = None if drop else status
        self.headers = dict(headers or {})
        self.body = body
        self.delay = delay
        self.drop = drop

    def __repr__(self):
        if self.drop:
            return "Resp(drop=%s%s)" % (self.drop, ", delay=%s" % self.delay if self.delay else "")
        return "Resp(%d%s)" % (self.status, ", delay=%s" % self.delay if self.delay else "")


def rate_limited(retry_after=1):
    return Resp(429, {"Retry-After": str(retry_after)},
                {"errors": [{"message": "too many requests"}]})


def connection_reset(delay=0.0):
    """The stub aborts the connection (RST) instead of answering."""
    return Resp(drop="reset", delay=delay)


def connection_closed(delay=0.0):
    """The stub closes the connection (FIN) without answering."""
    return Resp(drop="close", delay=delay)


class StubRequest:
    """What the stub received, and what it made of it."""

    def __init__(self, n, method, path, headers, body):
        self.n = n                  # 1-based arrival order
        self.t = time.monotonic()
        self.method = method
        self.path = path
        self.headers = headers      # dict, header names lower-cased
        self.body = body            # raw bytes
        self.json = None
        self.problems = []          # shape-check failures; empty = ok
        self.status = None          # what the stub answered (None: dropped)
        self.message_id = None      # X-Message-Id answered, if any
        self.dropped = None         # "close" / "reset" when hung up on
        self.t_done = None          # monotonic time the answer went out

    @property
    def ok(self):
        return not self.problems

    @property
    def accepted(self):
        return self.status is not None and 200 <= self.status < 300

    # Convenience accessors; valid when ok.
    @property
    def pers(self):
        return self.json["personalizations"][0]

    @property
    def nudge_id(self):
        try:
            return self.json["personalizations"][0]["custom_args"]["nudge_id"]
        except (TypeError, KeyError, IndexError):
            return None

    @property
    def to(self):
        return [t.get("email") for t in self.pers["to"]]

    def content(self, ctype):
        for c in self.json.get("content", []):
            if c.get("type") == ctype:
                return c.get("value")
        return None

    def summary(self):
        return "#%d %s %s -> %s nudge_id=%s%s" % (
            self.n, self.method, self.path,
            self.status if not self.dropped else "dropped (%s)" % self.dropped, self.nudge_id,
            "" if self.ok else " PROBLEMS: " + "; ".join(self.problems))


def check_sendgrid(method, path, headers, body, api_key):
    """Problems with a request against the v3 Mail Send contract; [] = ok."""
    p = []
    if method != "POST":
        p.append("method %s, want POST" % method)
    if path != "/v3/mail/send":
        p.append("path %r, want /v3/mail/send" % path)
    auth = headers.get("authorization")
    if auth != "Bearer " + api_key:
        p.append("Authorization %r, want 'Bearer <SENDGRID_API_KEY>'" % auth)
    ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        p.append("Content-Type %r, want application/json" % headers.get("content-type"))
    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        p.append("body is not UTF-8 JSON: %s" % e)
        return p, None
    if not isinstance(d, dict):
        p.append("body is not a JSON object")
        return p, d
    extra = set(d) - _SG_TOP
    if extra:
        p.append("unknown top-level fields %s" % sorted(extra))

    pers = d.get("personalizations")
    if not isinstance(pers, list) or len(pers) != 1:
        p.append("personalizations must be a list of exactly 1, got %r" % (pers,))
    else:
        p0 = pers[0]
        if not isinstance(p0, dict):
            p.append("personalizations[0] not an object")
        else:
            extra = set(p0) - _SG_PERS
            if extra:
                p.append("unknown personalization fields %s" % sorted(extra))
            to = p0.get("to")
            if not isinstance(to, list) or not to:
                p.append("personalizations[0].to must be a non-empty list")
            else:
                for t in to:
                    if not isinstance(t, dict) or not isinstance(t.get("email"), str) \
                            or not _EMAIL.match(t["email"]):
                        p.append("bad to entry %r" % (t,))
                    elif "name" in t and (not isinstance(t["name"], str) or not t["name"]):
                        p.append("to.name must be a non-empty string when present: %r" % (t,))
                    elif set(t) - {"email", "name"}:
                        p.append("unknown to fields %r" % (t,))
            ca = p0.get("custom_args")
            if not isinstance(ca, dict):
                p.append("personalizations[0].custom_args must be an object")
            else:
                bad = {k: v for k, v in ca.items() if not isinstance(v, str)}
                if bad:  # SendGrid requires string values
                    p.append("custom_args values must be strings: %r" % bad)
                if not isinstance(ca.get("nudge_id"), str) or not ca.get("nudge_id"):
                    p.append("custom_args.nudge_id missing or empty")
                if len(json.dumps(ca).encode()) > 10000:
                    p.append("custom_args over 10,000 bytes")

    fr = d.get("from")
    if not isinstance(fr, dict) or not isinstance(fr.get("email"), str) \
            or not _EMAIL.match(fr.get("email", "")):
        p.append("from must be an object with a valid email: %r" % (fr,))

    subj = d.get("subject")
    if not isinstance(subj, str) or not subj:
        p.append("subject must be a non-empty string")
    elif "\n" in subj or "\r" in subj:
        p.append("subject contains a line break")

    content = d.get("content")
    if not isinstance(content, list) or not content:
        p.append("content must be a non-empty list")
    else:
        types = []
        for c in content:
            if not isinstance(c, dict) or set(c) != {"type", "value"} \
                    or not isinstance(c.get("type"), str) or not c["type"] \
                    or not isinstance(c.get("value"), str) or not c["value"]:
                p.append("bad content entry %r" % (c,))
            else:
                types.append(c["type"])
        if types != ["text/plain", "text/html"]:
            p.append("content types %s, want ['text/plain', 'text/html'] in that order" % types)

    cats = d.get("categories")
    if cats is not None:
        if not isinstance(cats, list) or len(cats) > 10 or len(set(map(str, cats))) != len(cats) \
                or not all(isinstance(c, str) and 0 < len(c) <= 255 for c in cats):
            p.append("categories must be <=10 unique non-empty strings <=255 chars: %r" % (cats,))
    return p, d


class SendGridStub:
    """A threaded HTTP server standing in for api.sendgrid.com.

    Every request is checked against the Mail Send contract (check_sendgrid)
    and recorded in .requests (StubRequest). A request that fails the checks
    is answered 400 like SendGrid would, unless strict is False. Otherwise the
    answer is the next entry of the script (see script()), else what
    .responder(req) returns (when set and not None: an int status or a
    Resp; it runs under the stub's lock and must not block), else .default
    (202 with X-Message-Id: sg-<n>). .delay seconds are slept before every
    answer (on top of a Resp's own delay)."""

    def __init__(self, api_key=SENDGRID_KEY, log_path=None):
        self.api_key = api_key
        self.log_path = log_path
        self.requests = []
        self.default = Resp(202)
        self.delay = 0.0
        self.strict = True
        self.responder = None
        self._script = collections.deque()
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _read_body(self):
                if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self):
                body = self._read_body()
                stub._serve(self, body)

            do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True
            request_queue_size = 256    # many workers connecting at once

        self.port = free_port()
        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def script(self, *answers):
        """Queues answers for the next requests: ints (status) or Resp."""
        with self._lock:
            for a in answers:
                if isinstance(a, (list, tuple)):
                    self._script.extend(x if isinstance(x, Resp) else Resp(x) for x in a)
                else:
                    self._script.append(a if isinstance(a, Resp) else Resp(a))

    def _serve(self, h, body):
        headers = {k.lower(): v for k, v in h.headers.items()}
        path = h.path.split("?")[0]
        problems, doc = check_sendgrid(h.command, path, headers, body, self.api_key)
        with self._lock:
            req = StubRequest(len(self.requests) + 1, h.command, h.path, headers, body)
            req.json = doc
            req.problems = problems
            if problems and self.strict:
                resp = Resp(400, body={"errors": [{"message": m} for m in problems]})
            elif self._script:
                resp = self._script.popleft()
            else:
                resp = self.responder(req) if self.responder is not None else None
                if resp is None:
                    resp = self.default
                elif not isinstance(resp, Resp):
                    resp = Resp(resp)
            self.requests.append(req)
            req.status = resp.status
            req.dropped = resp.drop
            if resp.status is not None and 200 <= resp.status < 300:
                req.message_id = "sg-%d" % req.n
            self._log(req)
        delay = self.delay + resp.delay
        if delay:
            time.sleep(delay)
        if resp.drop:
            self._drop(h, resp.drop)
            req.t_done = time.monotonic()
            with self._cv:
                self._cv.notify_all()
            return
        data = b"" if resp.body is None else (
            resp.body if isinstance(resp.body, bytes) else json.dumps(resp.body).encode())
        try:
            h.send_response(resp.status)
            if req.message_id:
                h.send_header("X-Message-Id", req.message_id)
            for k, v in resp.headers.items():
                h.send_header(k, v)
            if data:
                h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if data:
                h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            pass  # the client gave up (timeout test); it is recorded anyway
        req.t_done = time.monotonic()
        with self._cv:
            self._cv.notify_all()

    @staticmethod
    def _drop(h, how):
        """Hangs up on the client without an answer: FIN or RST."""
        h.close_connection = True
        sock = h.connection
        try:
            if how == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        except OSError:
            pass

    def _log(self, req):
        if not self.log_path:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"n": req.n, "method": req.method, "path": req.path,
                                "status": req.status, "problems": req.problems,
                                "headers": req.headers,
                                "body": req.body.decode("utf-8", "replace")}) + "\n")

    # Inspection -----------------------------------------------------------

    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def accepted(self):
        return [r for r in self.snapshot() if r.accepted]

    def wait_requests(self, n, timeout=10.0, accepted=False):
        """Waits until at least n (accepted) requests; returns them all."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                got = [r for r in self.requests if r.accepted or not accepted]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "SendGrid stub: waited %.1fs for %d %srequests, got %d:\n%s" % (
                            timeout, n, "accepted " if accepted else "", len(got),
                            "\n".join(r.summary() for r in self.requests[-20:])))
                self._cv.wait(min(left, 0.1))

    def settle(self, seconds=1.5):
        """Sleeps, then returns all requests: for asserting that nothing more
        arrives (no retry, no duplicate) after the expected ones."""
        time.sleep(seconds)
        return self.snapshot()

    def report(self, n=30):
        reqs = self.snapshot()
        return "%d requests\n%s" % (len(reqs), "\n".join(r.summary() for r in reqs[-n:]))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


# --------------------------------------------------------------- daemons

SANITIZER = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                       r"WARNING: ThreadSanitizer|SUMMARY: \w+Sanitizer)")
# The leak part of a report: the header and LeakSanitizer's summary line.
LEAK_REPORT = re.compile(r"ERROR: LeakSanitizer|SUMMARY: \w+Sanitizer: \d+ byte\(s\) leaked")
# Where a sanitizer's multi-line report starts (its "=====" rule, a
# "==pid==" line, a UBSan "runtime error:"); the lines after it up to the
# next JSON line are the report, not log lines.
SANITIZER_START = re.compile(r"^=+$|^==\d+==|Sanitizer|runtime error:")
LEVELS = ("debug", "info", "warn", "error")

# Sanitizer settings of every process the harness starts (a sanitizer build
# reads them; any other build ignores them). The caller's *SAN_OPTIONS are
# appended, so they win where they set the same flag.
#   exitcode=0        a leak found at exit does not replace the exit code,
#                     so a startup error still exits 2 (see sanitizer_problems)
#   abort_on_error=1  an ASan error still kills the process (SIGABRT), since
#                     exitcode=0 would otherwise let it exit 0
#   detect_leaks=1    LeakSanitizer at exit (the default on x86-64 Linux)
# UBSan keeps going after a report (the build's default); the report in the
# log fails the test. No suppressions: neither libcurl nor OpenSSL global
# state is reported at a clean exit (both are cleaned up or still reachable).
SAN_ENV = {
    "ASAN_OPTIONS": "exitcode=0:abort_on_error=1:detect_leaks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1",
}


def san_env(environ):
    """SAN_ENV with environ's own *SAN_OPTIONS appended."""
    out = {}
    for k, v in SAN_ENV.items():
        extra = environ.get(k)
        out[k] = v + (":" + extra if extra else "")
    return out


def sanitizer_problems(text, clean_exit=True):
    """One line per sanitizer report in text (a process's stderr).

    Leak reports count only after a clean exit (code 0, or a signal): a
    process that exits with an error code (invalid configuration, 2) returns
    from main without freeing what it had loaded, on purpose, as exit
    reclaims it, and LeakSanitizer reports exactly that. Every other report
    (AddressSanitizer, UBSan's "runtime error:") counts whatever the exit."""
    probs = []
    for m in SANITIZER.finditer(text):
        if not clean_exit and LEAK_REPORT.match(text, m.start()):
            continue
        probs.append("sanitizer report: %s" % text[m.start():m.start() + 200].splitlines()[0])
    return probs


class Daemon:
    """A nudge-server or nudge-worker started by the `nudge` fixture."""

    def __init__(self, prog, env, logdir, allow_errors=False):
        self.prog = prog
        self.env = env
        self.allow_errors = allow_errors
        self.killed = False          # the test killed it on purpose
        self.expect_code = 0
        n = 1
        while (Path(logdir) / ("%s.%d.log" % (prog, n))).exists():
            n += 1
        self.name = "%s.%d" % (prog, n)
        self.log_path = Path(logdir) / (self.name + ".log")
        self.out_path = Path(logdir) / (self.name + ".out")
        self._log = open(self.log_path, "wb")
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [str(BIN / prog)], cwd=str(REPO), env=env,
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._log,
            start_new_session=True)
        _track(self.proc)
        self.port = None
        self.fd_baseline = None
        if "NUDGE_LISTEN" in env and prog == "nudge-server":
            self.port = int(env["NUDGE_LISTEN"].rsplit(":", 1)[1])

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=10):
        def ready():
            if not self.alive():
                raise _Exited()
            try:
                return requests.get(self.url + "/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        try:
            wait_until(ready, timeout, what="%s /readyz 200" % self.name)
        except _Exited:
            raise AssertionError("%s exited with %s before /readyz:\n%s" % (
                self.name, self.proc.returncode, tail(self.log_path)))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, tail(self.log_path)))
        self.fd_baseline = self.fd_count()

    def fd_count(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.pid))
        except OSError:
            return None

    # ---- fd leaks ---------------------------------------------------------
    # At teardown (daemon still running, the test's traffic over) each fd the
    # daemon opened since it was started is looked at, and it is a leak when
    # nothing can still need it:
    #   - a file or directory (nudge holds none open: shops, flows, templates,
    #     time zones, outbox and export files are opened, used and closed);
    #   - a TCP socket the peer has closed (CLOSE_WAIT, LAST_ACK) or that
    #     TCP has already dropped (reset or refused: in no /proc/net table),
    #     when it is a connection to Redis (hiredis notices a close at once),
    #     one the daemon accepted (evhttp does too), or any socket of the
    #     server. The worker's other outbound connections are exempt: they
    #     are libcurl's connection cache (up to 256, kept until reused or
    #     pruned, whatever the provider did meanwhile).
    # Listeners, live connections, epoll, eventfds and pipes are never
    # suspects, as they are long-lived by design. A suspect fd must stay open,
    # with the same target, for FD_GRACE seconds, or for the server's request
    # timeout + 1 s when longer (a request still waiting for Redis keeps its
    # connection after the client gave up), so nothing in flight is counted.
    # The fds present when the process started (stdin, stdout, stderr: the
    # log) are exempt. Besides, the server's fd count may not grow more than
    # 8 past its count at ready (a catch-all, any kind of fd).
    FD_GRACE = 3.0
    fd_start = None             # {fd: link} right after exec (fd_mark)
    _TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV",
                   "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE",
                   "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}

    def fd_mark(self):
        """Records the fds the process holds now (called at once after
        start: those it inherited); they are never counted as leaks."""
        self.fd_start = {fd: e["link"] for fd, e in self.fd_table().items()}

    @staticmethod
    def _hex_addr(h):
        ip, port = h.split(":")
        if len(ip) == 8:
            a = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(ip, 16)))
        else:
            a = "[%s]" % socket.inet_ntop(socket.AF_INET6, struct.pack(
                "<4I", *(int(ip[i:i + 8], 16) for i in range(0, 32, 8))))
        return a, int(port, 16)

    def _sockets(self):
        """{inode: info} from the daemon's /proc/<pid>/net tables."""
        out = {}
        for proto in ("tcp", "tcp6", "udp", "udp6"):
            try:
                lines = Path("/proc/%d/net/%s" % (self.pid, proto)).read_text().splitlines()
            except OSError:
                continue
            for line in lines[1:]:
                f = line.split()
                if len(f) < 10:
                    continue
                (la, lp), (ra, rp) = self._hex_addr(f[1]), self._hex_addr(f[2])
                st = self._TCP_STATES.get(f[3], f[3]) if proto.startswith("tcp") else ""
                out[f[9]] = {"kind": proto[:3], "lport": lp, "rport": rp, "state": st,
                             "desc": "%s %s:%d -> %s:%d %s" % (proto, la, lp, ra, rp, st)}
        for proto, col in (("unix", 6), ("netlink", 9)):
            try:
                lines = Path("/proc/%d/net/%s" % (self.pid, proto)).read_text().splitlines()
            except OSError:
                continue
            for line in lines[1:]:
                f = line.split()
                if len(f) > col:
                    out[f[col]] = {"kind": proto, "desc": " ".join([proto] + f[col + 1:])}
        return out

    def fd_table(self):
        """{fd: {"link": readlink target, "desc": what it is, ...}}; sockets
        carry their /proc/net entry (kind, ports, TCP state) when they have one."""
        out = {}
        try:
            fds = os.listdir("/proc/%d/fd" % self.pid)
        except OSError:
            return out
        socks = None
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (self.pid, fd))
            except OSError:
                continue
            e = {"link": link, "desc": link, "kind": None}
            m = re.match(r"socket:\[(\d+)\]$", link)
            if m:
                if socks is None:
                    socks = self._sockets()
                e.update(socks.get(m.group(1)) or {
                    "kind": "dead", "desc": "%s in no /proc/net table (reset, refused or "
                    "never connected)" % link})
            out[int(fd)] = e
        return out

    def _fd_suspects(self, table):
        """{(fd, link): why} for the fds of table that look leaked (see above)."""
        start = self.fd_start or {}
        m = re.search(r":(\d+)(/|$)", self.env.get("NUDGE_REDIS_URL", ""))
        redis_port = int(m.group(1)) if m else 6379
        listening = {e["lport"] for e in table.values() if e.get("state") == "LISTEN"}
        server = self.prog == "nudge-server"
        out = {}
        for fd, e in table.items():
            if start.get(fd) == e["link"]:
                continue
            if e["link"].startswith("/"):
                out[(fd, e["link"])] = "a file left open"
            elif e["kind"] == "dead" and server:
                out[(fd, e["link"])] = "a socket TCP has dropped, still open"
            elif e["kind"] == "tcp" and e["state"] in ("CLOSE_WAIT", "LAST_ACK", "CLOSE"):
                if e["rport"] == redis_port:
                    what = "a Redis connection"
                elif e["lport"] in listening:
                    what = "an accepted connection"
                elif server:
                    what = "a connection"
                else:
                    continue
                out[(fd, e["link"])] = "%s the peer closed, still open" % what
        return out

    def fd_leak(self, slack=8, timeout=None):
        """None, or which fds leaked (see above), one line each: number,
        target and why."""
        if not self.alive():
            return None
        grace = self.FD_GRACE if timeout is None else timeout
        if self.prog == "nudge-server" and timeout is None:
            rt = self.env.get("NUDGE_REQUEST_TIMEOUT_MS") or "3000"
            grace = max(grace, (int(rt) if rt.isdigit() else 3000) / 1000 + 1)
        t0 = time.monotonic()
        first = {}                  # (fd, link) -> when first seen suspect
        while True:
            now = time.monotonic()
            table = self.fd_table()
            sus = self._fd_suspects(table)
            first = {k: first.get(k, now) for k in sus}
            grown = self.fd_baseline is not None and len(table) > self.fd_baseline + slack
            if not sus and not grown:
                return None
            aged = all(now - t >= grace for t in first.values())
            if (aged and now - t0 >= grace) or now - t0 >= 2 * grace or not self.alive():
                break
            time.sleep(0.1)
        lines = ["fd %d -> %s: %s (for %.1f s)" % (fd, table[fd]["desc"], why,
                                                   now - first[(fd, link)])
                 for (fd, link), why in sorted(sus.items()) if now - first[(fd, link)] >= grace]
        if grown:
            new = sorted(fd for fd, e in table.items()
                         if (self.fd_start or {}).get(fd) != e["link"])
            lines.append("%d fds open at the end, %d when ready (+%d allowed); opened since "
                         "start: %s" % (len(table), self.fd_baseline, slack,
                                        self._fd_targets(table, new)))
        if not lines:
            return None
        return "fd leak:\n    " + "\n    ".join(lines)

    @staticmethod
    def _fd_targets(table, fds):
        """What fds are, counted by kind with numbers masked (a long list reads as
        "tcp 127.0.0.1:N -> 127.0.0.1:6379 ESTABLISHED": 3)."""
        out = collections.Counter(re.sub(r"\d+", "N", table[fd]["desc"]) for fd in fds)
        return ", ".join("%s: %d" % kv for kv in out.most_common())

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """Sends sig, waits; SIGKILL after timeout. Returns the exit code
        (negative: killed by that signal); None if it had to be killed."""
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._close()
                _untrack(self.proc)
                return None
        self._close()
        _untrack(self.proc)
        return self.proc.returncode

    def kill(self):
        """SIGKILL on purpose: the exit code is not checked at teardown."""
        self.killed = True
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        self._close()
        _untrack(self.proc)

    def _close(self):
        for f in (self._log, self._out):
            if not f.closed:
                f.close()

    def log_lines(self):
        """Parsed log lines; non-JSON lines come back as {"_raw": text}."""
        out = []
        with open(self.log_path, "rb") as f:
            for raw in f.read().decode("utf-8", "replace").splitlines():
                if not raw.strip():
                    continue
                try:
                    d = json.loads(raw)
                    if not isinstance(d, dict):
                        d = {"_raw": raw}
                except ValueError:
                    d = {"_raw": raw}
                out.append(d)
        return out

    def log_problems(self):
        """Why this log fails the test: sanitizer reports (leaks only after
        a clean exit, see sanitizer_problems), lines that are not JSON
        objects with a valid level, and (unless allowed) error lines."""
        with open(self.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        rc = self.proc.returncode
        probs = sanitizer_problems(text, clean_exit=rc is None or rc <= 0)
        in_report = False
        for d in self.log_lines():
            if "_raw" in d:
                # a sanitizer report's lines (stack frames...) are counted above
                in_report = in_report or bool(SANITIZER_START.search(d["_raw"]))
                if not in_report:
                    probs.append("log line is not a JSON object: %r" % d["_raw"][:200])
                continue
            in_report = False
            if d.get("level") not in LEVELS:
                probs.append("log line without a valid level: %r" % d)
            elif d["level"] == "error" and not self.allow_errors:
                probs.append("error logged: %s" % json.dumps(d)[:300])
        return probs


class _Exited(GiveUp):
    pass


# --------------------------------------------------------------- payloads

class Order:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def make_order(i=1, email=None, first_name="Anna", titles=("Ceramic Mug", "Olive Oil 500ml"),
               prices=("12.50", "9.70"), quantities=(2, 1), currency="EUR"):
    """A Shopify orders/create body like the 2025-07 REST Order. The id is
    a 64-bit integer above 2^53 written as exact JSON text (Python ints
    never go through a double), so a parser that loses precision shows up."""
    oid = 820982911946154508 + i
    number = 1000 + i
    name = "#%d" % number
    email = email or "anna.%d@example.gr" % i
    items = []
    total = 0
    for k, (title, price, qty) in enumerate(zip(titles, prices, quantities)):
        cents = round(float(price) * 100)
        total += cents * qty
        items.append({
            "id": 466157049 + 1000 * i + k, "admin_graphql_api_id":
            "gid://shopify/LineItem/%d" % (466157049 + 1000 * i + k),
            "title": title, "name": title, "variant_title": "", "quantity": qty,
            "price": price, "sku": "SKU-%d" % k, "vendor": "Demo",
            "product_id": 632910392 + k, "variant_id": 39072856 + k,
            "requires_shipping": True, "taxable": True,
        })
    total_s = "%d.%02d" % (total // 100, total % 100)
    body = {
        "id": oid,
        "admin_graphql_api_id": "gid://shopify/Order/%d" % oid,
        "name": name,
        "order_number": number,
        "number": number - 1000,
        "email": email,
        "contact_email": email,
        "phone": None,
        "created_at": "2026-11-23T12:00:00+02:00",
        "updated_at": "2026-11-23T12:00:01+02:00",
        "processed_at": "2026-11-23T12:00:00+02:00",
        "currency": currency,
        "presentment_currency": currency,
        "total_price": total_s,
        "subtotal_price": total_s,
        "total_price_set": {"shop_money": {"amount": total_s, "currency_code": currency},
                            "presentment_money": {"amount": total_s, "currency_code": currency}},
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "test": False,
        "customer_locale": "en",
        "buyer_accepts_marketing": False,
        "checkout_token": "ct-%032x" % i,
        "cart_token": "cart-%032x" % i,
        "checkout_id": 901414060 + i,
        "token": "tok-%032x" % i,
        "order_status_url": "https://%s/%d/orders/tok-%032x/authenticate" % (SHOP, 548380009, i),
        "source_name": "web",
        "customer": {
            "id": 207119551 + i, "email": email, "first_name": first_name,
            "last_name": "Papadopoulou", "phone": None, "locale": "en",
            "email_marketing_consent": {"state": "not_subscribed",
                                        "opt_in_level": "single_opt_in",
                                        "consent_updated_at": None},
        },
        "billing_address": {"first_name": first_name, "last_name": "Papadopoulou",
                            "address1": "Ermou 1", "city": "Athens", "zip": "10563",
                            "country_code": "GR", "phone": None},
        "shipping_address": {"first_name": first_name, "last_name": "Papadopoulou",
                             "address1": "Ermou 1", "city": "Athens", "zip": "10563",
                             "country_code": "GR", "phone": None},
        "line_items": items,
        "fulfillments": [],
    }
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert (b'"id":%d,' % oid) in raw  # the exact digits are on the wire
    return Order(body=raw, id=oid, name=name, number=number, email=email,
                 first_name=first_name, titles=list(titles), total=total_s, currency=currency)


def sign(secret, body):
    """base64(HMAC-SHA256(secret, raw body)), as Shopify sends it."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode()


def new_event_id():
    return str(uuid.uuid4())


def post_order(url, shop, secret, body, event_id, topic="orders/create", sign_it=True,
               signature=None, webhook_id=None, lower_case=False, extra_headers=None,
               path="/webhooks/shopify", method="POST", timeout=HTTP_TIMEOUT):
    """Posts one Shopify webhook delivery to url (the server's base URL).
    body: bytes/str sent as is, or an Order. signature overrides the computed
    one; sign_it=False sends none. lower_case=True uses the shopify-* header
    style. webhook_id defaults to "wh-<event_id>"."""
    if isinstance(body, Order):
        body = body.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    prefix = "shopify-" if lower_case else "X-Shopify-"
    h = {"Content-Type": "application/json",
         "User-Agent": "Shopify-Captain-Hook",
         prefix + ("topic" if lower_case else "Topic"): topic,
         prefix + ("shop-domain" if lower_case else "Shop-Domain"): shop,
         prefix + ("api-version" if lower_case else "API-Version"): "2025-07",
         prefix + ("webhook-id" if lower_case else "Webhook-Id"): webhook_id or "wh-%s" % event_id,
         prefix + ("triggered-at" if lower_case else "Triggered-At"): "2026-11-23T10:00:01.000Z"}
    if event_id is not None:
        h[prefix + ("event-id" if lower_case else "Event-Id")] = event_id
    if signature is not None:
        h[prefix + ("hmac-sha256" if lower_case else "Hmac-Sha256")] = signature
    elif sign_it:
        h[prefix + ("hmac-sha256" if lower_case else "Hmac-Sha256")] = sign(secret, body)
    h.update(extra_headers or {})
    return requests.request(method, url + path, data=body, headers=h, timeout=timeout)


def answer(resp, status):
    """Asserts resp has status, is JSON carrying request_id equal to the
    X-Request-Id header; returns the parsed body."""
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("HTTP %d, body not JSON: %r" % (resp.status_code, resp.text[:300]))
    assert resp.status_code == status, "HTTP %d, want %d: %s" % (resp.status_code, status, body)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", "Content-Type %r" % ctype
    rid = resp.headers.get("X-Request-Id")
    assert rid, "no X-Request-Id header"
    assert body.get("request_id") == rid, "request_id %r != X-Request-Id %r" % (
        body.get("request_id"), rid)
    return body
