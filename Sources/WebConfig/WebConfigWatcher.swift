import Foundation
import HTTPServer
import Synchronization

/// Re-reads the web configuration when it, or a file it names (certificate,
/// key, CA), changes on disk, and applies it to the server: a rotated
/// certificate or a new user applies to the next connection without a restart.
/// A file that no longer loads leaves the last good configuration in force,
/// logs one line (once per broken version) and shows in `status`.
///
/// Changes are found by polling each file's device, inode, size and
/// modification time, which also catches the rename-over-the-old-file that
/// certificate tools and Kubernetes secret volumes do.
public final class WebConfigWatcher: Sendable {
    public struct Status: Sendable, Equatable {
        /// Whether the last attempt to load a changed file succeeded (the exporter's
        /// `…_web_config_last_reload_successful` gauge).
        public var lastReloadSuccessful = true
        /// When the configuration in force was loaded.
        public var lastSuccess: Date
        public var failedReloads: UInt64 = 0
    }

    public enum Outcome: Sendable, Equatable {
        case unchanged
        /// Applied; `notes` says what waits for a restart (see `HTTPServer.apply`).
        case applied(notes: [String])
        /// Kept the previous configuration.
        case failed(WebConfigError)
    }

    private struct State {
        var fingerprints: [String: FileFingerprint?]
        var failedFingerprints: [String: FileFingerprint?]?
        var status: Status
    }

    public let file: String
    private let realm: String
    private let apply: @Sendable (SecuritySettings) -> [String]
    private let log: @Sendable (String) -> Void
    private let now: @Sendable () -> Date
    private let state: Mutex<State>

    /// `loaded` is the configuration the server started with; `apply` hands a new
    /// one to the server (normally `HTTPServer.apply`); `log` gets one line per event.
    public init(loaded: LoadedWebConfiguration, realm: String = "acs-ingestion-exporter",
                apply: @escaping @Sendable (SecuritySettings) -> [String], log: @escaping @Sendable (String) -> Void,
                now: @escaping @Sendable () -> Date = { Date() }) {
        file = loaded.file
        self.realm = realm
        self.apply = apply
        self.log = log
        self.now = now
        state = Mutex(State(fingerprints: Self.fingerprints(of: loaded.watchedFiles), failedFingerprints: nil,
                            status: Status(lastSuccess: now())))
    }

    public var status: Status { state.withLock { $0.status } }

    /// Looks once; reloads and applies when a watched file changed.
    @discardableResult
    public func checkForChanges() -> Outcome {
        let (watched, failed) = state.withLock { ($0.fingerprints, $0.failedFingerprints) }
        let current = Self.fingerprints(of: Array(watched.keys))
        guard current != watched else { return .unchanged }
        // The same broken files as last time: already reported.
        if let failed, Self.fingerprints(of: Array(failed.keys)) == failed { return .unchanged }
        do {
            let loaded = try WebConfiguration.load(file: file, realm: realm)
            let notes = apply(loaded.settings)
            state.withLock { state in
                state.fingerprints = Self.fingerprints(of: loaded.watchedFiles)
                state.failedFingerprints = nil
                state.status.lastReloadSuccessful = true
                state.status.lastSuccess = now()
            }
            log("web configuration reloaded from \(file)" + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")))
            return .applied(notes: notes)
        } catch {
            state.withLock { state in
                // Remember what failed (the old set plus the config file's new content) so it is reported once.
                state.failedFingerprints = Self.fingerprints(of: Array(watched.keys))
                state.status.lastReloadSuccessful = false
                state.status.failedReloads += 1
            }
            log("web configuration not reloaded, keeping the previous one: \(error)")
            return .failed(error)
        }
    }

    /// Polls every `interval` until cancelled. `sleep` is injectable for tests.
    public func run(every interval: Duration = .seconds(5),
                    sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) async {
        while !Task.isCancelled {
            do { try await sleep(interval) } catch { return }
            checkForChanges()
        }
    }

    private static func fingerprints(of files: [String]) -> [String: FileFingerprint?] {
        Dictionary(files.map { ($0, FileFingerprint(path: $0)) }, uniquingKeysWith: { first, _ in first })
    }
}

/// What changes when a file is rewritten or replaced: its identity, size and modification time.
struct FileFingerprint: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int
    let modifiedNanoseconds: Int

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
    }
}
