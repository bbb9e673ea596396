"""
The walking skeleton, end to end: a signed Shopify orders/create webhook
becomes exactly one order-confirmation e-mail through SendGrid (a stub that
checks the request shape), with dedupe, signature checks, HTTP errors, a
Redis outage, provider retries and dead letters, concurrency, the log
provider and configuration errors. Every test asserts exact values.
"""
import concurrent.futures
import json

import pytest
import requests

from harness import (OTHER_SECRET, OTHER_SHOP, PREVIOUS_SECRET, REPO, SECRET, SHOP,
                     FROM_EMAIL, FROM_NAME, answer, make_order, message, message_ids,
                     new_event_id, nudge_keys, post_order, rate_limited, sign, wait_until,
                     zset_members, Resp)


def schedule(srv, order, event_id=None, **kw):
    """Posts order, asserts 200 scheduled; returns the answer body."""
    body = answer(post_order(srv.url, SHOP, SECRET, order, event_id or new_event_id(), **kw), 200)
    assert body["result"] == "scheduled", body
    assert body["event"] == "order_placed", body
    assert isinstance(body["messages"], int) and body["messages"] >= 1, body
    return body


def wait_state(r, msg_id, state, timeout=10):
    """Waits until nudge:{p}:m:<msg_id> has st=state; returns the hash."""
    return wait_until(lambda: (message(r, msg_id) or {}).get("st") == state
                      and message(r, msg_id), timeout,
                      what="message %s st=%s (now %r)" % (msg_id, state, message(r, msg_id)))


def assert_confirmation(req, order):
    """The exact content of the order-confirmation e-mail for order."""
    assert req.ok, req.problems
    assert req.accepted
    p = req.pers
    assert req.to == [order.email]
    if "name" in p["to"][0]:
        assert order.first_name in p["to"][0]["name"], p["to"]
    assert p["custom_args"] == {"nudge_id": req.nudge_id, "shop": SHOP,
                                "flow": "order", "step": "confirmation"}
    assert req.json["from"] == {"email": FROM_EMAIL, "name": FROM_NAME}
    assert order.name in req.json["subject"], req.json["subject"]
    assert req.json["categories"] == ["order", "confirmation"]
    for ctype in ("text/plain", "text/html"):
        text = req.content(ctype)
        for want in [order.name, order.total] + order.titles:
            assert want in text, "%r not in %s:\n%s" % (want, ctype, text)


def not_queued(r, msg_id):
    assert msg_id not in zset_members(r, "due")
    assert msg_id not in zset_members(r, "inflight")


# ---------------------------------------------------------------------- a

def test_a_health_version_sign(nudge, tmp_path):
    srv = nudge.server()
    assert requests.get(srv.url + "/healthz", timeout=5).status_code == 200
    assert requests.get(srv.url + "/readyz", timeout=5).status_code == 200

    res = nudge.run("nudgectl", "version")
    assert res.returncode == 0, res.stderr
    assert (REPO / "VERSION").read_text().strip() in res.stdout

    # Vector V1 of webhooks.md (shopify-api-php), then an order body, then
    # a body whose trailing newline is part of the signed bytes.
    v1 = tmp_path / "v1.json"
    v1.write_bytes(b'{"foo":"bar"}')
    assert sign("7008c5f4da4718b9b45d26d3fcbbb157", b'{"foo":"bar"}') == \
        "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY="
    res = nudge.run("nudgectl", "sign", "--secret", "7008c5f4da4718b9b45d26d3fcbbb157", v1)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY="

    order = make_order(1)
    f = tmp_path / "order.json"
    f.write_bytes(order.body)
    res = nudge.run("nudgectl", "sign", "--secret", SECRET, f)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sign(SECRET, order.body)

    nl = tmp_path / "nl.json"
    nl.write_bytes(order.body + b"\n")
    res = nudge.run("nudgectl", "sign", "--secret", SECRET, nl)
    assert res.stdout.strip() == sign(SECRET, order.body + b"\n")

    # what nudgectl prints is what the server accepts
    sig = nudge.run("nudgectl", "sign", "--secret", SECRET, f).stdout.strip()
    body = answer(post_order(srv.url, SHOP, SECRET, order, new_event_id(), signature=sig), 200)
    assert body["result"] == "scheduled"


# ---------------------------------------------------------------------- b

