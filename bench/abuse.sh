#!/usr/bin/env bash
# Hostile and heavy clients against a running exporter (or any server), on
# loopback only: oversize and malformed requests, slow half-open connections
# while a normal scraper goes on, slow and idle connections from several
# addresses reopened as soon as they are closed (the connection caps' fairness),
# 256 concurrent scrapers, throughput at 4, 128 and 256 connections, and the cost
# of basic auth. Figures in docs/benchmarks.md.
#
#   bench/abuse.sh URL [--pid PID] [--user USER:PASSWORD] [--cacert FILE] [--plain-url URL]
#                      [--slow N] [--duration SECONDS] [--slow-source ADDRESS] [--skip SECTION,...]
#
#   URL           the scrape URL, http:// or https:// on 127.0.0.1 (e.g. http://127.0.0.1:10193/metrics)
#   --pid         the server's process: open descriptors and resident memory are sampled
#   --user        basic-auth credentials sent with every request
#   --cacert      the CA that signed the server's certificate (https)
#   --plain-url   the same body served without basic auth, to compare the cost of authentication
#   --slow        slow connections to open (default 1000), from --slow-source (default 127.0.0.2, so the
#                 per-address cap applies to them and not to the scraper on 127.0.0.1)
#   --duration    how long the slow connections and the scraper run, in each scenario (default 30 s)
#   --skip        any of: malformed,slow,fairness,concurrent,throughput,auth
# Needs curl, python3 and wrk (Debian packages); every loop is bounded in count and time.
set -euo pipefail

url=""; pid=""; user=""; cacert=""; plain_url=""; slow=1000; duration=30; slow_source=127.0.0.2; skip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --pid) pid=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --cacert) cacert=$2; shift 2 ;;
    --plain-url) plain_url=$2; shift 2 ;;
    --slow) slow=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --slow-source) slow_source=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) url=$1; shift ;;
  esac
done
[ -n "$url" ] || { echo "usage: bench/abuse.sh URL [options] (--help)" >&2; exit 2; }
case "$url" in http://127.*|https://127.*|http://localhost*|https://localhost*) ;; *) echo "loopback URLs only" >&2; exit 2 ;; esac
ulimit -n 8192 2>/dev/null || true

curl_args=(-s -o /dev/null --max-time 10)
[ -n "$user" ] && curl_args+=(-u "$user")
[ -n "$cacert" ] && curl_args+=(--cacert "$cacert")
auth_header=()
[ -n "$user" ] && auth_header=(-H "Authorization: Basic $(printf '%s' "$user" | base64 -w0)")
skipped() { [[ ",$skip," == *",$1,"* ]]; }
fds() { [ -n "$pid" ] && ls "/proc/$pid/fd" 2>/dev/null | wc -l || echo "-"; }
rss_kib() { [ -n "$pid" ] && awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "-"; }
section() { printf '\n== %s\n' "$1"; }

echo "target $url  pid ${pid:--}  fds $(fds)  rss_kib $(rss_kib)"

if ! skipped malformed; then
  section "oversize and malformed requests: expected status, got status"
  python3 - "$url" "$cacert" "$user" <<'PY'
import base64, socket, ssl, sys, urllib.parse
url, cacert, user = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlsplit(url)
auth = f"Authorization: Basic {base64.b64encode(user.encode()).decode()}\r\n" if user else ""
def ask(raw, read_all=False):
    s = socket.create_connection((u.hostname, u.port or (443 if u.scheme == "https" else 80)), timeout=10)
    if u.scheme == "https":
        context = ssl.create_default_context(cafile=cacert or None)
        s = context.wrap_socket(s, server_hostname=u.hostname)
    try:
        s.sendall(raw)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        return line.split(" ")[1] if line.startswith("HTTP/") else ("closed" if not data else line[:40])
    except (ConnectionError, socket.timeout) as error:
        return type(error).__name__
    finally:
        s.close()
