# The three delivery scenarios of scripts/bench-deliver (see there): 1,000 jobs due in the
# same second, with a fast webhook, with one job whose webhook hangs 60 s, and with a webhook
# that takes 100 ms per request. Meanwhile a probe times `POST /` and `GET /status`.
import datetime, http.client, http.server, json, os, socketserver, subprocess, sys, threading, time

bin, n = sys.argv[1], int(sys.argv[2])
scenarios = sys.argv[3].split(",")
home = os.environ["WAITABLE_HOME"]
HANG = "hang-0"
mode = {"name": "fast"}
arrivals = {}  # job Id -> first arrival (epoch s)
fired = {}  # job Id -> FiredAt in its message (epoch s): when the engine's claim committed
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the engine's client uses it

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        now = time.time()
        message = json.loads(body)
        job = message["Id"]
        fired_at = datetime.datetime.fromisoformat(message["FiredAt"].replace("Z", "+00:00")).timestamp()
        with lock:
            arrivals.setdefault(job, now)
            fired.setdefault(job, fired_at)
        if mode["name"] == "hang" and job == HANG:
            time.sleep(60)
        elif mode["name"] == "slow":
            time.sleep(0.1)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4096
    daemon_threads = True


server = Server(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook = f"http://127.0.0.1:{server.server_address[1]}/hook"


def cli(stack, *args):
    return subprocess.run([bin, "--target", "local", "--stack-name", stack, "--quiet", *args],
                          check=True, capture_output=True, text=True).stdout


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
            with lock:
                if all(j in arrivals for j in others):
                    break
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        t.join()
        with lock:
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
