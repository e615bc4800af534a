#!/usr/bin/env python3
"""Driver for the Kubernetes benchmarks of exodns (bench/kube/event-latency.sh, bench/kube/scale.sh).

Python 3 standard library only. Talks to a kube-apiserver (KUBE_API_URL, KUBE_TOKEN, KUBE_CA), to
PowerDNS's REST API (PDNS_API_URL, PDNS_API_KEY) and to PowerDNS's DNS port (PDNS_DNS_ADDR,
PDNS_DNS_PORT), as scripts/testbed/{apiserver,pdns}.sh print them.

  kubebench.py namespaces NS...                   create namespaces (idempotent)
  kubebench.py services --ns NS --count N --zones Z1,Z2 [--ip-base 10.1] [--workers W]
                                                  N LoadBalancer Services svc-<i> (hostname annotation
                                                  svc-<i>.<zone> for every zone), status ingress IP
                                                  <ip-base>.<i/256>.<i%256>
  kubebench.py pods --namespaces NS1,NS2 --count N [--workers W]
                                                  N Pods spread over the namespaces, status Running
  kubebench.py zone --api URL --key KEY --zone Z [--recreate]
                                                  (re)create an empty Native zone
  kubebench.py wait-zone --api URL --key KEY --zone Z --count N --ip-base B [--timeout S]
                                                  wait until the zone holds svc-<i> A = expected IP
                                                  for all i < N
  kubebench.py count --api URL --key KEY --zone Z print the rrset count by type (JSON)
  kubebench.py latency --ns NS --exo-zone Z --up-zone Z --count N --up-sample K --out FILE
                                                  the event -> answer measurement (see its doc)
  kubebench.py burst --ns NS --count N --zone Z [--up-zone Z] --pdns-log FILE --out JSON
                                                  N status changes at once (curl --parallel over one
                                                  HTTP/2 connection); PATCHes PowerDNS logged per zone
  kubebench.py churn --ns NS --zone Z --pid PID --minutes M --per-minute K --out TSV
                                                  create and delete K Services a minute, sampling
                                                  the RSS of PID (see its doc)
  kubebench.py record --port P --upstream URL --dir D
                                                  HTTP proxy to PowerDNS's API that keeps every
                                                  PATCH body it forwards (D/patch-<n>.json, in order)
  kubebench.py replay --api URL --key KEY --dir D sends D's PATCHes again, one after another; prints
                                                  their count, bytes and total time (JSON)
  kubebench.py run --out JSON --log FILE [--ready-regex RE] [--timeout S] -- CMD...
                                                  run CMD; wall time, time to the first log line
                                                  matching RE (then SIGTERM), exit code, peak RSS
  kubebench.py stats FILE...                      p50/p90/p99/max of latency files (one float/line)
"""

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse


# ---- kube-apiserver client -------------------------------------------------------------------

class Kube:
    """A tiny REST client; one keep-alive HTTPS connection per thread."""

    def __init__(self):
        url = urllib.parse.urlparse(os.environ["KUBE_API_URL"])
        self.host, self.port = url.hostname, url.port or 443
        self.token = os.environ["KUBE_TOKEN"]
        self.ctx = ssl.create_default_context(cafile=os.environ["KUBE_CA"])
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
            self.local.conn = c
        return c

    def request(self, method, path, body=None, ctype="application/json"):
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = ctype
        for attempt in range(8):
            c = self._conn()
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException):
                c.close()
                self.local.conn = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status in (429, 500, 502, 503, 504):
                time.sleep(0.2 * (attempt + 1))
                continue
            return r.status, raw
        raise RuntimeError(f"{method} {path}: gave up after retries")

    def ok(self, method, path, body=None, ctype="application/json", allow=()):
        status, raw = self.request(method, path, body, ctype)
        if status >= 300 and status not in allow:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {raw[:300]!r}")
        return status, raw


def ip_of(base, i):
    return f"{base}.{i // 256 % 256}.{i % 256}"


def cmd_namespaces(a):
    k = Kube()
    for ns in a.names:
        k.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
             allow=(409,))


