#!/usr/bin/python3
"""nudge benchmarks, each figure next to a baseline measured in the same run.

Run by `make bench` (bench/run.sh). Sections: ingest, dispatch, lag, memory,
scale; then one summary table (Markdown) to paste into the README.

Environment:
  BENCH_QUICK=1      a ~3-minute smoke version (fewer, shorter runs)
  BENCH_REPS=N       runs per figure (median reported); default 3 (quick: 1)
  BENCH_SECS=S       seconds of one ingest run; default 5 (quick: 2)
  BENCH_LAG_SECS=S   seconds of paced webhooks in the lag section; default 20 (quick: 6)
  BENCH_ONLY=a,b     only these sections (ingest, dispatch, lag, memory;
                     profile, with BENCH_PROFILE=1)
  BENCH_10M=0|1      the simulated 10M point of the scale section
                     (default: on in the full run when memory allows)
  BENCH_PROFILE=1    also `perf record` nudge-server and redis-server during
                     an ingest run per size, and nudge-worker during an extra
                     dispatch run (not counted); prints where the CPU goes
  BENCH_SIM_TOTAL=N  pending messages of the simulated point (10,000,000)
  BENCH_KEEP=1       keep the work directory (logs, pools, profiles)
  BENCH_WORKDIR=dir  where pools, logs and Redis files go (default: a
                     fresh directory under $TMPDIR)

Python 3 standard library plus redis-py (python3-redis, installed by
`make deps`); wrk, redis-server and cc from Debian packages.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BIN = os.path.join(ROOT, "bin")
SHOP = "bench.myshopify.com"
SECRET = "bench-secret"
PARTITIONS = 16         # NUDGE_PARTITIONS default; the bench keeps it
FIXTURE_27K = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures", "shopify",
                                            "orders-create.json"))
ORDER_3K = os.path.join(BENCH, "order-3k.json")

QUICK = os.environ.get("BENCH_QUICK") == "1"
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


# Every knob of a run, full and quick.
CFG = {
    "reps": env_int("BENCH_REPS", 1 if QUICK else 3),
    "ingest_secs": env_int("BENCH_SECS", 2 if QUICK else 5),
    "ingest_conns": 32,
    "pool_3k": 40000 if QUICK else 80000,
    "pool_27k": 12000 if QUICK else 30000,
    "dispatch_n": 20000 if QUICK else 60000,
    "dispatch_reps": env_int("BENCH_REPS", 1 if QUICK else 3),
    "stub_secs": 2 if QUICK else 4,
    "lag_secs": env_int("BENCH_LAG_SECS", 6 if QUICK else 20),
    "lag_rate": 1000,
    "lag_delay_ms": 2000,
    "scale_points": [10000, 100000] if QUICK else [10000, 1000000],
    "scale_probe_secs": 2 if QUICK else 3,
    "claim_calls": 30 if QUICK else 50,
    "sim_10m": (os.environ.get("BENCH_10M", "0" if QUICK else "1") == "1"),
    "sim_total": env_int("BENCH_SIM_TOTAL", 10000000),
}

# The figures: targets, and the Node.js + BullMQ receiver measured
# earlier on this kind of machine (not re-measured here).
TARGET_INGEST = 5000.0          # webhooks/s, both sizes, whole sequence each
TARGET_REDIS_US = 62.0          # Redis CPU per webhook
TARGET_DISPATCH_0 = 16000.0     # msg/s, one worker, provider answering at once
INFLIGHT = 1000
PROVIDER_MS = 50
TARGET_DISPATCH_50 = 0.9 * INFLIGHT / (PROVIDER_MS / 1000.0)   # 18,000 msg/s
TARGET_LAG_P99 = 20.0           # ms
TARGET_BYTES_PER_MSG = 300.0
TARGET_SCALE = 1.5
REF = {
    "bare_3k": 58800.0, "hmac_3k": 41000.0, "node_ingest": 2300.0, "node_redis_us": 250.0,
    "bullmq_0": 5516.0, "bullmq_50": 3080.0, "bullmq_p50": 33.0, "bullmq_p99": 95.0,
    "bullmq_bytes": 1238.0,
}

WORK = None
PROCS = []
SUMMARY = []            # rows of the final table
T0 = time.time()


# --- output -----------------------------------------------------------------

def say(msg=""):
    print(msg, flush=True)


def section(title):
    say("")
    say("=" * 78)
    say("%s   (t+%ds)" % (title, time.time() - T0))
    say("=" * 78)


def fmt_rate(v):
    return "-" if v is None else "{:,.0f}".format(v)


def met(ok):
    return "met" if ok else "NOT met"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def runs_str(xs, f="{:,.0f}"):
    return "[" + ", ".join(f.format(x) for x in xs if x is not None) + "]"


def row(bench, measured, baseline, ratio, target, ok):
    SUMMARY.append((bench, measured, baseline, ratio, target, ok))
    say("  -> measured %s | baseline %s | ratio %s | target %s | %s"
        % (measured, baseline, ratio, target, ok))


# --- processes --------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Proc:
    """A child process with its output in the work directory."""

    def __init__(self, name, argv, env=None, cwd=ROOT):
        self.name = name
        self.log = os.path.join(WORK, "logs", "%s.log" % name)
        self.out = open(self.log, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=e, cwd=cwd)
        self.pid = self.p.pid
        PROCS.append(self)

    def cpu_s(self):
        """utime + stime of the process (all threads), seconds."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()
        if self in PROCS:
            PROCS.remove(self)


def stop_all():
    for p in list(PROCS):
        try:
            p.stop(timeout=5)
        except Exception:
            pass


