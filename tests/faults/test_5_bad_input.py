"""
5. Hostile and broken requests against nudge-server, each with the answer
the README and docs/events.md document:

  401  bad, missing or foreign signatures, unknown shops and tokens, Standard
       Webhooks timestamps outside +-300 s;
  400  verified bodies nudge cannot use: truncated, too deep, not UTF-8, NULs,
       numbers no 64-bit integer holds (99999999999999999999 is refused, not
       rounded: jansson reports "too big integer"; the same id as a JSON
       string is kept exact, see test_id_beyond_64_bits_as_a_string), a
       body that is no JSON object, an order without an id;
  413  bodies over NUDGE_BODY_LIMIT (JSON up to twice the limit; past that
       libevent answers itself, HTML);
  405  webhook paths with another method (501 from libevent for methods it
       does not know: TRACE);
  404  unknown paths;
  200  ignored / duplicate: a WooCommerce ping, an unknown topic, a replay.
  Requests libevent refuses before nudge sees them (too many or too long
  headers, a broken request line or chunk) get a 4xx or a closed connection.

For every request: nothing is scheduled (Redis unchanged, but for the
counters), the server stays up, and it answers the next valid webhook with
200 "scheduled". Content types are not checked (the service verifies the
signature over the raw bytes whatever the type says):
test_content_type_is_not_required. Slow senders: test_slowloris.
"""
import base64
import hashlib
import hmac
import json
import resource
import socket
import threading
import time
import uuid

import pytest
import requests

from faults.common import shopify_headers
from harness import (OTHER_SECRET, SECRET, SHOP, make_order, nudge_keys, post_order, sign,
                     subject_loc, wait_until)
from lifecycle import CF_TOKEN, GENERIC_SECRET, GENERIC_SHOP, WOO_SECRET, WOO_SHOP, key_dump

LIMIT = 1048576         # NUDGE_BODY_LIMIT's default


# ---------------------------------------------------------------- senders