def test_b_order_confirmation_email(nudge, sendgrid_stub):
    srv = nudge.server()
    nudge.worker()
    order = make_order(1)
    schedule(srv, order)

    req = sendgrid_stub.wait_requests(1, timeout=10)[0]
    assert_confirmation(req, order)
    m = wait_state(nudge.redis, req.nudge_id, "sent")
    assert m["st"] == "sent"
    not_queued(nudge.redis, req.nudge_id)
    assert zset_members(nudge.redis, "dead") == []
    # The 64-bit order id (> 2^53) is kept exactly: it shows in the keys or
    # the message (the contract does not say where), never rounded.
    stored = " ".join(nudge_keys(nudge.redis)) + " " + " ".join(m.values())
    assert str(order.id) in stored
    assert str(int(float(order.id))) not in stored
    assert len(sendgrid_stub.settle(1.0)) == 1


# ---------------------------------------------------------------------- c

def test_c_duplicate_delivery(nudge, sendgrid_stub):
    srv = nudge.server()
    nudge.worker()
    order = make_order(2)
    evt = new_event_id()
    schedule(srv, order, evt)
    for _ in range(2):
        body = answer(post_order(srv.url, SHOP, SECRET, order, evt), 200)
        assert body["result"] == "duplicate", body

    req = sendgrid_stub.wait_requests(1, timeout=10)[0]
    assert_confirmation(req, order)
    assert len(sendgrid_stub.settle(1.5)) == 1


# ---------------------------------------------------------------------- d

def test_d_replay_with_new_delivery_id(nudge, sendgrid_stub):
    srv = nudge.server()
    nudge.worker()
    order = make_order(3)
    r = nudge.redis
    schedule(srv, order, "evt-d-1")
    ids = message_ids(r)
    assert ids, "no message stored"

    # a replay at once (probably before the send) ...
    body = answer(post_order(srv.url, SHOP, SECRET, order, "evt-d-2"), 200)
    assert body["result"] in ("scheduled", "duplicate"), body
    assert message_ids(r) == ids

    req = sendgrid_stub.wait_requests(1, timeout=10)[0]
    assert_confirmation(req, order)
    wait_state(r, req.nudge_id, "sent")

    # ... and one after it was sent
    body = answer(post_order(srv.url, SHOP, SECRET, order, "evt-d-3"), 200)
    assert body["result"] in ("scheduled", "duplicate"), body
    assert message_ids(r) == ids
    assert len(sendgrid_stub.settle(1.5)) == 1
    assert message(r, req.nudge_id)["st"] == "sent"


# ---------------------------------------------------------------------- e

def unauthorized(resp):
    body = answer(resp, 401)
    assert body["error"] == "unauthorized", body
    assert isinstance(body.get("reason"), str) and body["reason"], body
    return body


def test_e_signatures(nudge):
    srv = nudge.server()
    r = nudge.redis
    order = make_order(4)
    other = make_order(40)

    unauthorized(post_order(srv.url, SHOP, "wrong", order, new_event_id()))
    unauthorized(post_order(srv.url, SHOP, SECRET, order, new_event_id(),
                            signature=sign(SECRET, other.body)))          # another body
    unauthorized(post_order(srv.url, SHOP, SECRET, order, new_event_id(),
                            signature="not base64 !!"))
    unauthorized(post_order(srv.url, SHOP, SECRET, order, new_event_id(),
                            signature=sign(SECRET, order.body)[:20]))     # truncated
    unauthorized(post_order(srv.url, SHOP, SECRET, order, new_event_id(), signature=""))
    unauthorized(post_order(srv.url, SHOP, OTHER_SECRET, order, new_event_id()))  # other shop's key
    unauthorized(post_order(srv.url, SHOP, SECRET, order, new_event_id(), sign_it=False))
    unauthorized(post_order(srv.url, "nope.myshopify.com", SECRET, order, new_event_id()))
    assert nudge_keys(r) == []

    # the other shop with its own secret is fine; so is the previous secret
    body = answer(post_order(srv.url, OTHER_SHOP, OTHER_SECRET, other, new_event_id()), 200)
    assert body["result"] == "scheduled", body
    body = answer(post_order(srv.url, SHOP, PREVIOUS_SECRET, order, new_event_id()), 200)
    assert body["result"] == "scheduled", body
    body = answer(post_order(srv.url, SHOP, SECRET, make_order(41), new_event_id(),
                             lower_case=True), 200)
    assert body["result"] == "scheduled", body
    assert len(message_ids(r)) >= 3