def wait_tcp(port, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if not proc.alive():
            raise SystemExit("bench: %s exited at start; see %s" % (proc.name, proc.log))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("bench: %s did not listen on %d; see %s" % (proc.name, port, proc.log))


def wait_http(url, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if not proc.alive():
            raise SystemExit("bench: %s exited at start; see %s" % (proc.name, proc.log))
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.03)
    raise SystemExit("bench: %s not ready at %s; see %s" % (proc.name, url, proc.log))


class Redis:
    def __init__(self, name, rdb=None):
        self.port = free_port()
        d = os.path.join(WORK, "redis-" + name)
        os.makedirs(d, exist_ok=True)
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", d, "--dbfilename", "dump.rdb",
                "--maxclients", "10000", "--logfile", os.path.join(WORK, "logs", "redis-%s.log" % name)]
        if rdb:
            shutil.copyfile(rdb, os.path.join(d, "dump.rdb"))
        self.dir = d
        self.proc = Proc("redis-" + name + "-stdout", argv)
        wait_tcp(self.port, self.proc)
        self.r = redis.Redis(port=self.port, socket_timeout=600)
        end = time.time() + 120
        while True:     # loading an RDB answers -LOADING until done
            try:
                self.r.ping()
                break
            except redis.exceptions.BusyLoadingError:
                if time.time() > end:
                    raise
                time.sleep(0.05)
        self.url = "redis://127.0.0.1:%d/0" % self.port

    def cpu(self):
        i = self.r.info("cpu")
        return i["used_cpu_sys"] + i["used_cpu_user"]

    def mem(self):
        return self.r.info("memory")["used_memory"]

    def stats(self, field):
        """A counter of nudge:{pN}:stats summed over the partitions (16, the default)."""
        pipe = self.r.pipeline(transaction=False)
        for p in range(PARTITIONS):
            pipe.hget("nudge:{p%d}:stats" % p, field)
        return sum(int(v) for v in pipe.execute() if v)

    def dues(self):
        """The partitions' due sets, busiest first: [(key, members)]."""
        keys = ["nudge:{p%d}:due" % p for p in range(PARTITIONS)]
        pipe = self.r.pipeline(transaction=False)
        for k in keys:
            pipe.zcard(k)
        return sorted(zip(keys, pipe.execute()), key=lambda kv: -kv[1])

    def stop(self):
        self.proc.stop()


def start_nudge(name, rds, threads=1, flows=None, extra=None):
    port = free_port()
    env = {
        "NUDGE_REDIS_URL": rds.url, "NUDGE_SHOPS_FILE": os.path.join(WORK, "shops.json"),
        "NUDGE_FLOWS_FILE": flows or os.path.join(ROOT, "config", "flows.json"),
        "NUDGE_LISTEN": "127.0.0.1:%d" % port, "NUDGE_THREADS": str(threads),
        "NUDGE_EXPORT_DIR": os.path.join(WORK, "exports"),
    }
    env.update(extra or {})
    p = Proc(name, [os.path.join(BIN, "nudge-server")], env)
    p.port = port
    wait_http("http://127.0.0.1:%d/readyz" % port, p)
    return p


def start_baseline(kind, threads):
    port = free_port()
    exe = os.path.join(WORK, "bin", kind)
    argv = [exe, str(port), str(threads)]
    if kind == "hmac_http":
        argv += [SHOP, SECRET]
    p = Proc("%s-t%d" % (kind, threads), argv)
    p.port = port
    wait_tcp(port, p)
    return p


def start_stub(delay_ms):
    port = free_port()
    p = Proc("stub-%dms" % delay_ms, [os.path.join(WORK, "bin", "stub_provider"), str(port),
                                       str(delay_ms)])
    p.port = port
    wait_tcp(port, p)
    return p


def start_worker(name, rds, stub_port, flows=None, extra=None):
    env = {
        "NUDGE_REDIS_URL": rds.url, "NUDGE_SHOPS_FILE": os.path.join(WORK, "shops.json"),
        "NUDGE_FLOWS_FILE": flows or os.path.join(ROOT, "config", "flows.json"),
        "NUDGE_EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_KEY": "SG.bench",
        "NUDGE_SENDGRID_URL": "http://127.0.0.1:%d" % stub_port,
        "NUDGE_MAX_INFLIGHT": str(INFLIGHT), "NUDGE_PROVIDER_CONCURRENCY": str(INFLIGHT),
        "NUDGE_TEMPLATES_DIR": os.path.join(ROOT, "templates"),
    }
    env.update(extra or {})
    return Proc(name, [os.path.join(BIN, "nudge-worker")], env)


# --- pools of signed bodies -------------------------------------------------

def template_parts(text):
    """The template split around the values that make an order distinct."""
    d = json.loads(text)
    cust = d.get("customer") or {}
    subs = []

    def num(v, tag):
        if v is not None:
            subs.append((re.compile(r"(?<![0-9])%s(?![0-9])" % re.escape(str(v))), tag))

    def lit(v, tag):
        if v:
            subs.append((re.compile(re.escape(v)), tag))

    num(d.get("id"), "oid")
    num(cust.get("id"), "cid")
    num(d.get("checkout_id"), "kid")
    for e in {d.get("email"), d.get("contact_email"), cust.get("email")}:
        lit(e, "mail")
    lit(d.get("checkout_token"), "ktok")
    lit(d.get("cart_token"), "ctok")
    lit(d.get("token"), "tok")
    hits = sorted((m.start(), m.end(), tag) for rx, tag in subs for m in rx.finditer(text))
    parts, pos = [], 0
    for s, e, tag in hits:
        if s < pos:
            continue
        parts += [text[pos:s], tag]
        pos = e
    parts.append(text[pos:])
    return parts


def make_pool(name, template, count, salt):
    """count signed variants of template (fixed width, so fixed-size records)."""
    out = os.path.join(WORK, "pool-%s.dat" % name)
    parts = template_parts(open(template).read())
    key = SECRET.encode()
    blen = None
    with open(out, "wb", buffering=1 << 20) as f:
        for i in range(count):
            v = {"oid": "1%02d%09d" % (salt, i), "cid": "2%02d%09d" % (salt, i),
                 "kid": "3%02d%09d" % (salt, i), "mail": "c%02d%09d@mail.example.com" % (salt, i),
                 "ktok": "%02x%030x" % (salt, i), "ctok": "ca%02x%028x" % (salt, i),
                 "tok": "ab%02x%028x" % (salt, i)}
            body = "".join(v[p] if k % 2 else p for k, p in enumerate(parts)).encode()
            if blen is None:
                blen = len(body)
                f.write(("NUDGEPOOL %d %d\n" % (count, blen)).ljust(64).encode())
            assert len(body) == blen, "pool %s: variable body length" % name
            f.write(base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()))
            f.write(body)
    return {"path": out, "count": count, "body": blen, "name": name}


# --- wrk --------------------------------------------------------------------

RUN_SEQ = [0]


def wrk_args(pool, url, secs, conns, threads=1, rate=0, script="webhooks.lua", start=0):
    RUN_SEQ[0] += 1
    runid = "r%d-%d" % (os.getpid(), RUN_SEQ[0])
    return ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs, "--timeout", "10s",
            "-s", os.path.join(BENCH, script), url, "--", pool["path"], runid, str(rate),
            str(threads), SHOP, str(start)]