def run_parallel(total, workers, fn, what):
    start = time.monotonic()
    done = [0]
    lock = threading.Lock()
    errors = []

    def work(chunk):
        for i in chunk:
            try:
                fn(i)
            except Exception as e:  # noqa: BLE001 - report and stop
                errors.append(e)
                return
            with lock:
                done[0] += 1
                if done[0] % 2000 == 0:
                    el = time.monotonic() - start
                    print(f"  {what}: {done[0]}/{total} in {el:.1f} s ({done[0] / el:.0f}/s)", file=sys.stderr)

    chunks = [range(w, total, workers) for w in range(workers)]
    with cf.ThreadPoolExecutor(workers) as ex:
        list(ex.map(work, chunks))
    if errors:
        raise errors[0]
    el = time.monotonic() - start
    print(f"  {what}: {total} in {el:.1f} s ({total / el:.0f}/s)", file=sys.stderr)
    return el


def cmd_services(a):
    k = Kube()
    zones = [z.strip(".") for z in a.zones.split(",") if z]
    base = f"/api/v1/namespaces/{a.ns}/services"

    def one(i):
        name = f"svc-{i}"
        hostnames = ",".join(f"{name}.{z}" for z in zones)
        svc = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {"app": f"app-{i % 500}", "bench": "exodns"},
                         "annotations": {"external-dns.kubernetes.io/hostname": hostnames}},
            "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                     "selector": {"app": f"app-{i % 500}"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]},
        }
        k.ok("POST", base, svc, allow=(409,))
        status = {"status": {"loadBalancer": {"ingress": [{"ip": ip_of(a.ip_base, i)}]}}}
        k.ok("PATCH", f"{base}/{name}/status", status, ctype="application/merge-patch+json")

    run_parallel(a.count, a.workers, one, "services")


def cmd_pods(a):
    k = Kube()
    nss = [n for n in a.namespaces.split(",") if n]

    def one(i):
        ns = nss[i % len(nss)]
        name = f"pod-{i}"
        app = f"app-{i % 500}"
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": app, "pod-template-hash": "5d8f7c9b4f", "bench": "exodns"},
                         "annotations": {"kubectl.kubernetes.io/default-container": "app"}},
            "spec": {
                "nodeName": f"node-{i % 50}",
                "containers": [{
                    "name": "app", "image": "registry.example/app:1.0",
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "env": [{"name": "APP_MODE", "value": "bench"}, {"name": "APP_INDEX", "value": str(i)}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
                }],
            },
        }
        k.ok("POST", f"/api/v1/namespaces/{ns}/pods", pod, allow=(409,))
        t = "2026-01-01T00:00:00Z"
        status = {"status": {
            "phase": "Running",
            "hostIP": f"192.168.0.{i % 50 + 1}", "hostIPs": [{"ip": f"192.168.0.{i % 50 + 1}"}],
            "podIP": ip_of("10.200", i), "podIPs": [{"ip": ip_of("10.200", i)}],
            "startTime": t,
            "conditions": [{"type": c, "status": "True", "lastTransitionTime": t}
                           for c in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": "app", "ready": True, "started": True, "restartCount": 0,
                                   "image": "registry.example/app:1.0",
                                   "imageID": "registry.example/app@sha256:" + "0" * 64,
                                   "containerID": f"containerd://{i:064x}",
                                   "state": {"running": {"startedAt": t}}}],
        }}
        k.ok("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status", status, ctype="application/merge-patch+json")

    run_parallel(a.count, a.workers, one, "pods")


# ---- PowerDNS REST ---------------------------------------------------------------------------

