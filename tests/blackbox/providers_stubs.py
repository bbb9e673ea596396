"""
providers_stubs: loopback stand-ins for the providers nudge sends through
besides SendGrid (harness.SendGridStub): Postmark, Mailgun, Twilio, Vonage,
the signed outbound webhook, and an SMTP relay.

Each HTTP stub checks every request against what the provider documents
(../shared/reference/providers.md, docs/providers.md): method, path, auth,
content type, the body's fields and their form. A request that fails a
check is recorded with .problems and answered the way the provider answers
a bad request (Postmark 422/ErrorCode 300 or 401/ErrorCode 10, Mailgun 400
or 401 "Forbidden", Twilio 400/21604 or 401/20003, Vonage 200 with status
"2"/"4", webhook 401), unless .strict is False. Otherwise the answer is the
next scripted entry, else .responder(req) when set and not None, else the
provider's documented success with a fresh provider id (.pid of the
request):

  Postmark  200 {"To","SubmittedAt","MessageID","ErrorCode":0,"Message":"OK"}
  Mailgun   200 {"id":"<...@domain>","message":"Queued. Thank you."}
  Twilio    201 message resource {"sid":"SM<32 hex>","status":"queued",...}
  Vonage    200 {"message-count":"N","messages":[one entry per SMS part]}
  webhook   204 (or .ok_status = 200)

Script entries: harness.Resp (status, headers, body, delay, drop="close" |
"reset"), or ok(delay=...) for the success answer (late, for timeouts).
Every stub also offers the provider's documented error answers as methods
(rate_limited, inactive_recipient, invalid_number, throttled, ...).

SmtpStub is a minimal ESMTP server (socketserver): EHLO/HELO, MAIL FROM,
RCPT TO, DATA, RSET, NOOP, QUIT. Each transaction (MAIL FROM ... final
reply) is one SmtpTxn with the envelope, the message bytes (dot-unstuffed)
and the parsed message; its reply is scripted with SmtpReply(code, text,
at="mail"|"rcpt"|"data", delay, drop).

Everything listens on 127.0.0.1 only.
"""
import base64
import collections
import email
import email.policy
import email.utils
import hashlib
import hmac
import json
import re
import socket
import socketserver
import struct
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Resp, free_port

_EMAIL = re.compile(r"^[^@\s<>\"(),;:\[\]\\]+@[^@\s<>\"(),;:\[\]\\]+\.[^@\s<>\"(),;:\[\]\\]+$")


class Built(Resp):
    """A scripted answer built for the request it answers: build(stub, req)
    returns the Resp (e.g. the provider's success with a fresh id)."""

    def __init__(self, build, delay=0.0, what="built"):
        super().__init__(200, delay=delay)
        self.build = build
        self.what = what

    def __repr__(self):
        return "%s(%s)" % (self.what, "delay=%s" % self.delay if self.delay else "")


def ok(delay=0.0):
    """The provider's documented success answer, after delay seconds."""
    return Built(lambda stub, req: stub.success(req), delay, "ok")


def reset(delay=0.0):
    return Resp(drop="reset", delay=delay)


def closed(delay=0.0):
    return Resp(drop="close", delay=delay)


def parse_form(body, problems):
    """application/x-www-form-urlencoded -> {name: value}; every name once."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append("form body is not UTF-8: %s" % e)
        return {}
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                                       encoding="utf-8", errors="strict")
    except (ValueError, UnicodeDecodeError) as e:
        problems.append("form body does not parse: %s" % e)
        return {}
    out = {}
    for k, v in pairs:
        if k in out:
            problems.append("form field %r given twice" % k)
        out[k] = v
    return out


def parse_multipart(body, ctype, problems):
    """multipart/form-data -> [(name, value str)], split on the boundary of
    the Content-Type, strictly (CRLF, closing delimiter, one name each)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not m:
        problems.append("multipart Content-Type without a boundary: %r" % ctype)
        return []
    b = m.group(1).encode()
    if len(b) > 70:
        problems.append("boundary longer than 70 characters (RFC 2046)")
    delim = b"--" + b
    if not body.startswith(delim + b"\r\n"):
        problems.append("body does not start with the boundary delimiter")
        return []
    if not body.endswith(delim + b"--\r\n") and not body.endswith(delim + b"--"):
        problems.append("body does not end with the closing delimiter")
        return []
    chunks = body[len(delim) + 2:].split(b"\r\n" + delim)
    fields = []
    for i, chunk in enumerate(chunks):
        if chunk.startswith(b"--"):      # the closing delimiter
            if i != len(chunks) - 1:
                problems.append("closing delimiter before the end")
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, value = chunk.partition(b"\r\n\r\n")
        if not sep:
            problems.append("part %d has no header/body separator" % i)
            continue
        names = re.findall(rb'(?im)^content-disposition:\s*form-data;\s*name="([^"]*)"\s*$', head)
        if len(names) != 1:
            problems.append("part %d: want one Content-Disposition form-data name, got %r" % (
                i, head[:200]))
            continue
        try:
            fields.append((names[0].decode("utf-8"), value.decode("utf-8")))
        except UnicodeDecodeError:
            problems.append("part %r is not UTF-8" % names[0])
    return fields


