import Foundation

/// What a finished command printed and how it exited.
public struct CommandResult: Sendable {
    public var exitCode: Int32
    /// Standard output as it came, bytes.
    public var outputBytes: [UInt8]
    public var errorOutput: String

    /// Standard output as text.
    public var output: String { String(decoding: outputBytes, as: UTF8.self) }
}

/// Runs a real program (curl, openssl, gzip) with its output captured. The
/// blocking writes, reads and the wait happen on threads of their own, never on
/// Swift's cooperative pool, which the server under test needs for deferred handlers.
/// A program still running after `limit` is killed (a bound against a hang; its
/// error output says so).
public func runCommand(_ executable: String, _ arguments: [String], input: Data? = nil,
                       limit: Duration = .seconds(120)) async throws -> CommandResult {
    _ = brokenPipesIgnored
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/" + executable)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = stdin
    try process.run()
    let finished = Locked(false)
    let killed = Locked(false)
    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(limit.components.seconds * 1_000_000_000))) {
        finished.withValue { done in
            guard !done, process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            killed.set(true)
        }
    }
    return await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            // Input, both pipes read to their end, then the wait: a full pipe can block neither side.
            Thread.detachNewThread {
                // A program that exits without reading it all: the write fails (EPIPE), harmlessly.
                if let input { try? stdin.fileHandleForWriting.write(contentsOf: input) }
                try? stdin.fileHandleForWriting.close()
            }
            let errorData = Locked(Data())
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                errorData.set(errors.fileHandleForReading.readDataToEndOfFile())
                done.signal()
            }
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            done.wait()
            process.waitUntilExit()
            finished.set(true)
            let note = killed.get() ? "\n(killed after \(limit))" : ""
            continuation.resume(returning: CommandResult(exitCode: process.terminationStatus, outputBytes: Array(outputData),
                                                         errorOutput: String(decoding: errorData.get(), as: UTF8.self) + note))
        }
    }
}

/// A write to a pipe whose reader has gone returns EPIPE instead of killing the
/// test process (SIGPIPE's default action).
private let brokenPipesIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// `gzip -dc` of `bytes`, through the system's gzip (an implementation independent
/// of ours), off the cooperative pool.
public func gunzip(_ bytes: [UInt8]) async throws -> [UInt8] {
    let result = try await runCommand("/bin/gzip", ["-dc"], input: Data(bytes))
    guard result.exitCode == 0 else { throw HarnessError("gzip -dc exited with \(result.exitCode): \(result.errorOutput)") }
    return result.outputBytes
}

/// A value shared between two threads of a helper.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }
    func withValue<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

/// An answer as curl saw it.
public struct CurlResponse: Sendable {
    /// curl's exit code: 0 when a response arrived (whatever its status).
    public var exitCode: Int32
    public var status: Int
    /// Header lines of the final response, names lower-cased.
    public var headers: [String: String]
    public var body: String
    public var errorOutput: String

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Runs curl against the test server: `-sS`, the status and headers read back. At
/// most 30 s: a bound against a hang, well over any answer's time even when the
/// test process's many suites keep both cores busy.
public func curl(_ arguments: [String]) async throws -> CurlResponse {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let headerFile = directory.url.appendingPathComponent("headers").path
    let bodyFile = directory.url.appendingPathComponent("body").path
    let result = try await runCommand("curl", ["-sS", "--max-time", "30", "-D", headerFile, "-o", bodyFile,
                                               "-w", "%{http_code}"] + arguments)
    let headerText = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
    // Only the last header block: an interim 100 Continue comes first.
    let lastBlock = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
    var headers: [String: String] = [:]
    for line in lastBlock.components(separatedBy: "\r\n").dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return CurlResponse(exitCode: result.exitCode, status: Int(result.output) ?? 0, headers: headers,
                        body: (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? "",
                        errorOutput: result.errorOutput)
}
