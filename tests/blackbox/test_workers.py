"""
Workers under stress: horizontal scaling, crashes (SIGKILL), graceful stops
(SIGTERM with sends in flight), provider storms (5xx, 429 with Retry-After,
timeouts, connection resets), dead letters and their replay, pub/sub
wake-up latency, the provider rate limit, and `nudgectl status --json`.

Most tests use a flows file with only the order confirmation (due at once),
so "nothing left" is exact: the due and inflight sets end empty and every
message hash ends in a final state. test_status_json keeps the default flows
(their later steps stay due, days away) and checks that status counts them.

Figures worth seeing (duplicates after a SIGKILL, wake-up latency, rate
spread) are printed; run with -s to see them.
"""
import collections
import concurrent.futures
import json
import random
import time

import pytest

from harness import (SECRET, SHOP, Resp, all_messages, answer, connection_closed, connection_reset,
                     keys_of_kind, make_order, new_event_id, post_order, rate_limited,
                     wait_until, zset_members)

CONFIRMATION_ONLY = {"flows": [{
    "name": "order", "trigger": ["order_placed"], "subject": "order",
    "exit": ["order_cancelled"], "reentry": "never",
    "steps": [{"name": "confirmation", "delay": "0", "channels": ["email"],
               "template": "order_confirmation", "class": "transactional"}]}]}

FINAL = ("sent", "dead", "cancelled", "skipped")


@pytest.fixture
def flows(tmp_path):
    """Environment override: the confirmation-only flows file."""
    p = tmp_path / "flows-confirmation.json"
    p.write_text(json.dumps(CONFIRMATION_ONLY))
    return {"NUDGE_FLOWS_FILE": str(p)}


# ------------------------------------------------------------------ helpers

def post_all(srv, orders, threads=16):
    """Posts every order concurrently; asserts each is 200 scheduled with
    `messages` >= 1; returns the total of `messages`."""
    def post(o):
        return post_order(srv.url, SHOP, SECRET, o, new_event_id())

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        answers = list(ex.map(post, orders))
    total = 0
    for a in answers:
        body = answer(a, 200)
        assert body["result"] == "scheduled", body
        total += body["messages"]
    return total


def stats(r):
    """The counters of every partition's stats hash, summed."""
    out = collections.Counter()
    for k in keys_of_kind(r, "stats"):
        for f, v in r.hgetall(k).items():
            out[f] += int(v)
    return out


def by_id(reqs):
    """{nudge_id: [requests in arrival order]}."""
    out = collections.defaultdict(list)
    for q in reqs:
        out[q.nudge_id].append(q)
    return out


def wait_all_final(r, n, timeout=30, what="messages"):
    """Waits until there are n messages, all in a final state, and the due
    and inflight sets are empty; returns all_messages(r)."""
    def done():
        if zset_members(r, "due") or zset_members(r, "inflight"):
            return None
        ms = all_messages(r)
        if len(ms) == n and all(m.get("st") in FINAL for m in ms.values()):
            return ms
        return None

    def now():
        ms = all_messages(r)
        return "%d messages %s, due %d, inflight %d" % (
            len(ms), dict(collections.Counter(m.get("st") for m in ms.values())),
            len(zset_members(r, "due")), len(zset_members(r, "inflight")))
    try:
        return wait_until(done, timeout, interval=0.1, what="%d %s final" % (n, what))
    except AssertionError as e:
        raise AssertionError("%s; now: %s" % (e, now()))


def assert_each_sent_once(reqs, ids):
    """Every id got exactly one accepted request, all shape-valid."""
    bad = [q.summary() for q in reqs if not q.ok]
    assert bad == [], bad
    acc = collections.Counter(q.nudge_id for q in reqs if q.accepted)
    assert set(acc) == set(ids), (len(acc), len(ids))
    assert {i: n for i, n in acc.items() if n != 1} == {}


def log_events(d, msg):
    """The JSON log lines of daemon d whose message is msg."""
    return [x for x in d.log_lines() if x.get("msg") == msg]


def nudgectl(nudge, *args):
    res = nudge.run("nudgectl", *args)
    assert res.returncode == 0, (args, res.returncode, res.stdout, res.stderr[-2000:])
    return res.stdout


# ------------------------------------------------------------ 1. horizontal