def basic_auth(headers):
    """(user, password) of an Authorization: Basic header, or None."""
    a = headers.get("authorization") or ""
    if not a.startswith("Basic "):
        return None
    try:
        user, _, pw = base64.b64decode(a[6:], validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, pw


def one_address(value, what, problems):
    """'addr' or '"Name" <addr>' with exactly one mailbox; (name, addr)."""
    if not isinstance(value, str) or not value:
        problems.append("%s missing or not a string: %r" % (what, value))
        return None, None
    if "\r" in value or "\n" in value:
        problems.append("%s contains a line break: %r" % (what, value))
    got = email.utils.getaddresses([value])
    if len(got) != 1 or not _EMAIL.match(got[0][1] or ""):
        problems.append("%s must be exactly one valid mailbox: %r -> %r" % (what, value, got))
        return None, None
    return got[0]


# --------------------------------------------------------------- SMS text

GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
           "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = set("^{}\\[~]|€\f")


def sms_parts(text):
    """(needs UCS-2, parts) as the network counts them."""
    if all(c in GSM7 or c in GSM7_EXT for c in text):
        septets = sum(2 if c in GSM7_EXT else 1 for c in text)
        return False, 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return True, 1 if units <= 70 else -(-units // 67)


# --------------------------------------------------------------- HTTP stubs

class ProviderRequest:
    """What a stub received, and what it made of it."""

    def __init__(self, n, method, path, headers, body):
        self.n = n
        self.t = time.monotonic()
        self.method = method
        self.path = path            # with the query, as received
        self.headers = headers      # names lower-cased
        self.body = body
        self.doc = None             # parsed body: dict (JSON / form) or list (multipart)
        self.fields = {}            # flat {name: value} view of the body
        self.problems = []
        self.nudge_id = None        # our id, where the provider carries it
        self.status = None          # what the stub answered (None: dropped)
        self.pid = None             # provider id of a success answer
        self.dropped = None
        self.t_done = None
        self.answer = None          # the body answered (bytes)

    @property
    def ok(self):
        return not self.problems

    @property
    def accepted(self):
        return self.pid is not None

    def summary(self):
        return "#%d %s %s -> %s%s nudge_id=%s%s" % (
            self.n, self.method, self.path,
            self.status if not self.dropped else "dropped (%s)" % self.dropped,
            " pid=%s" % self.pid if self.pid else "", self.nudge_id,
            "" if self.ok else " PROBLEMS: " + "; ".join(self.problems))


class HttpProviderStub:
    """Base of the HTTP provider stubs; see the module comment. Subclasses
    define name, check(req) (fills req.problems/doc/fields/nudge_id),
    refuse(req) (the provider's answer to a malformed request) and
    success(req) (the documented success; sets req.pid)."""

    name = "provider"

    def __init__(self, log_path=None):
        self.log_path = log_path
        self.requests = []
        self.strict = True
        self.responder = None
        self.delay = 0.0
        self._script = collections.deque()
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._ids = 0
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
                stub._serve(self, self._read_body())

            do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True
            request_queue_size = 64

        self.port = free_port()
        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def script(self, *answers):
        with self._lock:
            for a in answers:
                if isinstance(a, (list, tuple)):
                    self._script.extend(x if isinstance(x, Resp) else Resp(x) for x in a)
                else:
                    self._script.append(a if isinstance(a, Resp) else Resp(a))

    def next_id(self):
        self._ids += 1
        return self._ids

    # subclasses
    def check(self, req):
        raise NotImplementedError

    def refuse(self, req):
        return Resp(400, body={"message": "; ".join(req.problems)})

    def success(self, req):
        raise NotImplementedError

    def _serve(self, h, body):
        headers = {k.lower(): v for k, v in h.headers.items()}
        req = ProviderRequest(0, h.command, h.path, headers, body)
        try:
            self.check(req)
        except Exception as e:  # a bug in a check must show, not hang the client
            req.problems.append("stub check raised %r" % e)
        with self._lock:
            req.n = len(self.requests) + 1
            if req.problems and self.strict:
                resp = self.refuse(req)
            elif self._script:
                resp = self._script.popleft()
            else:
                resp = self.responder(req) if self.responder is not None else None
                if resp is None:
                    resp = ok()
                elif not isinstance(resp, Resp):
                    resp = Resp(resp)
            delay = resp.delay
            if isinstance(resp, Built):
                resp = resp.build(self, req)
            self.requests.append(req)
            req.status = resp.status
            req.dropped = resp.drop
            self._log(req)
        delay += self.delay
        if delay:
            time.sleep(delay)
        if resp.drop:
            _drop(h, resp.drop)
            req.t_done = time.monotonic()
            with self._cv:
                self._cv.notify_all()
            return
        if resp.body is None:
            data = b""
        elif isinstance(resp.body, bytes):
            data = resp.body
        elif isinstance(resp.body, str):
            data = resp.body.encode()
        else:
            data = json.dumps(resp.body).encode()
        req.answer = data
        try:
            h.send_response(resp.status)
            ctype_set = False
            for k, v in resp.headers.items():
                h.send_header(k, v)
                ctype_set = ctype_set or k.lower() == "content-type"
            if data and not ctype_set:
                h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if data:
                h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            pass    # the client gave up (timeout); recorded anyway
        req.t_done = time.monotonic()
        with self._cv:
            self._cv.notify_all()

    def _log(self, req):
        if not self.log_path:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"n": req.n, "method": req.method, "path": req.path,
                                "status": req.status, "pid": req.pid,
                                "problems": req.problems, "headers": req.headers,
                                "body": req.body.decode("utf-8", "replace")}) + "\n")

    # inspection
    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def wait_requests(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                if len(self.requests) >= n:
                    return list(self.requests)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s stub: waited %.1fs for %d requests, got %d:\n%s" % (
                        self.name, timeout, n, len(self.requests), self.report()))
                self._cv.wait(min(left, 0.1))

    def settle(self, seconds=1.0):
        time.sleep(seconds)
        return self.snapshot()

    def report(self, n=30):
        reqs = self.snapshot()
        return "%s stub: %d requests\n%s" % (self.name, len(reqs),
                                             "\n".join(r.summary() for r in reqs[-n:]))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _drop(h, how):
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