def raw(srv, data, timeout=5.0):
    """Sends bytes on a fresh connection; returns the status (int), or
    "closed" when the server hung up without an answer."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while b"\r\n" not in out:
                c = s.recv(65536)
                if not c:
                    break
                out += c
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    if not out.startswith(b"HTTP/1."):
        return "closed"
    return int(out.split(b" ", 2)[1])


def shop_post(body, sig="sign", topic="orders/create", shop=SHOP, secret=SECRET, event=None,
              ctype="application/json", method="POST", path="/webhooks/shopify"):
    """A Shopify delivery; sig: "sign" (valid), None (no header) or a value."""
    def send(srv):
        b = body if isinstance(body, bytes) else body.encode()
        h = {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
             "X-Shopify-Event-Id": event or str(uuid.uuid4())}
        if topic is None:
            del h["X-Shopify-Topic"]
        if shop is None:
            del h["X-Shopify-Shop-Domain"]
        if ctype is not None:
            h["Content-Type"] = ctype
        if sig == "sign":
            h["X-Shopify-Hmac-Sha256"] = sign(secret, b)
        elif sig is not None:
            h["X-Shopify-Hmac-Sha256"] = sig
        return requests.request(method, srv.url + path, data=b, headers=h, timeout=10)
    return send


def woo_post(body, topic="order.created", source="https://%s/" % WOO_SHOP, secret=WOO_SECRET,
             sig="sign"):
    def send(srv):
        b = body if isinstance(body, bytes) else body.encode()
        h = {"Content-Type": "application/json", "X-WC-Webhook-Source": source}
        if topic is not None:
            h["X-WC-Webhook-Topic"] = topic
        if sig == "sign":
            h["X-WC-Webhook-Signature"] = sign(secret, b)
        elif sig is not None:
            h["X-WC-Webhook-Signature"] = sig
        return requests.post(srv.url + "/webhooks/woocommerce", data=b, headers=h, timeout=10)
    return send


def cf_post(body, token=CF_TOKEN):
    def send(srv):
        return requests.post(srv.url + "/webhooks/cartflows/" + token, data=body, timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    return send


def generic_post(body, ts_offset=0, ts=None, msg_id=None, secret=GENERIC_SECRET, sig="sign",
                 shop=GENERIC_SHOP):
    def send(srv):
        b = body if isinstance(body, bytes) else body.encode()
        i = msg_id or "msg_" + uuid.uuid4().hex
        t = str(ts if ts is not None else int(time.time()) + ts_offset)
        h = {"Content-Type": "application/json", "X-Nudge-Shop": shop, "webhook-id": i,
             "webhook-timestamp": t}
        if sig == "sign":
            key = base64.b64decode(secret[6:])
            mac = hmac.new(key, ("%s.%s." % (i, t)).encode() + b, hashlib.sha256).digest()
            h["webhook-signature"] = "v1," + base64.b64encode(mac).decode()
        elif sig is not None:
            h["webhook-signature"] = sig
        return requests.post(srv.url + "/webhooks/generic", data=b, headers=h, timeout=10)
    return send


def method(m, path="/webhooks/shopify"):
    return lambda srv: requests.request(m, srv.url + path, timeout=10)


def get(path):
    return lambda srv: requests.get(srv.url + path, timeout=10)


def raw_req(data):
    return lambda srv: raw(srv, data)


# ------------------------------------------------------------------ bodies

ORDER = make_order(7)
GOOD = ORDER.body
REPLAY_EVENT = "replayed-event"
ORDER_NO_ID = json.dumps({"email": "x@example.gr", "line_items": []})
GENERIC_ORDER = json.dumps({"type": "order_placed", "order": {"id": "1"},
                            "customer": {"email": "g@example.gr"}})
HEAD = b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\n"

# (name, request, allowed statuses, nudge's JSON "error" when it answers itself)
CASES = [
    # --- signatures and shops (401)
    ("no signature", shop_post(GOOD, sig=None), {401}, "unauthorized"),
    ("empty signature", shop_post(GOOD, sig=""), {401}, "unauthorized"),
    ("garbage signature", shop_post(GOOD, sig="not base64 at all %%%"), {401}, "unauthorized"),
    ("signature by another secret", shop_post(GOOD, sig=sign("wrong", GOOD)), {401},
     "unauthorized"),
    ("signature by the other shop's secret", shop_post(GOOD, secret=OTHER_SECRET), {401},
     "unauthorized"),
    ("signature of another body", shop_post(GOOD, sig=sign(SECRET, make_order(8).body)), {401},
     "unauthorized"),
    ("signature of the body plus a newline", shop_post(GOOD, sig=sign(SECRET, GOOD + b"\n")),
     {401}, "unauthorized"),
    ("hex instead of base64 HMAC",
     shop_post(GOOD, sig=hmac.new(SECRET.encode(), GOOD, hashlib.sha256).hexdigest()), {401},
     "unauthorized"),
    ("truncated signature", shop_post(GOOD, sig=sign(SECRET, GOOD)[:20]), {401}, "unauthorized"),
    ("unknown shop", shop_post(GOOD, shop="evil.myshopify.com"), {401}, "unauthorized"),
    ("no shop header", shop_post(GOOD, shop=None), {401}, "unauthorized"),
    ("a WooCommerce shop on the Shopify route", shop_post(GOOD, shop=WOO_SHOP, secret=WOO_SECRET),
     {401}, "unauthorized"),
    ("deeply nested JSON, unsigned", shop_post(b"[" * 100000, sig=None), {401}, "unauthorized"),
    ("empty body, unsigned", shop_post(b"", sig=None), {401}, "unauthorized"),
    ("shop/redact signed by one shop naming another",
     shop_post(json.dumps({"shop_id": 1, "shop_domain": "other.myshopify.com"}),
               topic="shop/redact"), {401}, "unauthorized"),
    # --- verified but unusable (400)
    ("truncated JSON", shop_post(GOOD[:len(GOOD) // 2]), {400}, "bad_request"),
    ("deeply nested JSON (100k '[')", shop_post(b"[" * 100000), {400}, "bad_request"),
    ("deeply nested object", shop_post(b'{"a":' * 50000 + b"1" + b"}" * 50000), {400},
     "bad_request"),
    ("invalid UTF-8", shop_post(GOOD.replace(b"Anna", b"\xff\xfe\xfd\xfc")), {400},
     "bad_request"),
    ("overlong UTF-8 encoding", shop_post(GOOD.replace(b"Anna", b"\xc0\xaf")), {400},
     "bad_request"),
    ("id 99999999999999999999 (over 64 bits)",
     shop_post(GOOD.replace(b'"id":%d,' % ORDER.id, b'"id":99999999999999999999,', 1)), {400},
     "bad_request"),
    ("id -9223372036854775809", shop_post(
        GOOD.replace(b'"id":%d,' % ORDER.id, b'"id":-9223372036854775809,', 1)), {400},
     "bad_request"),
    ("huge number 1e999", shop_post(GOOD.replace(b'"quantity":2', b'"quantity":1e999')), {400},
     "bad_request"),
    ("id 1.5", shop_post(GOOD.replace(b'"id":%d,' % ORDER.id, b'"id":1.5,', 1)), {400},
     "bad_request"),
    ("escaped NUL in a string", shop_post(GOOD.replace(b"Anna", b"An\\u0000na")), {400},
     "bad_request"),
    ("raw NUL byte", shop_post(GOOD.replace(b"Anna", b"An\x00na")), {400}, "bad_request"),
    ("empty body, signed", shop_post(b""), {400}, "bad_request"),
    ("a JSON array", shop_post(b"[" + GOOD + b"]"), {400}, "bad_request"),
    ("a JSON number", shop_post(b"42"), {400}, "bad_request"),
    ("an order without an id", shop_post(ORDER_NO_ID), {400}, "bad_request"),
    ("no topic header", shop_post(GOOD, topic=None), {400}, "bad_request"),
    # --- size (413)
    ("body just over the limit", shop_post(b" " * (LIMIT + 1)), {413}, "payload_too_large"),
    ("body over twice the limit", raw_req(HEAD + b"Content-Length: %d\r\n\r\n" % (3 * LIMIT)
                                          + b"x" * (3 * LIMIT)), {413, "closed"}, None),
    ("Content-Length of 20 digits", raw_req(HEAD + b"Content-Length: 99999999999999999999\r\n\r\n"),
     {400, 413, "closed"}, None),
    ("negative Content-Length", raw_req(HEAD + b"Content-Length: -1\r\n\r\n"),
     {400, "closed"}, None),
    # --- methods and paths
    ("GET a webhook", method("GET"), {405}, "method_not_allowed"),
    ("PUT a webhook", method("PUT"), {405}, "method_not_allowed"),
    ("DELETE a webhook", method("DELETE", "/webhooks/generic"), {405}, "method_not_allowed"),
    ("PATCH a webhook", method("PATCH", "/webhooks/woocommerce"), {405}, "method_not_allowed"),
    ("OPTIONS a webhook", method("OPTIONS"), {405}, "method_not_allowed"),
    ("HEAD a webhook", method("HEAD"), {405}, None),
    ("TRACE", raw_req(b"TRACE /webhooks/shopify HTTP/1.1\r\nHost: x\r\n\r\n"), {405, 501}, None),
    ("unknown path", get("/wp-admin/install.php"), {404}, "not_found"),
    ("unknown webhook source", shop_post(GOOD, path="/webhooks/magento"), {404}, "not_found"),
    ("/webhooks/ with no source", shop_post(GOOD, path="/webhooks/"), {404}, "not_found"),
    ("path traversal", raw_req(b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"),
     {400, 404}, None),
    # --- what libevent refuses (4xx or a closed connection)
    ("5,000 headers (past 64 KiB)", raw_req(HEAD + b"".join(
        b"X-Flood-%d: %s\r\n" % (i, b"v" * 10) for i in range(5000)) +
        b"Content-Length: 0\r\n\r\n"), {400, 413, 431, "closed"}, None),
    ("2,000 headers (under 64 KiB), unsigned", raw_req(HEAD + b"".join(
        b"X-F-%d: 1\r\n" % i for i in range(2000)) + b"Content-Length: 0\r\n\r\n"), {401},
     None),
    ("one header value of 100 KiB", shop_post(GOOD, topic="orders/create" + "x" * 100000),
     {400, 413, 431, "closed"}, None),
    ("a URL of 100 KiB", get("/" + "a" * 100000), {400, 404, 414, "closed"}, None),
    ("broken chunked encoding", raw_req(HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
     {400, 413, "closed"}, None),
    ("garbage request line", raw_req(b"\x00\x01\x02 \xff\r\n\r\n"), {400, "closed"}, None),
    ("HTTP/9.9", raw_req(b"POST /webhooks/shopify HTTP/9.9\r\nHost: x\r\n\r\n"),
     {400, 401, 505, "closed"}, None),
    # --- the other platforms
    ("WooCommerce ping", lambda srv: requests.post(srv.url + "/webhooks/woocommerce",
                                                   data=b"webhook_id=12", timeout=10),
     {200}, None),
    ("WooCommerce wrong signature", woo_post(json.dumps({"id": 1, "status": "processing"}),
                                             sig=sign("nope", b"x")), {401}, "unauthorized"),
    ("WooCommerce unknown source", woo_post(json.dumps({"id": 1, "status": "processing"}),
                                            source="https://evil.example/"), {401},
     "unauthorized"),
    ("CartFlows wrong token", cf_post(b"order_status=abandoned&email=a%40example.gr",
                                      token="0" * 48), {401}, "unauthorized"),
    ("CartFlows no token", cf_post(b"order_status=abandoned&email=a%40example.gr", token=""),
     {401, 404}, None),
    ("CartFlows broken % escape", cf_post(b"order_status=abandoned&email=a%4"), {400},
     "bad_request"),
    ("CartFlows NUL", cf_post(b"order_status=abandoned&email=a%00%40example.gr"), {400},
     "bad_request"),
    ("generic, timestamp 10 minutes old", generic_post(GENERIC_ORDER, ts_offset=-600), {401},
     "unauthorized"),
    ("generic, timestamp 10 minutes ahead", generic_post(GENERIC_ORDER, ts_offset=600), {401},
     "unauthorized"),
    ("generic, timestamp of 20 digits", generic_post(GENERIC_ORDER, ts=99999999999999999999),
     {401}, "unauthorized"),
    ("generic, bad signature", generic_post(GENERIC_ORDER, sig="v1," + "A" * 44), {401},
     "unauthorized"),
    ("generic, only unknown signature versions", generic_post(GENERIC_ORDER, sig="v1a,xyz v2,abc"),
     {401}, "unauthorized"),
    ("generic, '.' in webhook-id", generic_post(GENERIC_ORDER, msg_id="a.b"), {401},
     "unauthorized"),
    ("generic, unknown type", generic_post(json.dumps({"type": "rm_rf"})), {400}, "bad_request"),
    ("generic, order id as a JSON real",
     generic_post(json.dumps({"type": "order_placed", "order": {"id": 1.0},
                              "customer": {"email": "g@example.gr"}})), {400}, "bad_request"),
    # --- accepted, but nothing to do (200)
    ("unknown topic", shop_post(GOOD, topic="products/create"), {200}, None),
    ("replay of an accepted delivery", shop_post(GOOD, event=REPLAY_EVENT), {200}, None),
]


def snapshot(r):
    """Every key's type and value, but the counters."""
    return key_dump(r, [k for k in nudge_keys(r) if not k.endswith(":stats")])