def test_five_workers_2000_orders(nudge, sendgrid_stub, flows):
    n = 2000
    srv = nudge.server(dict(flows, NUDGE_THREADS="2"))
    # 16 connections per worker keep the (Python) stub's accept loop from
    # drowning; a long send timeout keeps a slow stub from causing retries
    env = dict(flows, NUDGE_SEND_TIMEOUT_MS="20000", NUDGE_LEASE_MS="60000",
               NUDGE_PROVIDER_CONCURRENCY="16")
    workers = [nudge.worker(env) for _ in range(5)]
    orders = [make_order(10000 + i) for i in range(n)]
    t0 = time.monotonic()
    assert post_all(srv, orders) == n
    t_posted = time.monotonic() - t0

    sendgrid_stub.wait_requests(n, timeout=90, accepted=True)
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=30)
    t_done = time.monotonic() - t0
    reqs = sendgrid_stub.settle(1.0)

    assert len(reqs) == n, "%d requests for %d messages" % (len(reqs), n)
    assert all(q.accepted for q in reqs), [q.summary() for q in reqs if not q.accepted][:5]
    assert_each_sent_once(reqs, ms)
    assert len({q.nudge_id for q in reqs}) == n
    assert sorted(q.to[0] for q in reqs) == sorted(o.email for o in orders)
    assert {i: m["st"] for i, m in ms.items() if m["st"] != "sent"} == {}
    assert zset_members(r, "due") == [] and zset_members(r, "inflight") == []
    assert zset_members(r, "dead") == []
    st = stats(r)
    assert st["sent"] == n, st
    assert (st["dead"], st["reclaimed"], st["stale_acks"]) == (0, 0, 0), st
    # A retry is legitimate only when the stub never saw the request (on a
    # starved machine a connect can time out); then the attempts show it.
    assert sum(int(m["a"]) for m in ms.values()) == n + st["retry"], st

    # the work was shared: every worker sent some of it
    share = [len(log_events(w, "sent")) for w in workers]
    print("\n5 workers, %d orders: posted in %.1f s, all sent after %.1f s; per worker %s; "
          "%d retries" % (n, t_posted, t_done, share, st["retry"]))
    assert sum(share) == n, share
    assert all(s > 0 for s in share), share


# ------------------------------------------------------- 2. SIGKILL mid-batch

def test_sigkill_mid_batch(nudge, sendgrid_stub, flows):
    n = 40
    sendgrid_stub.delay = 0.3
    env = dict(flows, NUDGE_LEASE_MS="1500", NUDGE_SEND_TIMEOUT_MS="1000")
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(200 + i) for i in range(n)]) == n
    r = nudge.redis

    w1 = nudge.worker(dict(env, NUDGE_CLAIM_BATCH="10", NUDGE_MAX_INFLIGHT="10",
                           NUDGE_PROVIDER_CONCURRENCY="4"))
    wait_until(lambda: zset_members(r, "inflight") and sendgrid_stub.snapshot(), 10,
               interval=0.01, what="the first worker to claim and start sending")
    w1.kill()
    time.sleep(0.2)     # anything it wrote before dying has reached Redis
    held = set(zset_members(r, "inflight"))
    at_kill = sendgrid_stub.snapshot()
    assert held, "the killed worker held no message"
    assert {i for i, m in all_messages(r).items() if m["st"] == "inflight"} == held

    w2 = nudge.worker(env)
    ms = wait_all_final(r, n, timeout=20)
    reqs = sendgrid_stub.settle(1.0)

    assert {i: m["st"] for i, m in ms.items() if m["st"] != "sent"} == {}
    assert zset_members(r, "due") == [] and zset_members(r, "inflight") == []
    accepted = collections.Counter(q.nudge_id for q in reqs if q.accepted)
    assert set(accepted) == set(ms), "lost: %s" % sorted(set(ms) - set(accepted))
    dups = {i: c - 1 for i, c in accepted.items() if c > 1}
    # a message goes out twice only if the dead worker held it un-acked
    assert set(dups) <= held, "duplicated but not held by the killed worker: %s" % (
        sorted(set(dups) - held))
    assert sum(dups.values()) <= len(held)
    assert all(c == 1 for c in dups.values()), dups
    # every held message came back through an expired lease, exactly once
    st = stats(r)
    assert st["reclaimed"] == len(held), (st, len(held))
    assert st["sent"] == n, st
    # the second worker finished the job alone
    assert len(log_events(w2, "sent")) == n - len(log_events(w1, "sent"))
    print("\nSIGKILL mid-batch: the killed worker held %d (%d requests at the stub when "
          "killed, %d sent and acked); duplicates after recovery: %d" % (
              len(held), len(at_kill), len(log_events(w1, "sent")), sum(dups.values())))