def _ctype(headers):
    return (headers.get("content-type") or "").split(";")[0].strip().lower()


# ------------------------------------------------------------------ Postmark

POSTMARK_FIELDS = {"From", "To", "Cc", "Bcc", "Subject", "Tag", "HtmlBody", "TextBody",
                   "ReplyTo", "Headers", "TrackOpens", "TrackLinks", "Metadata",
                   "Attachments", "MessageStream", "InlineCss"}


class PostmarkStub(HttpProviderStub):
    """POST /email, X-Postmark-Server-Token, JSON (postmarkapp.com
    send-email-with-api)."""

    name = "postmark"

    def __init__(self, token, log_path=None):
        self.token = token
        super().__init__(log_path)

    def check(self, q):
        p = q.problems
        if q.method != "POST":
            p.append("method %s, want POST" % q.method)
        if q.path != "/email":
            p.append("path %r, want /email" % q.path)
        if q.headers.get("x-postmark-server-token") != self.token:
            p.append("X-Postmark-Server-Token %r, want the server token" %
                     q.headers.get("x-postmark-server-token"))
        if _ctype(q.headers) != "application/json":
            p.append("Content-Type %r, want application/json" % q.headers.get("content-type"))
        if "application/json" not in (q.headers.get("accept") or ""):
            p.append("Accept %r, want application/json" % q.headers.get("accept"))
        try:
            d = json.loads(q.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            p.append("body is not UTF-8 JSON: %s" % e)
            return
        if not isinstance(d, dict):
            p.append("body is not a JSON object")
            return
        q.doc = q.fields = d
        extra = set(d) - POSTMARK_FIELDS
        if extra:
            p.append("fields Postmark does not know: %s" % sorted(extra))
        one_address(d.get("From"), "From", p)
        one_address(d.get("To"), "To", p)
        subj = d.get("Subject")
        if not isinstance(subj, str) or not subj or "\n" in subj or "\r" in subj:
            p.append("Subject must be a one-line non-empty string: %r" % (subj,))
        for k in ("TextBody", "HtmlBody"):
            if k in d and (not isinstance(d[k], str) or not d[k]):
                p.append("%s must be a non-empty string when present" % k)
        if not d.get("TextBody") and not d.get("HtmlBody"):
            p.append("TextBody and/or HtmlBody is required")
        if d.get("MessageStream") not in ("outbound", "broadcast"):
            p.append("MessageStream %r, want outbound or broadcast" % d.get("MessageStream"))
        if "Tag" in d and (not isinstance(d["Tag"], str) or not d["Tag"]
                           or len(d["Tag"]) > 1000):
            p.append("Tag must be one non-empty string: %r" % (d["Tag"],))
        meta = d.get("Metadata")
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            p.append("Metadata must be an object of strings: %r" % (meta,))
        else:
            q.nudge_id = meta.get("nudge_id")
            if not q.nudge_id:
                p.append("Metadata.nudge_id missing")
        hdrs = d.get("Headers")
        if hdrs is not None and (not isinstance(hdrs, list) or not all(
                isinstance(x, dict) and set(x) == {"Name", "Value"} for x in hdrs)):
            p.append("Headers must be a list of {Name, Value}: %r" % (hdrs,))

    def refuse(self, q):
        if any("X-Postmark-Server-Token" in x for x in q.problems):
            return Resp(401, body={"ErrorCode": 10, "Message":
                                   "Request does not contain a valid Server token."})
        return Resp(422, body={"ErrorCode": 300, "Message": "Invalid email request: " +
                               "; ".join(q.problems)})

    def success(self, q):
        q.pid = str(uuid.uuid4())
        return Resp(200, body={"To": (q.fields or {}).get("To"),
                               "SubmittedAt": time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z",
                                                            time.gmtime()),
                               "MessageID": q.pid, "ErrorCode": 0, "Message": "OK"})

    # documented failures
    @staticmethod
    def rate_limited(retry_after=None, status=429):
        return Resp(status, {"Retry-After": str(retry_after)} if retry_after else {},
                    {"ErrorCode": 429, "Message": "Rate limit exceeded."})

    @staticmethod
    def inactive_recipient(addr):
        return Resp(422, body={"ErrorCode": 406, "Message":
                               "You tried to send to recipient(s) that have been marked as "
                               "inactive. Found inactive addresses: %s. Inactive recipients "
                               "are ones that have generated a hard bounce, a spam complaint, "
                               "or a manual suppression." % addr})

    @staticmethod
    def unavailable():
        return Resp(503, {"Content-Type": "text/html"},
                    b"<html><body>Service Unavailable</body></html>")


# ------------------------------------------------------------------- Mailgun

MAILGUN_FIXED = {"from", "to", "cc", "bcc", "subject", "text", "html", "amp-html",
                 "template", "attachment", "inline", "recipient-variables", "sender"}