# ---------------------------------------------------------------------- f

def padded_order(i, size):
    """An order whose JSON body is exactly size bytes (a long note)."""
    o = make_order(i)
    base = o.body[:-1] + b',"note":""}'
    o.body = base[:-2] + b"x" * (size - len(base)) + b'"}'
    assert len(o.body) == size and json.loads(o.body)["id"] == o.id
    return o


def test_f_bad_requests(nudge, sendgrid_stub):
    srv = nudge.server({"NUDGE_BODY_LIMIT": "4096"})
    nudge.worker()
    r = nudge.redis

    body = answer(post_order(srv.url, SHOP, SECRET, b'{"id": 1, "name": ', new_event_id()), 400)
    assert body["error"] == "bad_request", body

    body = answer(requests.get(srv.url + "/webhooks/shopify", timeout=5), 405)
    assert body["error"] == "method_not_allowed", body

    for size in (4097, 10 * 1024):
        big = padded_order(5, size)
        body = answer(post_order(srv.url, SHOP, SECRET, big, new_event_id()), 413)
        assert body["error"] == "payload_too_large", body

    body = answer(post_order(srv.url, SHOP, SECRET, make_order(6), new_event_id(),
                             topic="products/create"), 200)
    assert body["result"] == "ignored", body
    assert body["reason"].startswith("unknown topic"), body

    body = answer(requests.post(srv.url + "/nope", data=b"{}", timeout=5), 404)
    assert body["error"] == "not_found", body
    body = answer(requests.get(srv.url + "/nope", timeout=5), 404)
    assert body["error"] == "not_found", body

    assert message_ids(r) == []
    assert zset_members(r, "due") == []

    # exactly at the limit is accepted, and the server still works
    order = padded_order(7, 4096)
    schedule(srv, order)
    req = sendgrid_stub.wait_requests(1, timeout=10)[0]
    assert_confirmation(req, order)
    assert len(sendgrid_stub.settle(1.0)) == 1


# ---------------------------------------------------------------------- g

@pytest.mark.allow_errors
def test_g_redis_outage(nudge, redis_server, sendgrid_stub):
    srv = nudge.server()
    nudge.worker()
    first = make_order(8)
    schedule(srv, first)
    assert_confirmation(sendgrid_stub.wait_requests(1, timeout=10)[0], first)

    redis_server.stop()
    order = make_order(9)
    evt = new_event_id()
    body = answer(post_order(srv.url, SHOP, SECRET, order, evt), 503)
    assert body["error"] == "unavailable", body
    wait_until(lambda: requests.get(srv.url + "/readyz", timeout=5).status_code == 503,
               5, what="/readyz 503 while Redis is down")

    redis_server.start()
    wait_until(lambda: requests.get(srv.url + "/readyz", timeout=5).status_code == 200,
               10, what="/readyz 200 after Redis came back")
    schedule(srv, order, evt)

    reqs = sendgrid_stub.wait_requests(2, timeout=15)
    assert_confirmation(reqs[1], order)
    wait_state(nudge.redis, reqs[1].nudge_id, "sent")
    assert len(sendgrid_stub.settle(1.0)) == 2


# ---------------------------------------------------------------------- h

def test_h_retry_on_5xx(nudge, sendgrid_stub):
    sendgrid_stub.script(500, 500, 202)
    srv = nudge.server()
    nudge.worker({"NUDGE_BACKOFF_BASE_MS": "100", "NUDGE_BACKOFF_MAX_MS": "400"})
    order = make_order(10)
    schedule(srv, order)

    reqs = sendgrid_stub.wait_requests(3, timeout=10)
    assert [q.status for q in reqs] == [500, 500, 202]
    assert len({q.nudge_id for q in reqs}) == 1
    for q in reqs:
        assert q.ok, q.problems
    assert_confirmation(reqs[2], order)
    m = wait_state(nudge.redis, reqs[2].nudge_id, "sent")
    assert int(m["a"]) == 3, m
    assert zset_members(nudge.redis, "dead") == []
    not_queued(nudge.redis, reqs[2].nudge_id)
    assert len(sendgrid_stub.settle(1.0)) == 3