# ------------------------------------------------- 3. SIGTERM with sends in flight

def test_sigterm_waits_for_sends_in_flight(nudge, sendgrid_stub, flows):
    n = 5
    sendgrid_stub.delay = 1.0
    srv = nudge.server(flows)
    w = nudge.worker(dict(flows, NUDGE_GRACE_MS="3000"))
    assert post_all(srv, [make_order(300 + i) for i in range(n)]) == n
    sendgrid_stub.wait_requests(n, timeout=10)
    r = nudge.redis
    assert len(zset_members(r, "inflight")) == n

    t0 = time.monotonic()
    rc = w.stop(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, "exit code %s after SIGTERM" % rc
    assert took < 3.0 + 1.5, "took %.2f s to exit with NUDGE_GRACE_MS=3000" % took
    reqs = sendgrid_stub.snapshot()
    assert all(q.t_done is not None and q.t_done <= t0 + took for q in reqs)
    ms = all_messages(r)
    assert {i: m["st"] for i, m in ms.items()} == {q.nudge_id: "sent" for q in reqs}
    assert all(m["a"] == "1" for m in ms.values()), ms
    assert zset_members(r, "inflight") == [] and zset_members(r, "due") == []
    assert log_events(w, "sent") and len(log_events(w, "sent")) == n
    st = stats(r)
    assert (st["sent"], st["release"]) == (n, 0), st

    # a new worker has nothing to send again
    sendgrid_stub.delay = 0
    nudge.worker(flows)
    reqs = sendgrid_stub.settle(1.5)
    assert len(reqs) == n, sendgrid_stub.report()
    assert_each_sent_once(reqs, ms)
    print("\nSIGTERM, grace 3 s, sends of 1 s in flight: exited 0 after %.2f s" % took)


def test_sigterm_grace_over_releases(nudge, sendgrid_stub, flows):
    n = 5
    sendgrid_stub.delay = 3.0
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(400 + i) for i in range(n)]) == n
    r = nudge.redis
    before = {i: m.get("a", "0") for i, m in all_messages(r).items()}
    assert len(before) == n

    w = nudge.worker(dict(flows, NUDGE_GRACE_MS="200"))
    sendgrid_stub.wait_requests(n, timeout=10)
    ms = all_messages(r)
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(before, "inflight")

    t0 = time.monotonic()
    rc = w.stop(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, "exit code %s after SIGTERM" % rc
    assert took < 0.2 + 1.3, "took %.2f s to exit with NUDGE_GRACE_MS=200" % took

    # released: due again, the attempt not counted, no lease left
    ms = all_messages(r)
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(before, "due")
    assert {i: m.get("a", "0") for i, m in ms.items()} == before
    assert [i for i, m in ms.items() if "lt" in m] == []
    assert sorted(zset_members(r, "due")) == sorted(before)
    assert zset_members(r, "inflight") == []
    st = stats(r)
    assert (st["release"], st["sent"], st["retry"]) == (n, 0, 0), st

    sendgrid_stub.delay = 0
    nudge.worker(flows)
    ms = wait_all_final(r, n, timeout=10)
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(before, "sent")
    assert {i: m["a"] for i, m in ms.items()} == {i: str(int(a) + 1) for i, a in before.items()}
    reqs = sendgrid_stub.settle(1.0)
    # the aborted requests (recorded as they arrived), then one send each
    assert len(reqs) == 2 * n, sendgrid_stub.report()
    assert collections.Counter(q.nudge_id for q in reqs) == dict.fromkeys(before, 2)
    print("\nSIGTERM, grace 0.2 s, sends of 3 s in flight: exited 0 after %.2f s" % took)


def test_sigterm_releases_sends_queued_in_the_lane(nudge, sendgrid_stub, flows):
    """Sends waiting for a provider slot have not started: SIGTERM hands
    them back at once (attempt not counted) while the running ones finish."""
    n, lanes = 6, 2
    sendgrid_stub.delay = 1.0
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(450 + i) for i in range(n)]) == n
    r = nudge.redis
    before = {i: m.get("a", "0") for i, m in all_messages(r).items()}
    w = nudge.worker(dict(flows, NUDGE_GRACE_MS="3000", NUDGE_PROVIDER_CONCURRENCY=str(lanes)))
    running = sendgrid_stub.wait_requests(lanes, timeout=10)
    time.sleep(0.1)
    assert len(sendgrid_stub.snapshot()) == lanes
    assert len(zset_members(r, "inflight")) == n

    t0 = time.monotonic()
    rc = w.stop(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, "exit code %s after SIGTERM" % rc
    assert took < 3.0 + 1.5, took
    ran = {q.nudge_id for q in running}
    ms = all_messages(r)
    assert {i: m["st"] for i, m in ms.items()} == {
        i: "sent" if i in ran else "due" for i in before}
    assert {i: m.get("a", "0") for i, m in ms.items() if i not in ran} == {
        i: a for i, a in before.items() if i not in ran}
    assert sorted(zset_members(r, "due")) == sorted(set(before) - ran)
    assert zset_members(r, "inflight") == []
    st = stats(r)
    assert (st["sent"], st["release"]) == (lanes, n - lanes), st

    sendgrid_stub.delay = 0
    nudge.worker(flows)
    ms = wait_all_final(r, n, timeout=10)
    reqs = sendgrid_stub.settle(1.0)
    assert len(reqs) == n, sendgrid_stub.report()
    assert_each_sent_once(reqs, ms)
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(before, "sent")


# -------------------------------------------------------- 4. provider storms

def test_storm_half_503(nudge, sendgrid_stub, flows):
    n, max_attempts = 60, 4
    rng = random.Random(20261123)
    sendgrid_stub.responder = lambda q: (
        Resp(503, body={"errors": [{"message": "service unavailable"}]})
        if rng.random() < 0.5 else None)
    srv = nudge.server(flows)
    nudge.worker(dict(flows, NUDGE_MAX_ATTEMPTS=str(max_attempts)))
    assert post_all(srv, [make_order(500 + i) for i in range(n)]) == n
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=30)
    reqs = sendgrid_stub.settle(0.5)
    assert [q.summary() for q in reqs if not q.ok] == []
    per = by_id(reqs)
    assert set(per) == set(ms)

    sent = {i for i, m in ms.items() if m["st"] == "sent"}
    dead = {i for i, m in ms.items() if m["st"] == "dead"}
    assert sent | dead == set(ms), {i: m["st"] for i, m in ms.items()}
    for i in sent:
        statuses = [q.status for q in per[i]]
        assert statuses == [503] * (len(statuses) - 1) + [202], (i, statuses)
        assert len(statuses) <= max_attempts and int(ms[i]["a"]) == len(statuses), (
            i, statuses, ms[i])
    for i in dead:
        assert [q.status for q in per[i]] == [503] * max_attempts, (i, per[i])
        assert int(ms[i]["a"]) == max_attempts, ms[i]
        assert "503" in ms[i]["err"], ms[i]
    assert sorted(zset_members(r, "dead")) == sorted(dead)
    n503 = sum(1 for q in reqs if q.status == 503)
    st = stats(r)
    assert (st["sent"], st["dead"], st["retry"]) == (len(sent), len(dead), n503 - len(dead)), st
    assert n503 > 0 and any(len(per[i]) > 1 for i in sent)
    print("\n50%% 503: %d requests, %d answered 503; %d sent, %d dead after %d attempts" % (
        len(reqs), n503, len(sent), len(dead), max_attempts))


