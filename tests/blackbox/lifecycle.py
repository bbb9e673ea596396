"""
lifecycle: what the lifecycle tests (test_lifecycle.py) use to drive nudge
and to read what it did, kept apart from the scenarios.

  start         nudge-server + one nudge-worker at a time scale, e-mail to
                the outbox (log provider) or to the SendGrid stub
  shopify, woo, cartflows, generic
                one signed delivery per platform; ok() checks the answer
  all_messages, states, want, E, S, wait_states, find, wait_sent
                the messages in Redis by state, as (flow, step, channel)
  timeline, customer_key
                nudgectl timeline --json; the customer key of an address
  Mail, mails, sms_files
                the log provider's outbox, MIME-decoded
  thrice, assert_stub_once, key_dump
"""
import email
import email.policy
import hashlib
import json
import time
import uuid

import requests

import payloads as pl
from conftest import default_shops
from harness import SECRET, SHOP, all_messages, answer, post_order, sign, wait_until

DAY_200MS = 432000     # NUDGE_TIME_SCALE: 1 day = 200 ms
DAY_100MS = 864000     # 1 day = 100 ms
DAY_1S = 86400         # 1 day = 1 s

WOO_SHOP = "shop.example"
WOO_SECRET = "wc-webhook-secret"
CF_TOKEN = "3f6c1e9a0b7d4c2e8f5a1b3c7d9e0f21a4b6c8d0e2f4a6b8"
GENERIC_SHOP = "brand.example"
GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def lifecycle_shops():
    """The suite's two Shopify shops, plus a WooCommerce shop (with a
    CartFlows token) and a generic (Standard Webhooks) shop."""
    return default_shops() + [
        {"domain": WOO_SHOP, "platform": "woocommerce", "secret": WOO_SECRET,
         "name": "Example Shop", "timezone": "Europe/Athens", "locale": "en",
         "from_email": "hello@shop.example", "from_name": "Example Shop",
         "consent_meta": "_marketing_optin", "cartflows_token": CF_TOKEN},
        {"domain": GENERIC_SHOP, "platform": "generic", "secret": "not-the-generic-secret",
         "generic_secret": GENERIC_SECRET,
         "name": "Brand", "timezone": "Europe/Lisbon", "locale": "en",
         "from_email": "hello@brand.example", "from_name": "Brand"},
    ]


# ------------------------------------------------------------- daemons

def start(nudge, tmp_path, scale, sendgrid=False, sms=None, worker_env=None):
    """nudge-server and one nudge-worker at time scale `scale`. E-mail goes
    to the outbox (log provider) unless sendgrid; sms: NUDGE_SMS_PROVIDER.
    No quiet hours: they follow the wall clock (SMS default 21:00-08:00 in
    the shop's zone), which the time scale does not compress."""
    env = {"NUDGE_TIME_SCALE": str(scale), "NUDGE_EXPORT_DIR": str(tmp_path / "exports")}
    srv = nudge.server(env)
    wenv = dict(env, NUDGE_QUIET_HOURS_SMS="none", NUDGE_QUIET_HOURS_EMAIL="none")
    if not sendgrid:
        wenv.update({"NUDGE_EMAIL_PROVIDER": "log", "SENDGRID_API_KEY": None,
                     "NUDGE_SENDGRID_URL": None})
    if sms is not None:
        wenv["NUDGE_SMS_PROVIDER"] = sms
    wenv.update(worker_env or {})
    nudge.worker(wenv)
    return srv


# ------------------------------------------------------------- senders

def ok(resp, result="scheduled", messages=None, cancelled=None):
    """Asserts a 200 answer with `result` (and counts); returns the body."""
    body = answer(resp, 200)
    assert body.get("result") == result, body
    if messages is not None:
        assert body.get("messages") == messages, body
    if cancelled is not None:
        assert body.get("cancelled") == cancelled, body
    return body


def shopify(srv, topic, p, event_id=None, shop=SHOP, secret=SECRET):
    """One signed Shopify delivery of payload p; event_id defaults to a new
    one (a new event); pass the same id to redeliver the same event."""
    return post_order(srv.url, shop, secret, p.body, event_id or str(uuid.uuid4()),
                      topic=topic)


def woo(srv, topic, p, source="https://%s/" % WOO_SHOP, secret=WOO_SECRET):
    """One WooCommerce delivery (signed like WC_Webhook::generate_signature)."""
    h = {"Content-Type": "application/json",
         "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
         "X-WC-Webhook-Source": source, "X-WC-Webhook-Topic": topic,
         "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": topic.split(".")[1],
         "X-WC-Webhook-ID": "12", "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
         "X-WC-Webhook-Signature": sign(secret, p.body)}
    return requests.post(srv.url + "/webhooks/woocommerce", data=p.body, headers=h, timeout=10)


def cartflows(srv, p, token=CF_TOKEN):
    return requests.post(srv.url + "/webhooks/cartflows/" + token, data=p.body, timeout=10,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})


def generic(srv, p, msg_id=None, shop=GENERIC_SHOP, secret=GENERIC_SECRET, ts=None):
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    ts = ts or int(time.time())
    h = {"Content-Type": "application/json", "X-Nudge-Shop": shop, "webhook-id": msg_id,
         "webhook-timestamp": str(ts),
         "webhook-signature": pl.sign_standard(secret, msg_id, ts, p.body)}
    return requests.post(srv.url + "/webhooks/generic", data=p.body, headers=h, timeout=10)


# ------------------------------------------------------ Redis inspection

