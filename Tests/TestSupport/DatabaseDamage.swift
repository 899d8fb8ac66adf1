import Foundation
import IngestionModel

/// The ways a database file gets damaged, as measured against the first version:
/// each is applied to a copy of a sound file.
public enum DatabaseDamage: String, CaseIterable, Sendable, CustomStringConvertible {
    /// 64 random bytes somewhere in every page (past the 100-byte header on page 1).
    case bytesInEveryPage = "bytes in every page"
    /// The first 16 bytes ("SQLite format 3\0") overwritten.
    case header = "damaged header"
    /// Cut to half its length.
    case truncated
    /// Zero bytes long.
    case empty = "zero-length"

    public var description: String { rawValue }

    /// Damages the file at `path` (its page size is read from its header).
    public func apply(to path: String, seed: UInt64 = 7) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        switch self {
        case .bytesInEveryPage:
            try handle.seek(toOffset: 16)
            let header = try handle.read(upToCount: 2) ?? Data()
            let pageSize = header.count == 2 ? Int(header[0]) << 8 | Int(header[1]) : 4096
            var random = SeededRandom(seed: seed)
            for page in 0..<(size / pageSize) {
                let start = page == 0 ? 100 : 0
                let offset = page * pageSize + start + Int(random.next() % UInt64(pageSize - start - 64))
                try handle.seek(toOffset: UInt64(offset))
                try handle.write(contentsOf: (0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            }
        case .header:
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: Data(repeating: 0x5a, count: 16))
        case .truncated:
            try handle.truncate(atOffset: UInt64(size / 2))
        case .empty:
            try handle.truncate(atOffset: 0)
        }
        try handle.synchronize()
    }
}