def test_storm_429_burst_retry_after(nudge, sendgrid_stub, flows):
    n, burst = 20, 5
    sendgrid_stub.script([rate_limited(1) for _ in range(burst)])
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(600 + i) for i in range(n)]) == n
    nudge.worker(flows)       # backoff 100..400 ms: only Retry-After explains 1 s
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=15)
    reqs = sendgrid_stub.settle(0.5)
    assert len(reqs) == n + burst, sendgrid_stub.report()
    assert_each_sent_once(reqs, ms)
    per = by_id(reqs)
    limited = [q for q in reqs if q.status == 429]
    assert len(limited) == burst
    gaps = []
    for q in limited:
        later = [x for x in per[q.nudge_id] if x.n > q.n]
        assert later, "no retry of %s" % q.nudge_id
        gaps.append(later[0].t - q.t)
    assert min(gaps) >= 0.9, "a message came back before its Retry-After: %s" % gaps
    assert {i: m["st"] for i, m in ms.items() if m["st"] != "sent"} == {}
    print("\n429 burst: retries came %.2f..%.2f s after the 429" % (min(gaps), max(gaps)))


def test_storm_429_pauses_the_provider_lane(nudge, sendgrid_stub, flows):
    n = 10
    sendgrid_stub.script(202, 202, rate_limited(1), 202, 202, rate_limited(1))
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(700 + i) for i in range(n)]) == n
    w = nudge.worker(dict(flows, NUDGE_PROVIDER_CONCURRENCY="1"))
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=15)
    reqs = sendgrid_stub.settle(0.5)
    assert len(reqs) == n + 2, sendgrid_stub.report()
    assert_each_sent_once(reqs, ms)
    limited = [q for q in reqs if q.status == 429]
    assert len(limited) == 2
    for q in limited:
        # one request at a time: after a 429 the whole lane waits Retry-After
        nxt = [x for x in reqs if x.n > q.n]
        assert nxt, "nothing after the 429"
        assert nxt[0].t - q.t >= 0.9, (
            "request #%d came %.3f s after the 429 (#%d)" % (nxt[0].n, nxt[0].t - q.t, q.n))
    assert any("slow down" in (x.get("msg") or "") for x in w.log_lines())