class MailgunStub(HttpProviderStub):
    """POST /v3/{domain}/messages, Basic api:<key>, multipart/form-data
    (Mailgun OpenAPI POST-v3-domain_name-messages-multipart-form-data)."""

    name = "mailgun"

    def __init__(self, api_key, domain, log_path=None):
        self.api_key = api_key
        self.domain = domain
        super().__init__(log_path)

    def check(self, q):
        p = q.problems
        if q.method != "POST":
            p.append("method %s, want POST" % q.method)
        if q.path != "/v3/%s/messages" % self.domain:
            p.append("path %r, want /v3/%s/messages" % (q.path, self.domain))
        if basic_auth(q.headers) != ("api", self.api_key):
            p.append("Authorization %r, want Basic api:<MAILGUN_API_KEY>" %
                     q.headers.get("authorization"))
        if _ctype(q.headers) != "multipart/form-data":
            p.append("Content-Type %r, want multipart/form-data" % q.headers.get("content-type"))
            return
        fields = parse_multipart(q.body, q.headers.get("content-type"), p)
        q.doc = fields
        seen = collections.Counter(n for n, _ in fields)
        for n, c in seen.items():
            if c > 1 and n not in ("to", "cc", "bcc", "o:tag", "attachment", "inline"):
                p.append("field %r given %d times" % (n, c))
        q.fields = {n: v for n, v in fields}
        for n in seen:
            if n not in MAILGUN_FIXED and not re.match(r"^(o|h|v|t):[A-Za-z0-9_.-]+$", n):
                p.append("field Mailgun does not know: %r" % n)
        if seen["o:tag"] > 3:
            p.append("more than 3 o:tag values")
        for n in ("from", "to", "subject"):
            if not q.fields.get(n):
                p.append("required field %r missing or empty" % n)
        if not (q.fields.get("text") or q.fields.get("html") or q.fields.get("amp-html")
                or q.fields.get("template")):
            p.append("one of text, html, amp-html, template is required")
        if q.fields.get("from"):
            one_address(q.fields["from"], "from", p)
        for n, v in fields:
            if n == "to":
                one_address(v, "to", p)
        if "\n" in q.fields.get("subject", "") or "\r" in q.fields.get("subject", ""):
            p.append("subject contains a line break")
        opts = sum(len(n) + len(v.encode()) for n, v in fields if n[:2] in ("o:", "h:", "v:", "t:"))
        if opts > 16384:
            p.append("o:/h:/v:/t: options over 16 KB")
        q.nudge_id = q.fields.get("v:nudge_id")
        if not q.nudge_id:
            p.append("v:nudge_id missing")

    def refuse(self, q):
        if any("Authorization" in x for x in q.problems):
            return Resp(401, {"Content-Type": "text/plain"}, b"Forbidden")
        return Resp(400, body={"message": "; ".join(q.problems)})

    def success(self, q):
        q.pid = "%s.%d.%s@%s" % (time.strftime("%Y%m%d%H%M%S", time.gmtime()),
                                 self.next_id(), uuid.uuid4().hex[:12].upper(), self.domain)
        return Resp(200, body={"id": "<%s>" % q.pid, "message": "Queued. Thank you."})

    @staticmethod
    def rate_limited(seconds, retry_after_header=False):
        return Resp(429, {"Retry-After": str(seconds)} if retry_after_header else {},
                    {"message": "Domain mg.demo.example is not allowed to send: "
                                "account-requests-per-sec limit exceeded, try again after "
                                "%d seconds" % seconds})

    @staticmethod
    def bad_request(message="'to' parameter is not a valid address. please check documentation"):
        return Resp(400, body={"message": message})

    @staticmethod
    def unavailable():
        return Resp(503, body={"message": "Service Unavailable"})


# -------------------------------------------------------------------- Twilio

