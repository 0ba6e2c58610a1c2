# The three delivery scenarios of scripts/bench-deliver (see there): 1,000 jobs due in the
# same second, with a fast webhook, with one job whose webhook hangs 60 s, and with a webhook
# that takes 100 ms per request. Meanwhile a probe times `POST /` and `GET /status`.
import asyncio, datetime, http.client, json, os, subprocess, sys, threading, time

bin, n = sys.argv[1], int(sys.argv[2])
scenarios = sys.argv[3].split(",")
home = os.environ["WAITABLE_HOME"]
HANG = "hang-0"
HANG_BYTES = json.dumps(HANG).encode()
mode = {"name": "fast"}
received = []  # (arrival in epoch s, body): read after the run, so the receiver does little
arrivals = {}  # job Id -> first arrival (epoch s)
fired = {}  # job Id -> FiredAt in its message (epoch s): when the engine's claim committed


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class Hook(asyncio.Protocol):
    """The webhook: HTTP/1.1 with keep-alive, as the engine's client uses it, on one asyncio
    thread with no task or thread per connection, and the bodies are read after the run. On
    this 2-core machine the receiver shares the CPU with the engine (a real webhook is on
    another machine): a receiver that spent it on threads, tasks or JSON would be measured
    as the engine's lateness."""

    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            received.append((time.time(), body))
            if mode["name"] == "hang" and HANG_BYTES in body:
                loop.call_later(60, self.answer)
            elif mode["name"] == "slow":
                loop.call_later(0.1, self.answer)
            else:
                self.answer()

    def answer(self):
        if not self.transport.is_closing():
            self.transport.write(OK)


loop = asyncio.new_event_loop()
server = loop.run_until_complete(loop.create_server(Hook, "127.0.0.1", 0, backlog=4096))
threading.Thread(target=loop.run_forever, daemon=True).start()
hook = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"


def cli(stack, *args):
    return subprocess.run([bin, "--target", "local", "--stack-name", stack, "--quiet", *args],
                          check=True, capture_output=True, text=True).stdout


def read_received():
    """The first arrival and the FiredAt of each job, from the bodies received so far."""
    upto = len(received)
    for now, body in received[read_received.seen:upto]:
        message = json.loads(body)
        job = message["Id"]
        fired_at = datetime.datetime.fromisoformat(message["FiredAt"].replace("Z", "+00:00")).timestamp()
        arrivals.setdefault(job, now)
        fired.setdefault(job, fired_at)
    read_received.seen = upto


read_received.seen = 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * p)] if xs else float("nan")


def line(what, xs):
    return f"{what}: p50 {pct(xs, .5):.0f} ms, p99 {pct(xs, .99):.0f} ms, max {max(xs):.0f} ms (n={len(xs)})"


def probe(port, stop, post_ms, status_ms):
    i = 0
    while not stop.is_set():
        for path, method, out in (("/", "POST", post_ms), ("/status?limit=1", "GET", status_ms)):
            body = None
            if method == "POST":
                i += 1
                body = json.dumps({"StartTimestamp": "2099-01-01T00:00:00Z", "Id": f"probe-{i}"})
            t = time.time()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request(method, path, body=body, headers={"content-type": "application/json"})
            r = c.getresponse()
            r.read()
            c.close()
            out.append((time.time() - t) * 1000)
        time.sleep(0.02)


for name in scenarios:
    mode["name"] = name
    received.clear()
    read_received.seen = 0
    arrivals.clear()
    fired.clear()
    stack = f"bench-{name}"
    engine = subprocess.Popen([bin, "--target", "local", "--stack-name", stack, "local", "run"],
                              stdout=subprocess.DEVNULL, stderr=open(f"{home}/{stack}.err", "w"))
    try:
        for _ in range(400):
            if os.path.exists(f"{home}/{stack}/engine.json"):
                break
            time.sleep(0.05)
        cli(stack, "deploy", "--deliver", f"webhook={hook}")
        port = json.load(open(f"{home}/{stack}/engine.json"))["port"]
        start = int(time.time()) + 10 + n // 100
        ts = datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        names = [HANG if name == "hang" and i == 0 else f"{name}-{i:05d}" for i in range(n)]
        with open(f"{home}/{stack}.jsonl", "w") as f:
            for job in names:
                f.write(json.dumps({"at": ts, "id": job, "payload": {"n": 1}}) + "\n")
        cli(stack, "submit", "--file", f"{home}/{stack}.jsonl", "--rate", "100000")
        if time.time() > start - 1:
            sys.exit("the submits took longer than the lead time: rerun with fewer jobs")
        stop, post_ms, status_ms = threading.Event(), [], []
        while time.time() < start - 1:
            time.sleep(0.05)
        t = threading.Thread(target=probe, args=(port, stop, post_ms, status_ms), daemon=True)
        t.start()
        others = [j for j in names if j != HANG]
        deadline = start + 60
        while time.time() < deadline:
            if len(received) >= len(others):
                read_received()
                if all(j in arrivals for j in others):
                    break
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        t.join()
        read_received()
        late = [(arrivals[j] - start) * 1000 for j in others if j in arrivals]
        claim = [(fired[j] - start) * 1000 for j in others if j in fired]
        print(f"[{name}] {len(late)}/{len(others)} other jobs delivered; " + line("lateness", late))
        print(f"[{name}]   " + line("claimed (FiredAt)", claim))
        print(f"[{name}]   " + line("POST /", post_ms))
        print(f"[{name}]   " + line("GET /status", status_ms))
        sys.stdout.flush()
    finally:
        engine.terminate()
        engine.wait()