def pdns(api, key, method, path, body=None):
    url = urllib.parse.urlparse(api)
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {"X-API-Key": key}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    c.request(method, "/api/v1/servers/localhost" + path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, raw


def cmd_record(a):
    """A proxy in front of PowerDNS's API for one run of a tool: forwards every request and keeps
    the PATCH bodies (with their path) so that `replay` can time PowerDNS on the same writes."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    os.makedirs(a.dir, exist_ok=True)
    up = urllib.parse.urlparse(a.upstream)
    lock = threading.Lock()
    seq = [0]

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    n = int(self.rfile.readline().split(b";")[0], 16)
                    if n == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(n)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def forward(self):
            data = self.body()
            if self.command == "PATCH":
                with lock:
                    seq[0] += 1
                    n = seq[0]
                with open(os.path.join(a.dir, f"patch-{n:05d}.json"), "wb") as f:
                    f.write(json.dumps({"path": self.path}).encode() + b"\n" + data)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "transfer-encoding", "connection")}
            c = http.client.HTTPConnection(up.hostname, up.port, timeout=300)
            c.request(self.command, self.path, body=data if data else None, headers=headers)
            r = c.getresponse()
            raw = r.read()
            c.close()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Proxy)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()


def cmd_replay(a):
    """Sends the recorded PATCHes again in their order over one connection, timing each request
    from its first byte sent to the answer read: PowerDNS's own time for the tool's writes."""
    up = urllib.parse.urlparse(a.api)
    c = http.client.HTTPConnection(up.hostname, up.port, timeout=300)
    total, sizes, statuses = 0.0, [], []
    for name in sorted(f for f in os.listdir(a.dir) if f.startswith("patch-")):
        with open(os.path.join(a.dir, name), "rb") as f:
            head, data = f.read().split(b"\n", 1)
        path = json.loads(head)["path"]
        t0 = time.monotonic()
        c.request("PATCH", path, body=data, headers={"X-API-Key": a.key, "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        total += time.monotonic() - t0
        sizes.append(len(data))
        statuses.append(r.status)
    c.close()
    print(json.dumps({"patches": len(sizes), "bytes": sum(sizes), "patch_s": round(total, 3),
                      "statuses": sorted(set(statuses))}))


def cmd_zone(a):
    z = a.zone.rstrip(".") + "."
    if a.recreate:
        pdns(a.api, a.key, "DELETE", f"/zones/{z}")
    st, raw = pdns(a.api, a.key, "POST", "/zones", {"name": z, "kind": "Native", "nameservers": [f"ns1.{z}"]})
    if st != 201:
        sys.exit(f"create zone {z}: HTTP {st} {raw[:200]!r}")


def zone_rrsets(a):
    z = a.zone.rstrip(".") + "."
    st, raw = pdns(a.api, a.key, "GET", f"/zones/{z}")
    if st != 200:
        raise RuntimeError(f"GET zone {z}: HTTP {st}")
    return json.loads(raw)["rrsets"]


def cmd_count(a):
    counts = {}
    for rr in zone_rrsets(a):
        counts[rr["type"]] = counts.get(rr["type"], 0) + 1
    print(json.dumps(counts, sort_keys=True))


def cmd_wait_zone(a):
    z = a.zone.rstrip(".")
    want = {f"svc-{i}.{z}.": ip_of(a.ip_base, i) for i in range(a.count)}
    deadline = time.monotonic() + a.timeout
    start = time.monotonic()
    while True:
        have = {rr["name"]: [r["content"] for r in rr["records"]] for rr in zone_rrsets(a) if rr["type"] == "A"}
        missing = sum(1 for n, ip in want.items() if have.get(n) != [ip])
        if missing == 0:
            print(f"  zone {z}: all {a.count} names converged after {time.monotonic() - start:.1f} s", file=sys.stderr)
            return
        if time.monotonic() > deadline:
            sys.exit(f"zone {z}: {missing} of {a.count} names not converged after {a.timeout} s")
        time.sleep(1)


# ---- a tiny DNS client -----------------------------------------------------------------------

class Dns:
    def __init__(self, addr, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((addr, port))
        self.sock.settimeout(1.0)

    def query_a(self, name):
        qid = random.randrange(65536)
        q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
        for label in name.rstrip(".").split("."):
            q += bytes([len(label)]) + label.encode()
        q += b"\0" + struct.pack(">HH", 1, 1)
        self.sock.send(q)
        while True:
            try:
                resp = self.sock.recv(4096)
            except socket.timeout:
                return None
            if len(resp) >= 12 and struct.unpack(">H", resp[:2])[0] == qid:
                break
        _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", resp[:12])
        pos = 12
        for _ in range(qd):
            pos = skip_name(resp, pos) + 4
        ips = []
        for _ in range(an):
            pos = skip_name(resp, pos)
            rtype, _, _, rdlen = struct.unpack(">HHIH", resp[pos:pos + 10])
            pos += 10
            if rtype == 1 and rdlen == 4:
                ips.append(socket.inet_ntoa(resp[pos:pos + 4]))
            pos += rdlen
        return ips


def skip_name(msg, pos):
    while True:
        ln = msg[pos]
        if ln == 0:
            return pos + 1
        if ln & 0xC0 == 0xC0:
            return pos + 2
        pos += ln + 1


def cmd_latency(a):
    """Patch the Services' status one at a time to a new IP; after each PATCH returns, poll
    PowerDNS (UDP, every --poll-ms) until the exodns name (and, for the first --up-sample
    Services of phase B, the upstream name) answers exactly the new address.

    Phase A: Services 0..count-1, new IP <ip-a>.x.y, exodns name only (upstream keeps running
             and reacting to the same events, so it competes for CPU and PowerDNS as in a real
             side-by-side run).
    Phase B: Services 0..up-sample-1 again, new IP <ip-b>.x.y, both names; each sample ends when
             both answer.
    Writes one line per sample: phase index tool seconds.
    """
    k = Kube()
    d = Dns(os.environ["PDNS_DNS_ADDR"], int(os.environ["PDNS_DNS_PORT"]))
    exo, up = a.exo_zone.strip("."), a.up_zone.strip(".")
    base = f"/api/v1/namespaces/{a.ns}/services"
    poll = a.poll_ms / 1000.0
    out = open(a.out, "w")
    timeouts = 0

    def measure(phase, i, ip, names):
        nonlocal timeouts
        body = {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}
        t_send = time.monotonic()
        k.ok("PATCH", f"{base}/svc-{i}/status", body, ctype="application/merge-patch+json")
        t0 = time.monotonic()
        pending = dict(names)  # tool -> name
        got = {}
        nxt = t0
        while pending:
            now = time.monotonic()
            for tool, name in list(pending.items()):
                ips = d.query_a(name)
                if ips == [ip]:
                    got[tool] = time.monotonic() - t0
                    del pending[tool]
            now = time.monotonic()
            if now - t0 > a.timeout:
                for tool in pending:
                    timeouts += 1
                    print(f"  TIMEOUT phase {phase} svc-{i} {tool} after {a.timeout} s", file=sys.stderr)
                    got[tool] = float("inf")
                break
            nxt += poll
            if nxt > now:
                time.sleep(nxt - now)
            else:
                nxt = now
        for tool, s in got.items():
            out.write(f"{phase} {i} {tool} {s:.6f} {t0 - t_send:.6f}\n")
        out.flush()
        return got

    start = time.monotonic()
    for i in range(a.count):
        measure("A", i, ip_of(a.ip_a, i), {"exodns": f"svc-{i}.{exo}"})
        if (i + 1) % 100 == 0:
            print(f"  phase A: {i + 1}/{a.count} after {time.monotonic() - start:.1f} s", file=sys.stderr)
    start = time.monotonic()
    for i in range(a.up_sample):
        measure("B", i, ip_of(a.ip_b, i), {"exodns": f"svc-{i}.{exo}", "upstream": f"svc-{i}.{up}"})
        if (i + 1) % 10 == 0:
            print(f"  phase B: {i + 1}/{a.up_sample} after {time.monotonic() - start:.1f} s", file=sys.stderr)
    out.close()
    if timeouts:
        print(f"  {timeouts} samples timed out", file=sys.stderr)


def zone_patches(log, zone):
    """PATCHes PowerDNS has logged on `zone` (pdns.sh with PDNS_LOG_REQUESTS=1)."""
    needle = f'"PATCH /api/v1/servers/localhost/zones/{zone.strip(".")}. '
    with open(log, errors="replace") as f:
        return sum(1 for line in f if "[webserver]" in line and needle in line)


def published_count(a, zone, count, ip_base):
    z = zone.strip(".")
    have = {rr["name"]: [r["content"] for r in rr["records"]]
            for rr in zone_rrsets(argparse.Namespace(api=a.api, key=a.key, zone=z)) if rr["type"] == "A"}
    return sum(1 for i in range(count) if have.get(f"svc-{i}.{z}.") == [ip_of(ip_base, i)])


def cmd_burst(a):
    """Changes the status of Services svc-0..count-1 all at once: one curl, --parallel over one
    HTTP/2 connection (the apiserver takes them as fast as it can). Then polls PowerDNS's API
    until every name of --zone (and of --up-zone, when given) has its new address, and counts
    the PATCHes PowerDNS logged on each zone meanwhile. Writes JSON: the span of the burst
    (curl's wall time, an upper bound), per zone the PATCHes and when it was complete."""
    url = os.environ["KUBE_API_URL"].rstrip("/")
    cfg = os.path.join(os.path.dirname(os.path.abspath(a.out)), "burst.curl")
    # One operation per change (`next`): curl would join repeated `data` into one body otherwise.
    common = (f'header = "Authorization: Bearer {os.environ["KUBE_TOKEN"]}"\n'
              f'header = "Content-Type: application/merge-patch+json"\nrequest = "PATCH"\nhttp2\n'
              f'cacert = "{os.environ["KUBE_CA"]}"\noutput = /dev/null\nwrite-out = "%{{http_code}}\\n"\n')
    with open(cfg, "w") as f:
        for i in range(a.count):
            body = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": ip_of(a.ip_base, i)}]}}})
            f.write(("next\n" if i else "") + common +
                    f'url = "{url}/api/v1/namespaces/{a.ns}/services/svc-{i}/status"\ndata = {json.dumps(body)}\n')
    zones = [z for z in (a.zone, a.up_zone) if z]
    before = {z: zone_patches(a.pdns_log, z) for z in zones}
    t0 = time.monotonic()
    r = subprocess.run(["curl", "-sS", "--parallel", "--parallel-immediate", "--parallel-max", str(a.parallel),
                        "-K", cfg],
                       capture_output=True, text=True)
    span = time.monotonic() - t0
    codes = r.stdout.split()
    if r.returncode != 0 or len(codes) != a.count or any(not c.startswith("2") for c in codes):
        sys.exit(f"burst: curl exit {r.returncode}, {len(codes)} answers, not 2xx: "
                 f"{sorted(set(c for c in codes if not c.startswith('2')))}; {r.stderr[:300]}")
    res = {"count": a.count, "span_s": span, "zones": {}}
    pending = list(zones)
    while pending and time.monotonic() - t0 < a.timeout:
        for z in list(pending):
            if published_count(a, z, a.count, a.ip_base) == a.count:
                res["zones"][z] = {"complete_s": time.monotonic() - t0}
                pending.remove(z)
        time.sleep(0.02)
    time.sleep(1)  # PowerDNS writes its log line after answering
    for z in zones:
        res["zones"].setdefault(z, {"complete_s": None})["patches"] = zone_patches(a.pdns_log, z) - before[z]
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res), file=sys.stderr)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cmd_churn(a):
    """For --minutes minutes, creates --per-minute new LoadBalancer Services a minute (each with a
    status IP; names churn-<n>.<zone>) and deletes as many, the ones created a minute before
    (the first minute only creates): a steady population, every name new. Operations are paced
    evenly over each minute. Samples VmRSS of --pid every 5 s into --out (seconds, KiB, live
    Services). A bounded loop: it ends after --minutes × --per-minute steps whatever happens; a
    step that is late (the machine paused, say) moves the schedule rather than catching up."""
    k = Kube()
    z = a.zone.strip(".")
    base = f"/api/v1/namespaces/{a.ns}/services"
    out = open(a.out, "w")
    live = []  # names, oldest first
    n = 0
    t0 = time.monotonic()
    next_sample = t0
    step = 60.0 / a.per_minute
    total = a.minutes * a.per_minute
    due = t0
    for op in range(total):
        due = max(due + step, time.monotonic()) if op else t0
        while True:
            now = time.monotonic()
            if now >= next_sample:
                out.write(f"{now - t0:.1f}\t{rss_kib(a.pid)}\t{len(live)}\n")
                out.flush()
                next_sample = max(next_sample + 5, now + 1)
            if now >= due:
                break
            time.sleep(max(0.0, min(due, next_sample) - now))
        name = f"churn-{n}"
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "annotations": {"external-dns.kubernetes.io/hostname": f"{name}.{z}"}},
               "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                        "ports": [{"port": 80, "protocol": "TCP"}]}}
        k.ok("POST", base, svc)
        k.ok("PATCH", f"{base}/{name}/status",
             {"status": {"loadBalancer": {"ingress": [{"ip": ip_of("10.9", n % 65536)}]}}},
             ctype="application/merge-patch+json")
        live.append(name)
        n += 1
        if op >= a.per_minute:
            k.ok("DELETE", f"{base}/{live.pop(0)}", allow=(404,))
    out.write(f"{time.monotonic() - t0:.1f}\t{rss_kib(a.pid)}\t{len(live)}\n")
    out.close()
    with open(a.out + ".live", "w") as f:
        f.write("\n".join(live) + "\n")


