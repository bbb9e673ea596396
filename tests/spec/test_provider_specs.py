"""
Provider request bodies against the providers' own OpenAPI files.

tests/spec/dump_requests.c (built with `make spec-helper`) prints the exact
request each provider module builds for a sample Greek message. Here the
bodies are decoded (JSON, form-urlencoded, multipart/form-data) and validated
against the request schema of the published spec, with $refs resolved inside
each document. Each validation also has a negative twin (a required field
removed) so the test can fail. Things the specs cannot express are checked by
hand: Twilio's x-twilio conditionals, Vonage's type=unicode for Greek, the
webhook signature (recomputed here, independently of the C code) and the SMTP
message (parsed with Python's email package).

The specs live in ../shared/reference/specs; without them the module is
skipped.
"""
import base64
import copy
import email
import email.policy
import email.utils
import hashlib
import hmac
import json
import os
import subprocess
import urllib.parse

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="python3-jsonschema is not installed")
yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = os.path.abspath(os.path.join(ROOT, "..", "shared", "reference", "specs"))
BUILD = os.environ.get("NUDGE_BUILD_DIR", os.path.join(ROOT, "build"))

if not os.path.isdir(SPECS):
    pytest.skip("../shared/reference/specs is absent: provider spec validation skipped",
                allow_module_level=True)

# What dump_requests.c configures and sends.
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EMAIL_ID = "4f1c2a9be07d5e3a6b8c0d12"
SMS_ID = "9a8b7c6d5e4f3a2b1c0d9e8f"
GREEK_SUBJECT = "Ξεχάσατε κάτι στο καλάθι σας, Άννα;"
GREEK_SMS = "Γεια σου Άννα! Η παραγγελία #1001 στάλθηκε. Δ: 49,90€"


# -- the requests -------------------------------------------------------------

