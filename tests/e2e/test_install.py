"""`make install` into a temporary DESTDIR, then each installed piece used the way its
consumer uses it:

  * the tree: every file at its documented path, nothing else (the listing is printed);
  * both service units and the socket unit pass `systemd-analyze verify` (Debian 12's
    systemd 252), the two service units differ only where they must, and the hardening
    keeps its `systemd-analyze security` rating;
  * `man -l` renders the man page without a warning;
  * bash, zsh and fish load their completion scripts and complete a flag;
  * socket activation: started by `systemd-socket-activate -l 127.0.0.1:PORT`, the
    installed exporter answers /-/ready and /metrics on that socket;
  * `--version` and `acs_ingestion_exporter_build_info` carry `git rev-parse HEAD`;
  * a second install keeps an edited configuration, and `make uninstall` removes the rest.

Needs make, systemd (systemd-analyze, systemd-socket-activate), man-db, zsh and fish, all
in the Makefile's TEST_PACKAGES. `make install` builds through `make build`, which is a
no-op after `make test`'s build.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import HOST, free_port, http_get, wait_until

REPO = Path(__file__).resolve().parents[2]
NAME = "acs-ingestion-exporter"
UNITS = (f"{NAME}.service", f"{NAME}-socket.service", f"{NAME}.socket")

# The layout docs/install.md documents, under PREFIX=/usr/local (and /etc for the config).
EXPECTED_FILES = {
    f"usr/local/bin/{NAME}",
    f"usr/local/share/man/man1/{NAME}.1",
    f"usr/local/share/bash-completion/completions/{NAME}",
    f"usr/local/share/zsh/site-functions/_{NAME}",
    f"usr/local/share/fish/vendor_completions.d/{NAME}.fish",
    f"usr/local/share/{NAME}/examples/{NAME}.yml",
    *(f"usr/local/lib/systemd/system/{unit}" for unit in UNITS),
    f"etc/{NAME}/{NAME}.yml",
    *(f"usr/local/share/{NAME}/dashboards/{p.name}" for p in (REPO / "dashboards").iterdir()),
    *(f"usr/local/share/{NAME}/{p.relative_to(REPO)}" for p in (REPO / "alerts").rglob("*") if p.is_file()),
}


def run(*command: str, env: dict | None = None, timeout: float = 600, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def make(*arguments: str) -> subprocess.CompletedProcess:
    result = run("make", "--no-print-directory", *arguments)
    assert result.returncode == 0, f"make {' '.join(arguments)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: make test installs it (TEST_PACKAGES in the Makefile)")
    return path


@pytest.fixture(scope="module")
def destdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("destdir")
    make("install", f"DESTDIR={root}")
    return root


@pytest.fixture(scope="module")
def installed_binary(destdir) -> Path:
    return destdir / f"usr/local/bin/{NAME}"


# --------------------------------------------------------------------------
# the tree
# --------------------------------------------------------------------------

def test_install_lays_out_the_documented_tree(destdir):
    found = tree(destdir)
    print(f"\nmake install DESTDIR={destdir}:\n  " + "\n  ".join(sorted(found)))
    assert found == EXPECTED_FILES, (
        f"missing: {sorted(EXPECTED_FILES - found)}; unexpected: {sorted(found - EXPECTED_FILES)}")
    assert os.access(destdir / f"usr/local/bin/{NAME}", os.X_OK)
    for unit in UNITS:
        assert (destdir / f"usr/local/lib/systemd/system/{unit}").stat().st_mode & 0o777 == 0o644


def test_a_second_install_keeps_the_configuration_and_uninstall_removes_the_rest(tmp_path):
    # PREFIX other than /usr/local: the units must name the binary where it went.
    make("install", f"DESTDIR={tmp_path}", "PREFIX=/opt/acs")
    unit = (tmp_path / f"opt/acs/lib/systemd/system/{NAME}.service").read_text()
    assert f"ExecStart=/opt/acs/bin/{NAME} " in unit and "/usr/local" not in unit

    config = tmp_path / f"etc/{NAME}/{NAME}.yml"
    config.write_text("# edited\n")
    make("install", f"DESTDIR={tmp_path}", "PREFIX=/opt/acs")
    assert config.read_text() == "# edited\n"

    make("uninstall", f"DESTDIR={tmp_path}", "PREFIX=/opt/acs")
    assert tree(tmp_path) == {f"etc/{NAME}/{NAME}.yml"}


# --------------------------------------------------------------------------
# systemd units
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def units_naming_the_staged_binary(destdir, tmp_path_factory) -> Path:
    """Copies of the installed units whose ExecStart= names the binary under DESTDIR.

    `systemd-analyze verify` checks that ExecStart='s binary exists on this machine, and the
    staged one is under DESTDIR. `--root=DESTDIR` does not help on systemd 252: it then wants
    the whole unit tree (sysinit.target…) under that root. Only the binary's path is rewritten;
    every other line is verified as installed.
    """
    copies = tmp_path_factory.mktemp("units")
    for unit in UNITS:
        text = (destdir / f"usr/local/lib/systemd/system/{unit}").read_text()
        (copies / unit).write_text(text.replace(f"/usr/local/bin/{NAME}", str(destdir / f"usr/local/bin/{NAME}")))
    return copies


def test_systemd_analyze_verify_passes_on_every_unit(destdir, units_naming_the_staged_binary):
    need("systemd-analyze")
    # MANPATH: verify also checks that Documentation=man:acs-ingestion-exporter(1) resolves.
    env = dict(os.environ, MANPATH=str(destdir / "usr/local/share/man"))
    result = run("systemd-analyze", "verify", *UNITS, env=env, cwd=units_naming_the_staged_binary)
    # verify exits 0 on an unknown key, but says so: any output is a finding.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_the_service_units_differ_only_in_how_they_listen():
    def body(unit: str) -> list[str]:
        lines = (REPO / "packaging/systemd" / unit).read_text().splitlines()
        return [line for line in lines[lines.index("[Unit]"):] if not line.startswith("#")]

    plain, activated = body(f"{NAME}.service"), body(f"{NAME}-socket.service")
    only_plain = [line for line in plain if line not in activated]
    only_activated = [line for line in activated if line not in plain]
    assert only_plain == [
        "Description=Prometheus exporter for Adobe Campaign Standard data ingestion",
        f"Conflicts={NAME}.socket {NAME}-socket.service",
        "    --web.listen-address=:10193",
        "[Install]",
        "WantedBy=multi-user.target",
    ], only_plain
    assert only_activated == [
        "Description=Prometheus exporter for Adobe Campaign Standard data ingestion (socket-activated)",
        f"Requires={NAME}.socket",
        f"After={NAME}.socket",
        f"Conflicts={NAME}.service",
        "    --web.systemd-socket",
    ], only_activated
    socket_unit = (REPO / "packaging/systemd" / f"{NAME}.socket").read_text()
    assert "ListenStream=10193" in socket_unit and f"Service={NAME}-socket.service" in socket_unit


@pytest.mark.parametrize("unit", UNITS[:2])
def test_the_hardening_keeps_its_rating(units_naming_the_staged_binary, unit):
    need("systemd-analyze")
    result = run("systemd-analyze", "security", "--offline=yes", "--no-pager", unit, cwd=units_naming_the_staged_binary)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 1.5, f"{unit} exposure {found.group(1)} (was 1.2):\n{result.stdout}"


# --------------------------------------------------------------------------
# man page and completions
# --------------------------------------------------------------------------

def test_man_renders_the_page(destdir):
    need("man")
    env = dict(os.environ, MANPAGER="cat", MANWIDTH="100")
    result = run("man", "-l", str(destdir / f"usr/local/share/man/man1/{NAME}.1"), env=env)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert "NAME" in result.stdout and f"{NAME} —" in result.stdout
    assert "--web.systemd-socket" in result.stdout and "check-config" in result.stdout


def test_bash_loads_its_completion_and_completes_a_flag(destdir):
    script = destdir / f"usr/local/share/bash-completion/completions/{NAME}"
    line = f"{NAME} serve --web.s"
    result = run("bash", "--norc", "--noprofile", "-c", f"""
        source '{script}' || exit 1
        complete -p {NAME} || exit 1
        COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({line}); COMP_CWORD=2
        _{NAME} {NAME} --web.s serve
        printf 'reply:%s\\n' "${{COMPREPLY[@]}}"
    """)
    assert result.returncode == 0, result.stderr
    assert f"-F _{NAME} {NAME}" in result.stdout
    assert "reply:--web.systemd-socket" in result.stdout.splitlines(), result.stdout


def test_zsh_loads_its_completion(destdir):
    need("zsh")
    functions = destdir / "usr/local/share/zsh/site-functions"
    # compinit registers the #compdef line; autoload +X parses the whole function.
    result = run("zsh", "-f", "-c", f"""
        fpath=('{functions}' $fpath)
        autoload -Uz compinit && compinit -u -D
        [[ ${{_comps[{NAME}]}} == _{NAME} ]] || {{ print "not registered"; exit 1 }}
        autoload -Uz +X _{NAME}
    """)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fish_loads_its_completion_and_completes_a_flag(destdir):
    need("fish")
    script = destdir / f"usr/local/share/fish/vendor_completions.d/{NAME}.fish"
    assert run("fish", "--no-config", "-n", str(script)).returncode == 0
    result = run("fish", "--no-config", "-c", f"source '{script}'; complete -C '{NAME} serve --web.s'")
    assert result.returncode == 0, result.stderr
    assert any(line.split("\t")[0] == "--web.systemd-socket" for line in result.stdout.splitlines()), result.stdout


# --------------------------------------------------------------------------
# socket activation and the build stamp
# --------------------------------------------------------------------------

def wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    """Polls `url` until it answers 200; fails at once, with the log, if the process exits."""
    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log.read_text()}")
        return http_get(url, 5)[0] == 200
    wait_until(url, ready, timeout=30)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def git_head() -> str:
    result = run("git", "rev-parse", "HEAD")
    if result.returncode != 0:
        pytest.skip("not a git checkout: the build stamp says so instead (BuildInfo.missingRevisionReason)")
    return result.stdout.strip()


@pytest.fixture(scope="module")
def socket_activated(installed_binary, tmp_path_factory):
    """The installed exporter in demo mode, started by systemd-socket-activate on a free port."""
    need("systemd-socket-activate")
    tmp = tmp_path_factory.mktemp("socket-activation")
    port = free_port()
    log = tmp / "exporter.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"{HOST}:{port}",
             str(installed_binary), "--web.systemd-socket", "--demo", "--storage.path", str(tmp / "demo.sqlite"),
             "--log.level", "warn"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The first connection makes systemd-socket-activate exec the exporter, which
        # then accepts it from the socket it inherited.
        wait_ready(f"http://{HOST}:{port}/-/ready", process, log)
        yield port, process, log
    finally:
        stop(process)


def test_socket_activated_exporter_answers_on_the_passed_socket(socket_activated):
    port, process, log = socket_activated
    status, body = http_get(f"http://{HOST}:{port}/metrics", 5)
    assert status == 200 and "acs_ingestion_up{" in body
    assert process.poll() is None, log.read_text()


def test_systemd_socket_flag_refuses_a_start_without_systemd(installed_binary, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    result = run(str(installed_binary), "--web.systemd-socket", "--demo", "--storage.path", str(tmp_path / "d.sqlite"),
                 env=env, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{NAME}: error: --web.systemd-socket: LISTEN_PID is not set: start the exporter from its .socket unit "
        "or systemd-socket-activate, or use --web.listen-address"]
    result = run(str(installed_binary), "--web.systemd-socket", "--web.listen-address", f"{HOST}:0", "--demo", timeout=30)
    assert result.returncode == 1 and "mutually exclusive" in result.stderr and len(result.stderr.splitlines()) == 1


def test_version_prints_the_commit_like_prometheus(installed_binary):
    head = git_head()
    result = run(str(installed_binary), "--version", timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    branch = run("git", "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    assert re.fullmatch(rf"{NAME}, version \d+\.\d+\.\d+\S* \(branch: {re.escape(branch)}, revision: {head}\)", lines[0]), lines
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "build user", "build date", "swift version", "platform"], lines
    assert re.fullmatch(r"  build date:\s+\d{8}-\d{2}:\d{2}:\d{2}", lines[2]), lines
    assert re.fullmatch(r"  swift version:\s+\d+\.\d+(\.\d+)?", lines[3]), lines


def test_build_info_carries_the_commit(socket_activated):
    head = git_head()
    port, _, _ = socket_activated
    _, body = http_get(f"http://{HOST}:{port}/metrics", 5)
    series = [line for line in body.splitlines() if line.startswith("acs_ingestion_exporter_build_info{")]
    assert len(series) == 1, series
    labels = dict(re.findall(r'(\w+)="([^"]*)"', series[0]))
    assert set(labels) == {"version", "revision", "branch", "swift_version"}, labels
    assert labels["revision"] == head and series[0].endswith("} 1"), series


def test_a_build_outside_git_exports_no_revision(tmp_path):
    """The Makefile's side of "a build outside git says so": in an exported tree (no .git)
    the stamp variables are exported empty, which Package.swift turns into "stamped by make,
    no revision" and --version into `revision unknown: not built from a git checkout`.
    (`make -np` evaluates the variables without building.)"""
    git_head()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive, check=True)
    variables = {}
    for tree_root in (tmp_path, REPO):
        database = run("make", "-np", "build", cwd=tree_root, timeout=60).stdout
        variables[tree_root] = dict(re.findall(r"^(ACS_BUILD_[A-Z]+) := ?(.*)$", database, re.M))
    assert variables[tmp_path] == {"ACS_BUILD_REVISION": "", "ACS_BUILD_BRANCH": "", "ACS_BUILD_DATE": "",
                                   "ACS_BUILD_USER": variables[REPO]["ACS_BUILD_USER"]}, variables[tmp_path]
    assert variables[REPO]["ACS_BUILD_REVISION"] == git_head()
    assert re.fullmatch(r"\d{8}-\d{2}:\d{2}:\d{2}", variables[REPO]["ACS_BUILD_DATE"])