def states(r, subject=None, shop=None):
    """{state: sorted [(flow, step, channel)]} over every message (of a
    subject prefix / shop when given). States: due, inflight, sent,
    cancelled, skipped, dead."""
    out = {}
    for m in all_messages(r).values():
        if subject is not None and not m.get("sj", "").startswith(subject):
            continue
        if shop is not None and m.get("sh") != shop:
            continue
        out.setdefault(m.get("st"), []).append((m.get("f"), m.get("s"), m.get("ch")))
    return {k: sorted(v) for k, v in out.items()}


def E(flow, step):
    return (flow, step, "email")


def S(flow, step):
    return (flow, step, "sms")


def want(**kw):
    return {k: sorted(v) for k, v in kw.items() if v}


def wait_states(r, expected, timeout=15, settle=0.4, **kw):
    """Waits until states(r) == expected, then checks it still holds after
    `settle` seconds (nothing more sent, no duplicate)."""
    try:
        wait_until(lambda: states(r, **kw) == expected, timeout, interval=0.05,
                   what="message states %s" % expected)
    except AssertionError:
        assert states(r, **kw) == expected  # shows the difference
    if settle:
        time.sleep(settle)
    assert states(r, **kw) == expected
    return all_messages(r)


def find(r, flow, step, channel="email", st=None):
    """The one message of flow/step/channel; (id, hash)."""
    found = [(i, m) for i, m in all_messages(r).items()
             if m.get("f") == flow and m.get("s") == step and m.get("ch") == channel
             and (st is None or m.get("st") == st)]
    assert len(found) == 1, "want one %s/%s/%s message, got %s" % (flow, step, channel, found)
    return found[0]


def wait_sent(r, flow, step, channel="email", timeout=10):
    return wait_until(lambda: [i for i, m in all_messages(r).items()
                               if (m.get("f"), m.get("s"), m.get("ch"), m.get("st")) ==
                               (flow, step, channel, "sent")],
                      timeout, what="%s/%s (%s) sent" % (flow, step, channel))[0]


def timeline(nudge, shop, addr):
    res = nudge.run("nudgectl", "timeline", shop, addr, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def customer_key(addr):
    """What nudge keys a customer by: 16 bytes of SHA-256 of the canonical
    address (e-mail trimmed and lower-cased; phone: '+' and digits)."""
    a = addr.strip()
    if "@" in a:
        a = a.lower()
    else:
        a = ("+" if a.startswith("+") else "") + "".join(c for c in a if c.isdigit())
    return hashlib.sha256(a.encode()).hexdigest()[:32]


# ------------------------------------------------------ outbox inspection

class Mail:
    def __init__(self, path):
        self.path = path
        self.id = path.name[:-len(".eml")]
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        self.headers = msg
        self.flow = msg["X-Nudge-Flow"]
        self.step = msg["X-Nudge-Step"]
        self.to = msg["To"]
        self.subject = str(msg["Subject"])
        self.text = self.html = ""
        for part in msg.walk():
            if part.get_content_maintype() == "multipart":
                continue
            if part.get_content_type() == "text/plain":
                self.text += part.get_content()
            elif part.get_content_type() == "text/html":
                self.html += part.get_content()

    def __repr__(self):
        return "Mail(%s/%s to %s: %r)" % (self.flow, self.step, self.to, self.subject)


def mails(outbox, exclude=()):
    """{(flow, step): Mail} of the .eml files (but the message ids in
    exclude); asserts no flow/step twice."""
    out = {}
    for p in sorted(outbox.glob("*.eml")):
        if p.name[:-len(".eml")] in exclude:
            continue
        m = Mail(p)
        assert (m.flow, m.step) not in out, "two e-mails for %s/%s: %s, %s" % (
            m.flow, m.step, out[(m.flow, m.step)].path, p)
        out[(m.flow, m.step)] = m
    return out


def sms_files(outbox):
    return {p.name[:-len(".sms.txt")]: p.read_text() for p in outbox.glob("*.sms.txt")}


def sent_ids(r):
    return {i for i, m in all_messages(r).items() if m.get("st") == "sent"}


# ------------------------------------------------------------ scenarios

def thrice(post):
    """Posts one delivery three times (a platform retrying it): the first is
    applied, the copies are duplicates. Returns the first answer."""
    first = ok(post())
    for _ in range(2):
        ok(post(), result="duplicate")
    return first
def assert_stub_once(stub, expected_sent, to):
    """Exactly one SendGrid request per sent e-mail, all accepted."""
    reqs = stub.snapshot()
    assert [q.summary() for q in reqs if not q.ok or not q.accepted] == []
    got = sorted((q.pers["custom_args"]["flow"], q.pers["custom_args"]["step"], "email")
                 for q in reqs)
    assert got == sorted(e for e in expected_sent if e[2] == "email"), got
    assert len({q.nudge_id for q in reqs}) == len(reqs)
    assert {t for q in reqs for t in q.to} == {to}
    return {(q.pers["custom_args"]["flow"], q.pers["custom_args"]["step"]): q for q in reqs}
def key_dump(r, keys):
    """{key: (type, value)} for comparing stored state before and after."""
    out = {}
    for k in keys:
        t = r.type(k)
        if t == "hash":
            v = r.hgetall(k)
        elif t == "set":
            v = sorted(r.smembers(k))
        elif t == "zset":
            v = r.zrange(k, 0, -1, withscores=True)
        elif t == "list":
            v = r.lrange(k, 0, -1)
        elif t == "string":
            v = r.get(k)
        else:
            v = None
        out[k] = (t, v)
    return out