def test_storm_timeouts_then_fast(nudge, sendgrid_stub, flows):
    n, slow = 6, 3
    sendgrid_stub.script([Resp(202, delay=1.2) for _ in range(slow)])
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(800 + i) for i in range(n)]) == n
    w = nudge.worker(dict(flows, NUDGE_SEND_TIMEOUT_MS="500", NUDGE_LEASE_MS="3000"))
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=15)
    reqs = sendgrid_stub.settle(1.0)
    assert len(reqs) == n + slow, sendgrid_stub.report()
    per = by_id(reqs)
    slow_ids = {q.nudge_id for q in reqs if q.n <= slow}
    assert len(slow_ids) == slow
    for i in slow_ids:
        first, second = per[i]
        assert second.t - first.t >= 0.45, "retried %.3f s after, before the timeout" % (
            second.t - first.t)
        assert int(ms[i]["a"]) == 2, ms[i]
    for i in set(ms) - slow_ids:
        assert len(per[i]) == 1 and int(ms[i]["a"]) == 1, (per[i], ms[i])
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(ms, "sent")
    retried = {x.get("id"): x for x in log_events(w, "retry")}
    assert set(retried) == slow_ids, retried
    assert all("timed out" in json.dumps(x) for x in retried.values()), retried
    st = stats(r)
    assert (st["sent"], st["retry"], st["dead"]) == (n, slow, 0), st


def test_storm_timeouts_forever_dead(nudge, sendgrid_stub, flows):
    n, max_attempts = 3, 2
    sendgrid_stub.delay = 1.0
    srv = nudge.server(flows)
    nudge.worker(dict(flows, NUDGE_SEND_TIMEOUT_MS="300", NUDGE_LEASE_MS="2000",
                      NUDGE_MAX_ATTEMPTS=str(max_attempts)))
    assert post_all(srv, [make_order(900 + i) for i in range(n)]) == n
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=15)
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(ms, "dead")
    assert sorted(zset_members(r, "dead")) == sorted(ms)
    for m in ms.values():
        assert int(m["a"]) == max_attempts, m
        assert "timed out" in m["err"], m
        assert "gave up after %d attempts" % max_attempts in m["err"], m
    reqs = sendgrid_stub.settle(0.5)
    assert collections.Counter(q.nudge_id for q in reqs) == dict.fromkeys(ms, max_attempts)