@pytest.fixture(scope="module")
def requests():
    exe = os.environ.get("NUDGE_DUMP_REQUESTS")
    if not exe:
        subprocess.run(["make", "-s", "--no-print-directory", "spec-helper"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        exe = os.path.join(BUILD, "tests", "dump_requests")
    out = subprocess.run([exe], check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    reqs = {}
    for line in out.splitlines():
        r = json.loads(line)
        key = r["provider"]
        if key == "webhook":
            key += "-sms" if "webhook" + "-email" in reqs else "-email"
        reqs[key] = r
    assert sorted(reqs) == ["mailgun", "postmark", "sendgrid", "smtp", "twilio", "vonage",
                            "webhook-email", "webhook-sms"]
    return reqs


def header(req, name):
    for h in req["headers"]:
        n, _, v = h.partition(": ")
        if n.lower() == name.lower():
            return v
    return None


def form(body):
    """application/x-www-form-urlencoded -> {name: value}, every name once."""
    pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True,
                                   encoding="utf-8", errors="strict")
    names = [n for n, _ in pairs]
    assert len(names) == len(set(names)), "repeated form field: %r" % names
    return dict(pairs)


def multipart(req, array_fields):
    """multipart/form-data parsed by Python's email package -> {name: value}."""
    ctype = header(req, "Content-Type")
    assert ctype.startswith("multipart/form-data; boundary=")
    raw = ("Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" % ctype).encode() + \
        req["body"].encode("utf-8")
    msg = email.message_from_bytes(raw, policy=email.policy.HTTP)
    assert msg.is_multipart() and not msg.defects, msg.defects
    fields = {}
    for part in msg.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        value = part.get_payload(decode=True).decode("utf-8")
        if name in array_fields:
            fields.setdefault(name, []).append(value)
        else:
            assert name not in fields, "repeated field " + name
            fields[name] = value
    return fields


# -- the specs ----------------------------------------------------------------

def load(name):
    with open(os.path.join(SPECS, name), encoding="utf-8") as f:
        return json.load(f) if name.endswith(".json") else yaml.safe_load(f)


def pointer(doc, ref):
    assert ref.startswith("#/"), "only local $refs: " + ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(node, doc, seen=()):
    """node with every local $ref replaced by what it points to."""
    if isinstance(node, list):
        return [inline(n, doc, seen) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, "recursive $ref " + ref
        target = inline(pointer(doc, ref), doc, seen + (ref,))
        rest = {k: inline(v, doc, seen) for k, v in node.items() if k != "$ref"}
        return {"allOf": [target], **rest} if rest else target
    return {k: inline(v, doc, seen) for k, v in node.items()}


def validator(doc, schema):
    schema = inline(schema, doc)
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0's are closest to draft 7.
    if str(doc.get("openapi", "")).startswith("3.1"):
        cls = jsonschema.Draft202012Validator
    else:
        cls = jsonschema.Draft7Validator
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def sendgrid_schema():
    doc = load("sendgrid_tsg_mail_v3.json")
    body = doc["components"]["requestBodies"]["PostMailSend"]
    return validator(doc, body["content"]["application/json"]["schema"])


@pytest.fixture(scope="module")
def twilio_schema():
    doc = load("twilio_api_v2010.json")
    op = doc["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
    assert op["operationId"] == "CreateMessage"
    return validator(doc, op["requestBody"]["content"]["application/x-www-form-urlencoded"]
                     ["schema"])


@pytest.fixture(scope="module")
def mailgun_schema():
    doc = load("mailgun_openapi.yaml")
    return validator(doc, doc["components"]["schemas"]
                     ["POST-v3-domain_name-messages-multipart-form-data-RequestBody"])


@pytest.fixture(scope="module")
def vonage_schema():
    doc = load("vonage_sms.yml")
    return validator(doc, doc["components"]["schemas"]["NewMessage"])


def assert_valid(v, instance):
    errors = sorted(v.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join("%s: %s" % (list(e.path), e.message) for e in errors)


def assert_invalid(v, instance, why):
    assert any(True for _ in v.iter_errors(instance)), "accepted without " + why


# -- SendGrid -----------------------------------------------------------------

def test_sendgrid(requests, sendgrid_schema):
    r = requests["sendgrid"]
    assert r["url"] == "https://api.sendgrid.com/v3/mail/send"
    assert header(r, "Content-Type") == "application/json"
    body = json.loads(r["body"])
    assert_valid(sendgrid_schema, body)
    assert body["subject"] == GREEK_SUBJECT
    assert body["personalizations"][0]["custom_args"]["nudge_id"] == EMAIL_ID

    broken = copy.deepcopy(body)
    del broken["from"]
    assert_invalid(sendgrid_schema, broken, "from")
    broken = copy.deepcopy(body)
    del broken["personalizations"][0]["to"]
    assert_invalid(sendgrid_schema, broken, "personalizations[0].to")
    # the spec's own quirk: a top-level object custom_args is refused
    broken = copy.deepcopy(body)
    broken["custom_args"] = {"nudge_id": EMAIL_ID}
    assert_invalid(sendgrid_schema, broken, "a string custom_args")


# -- Twilio -------------------------------------------------------------------

def test_twilio(requests, twilio_schema):
    r = requests["twilio"]
    assert r["url"] == ("https://api.twilio.com/2010-04-01/Accounts/"
                        "AC00000000000000000000000000000000/Messages.json")
    assert r["userpwd"] == "AC00000000000000000000000000000000:spec-token"
    assert header(r, "Content-Type") == "application/x-www-form-urlencoded"
    fields = form(r["body"])
    assert_valid(twilio_schema, fields)
    assert fields == {"To": "+306912345678", "From": "+15005550006", "Body": GREEK_SMS}
    # x-twilio.conditional, which JSON Schema cannot say
    assert {"From", "MessagingServiceSid"} & fields.keys()
    assert {"Body", "MediaUrl", "ContentSid"} & fields.keys()

    broken = dict(fields)
    del broken["To"]
    assert_invalid(twilio_schema, broken, "To")
    assert_invalid(twilio_schema, dict(fields, ValidityPeriod="soon"), "an integer ValidityPeriod")


# -- Mailgun ------------------------------------------------------------------

def test_mailgun(requests, mailgun_schema):
    r = requests["mailgun"]
    assert r["url"] == "https://api.mailgun.net/v3/mg.example.com/messages"
    assert r["userpwd"] == "api:key-spec-test"
    props = mailgun_schema.schema["properties"]
    arrays = {n for n, p in props.items() if p.get("type") == "array"}
    fields = multipart(r, arrays)
    assert_valid(mailgun_schema, fields)
    assert fields["to"] == ['"Άννα Παπαδοπούλου" <anna@example.gr>']
    assert fields["from"] == '"Κατάστημα \\"Demo\\"" <shop@example.com>'
    assert fields["subject"] == GREEK_SUBJECT
    assert fields["o:tag"] == ["reminder_1"]
    assert fields["v:nudge_id"] == EMAIL_ID
    assert fields["h:List-Unsubscribe"].startswith("<https://")
    assert fields["h:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # one of text, html, amp-html, template
    assert {"text", "html"} <= fields.keys()

    for required in ("from", "to", "subject"):
        broken = dict(fields)
        del broken[required]
        assert_invalid(mailgun_schema, broken, required)


# -- Vonage -------------------------------------------------------------------

def test_vonage(requests, vonage_schema):
    r = requests["vonage"]
    assert r["url"] == "https://rest.nexmo.com/sms/json"
    fields = form(r["body"])
    assert_valid(vonage_schema, fields)
    assert fields["to"] == "306912345678"
    assert fields["text"] == GREEK_SMS
    assert fields["type"] == "unicode"          # Greek lower case is not GSM-7
    assert fields["client-ref"] == SMS_ID and len(fields["client-ref"]) <= 40
    assert "api_secret" in fields or "sig" in fields

    for required in ("api_key", "from", "to"):
        broken = dict(fields)
        del broken[required]
        assert_invalid(vonage_schema, broken, required)
    assert_invalid(vonage_schema, dict(fields, to="+30-691"), "a number of 7 to 15 digits")
    assert_invalid(vonage_schema, dict(fields, type="greek"), "a known type")


# -- Postmark (no usable spec: the documented shape) --------------------------

def test_postmark(requests):
    r = requests["postmark"]
    assert r["url"] == "https://api.postmarkapp.com/email"
    assert header(r, "X-Postmark-Server-Token") == "POSTMARK_API_TEST"
    assert header(r, "Accept") == "application/json"
    body = json.loads(r["body"])
    assert {"From", "To", "Subject", "TextBody", "HtmlBody", "MessageStream"} <= body.keys()
    assert body["MessageStream"] == "broadcast"
    assert body["Metadata"]["nudge_id"] == EMAIL_ID
    assert all(isinstance(v, str) for v in body["Metadata"].values())
    assert email.utils.parseaddr(body["To"]) == ("Άννα Παπαδοπούλου", "anna@example.gr")
    assert email.utils.parseaddr(body["From"]) == ('Κατάστημα "Demo"', "shop@example.com")


# -- SMTP: the message as a mail reader sees it -------------------------------

def test_smtp_message(requests):
    r = requests["smtp"]
    assert r["url"] == "smtp://smtp.example.com:587/nudge.example.com"
    assert r["userpwd"] == "apikey:secret"
    assert r["mail_from"] == "<shop@example.com>"
    assert r["mail_rcpt"] == "<anna@example.gr>"
    raw = r["body"].encode("utf-8")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    assert not msg.defects, msg.defects
    assert msg["Message-ID"] == r["ref"] == "<%s@nudge>" % EMAIL_ID
    assert str(msg["Subject"]) == GREEK_SUBJECT
    assert msg["To"].addresses[0].display_name == "Άννα Παπαδοπούλου"
    assert msg["To"].addresses[0].addr_spec == "anna@example.gr"
    assert msg["From"].addresses[0].display_name == 'Κατάστημα "Demo"'
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text = parts[0].get_content().replace("\r\n", "\n")
    assert text.rstrip("\n") == ("Γεια σου Άννα,\n\nτο καλάθι σου σε περιμένει: "
                                 "49,90 €.\n.\nΕυχαριστούμε!")
    assert "<b>Άννα</b>" in parts[1].get_content()


# -- webhook: Standard Webhooks signature, recomputed -------------------------

def verify_standard_webhook(secret, req):
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") \
        else secret.encode()
    msg_id = header(req, "webhook-id")
    ts = header(req, "webhook-timestamp")
    signed = ("%s.%s.%s" % (msg_id, ts, req["body"])).encode("utf-8")
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    sigs = header(req, "webhook-signature").split(" ")
    return any(s == "v1," + want for s in sigs)


@pytest.mark.parametrize("which,msg_id,channel", [
    ("webhook-email", EMAIL_ID, "email"), ("webhook-sms", SMS_ID, "sms")])
def test_webhook(requests, which, msg_id, channel):
    r = requests[which]
    assert r["url"] == "https://hooks.example.com/nudge"
    assert header(r, "Content-Type") == "application/json"
    assert header(r, "webhook-id") == msg_id
    assert header(r, "webhook-timestamp").isdigit()
    assert verify_standard_webhook(WEBHOOK_SECRET, r)
    body = json.loads(r["body"])
    assert body["id"] == msg_id and body["channel"] == channel
    assert set(body) == {"id", "shop", "flow", "step", "channel", "locale", "to", "to_name",
                         "from", "from_name", "subject", "html", "text", "promotional",
                         "unsubscribe_url"}
    # the check can fail: a changed body or another key does not verify
    assert not verify_standard_webhook(WEBHOOK_SECRET, dict(r, body=r["body"] + " "))
    assert not verify_standard_webhook("whsec_" + base64.b64encode(b"other").decode(), r)