def test_hostile_requests(nudge):
    assert len(CASES) >= 40
    srv = nudge.server()
    r = nudge.redis
    # the delivery the replay case repeats
    first = post_order(srv.url, SHOP, SECRET, ORDER, REPLAY_EVENT)
    assert first.status_code == 200 and first.json()["result"] == "scheduled", first.text
    results = []
    failures = []
    for k, (name, send, allowed, error) in enumerate(CASES):
        before = snapshot(r)
        t = time.monotonic()
        try:
            resp = send(srv)
        except requests.ConnectionError:
            resp = "closed"
        took = time.monotonic() - t
        status = resp if isinstance(resp, (int, str)) else resp.status_code
        results.append((name, status, round(took * 1000)))
        if status not in allowed:
            failures.append("%s: answered %s, want one of %s%s" % (
                name, status, sorted(map(str, allowed)),
                "" if isinstance(resp, (int, str)) else " (%s)" % resp.text[:200]))
        elif error is not None:
            body = resp.json()
            if body.get("error") != error or body.get("request_id") != resp.headers.get(
                    "X-Request-Id"):
                failures.append("%s: body %s, want error %s" % (name, body, error))
        if name == "WooCommerce ping" and resp.json().get("reason") != "ping":
            failures.append("%s: %s" % (name, resp.text))
        if name == "replay of an accepted delivery" and resp.json().get("result") != "duplicate":
            failures.append("%s: %s" % (name, resp.text))
        if name == "unknown topic" and resp.json().get("result") != "ignored":
            failures.append("%s: %s" % (name, resp.text))
        after = snapshot(r)
        if after != before:
            changed = sorted(set(after) ^ set(before)) + sorted(
                k for k in set(after) & set(before) if after[k] != before[k])
            failures.append("%s: Redis changed: %s" % (name, changed[:10]))
        # the server is up and the next valid webhook is scheduled
        assert srv.alive(), "nudge-server died after %r" % name
        o = make_order(500 + k)
        ok = post_order(srv.url, SHOP, SECRET, o, "valid-%d" % k)
        if ok.status_code != 200 or ok.json().get("result") != "scheduled":
            failures.append("%s: the next valid webhook got %s %s" % (
                name, ok.status_code, ok.text[:200]))
    print("\nhostile requests: %d cases, answers: %s" % (
        len(CASES), "; ".join("%s -> %s (%d ms)" % x for x in results)))
    assert failures == [], "\n".join(failures)
    # the answers the server wrote itself were all JSON (checked per case);
    # nothing it refused was scheduled: one confirmation per valid order only
    fd = srv.fd_count()
    assert fd is not None and fd <= srv.fd_baseline + 8, (fd, srv.fd_baseline)


