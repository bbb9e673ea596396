"""
common: what several fault tests share: the confirmation-only flows file,
posting many webhooks fast (a keep-alive session per thread), reading every
message of Redis in one pipeline, the summed counters, and the workers'
identities (the lease-token prefix each one logs at start).
"""
import collections
import concurrent.futures
import json
import threading
import time

import requests

from harness import SECRET, SHOP, all_messages, keys_of_kind, sign, wait_until  # noqa: F401

CONFIRMATION_ONLY = {"flows": [{
    "name": "order", "trigger": ["order_placed"], "subject": "order",
    "exit": ["order_cancelled"], "reentry": "never",
    "steps": [{"name": "confirmation", "delay": "0", "channels": ["email"],
               "template": "order_confirmation", "class": "transactional"}]}]}

FINAL = ("sent", "dead", "cancelled", "skipped")


def confirmation_flows(tmp_path):
    """Environment override: a flows file with only the order confirmation
    (due at once), so "nothing left" is exact."""
    p = tmp_path / "flows-confirmation.json"
    p.write_text(json.dumps(CONFIRMATION_ONLY))
    return {"NUDGE_FLOWS_FILE": str(p)}


def shopify_headers(body, event_id, topic="orders/create", shop=SHOP, secret=SECRET):
    return {"Content-Type": "application/json",
            "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2025-07", "X-Shopify-Event-Id": event_id,
            "X-Shopify-Webhook-Id": "wh-" + event_id,
            "X-Shopify-Hmac-Sha256": sign(secret, body)}


_local = threading.local()


def session():
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    return s


def post(url, body, headers, timeout=10):
    """One POST on this thread's keep-alive session: (status, json body or
    None); status None when the connection failed."""
    try:
        r = session().post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as e:
        _local.session = None
        return None, {"exception": repr(e)}
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, None


def post_many(jobs, threads=8):
    """jobs: [(url, body, headers)]; posts them all concurrently; returns
    [(status, json)] in the same order."""
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        return list(ex.map(lambda j: post(*j), jobs))


def stats(r):
    out = collections.Counter()
    for k in keys_of_kind(r, "stats"):
        for f, v in r.hgetall(k).items():
            out[f] += int(v)
    return out


def prefixes(r):
    """The partition prefixes ("nudge:{p3}:") that hold a due or inflight set
    now. A test that knows its partitions passes them to queued() and
    held_by(): SCAN over a store of 20,000 orders takes a while."""
    return sorted({k[:-len("due")] for k in keys_of_kind(r, "due")} |
                  {k[:-len("inflight")] for k in keys_of_kind(r, "inflight")})


def queued(r, parts=None):
    """(due, inflight): the sizes of the partitions' sets, summed."""
    parts = prefixes(r) if parts is None else parts
    pipe = r.pipeline(transaction=False)
    for p in parts:
        pipe.zcard(p + "due")
        pipe.zcard(p + "inflight")
    n = pipe.execute()
    return sum(n[0::2]), sum(n[1::2])


def wait_all_final(r, n, timeout, what="messages", interval=0.25, parts=None):
    """Waits until there are n messages, all in a final state, with the due
    and inflight sets empty; returns all_messages(r)."""
    def done():
        if any(queued(r, parts)):
            return None
        ms = all_messages(r)
        if len(ms) == n and all(m.get("st") in FINAL for m in ms.values()):
            return ms
        return None
    try:
        return wait_until(done, timeout, interval=interval, what="%d %s final" % (n, what))
    except AssertionError as e:
        ms = all_messages(r)
        raise AssertionError("%s; now: %d messages %s, due %d, inflight %d" % (
            e, len(ms), dict(collections.Counter(m.get("st") for m in ms.values())),
            *queued(r)))


def worker_id(daemon, timeout=5):
    """The worker's id (its lease tokens are "<id>:<claim seq>"), from its
    "worker started" log line."""
    def find():
        for x in daemon.log_lines():
            if str(x.get("msg", "")).startswith("worker started"):
                return x.get("id")
        return None
    return wait_until(find, timeout, what="%s's 'worker started' line" % daemon.name)


def held_by(r, wid, parts=None):
    """Ids in an inflight set whose lease token is the worker's."""
    parts = prefixes(r) if parts is None else parts
    keys = {}
    for p in parts:
        for i in r.zrange(p + "inflight", 0, -1):
            keys[i] = p + "s:" + i[:16]
    pipe = r.pipeline(transaction=False)
    order = list(keys)
    for i in order:
        pipe.hget(keys[i], "l" + i[16:])
    return {i for i, lt in zip(order, pipe.execute()) if lt and lt.startswith(wid + ":")}


class Timer:
    def __init__(self):
        self.t0 = time.monotonic()
        self.marks = {}

    def mark(self, name):
        self.marks[name] = time.monotonic() - self.t0
        return self.marks[name]

    def __str__(self):
        return ", ".join("%s %.1f s" % kv for kv in self.marks.items())
