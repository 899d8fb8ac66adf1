import Foundation
import IngestionModel
import Synchronization

/// A throwaway PostgreSQL 15 cluster for tests: `initdb` in a temporary directory,
/// started on a free loopback port, with TLS on (a server certificate for
/// `localhost` and 127.0.0.1 signed by a CA made for the run), a login role with
/// a password, and a fresh database per test.
///
/// The server refuses to run as root, and CI runs as root: then every server
/// command runs as Debian's `postgres` user (`runuser`), which owns the directory.
///
/// Every command runs on a thread of its own (`offPool`), never on Swift's
/// cooperative pool: `initdb` takes seconds, and a pool thread blocked meanwhile
/// stalls every other test of the process (their servers' handlers run there).
///
/// Stopping: `stop()`/`destroy()` for a cluster a test starts itself (do it in a
/// `defer`-like path: `withPostgresServer`). Behind that, a watchdog process
/// started with each cluster waits for the test process to end (the end of a pipe
/// only this process holds) and then stops the cluster and removes its directory,
/// so that not even a crash leaves a server behind.
public final class PostgresServer: Sendable {
    public static let binDirectory = "/usr/lib/postgresql/15/bin"
    public let host = "127.0.0.1"
    public let port: Int
    public let user = "acs_test"
    public let password: String
    /// The CA that signed the server's certificate (PEM), for `sslrootcert`.
    public let caCertificate: String
    /// A CA that signed nothing this server has: a wrong `sslrootcert`.
    public let otherCACertificate: String
    public let directory: String
    private let watchdogLine: FileHandle
    private let databases = Counter()

    /// One cluster for the whole test process, started by the first test that asks.
    public static func shared() async throws -> PostgresServer { try await sharedServer.value }
    private static let sharedServer = Task { try await started() }

    /// Starts a cluster of its own (for a test that stops and starts it).
    public static func started() async throws -> PostgresServer { try await offPool { try PostgresServer() } }

