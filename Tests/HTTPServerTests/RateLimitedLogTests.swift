@testable import HTTPServer
import Synchronization
import Testing

/// libmicrohttpd's lines reach the log at most once per cause and interval, with a count of the rest.
@Suite("Rate-limited log")
struct RateLimitedLogTests {
    private final class Lines: Sendable {
        let written = Mutex<[String]>([])
        var all: [String] { written.withLock { $0 } }
        func append(_ line: String) { written.withLock { $0.append(line) } }
    }

    private let start = ContinuousClock.now
    /// A new log and its lines for each test (the suite is made anew for each).
    private let lines = Lines()
    private let log: RateLimitedLog

    init() { log = RateLimitedLog(write: lines.append) }
    private func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    @Test func aRepeatedLineIsWrittenOnceThenCountedAtTheEndOfTheInterval() {
        log.log("Error processing request (HTTP response code is 400). Closing connection.", now: at(0))
        for second in 1...41 {
            log.log("Error processing request (HTTP response code is 414). Closing connection.", now: at(second))
        }
        log.flush(now: at(59))
        #expect(lines.all == ["Error processing request (HTTP response code is 400). Closing connection."])
        log.flush(now: at(60))
        #expect(lines.all.last == "Error processing request (HTTP response code is 414). Closing connection. "
                + "(41 similar suppressed in the last 60 s)")
        // The next interval started with the count: a line in it is counted too.
        log.log("Error processing request (HTTP response code is 400). Closing connection.", now: at(61))
        #expect(lines.all.count == 2)
    }

    @Test func aCauseQuietForAWholeIntervalIsWrittenAtOnceAgain() {
        log.log("Connection was closed by remote side with incomplete request.", now: at(0))
        log.flush(now: at(60))  // nothing suppressed: forgotten
        log.log("Connection was closed by remote side with incomplete request.", now: at(61))
        #expect(lines.all.count == 2)
    }

    @Test func aLineAfterTheIntervalCarriesTheCountWhenNotFlushed() {
        log.log("Failed to read request: 1", now: at(0))
        log.log("Failed to read request: 2", now: at(10))
        log.log("Failed to read request: 3", now: at(70))
        #expect(lines.all == ["Failed to read request: 1", "Failed to read request: 3 (1 similar suppressed in the last 60 s)"])
    }

    @Test func distinctCausesAreEachWrittenAndTheManyBeyondTheCapShareOne() {
        let log = RateLimitedLog(maxCauses: 2, write: lines.append)
        log.log("first cause", now: at(0))
        log.log("second cause", now: at(0))
        log.log("third cause", now: at(1))
        log.log("fourth cause", now: at(2))
        #expect(lines.all == ["first cause", "second cause", "third cause"])
        log.flush(now: at(3), everything: true)
        #expect(lines.all.last == "fourth cause (1 similar suppressed in the last 2 s)")  // since the third opened the shared one
    }

    @Test func numbersDoNotMakeADistinctCause() {
        #expect(RateLimitedLog.cause(of: "socket 12 failed: 104") == RateLimitedLog.cause(of: "socket 7 failed: 32"))
        #expect(RateLimitedLog.cause(of: "socket failed") != RateLimitedLog.cause(of: "accept failed"))
    }
}