def parse_wrk(text):
    m = re.search(r"^WRKJSON (.*)$", text, re.M)
    if not m:
        raise SystemExit("bench: wrk gave no result:\n" + text[-2000:])
    j = json.loads(m.group(1))
    j["rps"] = j["requests"] / (j["duration_us"] / 1e6)
    j["errors"] = j["connect"] + j["read"] + j["write"] + j["timeout"]
    return j


def run_wrk(pool, url, secs, conns, threads=1, rate=0, script="webhooks.lua", start=0):
    env = dict(os.environ, NUDGE_BENCH_DIR=BENCH)
    r = subprocess.run(wrk_args(pool, url, secs, conns, threads, rate, script, start),
                       capture_output=True, text=True, env=env, timeout=secs + 60)
    return parse_wrk(r.stdout + r.stderr)


def fill(rds, pool, url, messages, start=0, conns=32, timeout=900):
    """Posts orders of pool until the stats count `messages` scheduled."""
    env = dict(os.environ, NUDGE_BENCH_DIR=BENCH)
    args = wrk_args(pool, url, 3600, conns, start=start)
    t = time.time()
    w = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    while rds.stats("scheduled") < messages:
        if w.poll() is not None or time.time() - t > timeout:
            raise SystemExit("bench: filling Redis stopped early:\n" + w.stdout.read()[-2000:])
        time.sleep(0.1)
    w.send_signal(signal.SIGINT)
    w.communicate(timeout=30)
    time.sleep(0.3)     # answers still on their way
    return time.time() - t


# --- ingest -----------------------------------------------------------------

def ingest_one(kind, threads, pool, rds):
    secs, conns = CFG["ingest_secs"], CFG["ingest_conns"]
    if kind == "nudge":
        rds.r.flushall()
        rds.r.config_resetstat()
        srv = start_nudge("nudge-t%d" % threads, rds, threads)
        time.sleep(0.1)
        mem0, cpu0 = rds.mem(), rds.cpu()
    else:
        srv = start_baseline(kind, threads)
    scpu0 = srv.cpu_s()
    w = run_wrk(pool, "http://127.0.0.1:%d/webhooks/shopify" % srv.port, secs, conns)
    scpu1 = srv.cpu_s()
    res = {"rps": w["rps"], "requests": w["requests"], "non2xx": w["status"],
           "errors": w["errors"], "p99_ms": w["lat_p99_us"] / 1000.0,
           "srv_cpu_us": (scpu1 - scpu0) * 1e6 / max(w["requests"], 1)}
    if kind == "nudge":
        time.sleep(0.2)
        res["redis_us"] = (rds.cpu() - cpu0) * 1e6 / max(w["requests"], 1)
        res["redis_bytes"] = (rds.mem() - mem0) / max(w["requests"], 1)
        res["full_seq"] = rds.stats("scheduled") / (4.0 * max(w["requests"] - w["status"], 1))
    srv.stop()
    if w["status"] or w["errors"]:
        say("    ! %s t%d: %d non-2xx, %d socket errors (see logs)"
            % (kind, threads, w["status"], w["errors"]))
    return res


def section_ingest(pools):
    section("1. Ingest: signed Shopify orders/create -> nudge-server -> Redis")
    say("wrk -t1 -c%d, %d s per run, %d runs per figure (interleaved), medians; every webhook"
        % (CFG["ingest_conns"], CFG["ingest_secs"], CFG["reps"]))
    say("a distinct order and delivery id. Baselines: bench/bare_http.c (evhttp, 200),")
    say("bench/hmac_http.c (+ HMAC-SHA256 check). Redis flushed before each nudge run.")
    rds = Redis("ingest")
    kinds = [("bare_http", 1), ("hmac_http", 1), ("nudge", 1),
             ("bare_http", 2), ("hmac_http", 2), ("nudge", 2)]
    results = {}
    for rep in range(CFG["reps"]):
        for size, pool in pools:
            for kind, th in kinds:
                r = ingest_one(kind, th, pool, rds)
                results.setdefault((size, kind, th), []).append(r)
                say("  run %d %-4s %-9s t%d: %9s req/s  p99 %6.1f ms  server CPU %5.1f us/req%s"
                    % (rep + 1, size, kind, th, fmt_rate(r["rps"]), r["p99_ms"], r["srv_cpu_us"],
                       ("  redis %5.1f us, %5.0f B/webhook, full sequence %.2f"
                        % (r["redis_us"], r["redis_bytes"], r["full_seq"]))
                       if kind == "nudge" else ""))
    rds.stop()

    def med(size, kind, th, key="rps"):
        return median([r[key] for r in results[(size, kind, th)]])

    say("")
    say("  %-5s %-7s %10s %10s %10s %8s %8s %9s %9s %8s"
        % ("size", "threads", "bare", "+hmac", "nudge", "n/bare", "n/hmac", "srvCPU us",
           "redis us", "redis B"))
    for size, _ in pools:
        for th in (1, 2):
            b, h, n = med(size, "bare_http", th), med(size, "hmac_http", th), med(size, "nudge", th)
            say("  %-5s %-7d %10s %10s %10s %7.1f%% %7.1f%% %9.1f %9.1f %8.0f"
                % (size, th, fmt_rate(b), fmt_rate(h), fmt_rate(n), 100 * n / b, 100 * n / h,
                   med(size, "nudge", th, "srv_cpu_us"), med(size, "nudge", th, "redis_us"),
                   med(size, "nudge", th, "redis_bytes")))
        say("  %-5s server CPU per request (us): bare %.1f, +hmac %.1f, nudge %.1f (t1)"
            % (size, med(size, "bare_http", 1, "srv_cpu_us"), med(size, "hmac_http", 1, "srv_cpu_us"),
               med(size, "nudge", 1, "srv_cpu_us")))
        for th in (1, 2):
            say("  %-5s nudge t%d runs: %s" % (size, th, runs_str(
                [r["rps"] for r in results[(size, "nudge", th)]])))
    say("")
    say("  reference (issue): bare evhttp 58.8k, +HMAC 41.0k req/s (3 KB); Node.js + BullMQ"
        " ~2,300 webhooks/s, ~250 us Redis CPU/webhook")
    for size, _ in pools:
        for th in (1, 2):
            n = med(size, "nudge", th)
            row("ingest %s, NUDGE_THREADS=%d (webhooks/s)" % (size, th), fmt_rate(n),
                "bare %s, +hmac %s; Node ref %s" % (fmt_rate(med(size, "bare_http", th)),
                                                    fmt_rate(med(size, "hmac_http", th)),
                                                    fmt_rate(REF["node_ingest"])),
                "%.0f%% of +hmac; %.1fx Node; %.2fx target"
                % (100 * n / med(size, "hmac_http", th), n / REF["node_ingest"], n / TARGET_INGEST),
                ">= 5,000", met(n >= TARGET_INGEST))
    worst = max(med(size, "nudge", th, "redis_us") for size, _ in pools for th in (1, 2))
    per = "; ".join("%s %.0f" % (size, med(size, "nudge", 1, "redis_us")) for size, _ in pools)
    row("Redis CPU per webhook (us)", "%s (t1); worst %.0f" % (per, worst),
        "Node+BullMQ ref %.0f" % REF["node_redis_us"],
        "%.2fx ref; %.2fx target" % (worst / REF["node_redis_us"], worst / TARGET_REDIS_US),
        "<= 62", met(worst <= TARGET_REDIS_US))
    fs = min(med(size, "nudge", th, "full_seq") for size, _ in pools for th in (1, 2))
    say("  check: messages scheduled / (4 x webhooks answered 200) = %.3f (worst median; 1.000 ="
        " every webhook scheduled the whole sequence)" % fs)
    return results