def test_h2_retry_after_on_429(nudge, sendgrid_stub):
    sendgrid_stub.script(rate_limited(1), 202)
    srv = nudge.server()
    nudge.worker()
    order = make_order(13)
    schedule(srv, order)

    reqs = sendgrid_stub.wait_requests(2, timeout=10)
    assert [q.status for q in reqs] == [429, 202]
    assert reqs[0].nudge_id == reqs[1].nudge_id
    # Retry-After: 1 is honoured although the backoff base is 100 ms
    assert reqs[1].t - reqs[0].t >= 0.9, reqs[1].t - reqs[0].t
    assert_confirmation(reqs[1], order)
    wait_state(nudge.redis, reqs[1].nudge_id, "sent")
    assert len(sendgrid_stub.settle(1.0)) == 2


# ---------------------------------------------------------------------- i

@pytest.mark.allow_errors("nudge-worker")
def test_i_dead_letter_on_4xx(nudge, sendgrid_stub):
    sendgrid_stub.script(Resp(400, body={"errors": [{"message": "invalid from"}]}))
    srv = nudge.server()
    nudge.worker()
    schedule(srv, make_order(11))

    req = sendgrid_stub.wait_requests(1, timeout=10)[0]
    assert req.ok, req.problems
    assert req.status == 400
    m = wait_state(nudge.redis, req.nudge_id, "dead")
    assert "400" in m.get("err", ""), m
    assert zset_members(nudge.redis, "dead") == [req.nudge_id]
    not_queued(nudge.redis, req.nudge_id)
    assert len(sendgrid_stub.settle(1.5)) == 1


# ---------------------------------------------------------------------- j

def test_j_two_workers_200_orders(nudge, sendgrid_stub):
    srv = nudge.server()
    nudge.worker()
    nudge.worker()
    orders = [make_order(100 + i) for i in range(200)]

    def post(o):
        return post_order(srv.url, SHOP, SECRET, o, new_event_id())

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        answers = list(ex.map(post, orders))
    results = [answer(a, 200)["result"] for a in answers]
    assert results == ["scheduled"] * 200

    sendgrid_stub.wait_requests(200, timeout=30, accepted=True)
    reqs = sendgrid_stub.settle(1.5)
    bad = [q.summary() for q in reqs if not q.ok]
    assert bad == []
    assert len(reqs) == 200
    assert all(q.accepted for q in reqs)
    assert len({q.nudge_id for q in reqs}) == 200
    assert sorted(q.to[0] for q in reqs) == sorted(o.email for o in orders)
    r = nudge.redis
    wait_until(lambda: all((message(r, q.nudge_id) or {}).get("st") == "sent" for q in reqs),
               10, what="all 200 messages st=sent")


# ---------------------------------------------------------------------- k

def test_k_log_provider(nudge, sendgrid_stub):
    srv = nudge.server()
    nudge.worker({"NUDGE_EMAIL_PROVIDER": "log", "SENDGRID_API_KEY": None,
                  "NUDGE_SENDGRID_URL": None})
    order = make_order(12)
    schedule(srv, order)

    files = wait_until(lambda: list(nudge.outbox.glob("*.eml")), 10, what="an .eml in the outbox")
    msg_id = files[0].name[:-len(".eml")]
    wait_state(nudge.redis, msg_id, "sent")
    files = sorted(nudge.outbox.iterdir())
    assert [f.name for f in files] == [msg_id + ".eml"]
    text = files[0].read_bytes().decode("utf-8", "replace")
    assert order.name in text
    assert order.email in text
    assert sendgrid_stub.snapshot() == []


# ---------------------------------------------------------------------- l

@pytest.mark.parametrize("prog,env,setting", [
    ("nudge-server", {"NUDGE_BODY_LIMIT": "abc"}, "NUDGE_BODY_LIMIT"),
    ("nudge-server", {"NUDGE_SHOPS_FILE": None}, "NUDGE_SHOPS_FILE"),
    ("nudge-worker", {"NUDGE_SHOPS_FILE": None}, "NUDGE_SHOPS_FILE"),
    ("nudge-worker", {"NUDGE_EMAIL_PROVIDER": "pigeon"}, "NUDGE_EMAIL_PROVIDER"),
])
def test_l_invalid_config(nudge, prog, env, setting):
    res = nudge.run(prog, env=env, timeout=10)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert setting in res.stderr, res.stderr[-2000:]
