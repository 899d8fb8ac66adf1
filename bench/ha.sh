#!/usr/bin/env bash
# Failover of a cluster: three replicas on one PostgreSQL, 30 tenants (one scheduled mapping
# each), the simulator; KILLS times, kill -9 a replica (each in turn) and measure,
# for each of its tenants, the time from the kill to another replica's /metrics saying
# acs_ingestion_tenant_owner 1 (polled every 50 ms); then restart it and wait until the
# tenants are spread again. Prints the median and worst takeover, and each replica's CPU
# and resident memory at the end. Results: bench/out/ha.md.
#
#   swift build && bench/ha.sh
#   KILLS=20 LEASE_TTL=5 POLL=1 BIN=.build/release/acs-ingestion-exporter bench/ha.sh
#
# PostgreSQL 15 runs in a temporary cluster (tests/e2e/pg.py), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export BIN=${BIN:-.build/debug/acs-ingestion-exporter}
export KILLS=${KILLS:-20} LEASE_TTL=${LEASE_TTL:-5} POLL=${POLL:-1} TENANTS=${TENANTS:-30}
[ -x "$BIN" ] || { echo "run: swift build (or set BIN)" >&2; exit 1; }
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "PostgreSQL 15 is missing: apt-get install postgresql" >&2; exit 1; }
mkdir -p bench/out
exec python3 - <<'EOF'
import os, signal, statistics, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, "tests/e2e")
from pg import PostgresCluster  # noqa: E402

BIN, KILLS, TTL, POLL, N = os.environ["BIN"], int(os.environ["KILLS"]), float(os.environ["LEASE_TTL"]), float(os.environ["POLL"]), int(os.environ["TENANTS"])
TENANTS = [f"bench-t{i:02d}" for i in range(1, N + 1)]
work = tempfile.mkdtemp(prefix="acs-bench-ha-")
procs: dict[str, subprocess.Popen] = {}
ports: dict[str, int] = {}


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 1) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except OSError:
        return None


def owned(name: str) -> set[str]:
    body = get(f"http://127.0.0.1:{ports[name]}/metrics") or ""
    return {t for t in TENANTS if f'acs_ingestion_tenant_owner{{tenant="{t}"}} 1' in body}


def wait(what: str, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def start(letter: str) -> None:
    name = f"replica-{letter}"
    ports[name] = free_port()
    log = open(f"{work}/{name}.log", "ab")
    procs[name] = subprocess.Popen([BIN, "--config.file", f"{work}/config.yml", "--web.listen-address", f"127.0.0.1:{ports[name]}",
                                    "--log.level", "warn"], stdout=log, stderr=log,
                                   env={**os.environ, "ACS_CLIENT_ID": f"bench-{letter}", "ACS_REPLICA_NAME": name})
    wait(f"{name} ready", lambda: get(f"http://127.0.0.1:{ports[name]}/-/ready") is not None, 30)


def balanced() -> bool:
    share = -(-N // len(procs))
    views = {name: owned(name) for name in procs}
    return sum(len(v) for v in views.values()) == N and all(len(v) <= share for v in views.values())


# SIGTERM and SIGINT (ignored in a background job otherwise) end the run through the cleanup below.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
pg = PostgresCluster()
simulator = None
try:
    pg.start()
    database = pg.create_database()
    sim_port = free_port()
    with open(f"{work}/scenario.yml", "w") as f:
        f.write("credentials:\n" + "".join(f"  - {{client_id: bench-{c}, client_secret: s}}\n" for c in "abc"))
        f.write("tenants:\n" + "".join(f"  - name: {t}\n    mappings: [{{id: XDM1, duration: 2s..5s}}]\n" for t in TENANTS))
    simulator = subprocess.Popen([BIN, "simulate", "--scenario", f"{work}/scenario.yml", "--web.listen-address",
                                  f"127.0.0.1:{sim_port}", "--log.level", "warn"])
    sim = f"http://127.0.0.1:{sim_port}"
    with open(f"{work}/pw", "w") as f:
        f.write(pg.password + "\n")
    with open(f"{work}/config.yml", "w") as f:
        f.write("tenants:\n" + "".join(
            f"  - {{name: {t}, api_url: '{sim}', ims_token_url: '{sim}/ims/token/v3', client_id: '${{ACS_CLIENT_ID}}', "
            f"client_secret: s, mappings: [{{id: XDM1, trigger_every: 10s}}]}}\n" for t in TENANTS))
        f.write(f"collector: {{poll_interval: {POLL}s, max_requests_per_second: 1000}}\n")
        f.write(f"storage: {{driver: postgres, url: '{pg.url(database)}', password_file: {work}/pw}}\n")
        f.write(f"cluster: {{enabled: true, replica_name: '${{ACS_REPLICA_NAME}}', lease_ttl: {TTL}s}}\n")
    for letter in "abc":
        start(letter)
    wait("30 tenants spread over three replicas", balanced, 60)

    takeovers: list[float] = []
    for kill in range(KILLS):
        views = {name: owned(name) for name in procs}
        victim = sorted(procs)[kill % len(procs)]
        lost = views[victim]
        procs[victim].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        procs[victim].wait()
        others = [n for n in procs if n != victim]
        taken: dict[str, float] = {}
        while len(taken) < len(lost):
            if time.monotonic() - killed > TTL + POLL + 30:
                sys.exit(f"kill {kill + 1}: {sorted(set(lost) - set(taken))} not taken over")
            for name in others:
                for tenant in owned(name) & lost:
                    taken.setdefault(tenant, time.monotonic() - killed)
            time.sleep(0.05)
        takeovers += taken.values()
        print(f"kill {kill + 1:2d}: {victim} ({len(lost)} tenants) taken over in {min(taken.values()):.2f}–{max(taken.values()):.2f} s",
              flush=True)
        start(victim.split("-")[1])
        wait("spread again", balanced, 60)

    usage = []
    for name, proc in procs.items():
        with open(f"/proc/{proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        with open(f"/proc/{proc.pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
        usage.append(f"| {name} | {len(owned(name))} | {cpu:.1f} s | {rss:.1f} MiB |")
    ordered = sorted(takeovers)
    result = "\n".join([
        f"Failover, {KILLS} kill -9 of a replica (each in turn); 3 replicas, {N} tenants, "
        f"lease_ttl {TTL:g}s, poll_interval {POLL:g}s, {BIN}:",
        "",
        "| tenants taken over | median | p90 | worst | bound (lease_ttl + poll_interval) |",
        "| ---: | ---: | ---: | ---: | ---: |",
        f"| {len(ordered)} | {statistics.median(ordered):.2f} s | {ordered[int(len(ordered) * 0.9) - 1]:.2f} s | "
        f"{ordered[-1]:.2f} s | {TTL + POLL:g} s |",
        "",
        "| replica (at the end) | tenants | CPU since its start | resident memory |",
        "| --- | ---: | ---: | ---: |",
        *usage, ""])
    print("\n" + result)
    with open("bench/out/ha.md", "w") as f:
        f.write(result)
finally:
    for proc in procs.values():
        proc.kill()
    if simulator:
        simulator.kill()
    pg.destroy()
    subprocess.run(["rm", "-rf", work])
EOF