def test_id_beyond_64_bits_as_a_string(nudge):
    """The same id as a JSON string is an id like any other: kept exact."""
    srv = nudge.server()
    r = nudge.redis
    body = GOOD.replace(b'"id":%d,' % ORDER.id, b'"id":"99999999999999999999",', 1)
    resp = post_order(srv.url, SHOP, SECRET, body, "big-id")
    assert resp.status_code == 200 and resp.json()["result"] == "scheduled", resp.text
    subjects = {r.hget(k, "sj") for k in r.scan_iter(match="nudge:*:s:*")}
    assert "o:99999999999999999999" in subjects, subjects
    loc = subject_loc(SHOP, "o:99999999999999999999")
    ctx = [k for k in nudge_keys(r) if k.endswith(":c:%s:order" % loc)]
    assert len(ctx) == 1 and json.loads(r.get(ctx[0]))["id"] == "99999999999999999999"


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "application/xml", "multipart/form-data; boundary=x"])
def test_content_type_is_not_required(nudge, ctype):
    """Decided from the code: no route reads Content-Type; a Shopify body is
    verified and parsed as the bytes it is, whatever the header says."""
    srv = nudge.server()
    o = make_order(900)
    h = shopify_headers(o.body, "ct-%s" % ctype)
    h.pop("Content-Type")
    if ctype is not None:
        h["Content-Type"] = ctype
    resp = requests.post(srv.url + "/webhooks/shopify", data=o.body, headers=h, timeout=10)
    assert resp.status_code == 200 and resp.json()["result"] == "scheduled", resp.text


