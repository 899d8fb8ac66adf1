import ExporterMetrics
import Foundation
import Synchronization

/// One format's uncompressed body in one buffer, updated in place.
///
/// libmicrohttpd sends a one-buffer body faster than the same bytes as an iovec
/// of segments (a 14 MB body: ~9 % less CPU per scrape, measured with the
/// reference server; any iovec of two entries or more costs it, while one entry is
/// sent as a buffer), and a second copy of the 10 MB body of 100k series does not
/// fit the exporter in 64 MiB. So the body is kept once and changed where it
/// lies: piece `i` holds the plain bytes of segment `i` of the format's snapshot,
/// and a refresh splices the pieces whose segment changed. Bytes are never
/// written while a scrape may send them: a response sends through a `Lease`, and
/// the body is written only when no lease is held. One that is held when a change
/// comes stays as it was (its leases keep sending the bytes they started with)
/// and falls behind; its last lease tells so as it goes (`onDrained`), and a
/// later refresh brings it up to date.
public final class PlainBody: @unchecked Sendable {
    // @unchecked: `buffer`, `capacity`, `offsets` and `held` are written only by
    // `SegmentedExposition.refresh` (under its table's lock) after `beginWrite`
    // succeeded, that is while no lease exists and none can be taken; leases read
    // the buffer only. `state` guards the rest.
    private var buffer: UnsafeMutableRawPointer?
    private var capacity = 0
    /// Start of each piece; `offsets[held.count]` is the body's length.
    private var offsets: [Int] = [0]
    /// The segment whose plain bytes each piece holds; nil for a piece whose bytes
    /// could not be had when it was written (filled by a later write).
    private(set) var held: [Segment?] = []

    private struct State {
        var leases = 0
        /// Bumped by every write, and when the body falls behind its format's
        /// segments: a lease is only given for the version a snapshot saw.
        var version = 0
        /// Whether a refresh left the body behind its segments since the last write.
        var behind = false
    }
    private let state = Mutex(State())
    /// Called, on whichever thread releases it, when the last lease of a body behind its segments goes.
    private let onDrained: @Sendable () -> Void

    init(onDrained: @escaping @Sendable () -> Void) { self.onDrained = onDrained }

    deinit { free(buffer) }

    var count: Int { offsets[held.count] }

    /// Whether the body holds exactly `segments`' plain bytes, in order.
    func holds(_ segments: [Segment]) -> Bool {
        held.count == segments.count && zip(held, segments).allSatisfy { $0 === $1 }
    }

    /// The version a snapshot may lease, or nil when the body is not `segments`.
    func version(holding segments: [Segment]) -> Int? {
        holds(segments) ? state.withLock { $0.version } : nil
    }

    /// Whether no lease is held: a refresh can write the body now.
    var isFree: Bool { state.withLock { $0.leases == 0 } }

    /// Makes the body writable when no lease is held (and no lease of an earlier
    /// version can be taken from now on); false while one is, and then the body is
    /// behind: the last lease's release calls `onDrained`.
    func beginWrite() -> Bool {
        state.withLock { state in
            guard state.leases == 0 else {
                state.behind = true
                return false
            }
            state.version += 1
            state.behind = false
            return true
        }
    }

    /// Brings the body to `segments`, after a successful `beginWrite`: each piece
    /// whose segment changed takes `plain(i)`, which must be that segment's bytes.
    /// When the pieces' count changed every piece is written again, in order, into
    /// the same buffer. Pieces are fetched and written one at a time, so memory
    /// never holds more than one of them besides the body. A piece whose bytes
    /// cannot be had (nil: its slot changed meanwhile) is left for a later write,
    /// which its change brings. Returns whether the body now holds `segments`.
    func update(to segments: [Segment], plain: (Int) -> Bytes?) -> Bool {
        if held.count != segments.count {
            offsets = [0]
            held = []
            for index in segments.indices {
                let bytes = plain(index)
                let length = bytes?.buffer.count ?? 0
                reserve(offsets[index] + length)
                if let bytes { write(bytes.buffer, at: offsets[index]) }
                offsets.append(offsets[index] + length)
                held.append(bytes == nil ? nil : segments[index])
            }
            return holds(segments)
        }
        let changed = segments.indices.filter { held[$0] !== segments[$0] }
        guard !changed.isEmpty else { return true }
        // Each piece's new place follows from the segments' lengths: kept pieces move
        // first, then the changed ones are written.
        var newOffsets = [0]
        newOffsets.reserveCapacity(offsets.count)
        for index in held.indices {
            let length = held[index] === segments[index] ? offsets[index + 1] - offsets[index] : segments[index].plainCount
            newOffsets.append(newOffsets[index] + length)
        }
        reserve(max(count, newOffsets[held.count]))
        // Kept pieces moving towards the start first, in order, then those moving
        // towards the end, from the last: no move overwrites bytes not yet moved.
        for index in held.indices where held[index] === segments[index] && newOffsets[index] < offsets[index] {
            move(index, to: newOffsets[index])
        }
        for index in held.indices.reversed() where held[index] === segments[index] && newOffsets[index] > offsets[index] {
            move(index, to: newOffsets[index])
        }
        offsets = newOffsets
        for index in changed {
            guard let bytes = plain(index), bytes.buffer.count == segments[index].plainCount else {
                held[index] = nil  // its place is kept, its bytes are not these
                continue
            }
            write(bytes.buffer, at: offsets[index])
            held[index] = segments[index]
        }
        return holds(segments)
    }

    private func move(_ index: Int, to offset: Int) {
        let length = offsets[index + 1] - offsets[index]
        guard length > 0 else { return }
        memmove(buffer! + offset, buffer! + offsets[index], length)
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0 else { return }
        (buffer! + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    /// Room for `needed` bytes, with an eighth more so that small growth moves
    /// nothing (a large buffer is mapped on its own: realloc moves its pages, not its bytes).
    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let grown = needed + needed / 8
        buffer = realloc(buffer, max(grown, 1))!
        capacity = grown
    }

    /// A hold on the body's bytes at `version`, for a scrape to send; nil when the
    /// body changed since (or fell behind) that version.
    func lease(version: Int) -> Lease? {
        let taken = state.withLock { state -> Bool in
            guard state.version == version else { return false }
            state.leases += 1
            return true
        }
        return taken ? Lease(self) : nil
    }

    /// Marks the body behind its format's segments: no lease of its current version
    /// from now on, and `onDrained` is called when its last lease goes.
    func fallBehind() {
        state.withLock { state in
            state.version += 1
            state.behind = true
        }
    }

    fileprivate func release() {
        let drained = state.withLock { state -> Bool in
            state.leases -= 1
            return state.leases == 0 && state.behind
        }
        if drained { onDrained() }
    }

    /// The body's bytes, unchanged while this lease is held.
    public final class Lease: @unchecked Sendable {
        // @unchecked: `bytes` points into the body, which no one writes while a lease exists.
        private let body: PlainBody
        public let bytes: UnsafeRawBufferPointer

        fileprivate init(_ body: PlainBody) {
            self.body = body
            bytes = UnsafeRawBufferPointer(start: body.buffer, count: body.count)
        }

        deinit { body.release() }
    }
}
