import Foundation

/// The repository root, and the binaries tests run.
public enum Paths {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The exporter `swift build` made (or `ACS_EXPORTER_BIN`).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ACS_EXPORTER_BIN"] { return path }
        return root.appendingPathComponent(".build/debug/acs-ingestion-exporter").path
    }

    public static func executable(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin", "/sbin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// A child process with its output captured to files.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is thread-safe for the calls made here (signals, isRunning, status).
    public let process = Process()
    public let stdoutPath: String
    public let stderrPath: String

    public init(_ executable: String, _ arguments: [String], directory: TemporaryDirectory, name: String,
                environment: [String: String] = [:]) throws {
        stdoutPath = directory.path("\(name).out")
        stderrPath = directory.path("\(name).err")
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to exit (polling, at most `timeout`) and returns its status.
    public func wait(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    public func kill9() async {
        signal(SIGKILL)
        _ = await wait()
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`.
    public func terminate(grace: Duration = .seconds(10)) async {
        if process.isRunning { process.terminate() }
        if await wait(timeout: grace) == nil { await kill9() }
    }
}

/// The child processes a test starts; `stop()` ends those still running (SIGKILL),
/// so a failed test leaves none behind.
public final class ChildProcesses: AsyncStoppable, @unchecked Sendable {
    // @unchecked: `children` is only touched under `lock`.
    private var children: [ChildProcess] = []
    private let lock = NSLock()
    public let directory: TemporaryDirectory

    public init(directory: TemporaryDirectory) { self.directory = directory }

    public func start(_ executable: String, _ arguments: [String], name: String,
                      environment: [String: String] = [:]) throws -> ChildProcess {
        let child = try ChildProcess(executable, arguments, directory: directory, name: name, environment: environment)
        lock.withLock { children.append(child) }
        return child
    }

    public func stop() async {
        for child in lock.withLock({ children }) where child.process.isRunning { await child.kill9() }
    }

    /// The last `lines` lines of each running child's standard error, for a failure's message.
    public func tails(lines: Int = 80) -> String {
        lock.withLock { children }.filter(\.process.isRunning).map { child in
            let tail = child.stderr.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
            return "--- \(URL(fileURLWithPath: child.stderrPath).lastPathComponent) (pid \(child.pid)):\n\(tail)"
        }.joined(separator: "\n")
    }
}