def perf_start(pid, name):
    data = os.path.join(WORK, "perf-%s.data" % name)
    p = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o", data,
                          "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p, data


def perf_stop(p, data, title, nsym=22):
    """Prints where the process's CPU went: by library, by function (self and inclusive)."""
    p.send_signal(signal.SIGINT)
    p.wait()

    def report(*args):
        out = subprocess.run(["perf", "report", "-i", data, "--stdio"] + list(args),
                             capture_output=True, text=True).stdout
        return [l.rstrip() for l in out.splitlines() if l.strip() and not l.startswith("#")]

    say("  %s" % title)
    say("    by library (self): " + "; ".join(
        " ".join(l.split()) for l in report("--no-children", "--sort", "dso", "-g", "none")[:8]))
    say("    inclusive (children), functions of nudge and the libraries it calls:")
    for l in [l for l in report("--children", "--sort", "sym", "-g", "none",
                                "--percent-limit", "2")
              if "] 0x" not in l and "_start" not in l and "main" not in l
              and "event_base_loop" not in l][:nsym]:
        say("      " + l.strip())
    say("    self time:")
    for l in report("--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit",
                    "1.5")[:12]:
        say("      " + l.strip())


def section_profile(pools):
    section("Profile: perf record on nudge-server and redis-server during an ingest run")
    if shutil.which("perf") is None:
        say("  perf not installed (apt-get install linux-perf): skipped")
        return
    rds = Redis("profile")
    for size, pool in pools:
        rds.r.flushall()
        srv = start_nudge("nudge-profile", rds, 1)
        ps, ds = perf_start(srv.pid, "server-" + size)
        pr, dr = perf_start(rds.proc.pid, "redis-" + size)
        w = run_wrk(pool, "http://127.0.0.1:%d/webhooks/shopify" % srv.port,
                    CFG["ingest_secs"], CFG["ingest_conns"])
        srv.stop()
        say("  %s: %s webhooks/s while profiled" % (size, fmt_rate(w["rps"])))
        perf_stop(ps, ds, "nudge-server, %s orders" % size)
        perf_stop(pr, dr, "redis-server, %s orders" % size, nsym=12)
    rds.stop()


# --- dispatch ---------------------------------------------------------------

def sendgrid_like_pool():
    """A ~1.5 KB SendGrid v3 body, the same for every request (the stub ignores it)."""
    body = json.dumps({
        "personalizations": [{"to": [{"email": "c00000000001@mail.example.com"}]}],
        "from": {"email": "hello@bench-shop.example", "name": "Bench Shop"},
        "subject": "Your order #1042 is confirmed",
        "content": [{"type": "text/plain", "value": "x" * 500}, {"type": "text/html",
                                                                 "value": "<p>" + "x" * 700 + "</p>"}],
        "custom_args": {"nudge_id": "0" * 24}}).encode()
    out = os.path.join(WORK, "pool-sendgrid.dat")
    with open(out, "wb") as f:
        f.write(("NUDGEPOOL 1 %d\n" % len(body)).ljust(64).encode())
        f.write(b"A" * 44)
        f.write(body)
    return {"path": out, "count": 1, "body": len(body), "name": "sendgrid"}