def test_storm_connection_resets(nudge, sendgrid_stub, flows):
    drops = [connection_reset(), connection_closed(), connection_reset(), connection_closed()]
    r = nudge.redis
    srv = nudge.server(flows)
    w = nudge.worker(flows)
    total = 0
    # first on fresh connections, then on connections the worker keeps alive
    for rnd in range(2):
        sendgrid_stub.script(drops)
        total += 8
        assert post_all(srv, [make_order(1000 + 10 * rnd + i) for i in range(8)]) == 8
        ms = wait_all_final(r, total, timeout=15)
        reqs = sendgrid_stub.settle(0.5)
        assert sum(1 for q in reqs if q.dropped) == 4 * (rnd + 1), sendgrid_stub.report()
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(ms, "sent")
    assert_each_sent_once(reqs, ms)
    per = by_id(reqs)
    for q in reqs:
        if q.dropped:
            assert [x for x in per[q.nudge_id] if x.n > q.n and x.accepted], q.summary()
    assert zset_members(r, "dead") == []
    retried = {x.get("id") for x in log_events(w, "retry")}
    assert retried <= {q.nudge_id for q in reqs if q.dropped}
    print("\nconnection resets: %d dropped, %d retried by the worker, all %d sent" % (
        sum(1 for q in reqs if q.dropped), len(retried), total))


@pytest.mark.parametrize("limit", ["rate", "pause"])
def test_lease_outlived_in_the_provider_lane(nudge, sendgrid_stub, flows, limit):
    """No crash, one worker: each message must go out once (the documented
    invariant: duplicates only when a worker dies or Redis is away)."""
    if limit == "rate":     # 20 at 5/s: the last ones wait 3 s, the lease is 1 s
        n = 20
        env = {"NUDGE_PROVIDER_RATE": "5", "NUDGE_LEASE_MS": "1000"}
    else:                   # Retry-After: 3 pauses the lane, the lease is 1.5 s
        n = 8
        sendgrid_stub.script(rate_limited(3))
        env = {"NUDGE_PROVIDER_CONCURRENCY": "1", "NUDGE_LEASE_MS": "1500"}
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(1700 + i) for i in range(n)]) == n
    nudge.worker(dict(flows, NUDGE_SEND_TIMEOUT_MS="500", **env))
    r = nudge.redis

    def finished_or_duplicated():
        ids = [q.nudge_id for q in sendgrid_stub.snapshot() if q.accepted]
        if len(ids) != len(set(ids)):
            return "duplicated"
        if zset_members(r, "due") or zset_members(r, "inflight"):
            return None
        ms = all_messages(r)
        return len(ms) == n and all(m["st"] == "sent" for m in ms.values()) and "done"

    wait_until(finished_or_duplicated, 15, interval=0.1, what="all sent, or a duplicate")
    reqs = sendgrid_stub.settle(0.5)
    ms = all_messages(r)
    dups = {i: c for i, c in collections.Counter(
        q.nudge_id for q in reqs if q.accepted).items() if c > 1}
    assert dups == {}, "sent more than once: %s; stats %s" % (dups, dict(stats(r)))
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(ms, "sent")
    assert stats(r)["stale_acks"] == 0


# ---------------------------------------------------------------- 5. dead letters

def test_dead_letters_list_and_replay(nudge, sendgrid_stub, flows):
    orders = [make_order(1100 + i) for i in range(7)]
    bounces = [make_order(1200 + i, email="bounce.%d@example.gr" % i) for i in range(3)]
    sendgrid_stub.responder = lambda q: (
        Resp(400, body={"errors": [{"message": "Does not contain a valid address.",
                                    "field": "personalizations.0.to.0.email"}]})
        if q.to[0].startswith("bounce.") else None)
    srv = nudge.server(flows)
    nudge.worker(flows)
    assert post_all(srv, orders + bounces) == 10
    r = nudge.redis
    ms = wait_all_final(r, 10, timeout=15)
    reqs = sendgrid_stub.settle(0.5)
    dead = {q.nudge_id for q in reqs if q.status == 400}
    assert len(dead) == 3 and len(reqs) == 10, sendgrid_stub.report()
    assert {i for i, m in ms.items() if m["st"] == "dead"} == dead
    assert sorted(zset_members(r, "dead")) == sorted(dead)

    out = nudgectl(nudge, "dead", "list")
    lines = out.strip().splitlines()
    assert len(lines) == 3, out
    for line in lines:
        i = line.split()[0]
        assert i in dead, line
        assert "400" in line and "valid address" in line, line
        assert "order/confirmation" in line and "attempts 1" in line, line

    sendgrid_stub.responder = None
    res = nudge.run("nudgectl", "dead", "replay", "no-such-id")
    assert res.returncode == 1, (res.stdout, res.stderr)
    out = nudgectl(nudge, "dead", "replay", "--all")
    assert out.strip() == "replayed 3 messages", out
    ms = wait_all_final(r, 10, timeout=15)
    assert {i: m["st"] for i, m in ms.items()} == dict.fromkeys(ms, "sent")
    assert zset_members(r, "dead") == []
    assert nudgectl(nudge, "dead", "list").strip() == "no dead messages"
    reqs = sendgrid_stub.settle(0.5)
    assert len(reqs) == 13, sendgrid_stub.report()
    assert_each_sent_once(reqs, ms)
    assert all(ms[i]["a"] == "1" for i in dead), {i: ms[i] for i in dead}
    st = stats(r)
    assert (st["sent"], st["dead"], st["replayed"]) == (10, 3, 3), st


