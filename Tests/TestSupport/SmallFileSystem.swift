import Foundation

/// A tmpfs of a few megabytes the test mounts (as root) to run out of space for
/// real, and unmounts. Without the right to mount, the test fails and says why.
public struct SmallFileSystem: Sendable {
    public let path: String

    public init(at path: String, size: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(size),mode=0755") == 0 else {
            struct CannotMount: Error, CustomStringConvertible { let description: String }
            throw CannotMount(description: "cannot mount a \(size) tmpfs at \(path) (\(String(cString: strerror(errno)))): "
                              + "the disk-full tests run as root, as `make test` does in CI")
        }
        self.path = path
    }

    /// Writes a file until the file system is full; returns its path (remove it to free the space).
    @discardableResult
    public func fill() throws -> String {
        let filler = path + "/filler-\(UUID().uuidString)"
        let descriptor = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        return filler
    }

    public func unmount() {
        _ = umount2(path, Int32(MNT_DETACH))
    }
}