def section_dispatch(pool3):
    section("2. Dispatch: one nudge-worker -> local stub provider (SendGrid API)")
    n = CFG["dispatch_n"]
    flows = os.path.join(BENCH, "flows-confirmation.json")
    say("Filling Redis with %s due confirmation e-mails (orders posted through nudge-server with"
        % fmt_rate(n))
    say("bench/flows-confirmation.json), saved once as an RDB and loaded before each run.")
    rds = Redis("dispatch-fill")
    srv = start_nudge("nudge-fill", rds, 1, flows)
    secs = fill(rds, pool3, "http://127.0.0.1:%d/webhooks/shopify" % srv.port, n)
    srv.stop()
    n = rds.stats("scheduled")
    rds.r.save()
    rdb = os.path.join(WORK, "dispatch.rdb")
    shutil.copyfile(os.path.join(rds.dir, "dump.rdb"), rdb)
    rds.stop()
    say("  filled %s messages in %.1f s" % (fmt_rate(n), secs))

    sg = sendgrid_like_pool()
    results = {0: [], PROVIDER_MS: []}
    stub_base = {0: [], PROVIDER_MS: []}
    def worker_run(delay, profile=False):
        """Loads the filled store, starts a stub and a worker; times until all are sent."""
        rds = Redis("dispatch", rdb=rdb)
        stub = start_stub(delay)
        cpu0 = rds.cpu()
        t0 = time.time()
        wk = start_worker("worker-%dms" % delay, rds, stub.port, flows)
        prof = perf_start(wk.pid, "worker") if profile else None
        sent, t_end = 0, None
        while time.time() - t0 < 300:
            sent = rds.stats("sent")
            if sent >= n:
                t_end = time.time()
                break
            if not wk.alive():
                break
            time.sleep(0.02)
        wcpu = wk.cpu_s()
        rcpu = rds.cpu() - cpu0
        if prof:
            perf_stop(prof[0], prof[1], "nudge-worker, provider %d ms (%s msg/s while profiled)"
                      % (delay, fmt_rate(n / (t_end - t0) if t_end else None)))
        retry, dead = rds.stats("retry"), rds.stats("dead")
        wk.stop()
        stub.stop()
        rds.stop()
        return {"rate": n / (t_end - t0) if t_end else None, "done": t_end is not None,
                "worker_us": wcpu * 1e6 / max(sent, 1), "redis_us": rcpu * 1e6 / max(sent, 1),
                "retry": retry, "dead": dead}

    for rep in range(CFG["dispatch_reps"]):
        for delay in (0, PROVIDER_MS):
            # baseline: the stub's own ceiling, wrk with the same 1,000 connections
            stub = start_stub(delay)
            w = run_wrk(sg, "http://127.0.0.1:%d/v3/mail/send" % stub.port, CFG["stub_secs"],
                        INFLIGHT)
            stub_base[delay].append(w["rps"])
            stub.stop()
            r = worker_run(delay)
            results[delay].append(r)
            say("  run %d provider %2d ms: %9s msg/s (all %s sent%s)  worker CPU %5.1f us/msg  "
                "redis %5.1f us/msg  retry %d dead %d | stub ceiling (wrk -c%d) %s req/s"
                % (rep + 1, delay, fmt_rate(r["rate"]), fmt_rate(n),
                   "" if r["done"] else ": TIMED OUT", r["worker_us"], r["redis_us"], r["retry"],
                   r["dead"], INFLIGHT, fmt_rate(w["rps"])))
    if PROFILE and shutil.which("perf"):
        say("")
        worker_run(0, profile=True)     # an extra run, not counted
    say("")
    say("  reference (issue): BullMQ 5,516 jobs/s at 0 ms, 3,080 at 50 ms")
    for delay, ref, target in ((0, REF["bullmq_0"], TARGET_DISPATCH_0),
                               (PROVIDER_MS, REF["bullmq_50"], TARGET_DISPATCH_50)):
        m = median([r["rate"] for r in results[delay]])
        sb = median(stub_base[delay])
        say("  provider %d ms: median %s msg/s, runs %s; worker CPU %.1f us/msg, Redis CPU %.1f"
            " us/msg" % (delay, fmt_rate(m), runs_str([r["rate"] for r in results[delay]]),
                         median([r["worker_us"] for r in results[delay]]),
                         median([r["redis_us"] for r in results[delay]])))
        extra = "" if delay == 0 else "; bound %s" % fmt_rate(INFLIGHT * 1000.0 / delay)
        row("dispatch, provider %d ms (msg/s, 1 worker)" % delay, fmt_rate(m),
            "stub ceiling %s%s; BullMQ ref %s" % (fmt_rate(sb), extra, fmt_rate(ref)),
            "%.0f%% of stub; %.1fx BullMQ; %.2fx target"
            % (100 * (m or 0) / sb, (m or 0) / ref, (m or 0) / target),
            ">= %s" % fmt_rate(target), met((m or 0) >= target))
    return results


# --- lag --------------------------------------------------------------------

