import Foundation
import IngestionModel
import IngestionStore
import Logging
import PostgresNIO

/// A fenced write's check: `lease` is still its tenant's current lease (same owner,
/// same epoch) and has at least `margin` left, by the database's clock.
///
/// It runs inside the write's own transaction, before anything is written, and locks
/// the lease's row FOR SHARE until that transaction ends: a takeover's UPDATE (a
/// lapsed lease taken by another replica, with epoch + 1) waits for the fenced write
/// to commit, so the two never overlap, and a fenced write that comes after the
/// takeover sees the new epoch and writes nothing. Renewals wait the same way (a few
/// milliseconds: the fenced writes are short). `clock_timestamp()` (`LeaseClock`), not `now()`:
/// the check may come after a wait for that lock, and must not use the time its
/// transaction began.
struct Fence: Sendable {
    let lease: TenantLease
    let margin: Duration
    let clock: LeaseClock

    /// The check as a boolean SQL expression, around its five values: tenant, owner, epoch,
    /// the lease clock's time (NULL: the server's) and the margin (seconds).
    fileprivate static let parts = [
        "EXISTS (SELECT 1 FROM tenant_leases WHERE tenant = ", " AND owner = ", " AND epoch = ",
        " AND expires_at > coalesce(", LeaseClock.afterFixedNow, ") FOR SHARE)",
    ]

    /// The check with its values as parameters `$first` to `$first + 4`, for a prepared statement.
    static func heldSQL(firstParameter first: Int) -> String {
        parts[0] + (0..<5).map { "$\(first + $0)" + parts[$0 + 1] }.joined()
    }

    /// The bindings `heldSQL` expects, in its order.
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .int8, .timestamptz, .float8]

    func appendBindings(to bindings: inout PostgresBindings) {
        bindings.append(lease.tenant)
        bindings.append(lease.owner)
        bindings.append(lease.epoch)
        bindings.append(clock.fixedNow())
        bindings.append(margin.seconds)
    }

    /// What a write that the fence stopped throws: nothing was written.
    func refusal(_ location: String, _ operation: String) -> StoreError {
        StoreError(.fenced, "database \(location): \(operation): fenced: the \(lease) lapsed, went to another replica, "
                            + "or has less than \(margin.seconds) s left; nothing written")
    }

    /// A write about another tenant than the lease's is refused before it is sent.
    func cover(_ tenant: String, _ location: String, _ operation: String) throws(StoreError) {
        guard tenant != lease.tenant else { return }
        throw StoreError(.fenced, "database \(location): \(operation): fenced: the \(lease) does not cover tenant \(tenant); "
                                  + "nothing written")
    }

    /// The check as a statement of its own, first in a write's transaction.
    func check(_ connection: PostgresConnection, location: String, operation: String, logger: Logger) async throws {
        let rows = try await connection.query("SELECT \(held: self)", logger: logger)
        var held = false
        for try await value in rows.decode(Bool.self) { held = value }
        guard held else { throw refusal(location, operation) }
    }

    /// The check of a lease with no margin (taking queued triggers).
    static func exact(_ lease: TenantLease, clock: LeaseClock) -> Fence { Fence(lease: lease, margin: .zero, clock: clock) }
}

/// The database's clock as leases and fences read it: the server's own (`clock_timestamp()`:
/// replicas' clocks need not agree), or, for tests on an injected clock, that clock's time,
/// bound into each statement, so that leases lapse on the test's time.
public struct LeaseClock: Sendable {
    /// The time statements bind in place of `clock_timestamp()`; nil: the server's clock.
    let fixedNow: @Sendable () -> Date?

    public static let server = LeaseClock { nil }

    /// The SQL between the bound time and the seconds added to it: `coalesce($time` … `$secs)`.
    static let afterFixedNow = "::timestamptz, clock_timestamp()) + make_interval(secs => "

    /// The server's clock, unless `time` is a test clock: then its time, exactly.
    public static func following(_ time: any TimeSource) -> LeaseClock {
        time.isSystemClock ? .server : LeaseClock { time.now() }
    }
}

extension PostgresQuery.StringInterpolation {
    /// `\(databaseNow: clock, plus: ttl)`: when the statement runs by the lease clock, plus `plus`.
    mutating func appendInterpolation(databaseNow clock: LeaseClock, plus: Duration = .zero) {
        appendLiteral("(coalesce(")
        appendInterpolation(clock.fixedNow())
        appendLiteral(LeaseClock.afterFixedNow)
        appendInterpolation(plus.seconds)
        appendLiteral("))")
    }

    /// `\(held: fence)`: the fence's check as a boolean expression, its values bound;
    /// `true` without a fence (an unfenced write).
    mutating func appendInterpolation(held fence: Fence?) {
        guard let fence else {
            appendLiteral("true")
            return
        }
        let parts = Fence.parts
        appendLiteral(parts[0])
        appendInterpolation(fence.lease.tenant)
        appendLiteral(parts[1])
        appendInterpolation(fence.lease.owner)
        appendLiteral(parts[2])
        appendInterpolation(fence.lease.epoch)
        appendLiteral(parts[3])
        appendInterpolation(fence.clock.fixedNow())
        appendLiteral(parts[4])
        appendInterpolation(fence.margin.seconds)
        appendLiteral(parts[5])
    }
}

/// A row of a statement that folds the fence in (`… FROM fence LEFT JOIN written ON true`):
/// its last column says whether the fence held, the others are the written row's, all
/// NULL when nothing was written.
enum FencedRow<Row> {
    case fenced
    case none
    case row(Row)

    init(_ row: PostgresRow, decode: (PostgresRow) throws -> Row) throws {
        let cells = row.makeRandomAccess()
        guard try cells[cells.count - 1].decode(Bool.self) else {
            self = .fenced
            return
        }
        self = cells[0].bytes == nil ? .none : .row(try decode(row))
    }
}