# ---- process runner --------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_s(pid):
    """user + system CPU seconds the process has used so far (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def cmd_run(a):
    """Run CMD with stdout+stderr into --log. Reports wall time to exit (or to SIGTERM), time to
    the first line matching --ready-regex (the process is then sent SIGTERM after --linger s),
    exit status, VmHWM sampled every 20 ms and at the ready line, user + system CPU time at the
    ready line (/proc/PID/stat) and at exit (wait4), and ru_maxrss from wait4."""
    rx = re.compile(a.ready_regex) if a.ready_regex else None
    logf = open(a.log, "wb")
    # GNU time measures the peak RSS exactly (ru_maxrss of its child: the tool after exec; the
    # pre-exec fork of time itself is ~2 MB). The tool is time's only child: signals go to it.
    timef = a.out + ".maxrss"
    wall_start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f"{time.time() % 1:.6f}"[1:] + "Z"
    t_start = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M %e", "-o", timef] + a.command,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    tool = [None]

    def tool_pid():
        if tool[0] is None:
            try:
                with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                    kids = f.read().split()
                if kids:
                    tool[0] = int(kids[0])
            except OSError:
                pass
        return tool[0]
    res = {"cmd": a.command, "started_at": wall_start, "ready_s": None, "hwm_at_ready_kib": None, "timed_out": False}
    ready = threading.Event()

    def reader():
        for line in p.stdout:
            logf.write(line)
            text = ANSI.sub("", line.decode(errors="replace"))
            if rx and not ready.is_set() and rx.search(text):
                res["ready_s"] = time.monotonic() - t_start
                res["hwm_at_ready_kib"] = vm_hwm_kib(tool_pid())
                res["cpu_at_ready_s"] = cpu_s(tool_pid())
                res["ready_line"] = text.strip()[:400]
                ready.set()
        logf.flush()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    hwm = 0
    term_at = None
    status = None
    while True:
        tp = tool_pid()
        h = vm_hwm_kib(tp) if tp else None
        if h:
            hwm = max(hwm, h)
        wpid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if wpid == p.pid:
            status, rusage = st, ru
            break
        now = time.monotonic()
        if term_at is None:
            if ready.is_set():
                term_at = now + a.linger
            elif now - t_start > a.timeout:
                res["timed_out"] = True
                term_at = now
        if term_at is not None and now >= term_at and "term_sent_s" not in res:
            res["term_sent_s"] = now - t_start
            os.kill(tool_pid() or p.pid, signal.SIGTERM)
        if "term_sent_s" in res and now - t_start - res["term_sent_s"] > 10 and "kill_sent" not in res:
            res["kill_sent"] = True
            os.kill(tool_pid() or p.pid, signal.SIGKILL)
        time.sleep(0.02)
    res["wall_s"] = time.monotonic() - t_start
    th.join(5)
    logf.close()
    res["exit"] = os.waitstatus_to_exitcode(status)
    res["hwm_sampled_kib"] = hwm
    try:
        with open(timef) as f:
            last = f.read().strip().splitlines()[-1].split()
        res["maxrss_kib"] = int(last[0])
    except (OSError, ValueError, IndexError):
        res["maxrss_kib"] = None
    res["user_s"] = rusage.ru_utime
    res["sys_s"] = rusage.ru_stime
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: res.get(k) for k in ("ready_s", "cpu_at_ready_s", "wall_s", "exit", "maxrss_kib", "user_s", "sys_s")}),
          file=sys.stderr)


# ---- stats -----------------------------------------------------------------------------------

def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    # nearest-rank percentile
    idx = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[idx]


def summarize(vals):
    v = sorted(vals)
    return {"n": len(v), "p50": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99), "max": v[-1] if v else float("nan"),
            "min": v[0] if v else float("nan"), "mean": sum(v) / len(v) if v else float("nan")}


def cmd_stats(a):
    groups = {}
    for fn in a.files:
        with open(fn) as f:
            for line in f:
                phase, _, tool, s = line.split()[:4]
                groups.setdefault(f"{phase}/{tool}", []).append(float(s))
    print(json.dumps({g: summarize(v) for g, v in sorted(groups.items())}, indent=1))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("namespaces"); p.add_argument("names", nargs="+"); p.set_defaults(fn=cmd_namespaces)
    p = sub.add_parser("services"); p.add_argument("--ns", required=True); p.add_argument("--count", type=int, required=True)
    p.add_argument("--zones", required=True); p.add_argument("--ip-base", default="10.1"); p.add_argument("--workers", type=int, default=12)
    p.set_defaults(fn=cmd_services)
    p = sub.add_parser("pods"); p.add_argument("--namespaces", required=True); p.add_argument("--count", type=int, required=True)
    p.add_argument("--workers", type=int, default=12); p.set_defaults(fn=cmd_pods)
    for name, fn in (("zone", cmd_zone), ("wait-zone", cmd_wait_zone), ("count", cmd_count)):
        p = sub.add_parser(name); p.add_argument("--api", required=True); p.add_argument("--key", required=True)
        p.add_argument("--zone", required=True); p.set_defaults(fn=fn)
        if name == "zone":
            p.add_argument("--recreate", action="store_true")
        if name == "wait-zone":
            p.add_argument("--count", type=int, required=True); p.add_argument("--ip-base", required=True)
            p.add_argument("--timeout", type=float, default=300)
    p = sub.add_parser("latency"); p.add_argument("--ns", required=True); p.add_argument("--exo-zone", required=True)
    p.add_argument("--up-zone", required=True); p.add_argument("--count", type=int, default=1000)
    p.add_argument("--up-sample", type=int, default=100); p.add_argument("--ip-a", default="10.2"); p.add_argument("--ip-b", default="10.3")
    p.add_argument("--poll-ms", type=float, default=5); p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--out", required=True); p.set_defaults(fn=cmd_latency)
    p = sub.add_parser("burst"); p.add_argument("--ns", required=True); p.add_argument("--count", type=int, default=500)
    p.add_argument("--zone", required=True); p.add_argument("--up-zone"); p.add_argument("--ip-base", default="10.4")
    p.add_argument("--api", required=True); p.add_argument("--key", required=True); p.add_argument("--pdns-log", required=True)
    p.add_argument("--parallel", type=int, default=100); p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--out", required=True); p.set_defaults(fn=cmd_burst)
    p = sub.add_parser("churn"); p.add_argument("--ns", required=True); p.add_argument("--zone", required=True)
    p.add_argument("--pid", type=int, required=True); p.add_argument("--minutes", type=int, default=30)
    p.add_argument("--per-minute", type=int, default=100); p.add_argument("--out", required=True); p.set_defaults(fn=cmd_churn)
    p = sub.add_parser("record"); p.add_argument("--port", type=int, required=True); p.add_argument("--upstream", required=True)
    p.add_argument("--dir", required=True); p.set_defaults(fn=cmd_record)
    p = sub.add_parser("replay"); p.add_argument("--api", required=True); p.add_argument("--key", required=True)
    p.add_argument("--dir", required=True); p.set_defaults(fn=cmd_replay)
    p = sub.add_parser("run"); p.add_argument("--out", required=True); p.add_argument("--log", required=True)
    p.add_argument("--ready-regex"); p.add_argument("--timeout", type=float, default=600); p.add_argument("--linger", type=float, default=1.0)
    p.add_argument("command", nargs=argparse.REMAINDER); p.set_defaults(fn=cmd_run)
    p = sub.add_parser("stats"); p.add_argument("files", nargs="+"); p.set_defaults(fn=cmd_stats)
    a = ap.parse_args()
    if getattr(a, "command", None) and a.command[0] == "--":
        a.command = a.command[1:]
    a.fn(a)


if __name__ == "__main__":
    main()