def test_replay_wakes_an_idle_worker(nudge, sendgrid_stub, flows):
    sendgrid_stub.script(Resp(400, body={"errors": [{"message": "bounced"}]}))
    srv = nudge.server(flows)
    nudge.worker(dict(flows, NUDGE_POLL_MS="10000"))
    assert post_all(srv, [make_order(1800)]) == 1
    r = nudge.redis
    ms = wait_all_final(r, 1, timeout=10)
    assert [m["st"] for m in ms.values()] == ["dead"]
    assert nudgectl(nudge, "dead", "replay", "--all").strip() == "replayed 1 message"
    # polling cannot explain a send within 2 s: the next poll is ~8 s away
    sendgrid_stub.wait_requests(1, timeout=2.0, accepted=True)
    assert len(sendgrid_stub.snapshot()) == 2


# ------------------------------------------------------------- 6. wake-up latency

def test_wakeup_latency_idle_worker(nudge, sendgrid_stub, flows):
    srv = nudge.server(flows)
    t_start = time.monotonic()
    nudge.worker(dict(flows, NUDGE_POLL_MS="5000"))
    time.sleep(0.5)     # its first look at every partition is over: idle
    from_post, from_200 = [], []
    for k in range(3):
        t0 = time.monotonic()
        body = answer(post_order(srv.url, SHOP, SECRET, make_order(1300 + k), new_event_id()), 200)
        t1 = time.monotonic()
        assert body["result"] == "scheduled", body
        q = sendgrid_stub.wait_requests(k + 1, timeout=10)[k]
        assert q.accepted, q.summary()
        # its next poll is 5 s after it started: only the wake-up explains this
        assert q.t - t_start < 4.8, "inconclusive: the sample ran into the poll"
        from_post.append(q.t - t0)
        from_200.append(q.t - t1)
        time.sleep(0.2)
    print("\nwake-up latency (POST -> stub): %s ms; after the 200: %s ms" % (
        [round(x * 1000) for x in from_post], [round(x * 1000) for x in from_200]))
    assert max(from_post) < 1.0, from_post
    assert len(sendgrid_stub.settle(0.3)) == 3


# ------------------------------------------------------------------ 7. rate limit

def test_provider_rate_limit(nudge, sendgrid_stub, flows):
    n, rate = 60, 20
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(1400 + i) for i in range(n)]) == n
    nudge.worker(dict(flows, NUDGE_PROVIDER_RATE=str(rate)))
    sendgrid_stub.wait_requests(n, timeout=20, accepted=True)
    ms = wait_all_final(nudge.redis, n, timeout=10)
    reqs = sendgrid_stub.settle(0.3)
    assert_each_sent_once(reqs, ms)
    ts = sorted(q.t for q in reqs)
    span = ts[-1] - ts[0]
    # a bucket of `rate` tokens refilled at `rate`/s: 60 take >= 2 s
    assert span >= (n - rate) / rate * 0.9, "60 sends in %.2f s at 20/s" % span
    for k, t in enumerate(ts):
        assert k + 1 <= rate + rate * (t - ts[0]) + 2, (
            "%d requests within %.2f s at %d/s" % (k + 1, t - ts[0], rate))
    print("\nrate 20/s: 60 sends spread over %.2f s" % span)


# ------------------------------------------------- 7b. several claims in flight

