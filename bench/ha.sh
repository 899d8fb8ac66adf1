#!/usr/bin/env bash
# A cluster of three replicas on one PostgreSQL, 30 tenants, the simulator. Two parts:
#
# Load (the PostgreSQL store's figures, per replica): HISTORY stored requests (1M) seeded
# for the tenants' mappings; each replica's start-up to /-/ready; with LOAD_MAPPINGS
# scheduled mappings per tenant (34: ~1,000 requests In Progress at once, one per mapping,
# as Adobe allows), each replica's observations per second (status calls answered) and the
# CPU that costs it, and PostgreSQL's, over WINDOW seconds; `report` over the history.
#
# Failover: one scheduled mapping per tenant; KILLS times, kill -9 a replica (each in turn)
# and measure, for each of its tenants, the time from the kill to another replica's
# /metrics saying acs_ingestion_tenant_owner 1 (polled every 50 ms); then restart it and wait
# until the tenants are spread again. Median and worst takeover, each replica's CPU and
# resident memory at the end. Results: bench/out/ha.md.
#
#   make bench-tools && bench/ha.sh
#   KILLS=20 LEASE_TTL=5 POLL=1 HISTORY=1000000 WINDOW=30 bench/ha.sh
#
# PostgreSQL 15 runs in a temporary cluster (tests/e2e/pg.py, fsync on), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export BIN=${BIN:-.build/release/acs-ingestion-exporter} STORE_BENCH=${STORE_BENCH:-.build-bench/release/acs-bench-store}
export KILLS=${KILLS:-20} LEASE_TTL=${LEASE_TTL:-5} POLL=${POLL:-1} TENANTS=${TENANTS:-30}
export HISTORY=${HISTORY:-1000000} LOAD_MAPPINGS=${LOAD_MAPPINGS:-34} WINDOW=${WINDOW:-30}
[ -x "$BIN" ] && [ -x "$STORE_BENCH" ] || { echo "run: make bench-tools (or set BIN and STORE_BENCH)" >&2; exit 1; }
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "PostgreSQL 15 is missing: apt-get install postgresql" >&2; exit 1; }
mkdir -p bench/out
exec python3 - <<'EOF'
import os, signal, statistics, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, "tests/e2e")
from pg import PostgresCluster  # noqa: E402

BIN, KILLS, TTL, POLL, N = os.environ["BIN"], int(os.environ["KILLS"]), float(os.environ["LEASE_TTL"]), float(os.environ["POLL"]), int(os.environ["TENANTS"])
HISTORY, LOAD_MAPPINGS, WINDOW = int(os.environ["HISTORY"]), int(os.environ["LOAD_MAPPINGS"]), float(os.environ["WINDOW"])
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


starts: list[float] = []


def start(letter: str, config: str) -> None:
    """Starts replica-<letter> and waits for /-/ready; its start-up time goes to `starts`."""
    name = f"replica-{letter}"
    ports[name] = free_port()
    log = open(f"{work}/{name}.log", "ab")
    began = time.monotonic()
    procs[name] = subprocess.Popen([BIN, "--config.file", config, "--web.listen-address", f"127.0.0.1:{ports[name]}",
                                    "--log.level", "warn"], stdout=log, stderr=log,
                                   env={**os.environ, "ACS_CLIENT_ID": f"bench-{letter}", "ACS_REPLICA_NAME": name})
    wait(f"{name} ready", lambda: get(f"http://127.0.0.1:{ports[name]}/-/ready") is not None, 120)
    starts.append(time.monotonic() - began)


def stop_all() -> None:
    for proc in procs.values():
        proc.kill()
        proc.wait()
    procs.clear()


def balanced() -> bool:
    share = -(-N // len(procs))
    views = {name: owned(name) for name in procs}
    return sum(len(v) for v in views.values()) == N and all(len(v) <= share for v in views.values())


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def server_cpu_seconds() -> float:
    """CPU of the PostgreSQL server: the postmaster and its children (backends, writers)."""
    postmaster = int(open(f"{pg.directory}/data/postmaster.pid").readline())
    total = cpu_seconds(postmaster)
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_seconds(int(entry))
        except OSError:
            pass
    return total


def sample(name: str, family: str, match: str = "") -> float:
    """The sum of a family's samples on a replica's /metrics (those whose labels contain `match`)."""
    body = get(f"http://127.0.0.1:{ports[name]}/metrics", timeout=5)
    if body is None:
        sys.exit(f"{name}'s /metrics did not answer: a figure would be wrong")
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(family + "{") and match in line)