def section_lag(pool3):
    section("3. Scheduling lag at a paced %d messages/s" % CFG["lag_rate"])
    flows = os.path.join(BENCH, "flows-lag.json")
    secs, rate = CFG["lag_secs"], CFG["lag_rate"]
    say("Orders posted at %d/s for %d s (wrk + bench/paced.lua); bench/flows-lag.json delays the"
        % (rate, secs))
    say("confirmation by %d ms, so messages come due at %d/s while the worker (provider stub"
        % (CFG["lag_delay_ms"], rate))
    say("answering at once) waits. Lag = send start - due time, from the worker's 'sent' lines.")
    rds = Redis("lag")
    stub = start_stub(0)
    wk = start_worker("worker-lag", rds, stub.port, flows)
    srv = start_nudge("nudge-lag", rds, 1, flows)
    time.sleep(0.5)
    # the same-run baseline: how late this machine wakes a process sleeping 1 ms (a
    # worker cannot send sooner than it is scheduled)
    jitter, stop = [], threading.Event()

    def sleeper():
        while not stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            jitter.append((time.perf_counter() - t - 0.001) * 1000.0)

    th = threading.Thread(target=sleeper, daemon=True)
    th.start()
    w = run_wrk(pool3, "http://127.0.0.1:%d/webhooks/shopify" % srv.port, secs, 16, rate=rate,
                script="paced.lua")
    n = rds.stats("scheduled")
    end = time.time() + CFG["lag_delay_ms"] / 1000.0 + 30
    while rds.stats("sent") < n and time.time() < end:
        time.sleep(0.1)
    sent = rds.stats("sent")
    stop.set()
    th.join()
    wk.stop()
    srv.stop()
    stub.stop()
    rds.stop()
    lags, by_sec = [], {}
    with open(wk.log, errors="replace") as f:
        for line in f:
            if '"msg":"sent"' in line:
                m = re.search(r'"lag_ms":(-?\d+)', line)
                t = re.search(r'"ts":"([^"]{19})', line)
                if m:
                    lags.append(int(m.group(1)))
                    by_sec.setdefault(t.group(1) if t else "", []).append(int(m.group(1)))
    lags.sort()
    jitter.sort()
    if not lags:
        say("  no 'sent' lines in %s" % wk.log)
        row("lag p99 at 1,000 msg/s (ms)", "-", "BullMQ ref p99 95", "-", "<= 20", met(False))
        return

    def pct(p):
        return lags[min(len(lags) - 1, int(round(p / 100.0 * (len(lags) - 1))))]

    say("  webhooks posted: %s at %s/s (p99 answer %.1f ms); messages scheduled %s, sent %s"
        % (fmt_rate(w["requests"]), fmt_rate(w["rps"]), w["lat_p99_us"] / 1000.0, fmt_rate(n),
           fmt_rate(sent)))
    def jpct(p):
        return jitter[min(len(jitter) - 1, int(round(p / 100.0 * (len(jitter) - 1))))] \
            if jitter else 0.0

    # in time order; the seconds at the ends of the run, half empty, are left out
    sec_p99 = [sorted(v)[int(0.99 * (len(v) - 1))] for k, v in sorted(by_sec.items())
               if len(v) >= rate // 2]
    sec_med = median(sec_p99) if sec_p99 else float("nan")
    say("  lag ms: p50 %d  p90 %d  p99 %d  p99.9 %d  max %d  (n=%d)"
        % (pct(50), pct(90), pct(99), pct(99.9), lags[-1], len(lags)))
    say("  p99 of each second, in time order: %s ms; median %.0f ms" % (runs_str(sec_p99, "{:d}"),
                                                                          sec_med))
    say("  (lag growing second after second = the worker falls behind; a few bad seconds ="
        " stalls)")
    say("  same-run baseline, how late a process sleeping 1 ms wakes on this machine: p50 %.1f"
        "  p99 %.1f  max %.1f ms" % (jpct(50), jpct(99), jitter[-1] if jitter else 0.0))
    say("  reference (issue): BullMQ p50 33 ms, p99 95 ms")
    row("lag p50 at 1,000 msg/s (ms)", "%d" % pct(50),
        "BullMQ ref p50 33; wake-up jitter p50 %.1f" % jpct(50),
        "%.2fx BullMQ" % (pct(50) / REF["bullmq_p50"]), "-", "-")
    row("lag p99 at 1,000 msg/s (ms)", "%d (median of per-second p99s: %.0f)" % (pct(99), sec_med),
        "BullMQ ref p99 95; wake-up jitter p99 %.1f, max %.0f"
        % (jpct(99), jitter[-1] if jitter else 0.0),
        "%.2fx BullMQ; %.2fx target" % (pct(99) / REF["bullmq_p99"], pct(99) / TARGET_LAG_P99),
        "<= 20", met(pct(99) <= TARGET_LAG_P99))


# --- memory and scale -------------------------------------------------------

# what each key type of docs/architecture.md holds; a type missing here is
# still counted, under its own name
KEY_TYPES = {"s": "s: subject hashes", "c": "c: context parts", "seen": "seen: dedupe",
             "ka": "ka: cart aliases", "kc": "kc: closed-cart keys", "un": "un: unsubscribed",
             "due": "due/inflight zsets", "inflight": "due/inflight zsets", "stats": "stats"}
KEY_RX = re.compile(r"^[^{]*\{p\d+\}:([A-Za-z]+)")


def memory_breakdown(rds, sample_per_class=300):
    """Keys by type (full SCAN) and their memory (MEMORY USAGE on a sample)."""
    counts, samples, big = {}, {}, {}
    for k in rds.r.scan_iter(count=20000):
        ks = k.decode("utf-8", "replace")
        m = KEY_RX.match(ks)
        name = KEY_TYPES.get(m.group(1), m.group(1) + ":") if m else "other"
        counts[name] = counts.get(name, 0) + 1
        if name == "due/inflight zsets":
            big[ks] = rds.r.memory_usage(k, samples=1000)
        elif len(samples.setdefault(name, [])) < sample_per_class:
            samples[name].append(k)
    out = []
    for name in sorted(counts, key=lambda n: -counts[n]):
        if name == "due/inflight zsets":
            total = sum(v or 0 for v in big.values())
            avg = total / max(counts[name], 1)
        else:
            sizes = [rds.r.memory_usage(k) or 0 for k in samples[name]]
            avg = sum(sizes) / max(len(sizes), 1)
            total = avg * counts[name]
        out.append((name, counts[name], avg, total))
    return out


def claim_probe(rds, calls):
    """claim.lua as nudge-worker calls it (batch 100) on the busiest partition."""
    src = "".join(open(os.path.join(ROOT, "src", "lua", n)).read() for n in ("_lib.lua", "claim.lua"))
    sha = rds.r.script_load(src)
    part = rds.dues()[0][0]
    prefix = part[:-3]
    rds.r.config_set("slowlog-log-slower-than", 0)
    rds.r.config_set("slowlog-max-len", 4 * calls)
    rds.r.slowlog_reset()
    times, claimed = [], 0
    cpu0 = rds.cpu()
    for i in range(calls):
        now = int(time.time() * 1000)
        t = time.perf_counter()
        res = rds.r.evalsha(sha, 2, prefix + "due", prefix + "inflight", prefix, now, 60000, 100,
                            "bench%d" % i, 57600000, "", 48 * 3600000, 8640000, 200)
        times.append((time.perf_counter() - t) * 1000.0)
        claimed += len(res[0])
    cpu_us = (rds.cpu() - cpu0) * 1e6 / calls
    # each call's own time inside Redis, from the slow log (threshold 0)
    server = [e["duration"] for e in rds.r.slowlog_get(4 * calls)
              if e["command"].lower().startswith(b"evalsha " + sha.encode())]
    rds.r.config_set("slowlog-log-slower-than", 10000)
    return {"client_ms": median(times), "server_us": median(server), "cpu_us": cpu_us,
            "claimed_per_call": claimed / float(calls)}


SIM_LUA = """
-- n copies of a serialized subject hash (RESTORE of its DUMP) under
-- locators ffff<base+i>, each with one message (the template's <mid>) in
-- the due set, due in the future; the due set gets them 1,000 at a time
local P, payload, base, n, due0, mid = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local z = {}
for i = 0, n - 1 do
  local l = string.format('ffff%012x', base + i)
  local id = l .. mid
  redis.call('RESTORE', P .. 's:' .. l, 0, payload, 'REPLACE')
  z[#z + 1] = due0 + i
  z[#z + 1] = id
  if #z >= 2000 then
    redis.call('ZADD', KEYS[1], unpack(z))
    z = {}
  end
end
if #z > 0 then redis.call('ZADD', KEYS[1], unpack(z)) end
return n
"""


def simulate_fill(rds, total):
    """Adds future-due messages, copies of a scheduled one, until `total` are pending."""
    part = rds.dues()[0][0]
    prefix = part[:-3]
    # the message due last (a winback step): a promotional one, never due during the bench
    tpl = rds.r.zrange(part, -1, -1)[0].decode()
    payload = rds.r.dump(prefix + "s:" + tpl[:16])
    sha = rds.r.script_load(SIM_LUA)
    have = sum(n for _, n in rds.dues())
    due0 = int(time.time() * 1000) + 200 * 86400 * 1000
    base, chunk = 0, 50000
    t = time.time()
    while have < total:
        k = min(chunk, total - have)
        rds.r.evalsha(sha, 1, part, prefix, payload, base, k, due0 + base, tpl[16:])
        base += k
        have += k
    return time.time() - t, base


def section_memory_scale(pool_fill, pool_probe):
    section("4+5. Memory per pending message; ingest and claim cost as pending messages grow")
    small, big = CFG["scale_points"]
    reps = CFG["reps"]
    say("Orders (bench/order-3k.json variants; default config/flows.json: 4 messages per new")
    say("customer's order) posted through nudge-server into two stores: a small one (%s messages,"
        % fmt_rate(small))
    say("reloaded from its RDB before each probe) and a big one (%s messages%s). Probes alternate"
        % (fmt_rate(big), ", then %s simulated" % fmt_rate(CFG["sim_total"])
           if CFG["sim_10m"] else ""))
    say("small/big (%d each): a %d s wrk run of new orders, then %d claim.lua calls of 100 as"
        % (reps, CFG["scale_probe_secs"], CFG["claim_calls"]))
    say("nudge-worker makes them. The small store is the baseline of the big one.")

    # the small store, saved so every probe starts from the same 'small' state
    rs = Redis("scale-small")
    srv = start_nudge("nudge-small-fill", rs, 1)
    fill(rs, pool_fill, "http://127.0.0.1:%d/webhooks/shopify" % srv.port, small)
    srv.stop()
    small_n = rs.stats("scheduled")
    rs.r.save()
    rdb_small = os.path.join(WORK, "scale-small.rdb")
    shutil.copyfile(os.path.join(rs.dir, "dump.rdb"), rdb_small)
    rs.stop()

    # the big store: also the memory benchmark
    rb = Redis("scale-big")
    srvb = start_nudge("nudge-big", rb, 1)
    urlb = "http://127.0.0.1:%d/webhooks/shopify" % srvb.port
    time.sleep(0.2)
    mem0 = rb.mem()
    secs = fill(rb, pool_fill, urlb, big)
    big_n = rb.stats("scheduled")
    used = rb.mem()
    say("  big store: %s messages posted in %.1f s (%s webhooks/s while filling)"
        % (fmt_rate(big_n), secs, fmt_rate(big_n / 4.0 / secs)))
    bd = memory_breakdown(rb)
    orders = sum(cnt for name, cnt, _, _ in bd if name == KEY_TYPES["seen"])
    delta = used - mem0
    say("  memory: used_memory grew %.1f MB for %s messages of %s orders"
        % (delta / 1e6, fmt_rate(big_n), fmt_rate(orders)))
    say("  where it goes (keys by class; bytes from MEMORY USAGE samples):")
    tot = sum(t for _, _, _, t in bd) or 1
    for name, cnt, avg, total in bd:
        say("    %-22s %10s keys  %7.0f B/key  %7.1f MB  %5.1f%%  %6.0f B per message"
            % (name, fmt_rate(cnt), avg, total / 1e6, 100 * total / tot, total / max(big_n, 1)))
    bpm, bpo = delta / big_n, delta / max(orders, 1)
    note = "" if big_n >= 1000000 else "; %s messages, not 1M" % fmt_rate(big_n)
    say("  reference (issue): BullMQ 1,238 B per delayed job")
    row("Redis bytes per pending message", "%.0f (%.0f per order%s)" % (bpm, bpo, note),
        "BullMQ ref %s per job" % fmt_rate(REF["bullmq_bytes"]),
        "%.2fx BullMQ; %.2fx target" % (bpm / REF["bullmq_bytes"], bpm / TARGET_BYTES_PER_MSG),
        "<= 300", met(bpm <= TARGET_BYTES_PER_MSG))

    seg = [0]

    def probe_small():
        r = Redis("scale-small", rdb=rdb_small)
        sv = start_nudge("nudge-small", r, 1)
        res = probe(r, "http://127.0.0.1:%d/webhooks/shopify" % sv.port, pool_probe, 0,
                    small_n, "small")
        sv.stop()
        r.stop()
        return res

    def probe_big(pending, label):
        res = probe(rb, urlb, pool_probe, seg[0], pending, label)
        seg[0] += 1
        return res

    blocks = []
    say("")
    smalls, bigs = [], []
    for _ in range(reps):
        smalls.append(probe_small())
        bigs.append(probe_big(big_n, "big"))
    blocks.append((big_n, False, smalls, bigs))
    if CFG["sim_10m"]:
        avail = int(re.search(r"MemAvailable:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        need = CFG["sim_total"] * 450 // 1024
        if avail < need + 2 * 1024 * 1024:
            say("  %s simulated point skipped: %d MB available, ~%d MB needed"
                % (fmt_rate(CFG["sim_total"]), avail // 1024, need // 1024))
        else:
            secs, added = simulate_fill(rb, CFG["sim_total"])
            pend = sum(n for _, n in rb.dues())
            say("  simulated: %s future-due copies of a message added by Lua (%.1f s): %s pending"
                % (fmt_rate(added), secs, fmt_rate(pend)))
            smalls, bigs = [], []
            for _ in range(reps):
                smalls.append(probe_small())
                bigs.append(probe_big(pend, "sim"))
            blocks.append((pend, True, smalls, bigs))
    else:
        say("  10M simulated point: off (BENCH_10M=1 runs it)")
    srvb.stop()
    rb.stop()

    say("")
    say("  %-13s %9s %8s %11s | %9s %10s %10s" % (
        "pending", "ingest/s", "p99 ms", "redis us/wh", "claim ms", "claim us", "claim CPU"))

    def line(label, ps):
        say("  %-13s %9s %8.1f %11.0f | %9.2f %10.0f %10.0f" % (
            label, fmt_rate(median([x["rps"] for x in ps])),
            median([x["p99_ms"] for x in ps]), median([x["redis_us"] for x in ps]),
            median([x["claim"]["client_ms"] for x in ps]),
            median([x["claim"]["server_us"] for x in ps]),
            median([x["claim"]["cpu_us"] for x in ps])))

    for pend, sim, smalls, bigs in blocks:
        line(fmt_rate(small_n), smalls)
        line(fmt_rate(pend) + ("*" if sim else ""), bigs)
    say("  (medians of %d alternating probes; claim ms: round trip from Python; claim us: time"
        " inside Redis, slow log; claim CPU: Redis CPU per call)" % reps)
    if any(b[1] for b in blocks):
        say("  * simulated: future-due copies of a message added by Lua, not through the server")
    for pend, sim, smalls, bigs in blocks:
        label = "%s -> %s%s" % (fmt_rate(small_n), fmt_rate(pend), "*" if sim else "")
        rs_, rb_ = median([x["rps"] for x in smalls]), median([x["rps"] for x in bigs])
        cs_, cb_ = (median([x["claim"]["server_us"] for x in smalls]),
                    median([x["claim"]["server_us"] for x in bigs]))
        us_, ub_ = median([x["redis_us"] for x in smalls]), median([x["redis_us"] for x in bigs])
        ccs, ccb = (median([x["claim"]["cpu_us"] for x in smalls]),
                    median([x["claim"]["cpu_us"] for x in bigs]))
        r_ing = max(rs_, rb_) / min(rs_, rb_)
        r_cl = max(cs_, cb_) / min(cs_, cb_)
        row("scale %s pending: ingest webhooks/s" % label,
            "%s at %s" % (fmt_rate(rb_), fmt_rate(pend)), "%s at %s" % (fmt_rate(rs_),
                                                                         fmt_rate(small_n)),
            "big/small %.2fx (Redis CPU/webhook %.2fx)" % (rb_ / rs_, ub_ / us_),
            "within 1.5x", met(r_ing <= TARGET_SCALE))
        row("scale %s pending: claim of 100 (us in Redis)" % label,
            "%.0f at %s" % (cb_, fmt_rate(pend)), "%.0f at %s" % (cs_, fmt_rate(small_n)),
            "big/small %.2fx (Redis CPU/claim %.2fx)" % (cb_ / cs_, ccb / ccs),
            "within 1.5x", met(r_cl <= TARGET_SCALE))


def probe(rds, url, pool, segment, pending, label):
    """One short ingest run (new orders), then the claim probe."""
    per = pool["count"] // (4 * CFG["reps"])
    cpu0 = rds.cpu()
    w = run_wrk(pool, url, CFG["scale_probe_secs"], CFG["ingest_conns"], start=segment * per)
    time.sleep(0.1)
    rcpu = (rds.cpu() - cpu0) * 1e6 / max(w["requests"], 1)
    time.sleep(0.1)
    c = claim_probe(rds, CFG["claim_calls"])
    say("  %-5s %11s pending: ingest %7s webhooks/s, p99 %6.1f ms, Redis %4.0f us/webhook |"
        " claim of 100: %5.1f ms round trip, %5.0f us in Redis, %5.0f us CPU"
        % (label, fmt_rate(pending), fmt_rate(w["rps"]), w["lat_p99_us"] / 1000.0, rcpu,
           c["client_ms"], c["server_us"], c["cpu_us"]))
    return {"pending": pending, "rps": w["rps"], "p99_ms": w["lat_p99_us"] / 1000.0, "claim": c,
            "redis_us": rcpu}


# --- main -------------------------------------------------------------------

def build_baselines():
    d = os.path.join(WORK, "bin")
    os.makedirs(d, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    for prog, libs in (("bare_http", ["-levent", "-lpthread"]),
                       ("hmac_http", ["-levent", "-lpthread", "-lcrypto"]),
                       ("stub_provider", ["-levent", "-lpthread"])):
        subprocess.run([cc, "-O2", "-g", "-Wall", "-Wextra", "-o", os.path.join(d, prog),
                        os.path.join(BENCH, prog + ".c")] + libs, check=True)


def wants(name):
    return not ONLY or name in ONLY


def main():
    global WORK
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit("bench: %s not found (apt-get install %s)" % (tool, tool))
    WORK = os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="nudge-bench-")
    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    with open(os.path.join(WORK, "shops.json"), "w") as f:
        json.dump([{"domain": SHOP, "platform": "shopify", "secret": SECRET, "name": "Bench Shop",
                    "timezone": "Europe/Athens", "locale": "en",
                    "from_email": "hello@bench-shop.example", "from_name": "Bench Shop"}], f)
    try:
        run(sys.argv)
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP") == "1":
            say("work directory kept: %s" % WORK)
        else:
            shutil.rmtree(WORK, ignore_errors=True)


def run(argv):
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "cmd", "include"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    say("nudge bench: %s mode, %d runs per figure (medians); %s, %d cores; nudge %s%s; %s"
        % ("QUICK" if QUICK else "full", CFG["reps"], cpu, os.cpu_count(), rev,
           "+local changes" if dirty else "", time.strftime("%Y-%m-%d %H:%M")))
    say("(the machine may be shared and noisy: read ratios against the same-run baselines)")
    build_baselines()

    pools = []
    t = time.time()
    pool3 = make_pool("3k", ORDER_3K, CFG["pool_3k"], 1)
    pools.append(("3KB", pool3))
    if os.path.exists(FIXTURE_27K):
        pools.append(("27KB", make_pool("27k", FIXTURE_27K, CFG["pool_27k"], 2)))
    else:
        say("27 KB order: %s is absent (no ../shared): that size is skipped" % FIXTURE_27K)
    say("pools: %s (%.1f s to sign)" % (", ".join(
        "%s %s bodies of %d B" % (n, fmt_rate(p["count"]), p["body"]) for n, p in pools),
        time.time() - t))

    if wants("ingest"):
        section_ingest(pools)
    if PROFILE:
        section_profile(pools)
    if wants("dispatch") or wants("lag"):
        pool_d = make_pool("dispatch", ORDER_3K, max(CFG["dispatch_n"] + 20000,
                                                     CFG["lag_secs"] * CFG["lag_rate"] + 5000), 3)
        if wants("dispatch"):
            section_dispatch(pool_d)
        if wants("lag"):
            section_lag(pool_d)
        os.unlink(pool_d["path"])
    if wants("memory"):
        last = CFG["scale_points"][-1]
        pool_f = make_pool("fill", ORDER_3K, last // 4 + 20000, 4)
        # 4 segments per rep (big store, twice), each enough for a probe at 10k/s
        pool_p = make_pool("probe", ORDER_3K, 4 * CFG["reps"] * CFG["scale_probe_secs"] * 10000,
                           5)
        section_memory_scale(pool_f, pool_p)

    section("Summary")
    cmd = "make bench" + ("  (BENCH_QUICK=1)" if QUICK else "")
    say("Command: `%s` (bench/run.sh); %s, %d cores; nudge %s%s; %d runs per figure, medians."
        % (cmd, cpu, os.cpu_count(), rev, " + uncommitted changes" if dirty else "",
           CFG["reps"]))
    say("")
    say("| benchmark | measured | baseline (same run) / reference | ratio | target | |")
    say("|---|---|---|---|---|---|")
    for r in SUMMARY:
        say("| " + " | ".join(r) + " |")
    say("")
    say("total time %.0f s" % (time.time() - T0))


if __name__ == "__main__":
    main()