    private init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binDirectory + "/initdb") else {
            throw HarnessError("PostgreSQL 15 is not installed (\(Self.binDirectory)/initdb): apt-get install postgresql, "
                               + "as `make test` does")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("acs-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/sockets", withIntermediateDirectories: true)
        self.directory = directory
        password = "pw-" + UUID().uuidString
        let certificates = try Self.makeCertificates(in: directory)
        caCertificate = certificates.ca
        otherCACertificate = certificates.otherCA
        try (password + "\n").write(toFile: directory + "/pwfile", atomically: false, encoding: .utf8)
        try Self.run("/bin/chown", ["-R", "postgres:postgres", directory], when: Self.isRoot)

        try Self.runAsServerUser("initdb", ["-D", directory + "/data", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                                            "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + directory + "/pwfile"],
                                 log: directory + "/initdb.log")
        watchdogLine = try Self.startWatchdog(directory: directory)

        port = try Self.startOnFreePort(directory: directory)
        try createRole()
    }

    /// A new, empty database owned by the test role; returns its name.
    public func createDatabase() async throws -> String {
        let name = "acs_test_\(databases.next())"
        try await psql("CREATE DATABASE \(name) OWNER \(user)")
        return name
    }

    /// `postgres://acs_test@127.0.0.1:PORT/DB?sslmode=…` (the password goes apart).
    public func url(database: String, sslMode: String = "disable", sslRootCert: String? = nil, host: String? = nil) -> String {
        "postgres://\(user)@\(host ?? self.host):\(port)/\(database)?sslmode=\(sslMode)"
            + (sslRootCert.map { "&sslrootcert=\($0)" } ?? "")
    }

    /// Runs SQL as the superuser over the Unix socket; returns what psql printed (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        try await offPool { try self.psqlHere(sql, database: database) }
    }

    private func psqlHere(_ sql: String, database: String = "postgres") throws -> String {
        try Self.capture(Self.binDirectory + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory + "/sockets",
                                                       "-p", String(port), "-U", "postgres", "-d", database, "-c", sql])
    }

    /// Stops the server (`pg_ctl stop -m fast`: connections are closed at once); `start()` brings it back on the same port.
    public func stop() async throws {
        try await offPool { try self.stopHere() }
    }

    private func stopHere() throws {
        try Self.runAsServerUser("pg_ctl", ["-D", directory + "/data", "stop", "-m", "fast", "-w"], log: directory + "/pg_ctl.log")
    }

    public func start() async throws {
        try await offPool { try Self.startServer(directory: self.directory, port: self.port) }
    }

    /// Sends `signal` to every process of the server: the postmaster and its children
    /// (backends, checkpointer, WAL writer…). SIGSTOP makes a server that hangs: its
    /// sockets still take bytes and connections, and nothing answers; SIGCONT ends it.
    public func signalAll(_ signal: Int32) async throws {
        try await offPool {
            let pidFile = try String(contentsOfFile: self.directory + "/data/postmaster.pid", encoding: .utf8)
            guard let postmaster = pidFile.split(separator: "\n").first.flatMap({ Int32($0) }) else {
                throw HarnessError("no PID in \(self.directory)/data/postmaster.pid")
            }
            // The postmaster first, so that it forks no backend after the children are listed.
            kill(postmaster, signal)
            let children = (try? Self.capture("/usr/bin/pgrep", ["-P", String(postmaster)]))?.split(separator: "\n").compactMap { Int32($0) } ?? []
            for pid in children { kill(pid, signal) }
        }
    }

    /// Stops the server and removes its directory.
    public func destroy() async {
        try? await stop()
        try? FileManager.default.removeItem(atPath: directory)
        try? watchdogLine.close()
    }

    // MARK: - Set-up steps

    private func createRole() throws {
        // The password is a literal here only: psql runs locally, over the socket, and prints nothing of it.
        _ = try psqlHere("CREATE ROLE \(user) LOGIN PASSWORD '\(password)'")
    }

    private static func startOnFreePort(directory: String) throws -> Int {
        var attempt = 1
        while true {
            let port = try freeLoopbackPort()
            do {
                try startServer(directory: directory, port: port)
                return port
            } catch where attempt < 3 { // the port can be taken between finding it and listening on it
                attempt += 1
            }
        }
    }

    private static func startServer(directory: String, port: Int) throws {
        let options = ["-c listen_addresses=127.0.0.1", "-p \(port)", "-k \(directory)/sockets", "-c max_connections=300",
                       "-c ssl=on", "-c ssl_cert_file=\(directory)/server.crt", "-c ssl_key_file=\(directory)/server.key",
                       "-c fsync=off"].joined(separator: " ")
        try runAsServerUser("pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-o", options,
                                       "-w", "-t", "60", "start"], log: directory + "/pg_ctl.log")
        // pg_ctl -w waits on the socket; a test connects over TCP, so wait for that too.
        let deadline = Date().addingTimeInterval(30)
        while (try? capture(binDirectory + "/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port)])) == nil {
            guard Date() < deadline else {
                throw HarnessError("PostgreSQL on 127.0.0.1:\(port) not ready after 30 s; see \(directory)/server.log")
            }
            usleep(50_000)
        }
    }

    private static func makeCertificates(in directory: String) throws -> (ca: String, otherCA: String) {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for name in ["ca", "other-ca"] {
            try capture("/usr/bin/openssl", ["req", "-x509"] + ec + ["-keyout", "\(directory)/\(name).key", "-out",
                                              "\(directory)/\(name).crt", "-days", "2", "-subj", "/CN=acs test \(name)"])
        }
        try capture("/usr/bin/openssl", ["req"] + ec + ["-keyout", "\(directory)/server.key", "-out", "\(directory)/server.csr",
                                                          "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: directory + "/san.ext", atomically: false, encoding: .utf8)
        try capture("/usr/bin/openssl", ["x509", "-req", "-in", "\(directory)/server.csr", "-CA", "\(directory)/ca.crt",
                                         "-CAkey", "\(directory)/ca.key", "-CAcreateserial", "-days", "2",
                                         "-extfile", "\(directory)/san.ext", "-out", "\(directory)/server.crt"])
        // The server refuses a key others can read.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/server.key")
        return ("\(directory)/ca.crt", "\(directory)/other-ca.crt")
    }

    /// Stops the cluster once this process is gone, however it ended: the watchdog's
    /// stdin is a pipe whose write end only this process holds (close-on-exec, and
    /// children start with nothing but stdio); its `read` returns at end of file,
    /// when the kernel closes that end.
    private static func startWatchdog(directory: String) throws -> FileHandle {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw HarnessError("pipe() failed: errno \(errno)") }
        // Close-on-exec: no program started later inherits it.
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let stop = serverCommand("pg_ctl", ["-D", directory + "/data", "stop", "-m", "fast"])
        // It outlives this process by design: Ctrl-C and kill signals to the process group must not end it.
        let script = "trap '' INT TERM HUP; read _; " + ([stop.path] + stop.arguments).map(shellQuoted).joined(separator: " ")
            + " >/dev/null 2>&1; rm -rf " + shellQuoted(directory)
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(null); close(ends[0]) }
        _ = try spawn("/bin/sh", ["-c", script], stdin: ends[0], output: null)
        return FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
    }

    // MARK: - Processes

    private static let isRoot = getuid() == 0

    /// A server binary, run as the `postgres` user when this process is root.
    private static func serverCommand(_ tool: String, _ arguments: [String]) -> (path: String, arguments: [String]) {
        let binary = binDirectory + "/" + tool
        return isRoot ? ("/usr/sbin/runuser", ["-u", "postgres", "--", binary] + arguments) : (binary, arguments)
    }

    private static func runAsServerUser(_ tool: String, _ arguments: [String], log: String) throws {
        let command = serverCommand(tool, arguments)
        try run(command.path, command.arguments, log: log)
    }

    private static func run(_ path: String, _ arguments: [String], when condition: Bool = true, log: String? = nil) throws {
        guard condition else { return }
        try capture(path, arguments, log: log)
    }

    /// Runs a command to its end; its output goes to a file (never a pipe a server
    /// could inherit and hold open), returned, and quoted in the error when it fails.
    @discardableResult
    private static func capture(_ path: String, _ arguments: [String], log: String? = nil) throws -> String {
        let output = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("acs-pg-\(UUID().uuidString).out").path
        defer { if log == nil { try? FileManager.default.removeItem(atPath: output) } }
        let fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError("cannot open \(output): errno \(errno)") }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let pid: pid_t
        do {
            defer { close(fd); close(null) }
            pid = try spawn(path, arguments, stdin: null, output: fd)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let name = (arguments.first { $0.hasPrefix(binDirectory) } ?? path).split(separator: "/").last.map(String.init) ?? path
            throw HarnessError("\(name) failed (wait status \(status)): \(text.suffix(600))")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// posix_spawn with only stdin, stdout and stderr open in the child. Foundation's
    /// `Process` lets a child inherit the socket it watches for the child's exit, so a
    /// server started by `pg_ctl` would keep that socket, and the wait, open forever.
    private static func spawn(_ path: String, _ arguments: [String], stdin: Int32, output: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        guard let closeFrom = closeFrom, closeFrom(&actions, 3) == 0 else {
            throw HarnessError("posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later needed)")
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let code = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard code == 0 else { throw HarnessError("cannot start \(path): \(String(cString: strerror(code)))") }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not import.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32)? = {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
            .map { unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self) }
    }()

    private static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

/// Runs `body` with a cluster of its own, destroyed afterwards whether `body` succeeds or not.
public func withPostgresServer<T>(_ body: (PostgresServer) async throws -> T) async throws -> T {
    try await ending(try await PostgresServer.started(), with: { await $0.destroy() }, body)
}

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Numbers the databases of one cluster.
private final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}