def write_config(path: str, database: str, mappings: int, every: str) -> None:
    with open(path, "w") as f:
        f.write("tenants:\n" + "".join(
            f"  - {{name: {t}, api_url: '{sim}', ims_token_url: '{sim}/ims/token/v3', client_id: '${{ACS_CLIENT_ID}}', "
            f"client_secret: s, mappings: [{', '.join(f'{{id: XDM{m}, trigger_every: {every}}}' for m in range(1, mappings + 1))}]}}\n"
            for t in TENANTS))
        f.write(f"collector: {{poll_interval: {POLL}s, max_requests_per_second: 1000}}\n")
        f.write(f"storage: {{driver: postgres, url: '{pg.url(database)}', password_file: {work}/pw}}\n")
        f.write(f"cluster: {{enabled: true, replica_name: '${{ACS_REPLICA_NAME}}', lease_ttl: {TTL}s}}\n")


def run(command: list[str], env: dict | None = None) -> str:
    """What a command printed; its error output and the run's end when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"{command[0]} {command[1]} failed: {result.stderr.strip()}")
    return result.stdout


def median(values: list[float]) -> float:
    return statistics.median(values)


# SIGTERM and SIGINT (ignored in a background job otherwise) end the run through the cleanup below.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
pg = PostgresCluster(durable=True)
simulator = None
try:
    pg.start()
    sim_port = free_port()
    with open(f"{work}/scenario.yml", "w") as f:
        f.write("credentials:\n" + "".join(f"  - {{client_id: bench-{c}, client_secret: s}}\n" for c in "abc"))
        # Request ids far above the seeded history's; the load part's mappings stay In Progress 60-90 s.
        f.write("tenants:\n" + "".join(
            f"  - name: {t}\n    first_request_id: 100000000\n    mappings: [{{id: XDM1, duration: 2s..5s}}"
            + "".join(f", {{id: XDM{m}, duration: 60s..90s}}" for m in range(2, LOAD_MAPPINGS + 1)) + "]\n"
            for t in TENANTS))
    simulator = subprocess.Popen([BIN, "simulate", "--scenario", f"{work}/scenario.yml", "--web.listen-address",
                                  f"127.0.0.1:{sim_port}", "--log.level", "warn"])
    sim = f"http://127.0.0.1:{sim_port}"
    with open(f"{work}/pw", "w") as f:
        f.write(pg.password + "\n")

    # Load: the history, start-up, observations, report.
    load_db = pg.create_database()
    print(f"seeding {HISTORY} requests of {N * LOAD_MAPPINGS} mappings", flush=True)
    seeded = run([os.environ["STORE_BENCH"], "seed", "--postgres", pg.url(load_db), "--password-file", f"{work}/pw",
                  "--requests", str(HISTORY), "--mappings", str(N * LOAD_MAPPINGS), "--tenant-names", ",".join(TENANTS)]).split()
    seeded = dict(field.split("=") for field in seeded)
    pg.psql("VACUUM ANALYZE", database=load_db)
    write_config(f"{work}/load.yml", load_db, LOAD_MAPPINGS, "5s")
    for letter in "abc":
        start(letter, f"{work}/load.yml")
    load_starts = list(starts)
    wait("30 tenants spread over three replicas", balanced, 60)
    in_progress = lambda: sum(sample(name, "acs_ingestion_requests_in_progress") for name in procs)  # noqa: E731
    # One request at a time per mapping: all but XDM1 (2-5 s) are In Progress most of the time.
    expected_open = int(0.9 * N * (LOAD_MAPPINGS - 1))
    wait(f"{expected_open} requests in progress", lambda: in_progress() >= expected_open, 180)
    # An observation: a status call Adobe (the simulator) answered 200, recorded in the store.
    answered = 'operation="status",code="200"'
    before = {name: (sample(name, "acs_ingestion_api_requests_total", answered), cpu_seconds(procs[name].pid))
              for name in procs}
    server_before, began = server_cpu_seconds(), time.monotonic()
    open_counts = []
    while time.monotonic() - began < WINDOW:
        open_counts.append(in_progress())
        time.sleep(1)
    elapsed = time.monotonic() - began
    server_cpu = (server_cpu_seconds() - server_before) / elapsed
    load_rows = []
    for name in sorted(procs):
        polls = sample(name, "acs_ingestion_api_requests_total", answered) - before[name][0]
        cpu = (cpu_seconds(procs[name].pid) - before[name][1]) / elapsed
        load_rows.append(f"| {name} | {len(owned(name))} | {sample(name, 'acs_ingestion_requests_in_progress'):.0f} | "
                         f"{load_starts[sorted(procs).index(name)]:.2f} s | {polls / elapsed:.0f} | {cpu * 100:.0f} % | "
                         f"{resident_mib(procs[name].pid):.1f} MiB |")
    # The report: the command (query and table) while the cluster runs, then the store's query
    # alone (as bench/store.sh measures it) on the quiet database, median of 3.
    began = time.monotonic()
    lines = run([BIN, "report", "--config.file", f"{work}/load.yml", "--period", "day"],
                env={**os.environ, "ACS_CLIENT_ID": "bench-a", "ACS_REPLICA_NAME": "report"}).count("\n")
    report_command = time.monotonic() - began
    stop_all()
    reports = [float(dict(field.split("=") for field in run(
        [os.environ["STORE_BENCH"], "report", "--postgres", pg.url(load_db), "--password-file", f"{work}/pw", "--period", "day"]
    ).split())["report_seconds"]) for _ in range(3)]
    print("load part done", flush=True)

    # Failover.
    write_config(f"{work}/config.yml", pg.create_database(), 1, "10s")
    for letter in "abc":
        start(letter, f"{work}/config.yml")
    wait("30 tenants spread over three replicas", balanced, 60)
    starts.clear()  # from here, restarts after a kill

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
        start(victim.split("-")[1], f"{work}/config.yml")
        wait("spread again", balanced, 60)

    usage = [f"| {name} | {len(owned(name))} | {cpu_seconds(proc.pid):.1f} s | {resident_mib(proc.pid):.1f} MiB |"
             for name, proc in sorted(procs.items())]
    ordered = sorted(takeovers)
    result = "\n".join([
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores, {BIN}; 3 replicas, {N} tenants, "
        f"lease_ttl {TTL:g}s, poll_interval {POLL:g}s, one PostgreSQL 15 on loopback (fsync and synchronous_commit on).",
        "",
        f"Load: {int(seeded['seeded']):,} stored requests ({float(seeded['seconds']):.0f} s to seed), {N * LOAD_MAPPINGS} scheduled "
        f"mappings; over {WINDOW:g} s with {median(open_counts):.0f} requests In Progress (median), PostgreSQL used "
        f"{server_cpu * 100:.0f} % of a core:",
        "",
        "| replica | tenants | in progress | start-up to /-/ready | observations/s (status calls answered 200) | CPU (of a core) | resident memory |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *load_rows,
        "",
        f"The day report over the {HISTORY:,} requests ({lines:,} lines; it reads the shared database, the same from any "
        f"replica): `report --period day` {report_command:.1f} s while the cluster ran; the store's query alone "
        f"{median(reports):.2f} s (median of 3) once it stopped.",
        "",
        f"Failover, {KILLS} kill -9 of a replica (each in turn), one mapping per tenant:",
        "",
        "| tenants taken over | median | p90 | worst | bound (lease_ttl + poll_interval) | restarts to /-/ready after a kill, median / worst |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {len(ordered)} | {median(ordered):.2f} s | {ordered[int(len(ordered) * 0.9) - 1]:.2f} s | "
        f"{ordered[-1]:.2f} s | {TTL + POLL:g} s | {median(starts):.2f} s / {max(starts):.2f} s |",
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