TWILIO_FIELDS = {"To", "StatusCallback", "ApplicationSid", "MaxPrice", "ProvideFeedback",
                 "Attempt", "ValidityPeriod", "ForceDelivery", "ContentRetention",
                 "AddressRetention", "SmartEncoded", "PersistentAction", "TrafficType",
                 "ShortenUrls", "ScheduleType", "SendAt", "SendAsMms", "ContentVariables",
                 "RiskCheck", "From", "MessagingServiceSid", "Body", "MediaUrl", "ContentSid"}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class TwilioStub(HttpProviderStub):
    """POST /2010-04-01/Accounts/{sid}/Messages.json, Basic sid:token,
    application/x-www-form-urlencoded (twilio-oai CreateMessage)."""

    name = "twilio"

    def __init__(self, sid, token, log_path=None):
        self.sid = sid
        self.token = token
        super().__init__(log_path)

    def check(self, q):
        p = q.problems
        if q.method != "POST":
            p.append("method %s, want POST" % q.method)
        if q.path != "/2010-04-01/Accounts/%s/Messages.json" % self.sid:
            p.append("path %r, want /2010-04-01/Accounts/<sid>/Messages.json" % q.path)
        if basic_auth(q.headers) != (self.sid, self.token):
            p.append("Authorization %r, want Basic <sid>:<token>" % q.headers.get("authorization"))
        if _ctype(q.headers) != "application/x-www-form-urlencoded":
            p.append("Content-Type %r, want application/x-www-form-urlencoded" %
                     q.headers.get("content-type"))
        f = parse_form(q.body, p)
        q.doc = q.fields = f
        extra = set(f) - TWILIO_FIELDS
        if extra:
            p.append("parameters CreateMessage does not know: %s" % sorted(extra))
        if not E164.match(f.get("To", "")):
            p.append("To %r is not E.164 (+ and 7..15 digits)" % f.get("To"))
        if ("From" in f) == ("MessagingServiceSid" in f):
            p.append("want exactly one of From / MessagingServiceSid")
        if not f.get("Body") and "MediaUrl" not in f and "ContentSid" not in f:
            p.append("want Body (or MediaUrl / ContentSid)")
        if len(f.get("Body", "")) > 1600:
            p.append("Body over 1600 characters (error 21617)")

    def refuse(self, q):
        if any("Authorization" in x for x in q.problems):
            return Resp(401, body={"code": 20003, "message": "Authenticate",
                                   "more_info": "https://www.twilio.com/docs/errors/20003",
                                   "status": 401})
        return Resp(400, body={"code": 21604, "message": "; ".join(q.problems),
                               "more_info": "https://www.twilio.com/docs/errors/21604",
                               "status": 400})

    def success(self, q):
        q.pid = "SM" + uuid.uuid4().hex
        f = q.fields or {}
        ucs2, parts = sms_parts(f.get("Body", ""))
        now = email.utils.formatdate(usegmt=True)
        return Resp(201, body={
            "account_sid": self.sid, "api_version": "2010-04-01", "body": f.get("Body"),
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": f.get("From"), "messaging_service_sid": f.get("MessagingServiceSid"),
            "num_media": "0", "num_segments": str(parts), "price": None, "price_unit": "USD",
            "sid": q.pid, "status": "queued", "subresource_uris": {
                "media": "/2010-04-01/Accounts/%s/Messages/%s/Media.json" % (self.sid, q.pid)},
            "to": f.get("To"),
            "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (self.sid, q.pid)})

    @staticmethod
    def too_many_requests(retry_after=None, status=429):
        return Resp(status, {"Retry-After": str(retry_after)} if retry_after else {},
                    {"code": 20429, "message": "Too Many Requests",
                     "more_info": "https://www.twilio.com/docs/errors/20429", "status": status})

    @staticmethod
    def invalid_number(to):
        return Resp(400, body={"code": 21211,
                               "message": "The 'To' number %s is not a valid phone number." % to,
                               "more_info": "https://www.twilio.com/docs/errors/21211",
                               "status": 400})

    @staticmethod
    def unavailable():
        return Resp(503, body={"code": 20500, "message": "Service Unavailable",
                               "more_info": "https://www.twilio.com/docs/errors/20500",
                               "status": 503})


# -------------------------------------------------------------------- Vonage

VONAGE_FIELDS = {"api_key", "api_secret", "sig", "timestamp", "from", "to", "text", "ttl",
                 "status-report-req", "callback", "message-class", "type", "body", "udh",
                 "protocol-id", "client-ref", "account-ref", "entity-id", "content-id"}


class VonageStub(HttpProviderStub):
    """POST /sms/json, api_key/api_secret in the form (Nexmo
    api-specification sms.yml NewMessage). Vonage answers 200 whatever
    happened; each SMS part has its own status."""

    name = "vonage"

    def __init__(self, key, secret, log_path=None):
        self.key = key
        self.secret = secret
        super().__init__(log_path)

    def check(self, q):
        p = q.problems
        if q.method != "POST":
            p.append("method %s, want POST" % q.method)
        if q.path != "/sms/json":
            p.append("path %r, want /sms/json" % q.path)
        if _ctype(q.headers) != "application/x-www-form-urlencoded":
            p.append("Content-Type %r, want application/x-www-form-urlencoded" %
                     q.headers.get("content-type"))
        f = parse_form(q.body, p)
        q.doc = q.fields = f
        extra = set(f) - VONAGE_FIELDS
        if extra:
            p.append("parameters NewMessage does not know: %s" % sorted(extra))
        if f.get("api_key") != self.key or f.get("api_secret") != self.secret:
            p.append("credentials: api_key %r / api_secret %r are not ours" % (
                f.get("api_key"), f.get("api_secret")))
        if not f.get("from"):
            p.append("from is required")
        elif not (re.match(r"^\+?\d{1,15}$", f["from"]) or
                  re.match(r"^[A-Za-z0-9 ]{1,11}$", f["from"])):
            p.append("from %r: a number or up to 11 alphanumerics" % f["from"])
        if not re.match(r"^[1-9]\d{6,14}$", f.get("to", "")):
            p.append("to %r: want E.164 digits without '+'" % f.get("to"))
        text = f.get("text", "")
        if not text:
            p.append("text is required")
        ucs2, _ = sms_parts(text)
        t = f.get("type")
        if ucs2 and t != "unicode":
            p.append("text needs UCS-2 but type is %r (want unicode)" % t)
        if not ucs2 and t not in (None, "text"):
            p.append("GSM-7 text sent with type %r" % t)
        ref = f.get("client-ref")
        q.nudge_id = ref
        if ref is None or not ref:
            p.append("client-ref missing")
        elif len(ref) > 40:
            p.append("client-ref over 40 characters")

    def refuse(self, q):
        if any("credentials" in x for x in q.problems):
            return self.answer([("4", "Bad Credentials")], q)
        if any("is required" in x or "missing" in x for x in q.problems):
            return self.answer([("2", "Missing params: " + "; ".join(q.problems))], q)
        return self.answer([("3", "Invalid params: " + "; ".join(q.problems))], q)

    def answer(self, statuses, q=None):
        """A 200 answer with one entry per (status, error-text) part."""
        f = (q.fields or {}) if q is not None else {}
        msgs = []
        for st, err in statuses:
            m = {"to": f.get("to", ""), "status": st}
            if st == "0":
                m.update({"message-id": str(uuid.uuid4()), "remaining-balance": "3.14159265",
                          "message-price": "0.03330000", "network": "20201"})
            else:
                m["error-text"] = err
            if f.get("client-ref"):
                m["client-ref"] = f["client-ref"]
            msgs.append(m)
        if q is not None and msgs and all(m["status"] == "0" for m in msgs):
            q.pid = msgs[0]["message-id"]
        return Resp(200, body={"message-count": str(len(msgs)), "messages": msgs})

    def success(self, q):
        _, parts = sms_parts((q.fields or {}).get("text", ""))
        return self.answer([("0", None)] * parts, q)

    def parts(self, *statuses, delay=0.0):
        """A script entry: the 200 answer to the next request with one
        (status, error-text) per part."""
        return Built(lambda stub, req: stub.answer(statuses, req), delay,
                     "parts%r" % (statuses,))

    THROTTLED = ("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry")
    INVALID = ("3", "Invalid To Number")
    SENT = ("0", None)


# -------------------------------------------------------------------- webhook

WEBHOOK_KEYS = {"id", "shop", "flow", "step", "channel", "locale", "to", "to_name", "from",
                "from_name", "subject", "html", "text", "promotional", "unsubscribe_url"}


def standard_webhooks_verify(secret, headers, body, tolerance=300):
    """Problems with a Standard Webhooks delivery ([] = valid): webhook-id,
    webhook-timestamp within tolerance seconds, and a v1 signature in
    webhook-signature (space-separated list) made with the secret."""
    p = []
    wid = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not wid:
        p.append("webhook-id header missing")
    if not ts or not ts.isdigit():
        p.append("webhook-timestamp %r is not integer seconds" % ts)
    elif abs(time.time() - int(ts)) > tolerance:
        p.append("webhook-timestamp %s is %d s away from now" % (ts, time.time() - int(ts)))
    if not sigs:
        p.append("webhook-signature header missing")
    if p:
        return p
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    want = base64.b64encode(hmac.new(key, wid.encode() + b"." + ts.encode() + b"." + body,
                                     hashlib.sha256).digest()).decode()
    got = [s.split(",", 1)[1] for s in sigs.split() if s.startswith("v1,")]
    if not got:
        p.append("webhook-signature %r has no v1 signature" % sigs)
    elif not any(hmac.compare_digest(g, want) for g in got):
        p.append("webhook-signature does not verify with the secret")
    return p


class WebhookStub(HttpProviderStub):
    """The receiver of nudge's signed outbound webhook: POST <path>, JSON,
    Standard Webhooks signature (webhook-id / webhook-timestamp /
    webhook-signature). Success is 204 (or .ok_status); a bad signature is
    answered 401 as a verifying receiver would."""

    name = "webhook"

    def __init__(self, secret, path="/hooks/nudge", log_path=None):
        self.secret = secret
        self.path = path
        self.ok_status = 204
        self.echo_id = None     # a webhook-id header to answer with, if any
        super().__init__(log_path)

    @property
    def hook_url(self):
        return self.url + self.path

    def check(self, q):
        p = q.problems
        if q.method != "POST":
            p.append("method %s, want POST" % q.method)
        if q.path != self.path:
            p.append("path %r, want %r" % (q.path, self.path))
        if _ctype(q.headers) != "application/json":
            p.append("Content-Type %r, want application/json" % q.headers.get("content-type"))
        p.extend(standard_webhooks_verify(self.secret, q.headers, q.body))
        try:
            d = json.loads(q.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            p.append("body is not UTF-8 JSON: %s" % e)
            return
        if not isinstance(d, dict):
            p.append("body is not a JSON object")
            return
        q.doc = q.fields = d
        if set(d) != WEBHOOK_KEYS:
            p.append("body keys %s, want %s" % (sorted(d), sorted(WEBHOOK_KEYS)))
        for k in WEBHOOK_KEYS - {"promotional"}:
            if k in d and d[k] is not None and not isinstance(d[k], str):
                p.append("%s must be a string or null: %r" % (k, d[k]))
        if not isinstance(d.get("promotional"), bool):
            p.append("promotional must be a boolean: %r" % (d.get("promotional"),))
        if d.get("channel") not in ("email", "sms", "webhook"):
            p.append("channel %r" % d.get("channel"))
        q.nudge_id = d.get("id")
        if not q.nudge_id or q.nudge_id != q.headers.get("webhook-id"):
            p.append("body id %r != webhook-id %r" % (q.nudge_id, q.headers.get("webhook-id")))

    def refuse(self, q):
        if any("signature" in x or "webhook-" in x for x in q.problems):
            return Resp(401, {"Content-Type": "text/plain"}, b"invalid signature")
        return Resp(400, {"Content-Type": "text/plain"}, ("; ".join(q.problems)).encode())

    def success(self, q):
        q.pid = self.echo_id or q.headers.get("webhook-id")
        return Resp(self.ok_status, {"webhook-id": self.echo_id} if self.echo_id else {},
                    None if self.ok_status == 204 else b"")


# ---------------------------------------------------------------------- SMTP

class SmtpReply:
    """A scripted SMTP outcome for one transaction: reply `code text` at
    stage `at` ("mail", "rcpt" or "data" = the final reply after the
    message), after `delay` seconds; drop="close"/"reset" hangs up there
    instead of replying."""

    def __init__(self, code=250, text=None, at="data", delay=0.0, drop=None):
        assert at in ("mail", "rcpt", "data"), at
        assert drop in (None, "close", "reset"), drop
        self.code, self.text, self.at, self.delay, self.drop = code, text, at, delay, drop

    def __repr__(self):
        return "SmtpReply(%s %s at %s%s%s)" % (self.code, self.text, self.at,
                                             ", delay=%s" % self.delay if self.delay else "",
                                             ", drop=%s" % self.drop if self.drop else "")


class SmtpTxn:
    """One SMTP transaction the stub saw."""

    def __init__(self, n, conn, helo, esmtp):
        self.n = n
        self.conn = conn            # connection number (reuse shows)
        self.t = time.monotonic()
        self.helo = helo
        self.esmtp = esmtp          # EHLO (True) or HELO
        self.mail_from = None       # the address inside <>
        self.mail_params = []       # ESMTP parameters of MAIL FROM
        self.rcpts = []
        self.data = None            # message bytes, dot-unstuffed, CRLF kept
        self.message = None         # email.message.EmailMessage
        self.problems = []
        self.status = None          # the code replied at the end of the transaction
        self.reply = None           # its full text
        self.dropped = None
        self.t_done = None
        self.nudge_id = None

    @property
    def ok(self):
        return not self.problems

    @property
    def accepted(self):
        return self.status == 250 and self.data is not None

    @property
    def pid(self):
        return self.message["Message-ID"] if self.message is not None and self.accepted else None

    def summary(self):
        return "#%d conn %d MAIL FROM:<%s> RCPT %s -> %s nudge_id=%s%s" % (
            self.n, self.conn, self.mail_from, self.rcpts,
            "dropped (%s)" % self.dropped if self.dropped else self.reply, self.nudge_id,
            "" if self.ok else " PROBLEMS: " + "; ".join(self.problems))


def check_smtp_message(txn):
    """Problems of the RFC 5322 message of txn (fills .message, .nudge_id)."""
    p = txn.problems
    data = txn.data
    for i, line in enumerate(data.split(b"\r\n")[:-1] if data.endswith(b"\r\n") else
                             data.split(b"\r\n")):
        if b"\n" in line or b"\r" in line:
            p.append("line %d has a bare CR or LF" % (i + 1))
            break
        if len(line) > 998:
            p.append("line %d longer than 998 bytes" % (i + 1))
            break
    if not data.endswith(b"\r\n"):
        p.append("message does not end with CRLF")
    head = data.split(b"\r\n\r\n", 1)[0]
    if any(b > 127 for b in head):
        p.append("8-bit bytes in the header section (must be RFC 2047 encoded)")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    txn.message = msg
    for h in ("Message-ID", "Date", "From", "To", "Subject", "MIME-Version"):
        n = len(msg.get_all(h) or [])
        if n != 1:
            p.append("%d %s headers, want 1" % (n, h))
    mid = msg["Message-ID"] or ""
    m = re.match(r"^<([A-Za-z0-9._-]+)@nudge>$", mid)
    if not m:
        p.append("Message-ID %r, want <id@nudge>" % mid)
    else:
        txn.nudge_id = m.group(1)
    try:
        email.utils.parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError):
        p.append("Date %r does not parse" % msg["Date"])
    if str(msg["MIME-Version"]).strip() != "1.0":
        p.append("MIME-Version %r" % msg["MIME-Version"])
    for raw in re.findall(rb"=\?[^?]*\?[BbQq]\?[^?]*\?=", head):
        if len(raw) > 75:
            p.append("encoded-word longer than 75 characters: %r" % raw[:80])
            break
    if msg.get_content_type() != "multipart/alternative":
        p.append("Content-Type %s, want multipart/alternative" % msg.get_content_type())
    else:
        parts = list(msg.iter_parts())
        types = [x.get_content_type() for x in parts]
        if types != ["text/plain", "text/html"]:
            p.append("parts %s, want text/plain then text/html" % types)
        for x in parts:
            if (x.get_content_charset() or "").lower() != "utf-8":
                p.append("%s charset %r, want utf-8" % (x.get_content_type(),
                                                        x.get_content_charset()))
            try:
                if not x.get_content().strip():
                    p.append("%s part is empty" % x.get_content_type())
            except (LookupError, ValueError) as e:
                p.append("%s part does not decode: %s" % (x.get_content_type(), e))


class SmtpStub:
    """A minimal ESMTP relay on 127.0.0.1 (no TLS, no AUTH: nudge is given
    smtp://127.0.0.1:PORT without credentials). Scripted per transaction
    with SmtpReply; the default is 250 at every stage."""

    name = "smtp"

    def __init__(self, log_path=None):
        self.log_path = log_path
        self.requests = []          # SmtpTxn, in the order MAIL FROM arrived
        self.connections = 0
        self.commands = []          # (conn, line) of every command
        self.advertise = ["SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES"]
        self._script = collections.deque()
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self):
                stub._session(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

        self.port = free_port()
        self.server = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def script(self, *replies):
        with self._lock:
            for r in replies:
                self._script.extend(r if isinstance(r, (list, tuple)) else [r])

    def _session(self, h):
        with self._lock:
            self.connections += 1
            conn = self.connections
        sock = h.connection

        def send(line):
            h.wfile.write(line.encode() + b"\r\n")
            h.wfile.flush()

        def drop(how):
            try:
                if how == "reset":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

        helo, esmtp, txn, plan = None, False, None, None

        def finish(t, code=None, text=None, dropped=None):
            with self._cv:
                t.status = code
                t.reply = None if code is None else "%d %s" % (code, text)
                t.dropped = dropped
                t.t_done = time.monotonic()
                self._log(t)
                self._cv.notify_all()

        def scripted(stage, default_code, default_text):
            """The reply at stage: (code, text) or None after a drop."""
            if plan is not None and plan.at == stage:
                if plan.delay:
                    time.sleep(plan.delay)
                if plan.drop:
                    drop(plan.drop)
                    return None
                return plan.code, plan.text or {
                    250: "2.0.0 Ok", 451: "4.7.1 Try again later",
                    550: "5.1.1 Mailbox unavailable"}.get(plan.code, "stub reply")
            return default_code, default_text

        try:
            send("220 stub.nudge.test ESMTP ready")
            while True:
                raw = h.rfile.readline(4096)
                if not raw:
                    if txn is not None and txn.t_done is None:
                        finish(txn, dropped="client")
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self.commands.append((conn, line))
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "EHLO":
                    helo, esmtp = arg, True
                    lines = ["stub.nudge.test greets %s" % arg] + self.advertise
                    for ln in lines[:-1]:
                        send("250-" + ln)
                    send("250 " + lines[-1])
                elif verb == "HELO":
                    helo, esmtp = arg, False
                    send("250 stub.nudge.test")
                elif verb == "MAIL":
                    m = re.match(r"(?i)^FROM:\s*<([^>]*)>\s*(.*)$", arg)
                    if helo is None:
                        send("503 5.5.1 EHLO/HELO first")
                        continue
                    if txn is not None and txn.t_done is None:
                        send("503 5.5.1 nested MAIL command")
                        continue
                    with self._lock:
                        txn = SmtpTxn(len(self.requests) + 1, conn, helo, esmtp)
                        self.requests.append(txn)
                        plan = self._script.popleft() if self._script else None
                    if not m:
                        txn.problems.append("MAIL syntax: %r" % line)
                        send("501 5.5.4 Syntax: MAIL FROM:<address>")
                        finish(txn, 501, "syntax")
                        continue
                    txn.mail_from = m.group(1)
                    txn.mail_params = m.group(2).split()
                    r = scripted("mail", 250, "2.1.0 Ok")
                    if r is None:
                        finish(txn, dropped=plan.drop)
                        return
                    send("%d %s" % r)
                    if r[0] != 250:
                        finish(txn, *r)
                elif verb == "RCPT":
                    m = re.match(r"(?i)^TO:\s*<([^>]*)>\s*$", arg)
                    if txn is None or txn.t_done is not None:
                        send("503 5.5.1 need MAIL first")
                        continue
                    if not m:
                        txn.problems.append("RCPT syntax: %r" % line)
                        send("501 5.5.4 Syntax: RCPT TO:<address>")
                        continue
                    txn.rcpts.append(m.group(1))
                    r = scripted("rcpt", 250, "2.1.5 Ok")
                    if r is None:
                        finish(txn, dropped=plan.drop)
                        return
                    send("%d %s" % r)
                    if r[0] != 250:
                        finish(txn, *r)
                elif verb == "DATA":
                    if txn is None or txn.t_done is not None or not txn.rcpts:
                        send("503 5.5.1 need RCPT first")
                        continue
                    send("354 End data with <CR><LF>.<CR><LF>")
                    lines = []
                    while True:
                        d = h.rfile.readline(65536)
                        if not d:
                            finish(txn, dropped="client")
                            return
                        if d == b".\r\n":
                            break
                        if d.startswith(b".."):
                            d = d[1:]
                        elif d.startswith(b"."):
                            txn.problems.append("line starting with a lone '.' (not stuffed)")
                        lines.append(d)
                    txn.data = b"".join(lines)
                    try:
                        check_smtp_message(txn)
                    except Exception as e:
                        txn.problems.append("message check raised %r" % e)
                    r = scripted("data", 250, "2.0.0 Ok: queued as Q%d" % txn.n)
                    if r is None:
                        finish(txn, dropped=plan.drop)
                        return
                    try:
                        send("%d %s" % r)
                    except OSError:
                        pass
                    finish(txn, *r)
                elif verb == "RSET":
                    if txn is not None and txn.t_done is None:
                        finish(txn, dropped="rset")
                    txn = None
                    send("250 2.0.0 Ok")
                elif verb == "NOOP":
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("502 5.5.2 Command not recognized")
        except OSError:
            if txn is not None and txn.t_done is None:
                finish(txn, dropped="client")

    def _log(self, t):
        if not self.log_path:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"n": t.n, "conn": t.conn, "mail_from": t.mail_from,
                                "rcpts": t.rcpts, "reply": t.reply, "dropped": t.dropped,
                                "problems": t.problems,
                                "data": (t.data or b"").decode("utf-8", "replace")}) + "\n")

    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def wait_requests(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                if len(self.requests) >= n:
                    return list(self.requests)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("smtp stub: waited %.1fs for %d transactions:\n%s" % (
                        timeout, n, self.report()))
                self._cv.wait(min(left, 0.1))

    def settle(self, seconds=1.0):
        time.sleep(seconds)
        return self.snapshot()

    def report(self, n=30):
        reqs = self.snapshot()
        return "smtp stub: %d transactions on %d connections\n%s" % (
            len(reqs), self.connections, "\n".join(t.summary() for t in reqs[-n:]))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
