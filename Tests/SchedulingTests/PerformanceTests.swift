import Foundation
import IngestionModel
import Scheduling
import Testing

/// Loose bounds that only catch a minute-by-minute scan creeping back in; they hold
/// comfortably in a debug build on a busy two-core machine.
@Suite("Next fire performance")
struct PerformanceTests {
    static let cases: [(expression: String, calls: Int, seconds: Double)] = [
        ("@yearly", 10_000, 3),
        ("0 0 29 2 *", 10_000, 3),
        ("*/15 * * * *", 10_000, 3),
        ("0 0 29 2 */7", 10_000, 3),  // up to 40 years between fires
    ]

    @Test("many nextFire calls finish quickly", arguments: cases)
    func nextFireIsFast(expression: String, calls: Int, seconds: Double) throws {
        let cron = try CronExpression(parsing: expression)
        let paris = zone("Europe/Paris")
        let start = instant("2026-01-01T00:00Z")
        let clock = ContinuousClock()
        var found = 0
        let elapsed = clock.measure {
            for call in 0..<calls {
                // Spread the starting points over about 60 years, DST days included.
                let after = start.addingTimeInterval(TimeInterval(call) * 190_000)
                if cron.nextFire(after: after, in: paris) != nil { found += 1 }
            }
        }
        #expect(found == calls)
        #expect(elapsed < .seconds(seconds), "\(calls) calls took \(elapsed)")
    }

    @Test func anExpressionThatNeverFiresAnswersAtOnce() throws {
        let cron = try CronExpression(parsing: "0 0 30 2 *")
        let start = instant("2026-01-01T00:00Z")
        let elapsed = ContinuousClock().measure {
            for call in 0..<10_000 { _ = cron.nextFire(after: start.addingTimeInterval(TimeInterval(call)), in: utc) }
        }
        #expect(elapsed < .seconds(3))
    }
}