def _slow_client(port, stop, stats):
    """Sends a request's headers one byte at a time, forever."""
    line = (b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nX-Shopify-Topic: orders/create\r\n" +
            b"X-Slow: " + b"a" * 4000)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        stats["connect_failed"].append(repr(e))
        return
    stats["open"].append(s)
    for b in line:
        if stop.wait(0.25):
            break
        try:
            s.send(bytes([b]))
        except OSError:
            stats["dropped"].append(1)
            return


def test_slowloris(nudge):
    """200 connections send their headers byte by byte (4 bytes a second);
    meanwhile valid webhooks are answered at once, the server holds about one
    fd per connection (under a 1024-fd limit, a common default), and all of
    them go when the connections close."""
    srv = nudge.server()
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (1024, 1024))
    base = srv.fd_count()
    stop = threading.Event()
    stats = {"open": [], "connect_failed": [], "dropped": []}
    threads = [threading.Thread(target=_slow_client, args=(srv.port, stop, stats), daemon=True)
               for _ in range(200)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(stats["open"]) + len(stats["connect_failed"]) == 200, 10,
                   what="200 slow connections")
        assert stats["connect_failed"] == []
        time.sleep(1.0)
        peak = srv.fd_count()
        lat = []
        for k in range(20):
            o = make_order(700 + k)
            t0 = time.monotonic()
            resp = post_order(srv.url, SHOP, SECRET, o, "slow-%d" % k, timeout=5)
            lat.append(time.monotonic() - t0)
            assert resp.status_code == 200 and resp.json()["result"] == "scheduled", resp.text
            time.sleep(0.1)
        assert requests.get(srv.url + "/healthz", timeout=5).status_code == 200
        held = srv.fd_count()
        assert srv.alive()
        assert stats["dropped"] == [], "the server hung up on %d slow senders" % len(
            stats["dropped"])
    finally:
        stop.set()
        for s in stats["open"]:
            s.close()
        for t in threads:
            t.join(5)
    wait_until(lambda: srv.fd_count() <= base + 8, 10, what="the slow connections' fds closed")
    assert max(lat) < 0.5, "valid webhooks took up to %.0f ms" % (max(lat) * 1000)
    assert peak <= base + 200 + 10, (base, peak)
    print("\nslowloris: 200 connections sending a byte every 0.25 s: server fds %d -> %d "
          "(limit 1024), valid webhooks answered in %.0f..%.0f ms meanwhile, fds back to %d "
          "after" % (base, max(peak, held), min(lat) * 1000, max(lat) * 1000, srv.fd_count()))
