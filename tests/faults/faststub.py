"""
faststub: a SendGrid v3 Mail Send stub fast enough for tens of thousands of
requests (asyncio, HTTP/1.1 keep-alive, one thread), for the fault tests.
The black-box suite's SendGridStub checks every field of the contract; this
one checks the shape minimally (method, path, bearer key, JSON content type,
one personalization with a `to` address and a custom_args.nudge_id) and
records, per request, when it arrived and when its answer went out.

    stub = FastStub(api_key)            # listening on 127.0.0.1:<free port>
    stub.responder = fn                 # fn(FastReq) -> None | int | Answer
    stub.requests                       # [FastReq], in arrival order
    stub.close()

An Answer is a status, headers, a delay before answering, or a hang-up:
drop="reset" (RST) or drop="close" (FIN, no answer). Without a responder,
or when it returns None, the answer is 202 with X-Message-Id: fs-<n>.
"""
import asyncio
import json
import socket
import struct
import threading
import time

from harness import free_port


class Answer:
    def __init__(self, status=202, headers=None, body=b"", delay=0.0, drop=None):
        assert drop in (None, "close", "reset"), drop
        self.status = None if drop else status
        self.headers = dict(headers or {})
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.delay = delay
        self.drop = drop


class FastReq:
    __slots__ = ("n", "t", "t_done", "conn", "nudge_id", "to", "problems", "status",
                 "dropped", "late", "kind")

    def __init__(self, n, conn):
        self.n = n
        self.t = time.monotonic()
        self.t_done = None
        self.conn = conn            # connection number (requests on one connection share it)
        self.nudge_id = None
        self.to = None
        self.problems = []
        self.status = None          # what was answered; None: hung up
        self.dropped = None         # "close" / "reset"
        self.late = False           # answered after the client's timeout (set by tests)
        self.kind = None            # free label a responder may set ("503", "slow", ...)

    @property
    def accepted(self):
        return self.status is not None and 200 <= self.status < 300 and not self.late

    def summary(self):
        return "#%d conn %d %s -> %s%s nudge_id=%s%s" % (
            self.n, self.conn, self.kind or "", self.status,
            " dropped(%s)" % self.dropped if self.dropped else "", self.nudge_id,
            " PROBLEMS: " + "; ".join(self.problems) if self.problems else "")


REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}


def check(method, path, headers, body, api_key):
    """(problems, nudge_id, to) of one request; problems == [] is ok."""
    p = []
    if method != "POST":
        p.append("method %s" % method)
    if path != "/v3/mail/send":
        p.append("path %r" % path)
    if headers.get("authorization") != "Bearer " + api_key:
        p.append("authorization %r" % headers.get("authorization"))
    if (headers.get("content-type") or "").split(";")[0].strip().lower() != "application/json":
        p.append("content-type %r" % headers.get("content-type"))
    nid = to = None
    try:
        d = json.loads(body)
        pers = d["personalizations"]
        assert isinstance(pers, list) and len(pers) == 1, "personalizations: %r" % (pers,)
        to = pers[0]["to"][0]["email"]
        assert isinstance(to, str) and "@" in to, "to %r" % (to,)
        nid = pers[0]["custom_args"]["nudge_id"]
        assert isinstance(nid, str) and nid, "nudge_id %r" % (nid,)
        assert isinstance(d.get("subject"), str) and d["subject"], "subject"
        assert isinstance(d.get("content"), list) and d["content"], "content"
    except (ValueError, KeyError, IndexError, TypeError, AssertionError) as e:
        p.append("body: %r" % e)
    return p, nid, to


class FastStub:
    def __init__(self, api_key, port=None):
        self.api_key = api_key
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.requests = []
        self.responder = None
        self.connections = 0
        self._n = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="faststub", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fast stub did not start")

    # ------------------------------------------------------------ server

    def _run(self):
        asyncio.set_event_loop(self._loop)

        async def start():
            self._server = await asyncio.start_server(
                self._conn, "127.0.0.1", self.port, backlog=1024, limit=1 << 22)
        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    async def _conn(self, reader, writer):
        self.connections += 1
        conn = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, path, _ = lines[0].split(" ", 2)
                except ValueError:
                    return
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length") or 0)
                try:
                    body = await reader.readexactly(n) if n else b""
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self._n += 1
                q = FastReq(self._n, conn)
                q.problems, q.nudge_id, q.to = check(method, path, headers, body, self.api_key)
                a = None
                if q.problems:
                    a = Answer(400, body={"errors": [{"message": "; ".join(q.problems)}]})
                elif self.responder is not None:
                    a = self.responder(q)
                if a is None:
                    a = Answer(202, {"X-Message-Id": "fs-%d" % q.n})
                elif isinstance(a, int):
                    a = Answer(a, {"X-Message-Id": "fs-%d" % q.n} if 200 <= a < 300 else None,
                               b"" if 200 <= a < 300 else {"errors": [{"message": "stub %d" % a}]})
                self.requests.append(q)
                if a.delay:
                    await asyncio.sleep(a.delay)
                if a.drop:
                    q.dropped = a.drop
                    sock = writer.get_extra_info("socket")
                    if a.drop == "reset" and sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    q.t_done = time.monotonic()
                    writer.close()
                    return
                hdr = ["HTTP/1.1 %d %s" % (a.status, REASONS.get(a.status, "Status")),
                       "Content-Type: application/json",
                       "Content-Length: %d" % len(a.body)]
                hdr += ["%s: %s" % kv for kv in a.headers.items()]
                writer.write(("\r\n".join(hdr) + "\r\n\r\n").encode() + a.body)
                q.status = a.status
                try:
                    await writer.drain()
                except ConnectionError:
                    q.t_done = time.monotonic()
                    return
                q.t_done = time.monotonic()
        finally:
            try:
                writer.close()
            except Exception:
                pass

    # ------------------------------------------------------------ inspection

    def snapshot(self):
        return list(self.requests)

    def accepted(self):
        return [q for q in self.snapshot() if q.accepted]

    def report(self, n=30):
        reqs = self.snapshot()
        return "%d requests\n%s" % (len(reqs), "\n".join(q.summary() for q in reqs[-n:]))

    def close(self):
        async def stop():
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()
        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