def test_claims_in_flight_one_partition(nudge, sendgrid_stub, flows):
    """One shop is one partition: with small batches and several claims of
    it in flight at once, every message still goes out exactly once, with
    no stale ack, no reclaimed lease and no retry. The batch claimed ahead
    waits in the lane: the provider never has more than NUDGE_MAX_INFLIGHT
    requests at once, however many it would take."""
    n, most = 300, 20
    sendgrid_stub.delay = 0.05
    srv = nudge.server(flows)
    assert post_all(srv, [make_order(1700 + i) for i in range(n)]) == n
    w = nudge.worker(dict(flows, NUDGE_CLAIM_BATCH="7", NUDGE_CLAIMS_INFLIGHT="4",
                          NUDGE_MAX_INFLIGHT=str(most), NUDGE_PROVIDER_CONCURRENCY="1000"))
    sendgrid_stub.wait_requests(n, timeout=60, accepted=True)
    r = nudge.redis
    ms = wait_all_final(r, n, timeout=20)
    reqs = sendgrid_stub.settle(0.5)
    assert len(reqs) == n, sendgrid_stub.report()
    assert_each_sent_once(reqs, ms)
    assert {i: m["st"] for i, m in ms.items() if m["st"] != "sent"} == {}
    assert all(m["a"] == "1" for m in ms.values())
    st = stats(r)
    assert st["sent"] == n, st
    assert (st["retry"], st["reclaimed"], st["stale_acks"]) == (0, 0, 0), st
    assert len(log_events(w, "sent")) == n

    # requests at the stub at once (its clock: a little over the worker's
    # count, as the next request may arrive before the last answer's write
    # returned; without the lane's cap it could be a whole batch over)
    at_once, top = 0, 0
    for _, d in sorted([(q.t, 1) for q in reqs] + [(q.t_done, -1) for q in reqs]):
        at_once += d
        top = max(top, at_once)
    print("\nclaims in flight: %d requests, at most %d at once (max in flight %d)"
          % (n, top, most))
    assert top <= most + 2, top
    assert top >= most // 2, top

# ----------------------------------------------------------- 8. status --json

def status(nudge):
    return json.loads(nudgectl(nudge, "status", "--json"))


def test_status_json(nudge, sendgrid_stub):
    # default flows: each order also schedules steps days away, which stay due
    srv = nudge.server()
    orders = [make_order(1500 + i) for i in range(3)] + [
        make_order(1600, email="bounce@example.gr")]
    total = post_all(srv, orders)
    assert total > len(orders)
    r = nudge.redis
    s = status(nudge)
    assert (s["due"], s["inflight"], s["dead"]) == (total, 0, 0), s
    assert s["due"] == len(zset_members(r, "due"))
    assert sum(p["due"] for p in s["partitions"]) == total, s
    assert s["next_due_in_ms"] is not None and s["next_due_in_ms"] <= 0, s
    assert s["counters"].get("sent", 0) == 0, s
    assert s["pending_by_step"].get("order/confirmation") == len(orders), s

    sendgrid_stub.delay = 1.0
    sendgrid_stub.responder = lambda q: (
        Resp(400, body={"errors": [{"message": "bounced"}]})
        if q.to[0] == "bounce@example.gr" else None)
    nudge.worker()
    sendgrid_stub.wait_requests(len(orders), timeout=10)
    s = status(nudge)
    assert (s["due"], s["inflight"], s["dead"]) == (total - len(orders), len(orders), 0), s
    assert s["inflight"] == len(zset_members(r, "inflight"))

    wait_until(lambda: not zset_members(r, "inflight"), 10, what="inflight empty")
    s = status(nudge)
    assert (s["due"], s["inflight"], s["dead"]) == (total - len(orders), 0, 1), s
    assert s["counters"]["sent"] == len(orders) - 1, s
    assert s["counters"]["dead"] == 1, s
    assert s["counters"].get("retry", 0) == 0, s
    assert s["counters"]["sent"] == stats(r)["sent"]
    assert sum(p["dead"] for p in s["partitions"]) == 1, s
    # pending by step: exactly what is still due, none of it a confirmation
    want = collections.Counter()
    for i, m in all_messages(r).items():
        if m["st"] == "due":
            want["%s/%s" % (m["f"], m["s"])] += 1
    assert s["pending_by_step"] == dict(want), s
    assert "order/confirmation" not in s["pending_by_step"], s
    assert s["next_due_in_ms"] > 3600 * 1000, s
