"""
2. Five workers send FAULTS_MESSAGES (default 20,000) order confirmations
while one of them, chosen at random (fixed seed), is SIGKILLed every second
and a new one started in its place. The provider (a fast stub) takes 50 ms
to answer, as a real one does, so every kill lands on sends in flight.

What must hold (docs/architecture.md, "at-least-once; duplicates only in
the crash window"):

  * nothing is lost: every message ends `sent`, accepted by the provider at
    least once, and the due and inflight sets end empty;
  * a message goes out twice only when a worker died holding it after the
    provider had it: every duplicated id was leased to the killed worker
    (read from Redis right after the kill) and had reached the stub by then;
    the duplicates are at most the number of such messages summed over the
    kills, and an id goes out at most once more than the kills that caught it.

Printed: kills, messages leased to killed workers at their death, how many
of those the stub had already received, duplicates, and the timings.
"""
import collections
import random
import time

from faults.common import (Timer, all_messages, confirmation_flows, held_by, post_many,
                           prefixes, queued, shopify_headers, stats, worker_id)
from faults.conftest import env_int
from faults.faststub import Answer
from harness import make_order

SEED = 20261123
LEASE_MS = 5000
# After a kill, requests the stub records up to EPS late still came from the
# dead worker: nobody else may send its messages before their lease expires.
EPS = 0.5
PROVIDER_DELAY = 0.05


def test_sigkill_one_worker_every_second(nudge, fast_stub, tmp_path):
    n = env_int("FAULTS_MESSAGES", 20000)
    flows = confirmation_flows(tmp_path)
    rng = random.Random(SEED)
    clock = Timer()
    srv = nudge.server(dict(flows, NUDGE_THREADS="2", NUDGE_LOG_LEVEL="warn"))

    orders = [make_order(100000 + i) for i in range(n)]
    jobs = [(srv.url + "/webhooks/shopify", o.body, shopify_headers(o.body, "ev-%d" % i))
            for i, o in enumerate(orders)]
    answers = post_many(jobs, threads=8)
    bad = [(i, a) for i, a in enumerate(answers)
           if a[0] != 200 or (a[1] or {}).get("result") != "scheduled"]
    assert bad == [], bad[:5]
    t_ingest = clock.mark("ingest")
    r = nudge.redis
    parts = prefixes(r)
    assert queued(r, parts) == (n, 0)

    fast_stub.responder = lambda q: Answer(202, {"X-Message-Id": "fs-%d" % q.n},
                                           delay=PROVIDER_DELAY)
    env = dict(flows, NUDGE_SENDGRID_URL=fast_stub.url, NUDGE_LEASE_MS=str(LEASE_MS),
               NUDGE_SEND_TIMEOUT_MS="1000", NUDGE_PROVIDER_CONCURRENCY="16",
               NUDGE_MAX_INFLIGHT="100", NUDGE_CLAIM_BATCH="50", NUDGE_LOG_LEVEL="info",
               NUDGE_MAX_ATTEMPTS="100")

    def start_worker():
        w = nudge.worker(env)
        return w, worker_id(w)

    live = [start_worker() for _ in range(5)]
    kills = []          # (monotonic time of death, worker id, ids leased to it then)
    t_start = time.monotonic()
    deadline = t_start + max(120, n / 100)
    next_kill = t_start + 1.0
    while True:
        now = time.monotonic()
        assert now < deadline, "not all sent after %.0f s: due %d, inflight %d; %d kills" % (
            now - t_start, *queued(r, parts), len(kills))
        if now >= next_kill:
            k = rng.randrange(len(live))
            w, wid = live[k]
            w.kill()                       # SIGKILL, and reaped
            t_kill = time.monotonic()
            kills.append((t_kill, wid, held_by(r, wid, parts)))
            live[k] = start_worker()
            next_kill = max(next_kill + 1.0, time.monotonic() + 0.5)
            continue
        if queued(r, parts) == (0, 0):
            ms = all_messages(r)
            if len(ms) == n and all(m["st"] == "sent" for m in ms.values()):
                break
        time.sleep(0.05)
    t_send = clock.mark("sending")
    time.sleep(0.5)                        # nothing more arrives
    reqs = fast_stub.snapshot()

    assert [q.summary() for q in reqs if q.problems][:5] == []
    ms = all_messages(r)
    assert len(ms) == n
    assert {i: m["st"] for i, m in ms.items() if m["st"] != "sent"} == {}
    assert queued(r, parts) == (0, 0)
    accepted = collections.Counter(q.nudge_id for q in reqs if q.accepted)
    lost = set(ms) - set(accepted)
    assert lost == set(), "%d messages never accepted by the provider: %s" % (
        len(lost), sorted(lost)[:10])
    assert set(accepted) == set(ms), sorted(set(accepted) - set(ms))[:10]

    per_id = collections.defaultdict(list)
    for q in reqs:
        per_id[q.nudge_id].append(q)
    # per kill: the ids leased to the dead worker that the stub had received
    caught = [{i for i in held if any(q.t <= t_kill + EPS for q in per_id[i])}
              for t_kill, _, held in kills]
    dups = {i: c - 1 for i, c in accepted.items() if c > 1}
    outside = {i: [q.summary() for q in per_id[i]] for i in dups
               if not any(i in c for c in caught)}
    assert outside == {}, "duplicates outside the crash window: %s" % (
        list(outside.items())[:5],)
    too_many = {i: (accepted[i], sum(1 for c in caught if i in c)) for i in dups
                if dups[i] > sum(1 for c in caught if i in c)}
    assert too_many == {}, "sent more often than the kills that caught them: %s" % too_many
    assert sum(dups.values()) <= sum(len(c) for c in caught)

    st = stats(r)
    # only the dead workers' leases expire (an ack still in its socket when
    # the worker died may land after the read: <=)
    assert st["reclaimed"] <= sum(len(h) for _, _, h in kills), st
    assert len(kills) >= min(5, int(t_send - t_ingest) - 3), (len(kills), t_send - t_ingest)
    print("\nSIGKILL every second: %d messages, 5 workers, %d kills (%d restarts); leased to "
          "the killed worker at its death: %d, of which the provider had received %d; "
          "DUPLICATES: %d (%d ids, none outside the crash window); reclaimed %d, stale acks %d, "
          "provider requests %d; ingest %.1f s (%.0f/s), sending %.1f s (%.0f/s)" % (
              n, len(kills), len(kills), sum(len(h) for _, _, h in kills),
              sum(len(c) for c in caught), sum(dups.values()), len(dups), st["reclaimed"],
              st["stale_acks"], len(reqs), t_ingest, n / t_ingest, t_send - t_ingest,
              n / (t_send - t_ingest)))
    print("per kill (s after the workers started: leased, of which at the provider): %s" % (
        ", ".join("%.1f: %d/%d" % (t - t_start, len(h), len(c))
                  for (t, _, h), c in zip(kills, caught))))