path = u.path or "/"
cases = [
    ("414", "request target of 100 KB", f"GET /{'a' * 100_000} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()),
    ("414", "request target of 9 KB", f"GET /{'a' * 9_000} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()),
    ("414", "query of 600 parameters (4 KB)", f"GET {path}?{'&'.join(f'a{i}=b' for i in range(600))} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()),
    ("431", "40 headers of 2 KB", (f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}" + "".join(f"X-F{i}: {'f' * 2000}\r\n" for i in range(40)) + "\r\n").encode()),
    ("431", "101 header fields", (f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}" + "".join(f"X-F{i}: f\r\n" for i in range(101)) + "\r\n").encode()),
    ("413", "Content-Length 10 MB, no body sent", f"POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 10000000\r\n\r\n".encode()),
    ("413", "chunked body of 200 KB", f"POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\n".encode() + b"".join(b"1000\r\n" + b"x" * 4096 + b"\r\n" for _ in range(50)) + b"0\r\n\r\n"),
    ("400", "NUL in a path segment", f"GET /api/v1/requests/t/m/3520%00 HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()),
    ("400", "invalid Content-Length", f"POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: -5\r\n\r\n".encode()),
    ("400", "garbage request line", b"\x16\x03\x01 nonsense\r\n\r\n"),
    ("400", "HTTP/1.1 without Host", f"GET {path} HTTP/1.1\r\n{auth}\r\n".encode()),
]
for expected, name, raw in cases:
    got = ask(raw)
    print(f"  {expected:>4} {got:>8}  {'ok ' if got == expected else 'DIFF'} {name}")
PY
  echo "after: fds $(fds)  rss_kib $(rss_kib)"
fi

# Slow clients (python, in the background) for $2 seconds: $1 connections from the
# comma-separated addresses $3, each sending a request line and a header, then one
# more header byte every 10-20 s ($4 = trickle) or nothing at all ($4 = idle); with
# $5 = reopen, one closed by the server is opened again within 0.2 s. Prints a summary
# line when done.
slow_clients() {
  python3 - "$url" "$1" "$2" "$3" "$4" "$5" <<'PY'
import random, socket, sys, time, urllib.parse
url, count, duration, sources, mode, reopen = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(","), sys.argv[5], sys.argv[6] == "reopen"
u = urllib.parse.urlsplit(url)
port = u.port or (443 if u.scheme == "https" else 80)
refused = reopened = 0
def connect(index):
    global refused
    s = socket.socket()
    try:
        s.bind((sources[index % len(sources)], 0))
        s.settimeout(2)
        s.connect((u.hostname, port))
        s.setblocking(False)
        if mode == "trickle":
            try: s.send(b"GET / HTTP/1.1\r\nHost: x\r\n")   # a head that never completes
            except OSError: pass
        return [s, time.monotonic() + random.uniform(10, 20)]
    except OSError:
        s.close(); refused += 1
        return [None, 0]
deadline = time.monotonic() + duration
slots = [connect(i) for i in range(count)]
while time.monotonic() < deadline:
    now = time.monotonic()
    for index, entry in enumerate(slots):
        if entry[0] is not None:
            try:
                if entry[0].recv(1) == b"":                  # closed by the server
                    entry[0].close(); entry[0] = None; reopened += reopen
            except BlockingIOError:
                pass
            except OSError:
                entry[0].close(); entry[0] = None; reopened += reopen
        if entry[0] is not None and mode == "trickle" and now >= entry[1]:
            try:
                entry[0].send(b"X")                          # one header byte every 10-20 s
                entry[1] = now + random.uniform(10, 20)
            except OSError:
                entry[0].close(); entry[0] = None
        if entry[0] is None and reopen:
            slots[index] = connect(index)
    time.sleep(0.2)
alive = sum(1 for entry in slots if entry[0] is not None)
for entry in slots:
    if entry[0] is not None: entry[0].close()
print(f"slow connections: {count} from {len(sources)} address(es), refused at connect {refused}, "
      f"reopened {reopened}, open at the end {alive}")
PY
}

# One scrape a second from 127.0.0.1 for $1 seconds; prints how many were answered
# 200, their median and slowest time, and the server's most descriptors and memory.
scrape_each_second() {
  local end=$((SECONDS + $1)) scrapes=0 failed=0 over=0 max_fds=0 max_rss=0 out code ms f r times=()
  while [ $SECONDS -lt $end ]; do
    out=$(curl "${curl_args[@]}" --interface 127.0.0.1 -w '%{http_code} %{time_total}' "$url" || true)
    code=${out%% *}
    ms=$(awk -v s="${out##* }" 'BEGIN { printf "%d", s * 1000 }')
    scrapes=$((scrapes + 1))
    if [ "$code" = 200 ]; then times+=("$ms"); [ "$ms" -gt 100 ] && over=$((over + 1)); else failed=$((failed + 1)); fi
    f=$(fds); r=$(rss_kib)
    [ "$f" != "-" ] && [ "$f" -gt "$max_fds" ] && max_fds=$f
    [ "$r" != "-" ] && [ "$r" -gt "$max_rss" ] && max_rss=$r
    sleep 1
  done
  local sorted=($(printf '%s\n' "${times[@]:-}" | sort -n))
  echo "scrapes $scrapes, answered 200: $((scrapes - failed)), median ${sorted[$(( ${#sorted[@]} / 2 ))]:--} ms," \
       "slowest ${sorted[-1]:--} ms, answered after 100 ms: $over; max fds $max_fds, max rss_kib $max_rss"
}

if ! skipped slow; then
  section "$slow slow half-open connections from $slow_source for ${duration}s, one scrape per second from 127.0.0.1"
  slow_clients "$slow" "$duration" "$slow_source" trickle once > /tmp/abuse-slow.$$ 2>&1 &
  slow_pid=$!
  scrape_each_second "$duration"
  wait "$slow_pid" || true
  cat /tmp/abuse-slow.$$; rm -f /tmp/abuse-slow.$$
fi

if ! skipped fairness; then
  # More slow connections than the server's cap (512), from several addresses, reopened
  # as soon as they are closed: a scraper from another address must still get in.
  for scenario in "1000 3 trickle" "1000 16 trickle" "600 3 idle"; do
    read -r count addresses mode <<<"$scenario"
    sources=$(seq -s, -f '127.0.0.%g' 2 $((addresses + 1)))
    section "$count $mode connections from $addresses addresses, reopened when closed, for ${duration}s; one scrape per second from 127.0.0.1"
    slow_clients "$count" "$duration" "$sources" "$mode" reopen > /tmp/abuse-fair.$$ 2>&1 &
    fair_pid=$!
    scrape_each_second "$duration"
    wait "$fair_pid" || true
    cat /tmp/abuse-fair.$$; rm -f /tmp/abuse-fair.$$
  done
fi

if ! skipped concurrent; then
  section "256 concurrent scrapers, 4 rounds (000 = no answer within 10 s)"
  for _ in 1 2 3 4; do
    seq 256 | xargs -P 256 -I{} curl "${curl_args[@]}" -w '%{http_code}\n' "$url" || true
  done | sort | uniq -c | awk '{ printf "  %6d x %s\n", $1, $2 }'
  echo "after: fds $(fds)  rss_kib $(rss_kib)"
fi

if ! skipped throughput && command -v wrk >/dev/null; then
  section "throughput (wrk -t1 -d8s --latency; keep-alive)"
  printf '  %-12s %12s %10s %10s %12s\n' connections req/s p50 p99 non-2xx
  for c in 4 128 256; do
    out=$(wrk -t1 -c"$c" -d8s --timeout 5s --latency "${auth_header[@]}" "$url" 2>&1)
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out"); p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); timeouts=$(grep -o 'timeout [0-9]*' <<<"$out" || true)
    printf '  %-12s %12s %10s %10s %12s %s\n' "$c" "$rps" "$p50" "$p99" "${non2xx:-0}" "$timeouts"
  done
fi

if ! skipped auth && [ -n "$user" ] && [ -n "$plain_url" ]; then
  section "1000 scrapes on one keep-alive connection, with and without basic auth"
  list=$(mktemp)
  for url_under_test in "$plain_url" "$url"; do
    : > "$list"
    for _ in $(seq 1000); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url_under_test" >> "$list"; done
    extra=(); [ "$url_under_test" = "$url" ] && extra=(-u "$user")
    [ -n "$cacert" ] && extra+=(--cacert "$cacert")
    start=$(date +%s.%N)
    curl -s "${extra[@]}" -K "$list"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" -v u="$url_under_test" 'BEGIN { printf "  %-50s %.3f s\n", u, b - a }'
  done
  rm -f "$list"
fi
