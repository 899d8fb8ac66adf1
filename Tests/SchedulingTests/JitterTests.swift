import Foundation
import IngestionModel
import Scheduling
import Testing

@Suite("Jitter")
struct JitterTests {
    @Test func theSameKeyGetsTheSameOffsetOnEveryStartAndMachine() {
        // Pinned: FNV-1a 64 of "acme/orders" is 17625406910693445329, mod 60,000 ms.
        // Changing it moves every mapping's trigger time.
        #expect(TriggerPlanner.jitter(for: "acme/orders", schedule: .every(.seconds(3600))) == .milliseconds(45_329))
    }

    static let bounds: [(name: String, schedule: Schedule, maximum: Duration, bound: Duration)] = [
        ("every 1h: the maximum", .every(.seconds(3600)), .seconds(60), .seconds(60)),
        ("every 5 min: a tenth of the period", .every(.seconds(300)), .seconds(60), .seconds(30)),
        ("every 1h, maximum 10 s", .every(.seconds(3600)), .seconds(10), .seconds(10)),
        ("every minute (cron): 6 s", .cron(try! CronExpression(parsing: "* * * * *"), TimeZone(identifier: "UTC")!),
         .seconds(60), .seconds(6)),
        ("never fires: the maximum", .cron(try! CronExpression(parsing: "0 0 30 2 *"), TimeZone(identifier: "UTC")!),
         .seconds(60), .seconds(60)),
    ]

    @Test("every offset lies in [0, min(maximum, period / 10))", arguments: bounds)
    func offsetsStayWithinTheBound(name: String, schedule: Schedule, maximum: Duration, bound: Duration) {
        let offsets = (1...200).map {
            TriggerPlanner.jitter(for: "acme/mapping-\($0)", schedule: schedule, maximum: maximum)
        }
        #expect(offsets.allSatisfy { $0 >= .zero && $0 < bound })
        #expect(offsets.max()! > bound * 0.9, "offsets use the whole bound")
    }

    @Test func twoHundredMappingsSpreadOverTheBound() {
        let seconds = (1...200).map {
            TriggerPlanner.jitter(for: "acme/mapping-\($0)", schedule: .every(.seconds(86_400))).components.seconds
        }
        let perTenSeconds = Dictionary(grouping: seconds) { $0 / 10 }.mapValues(\.count)
        #expect(perTenSeconds.count == 6)
        #expect(perTenSeconds.values.allSatisfy { (20...50).contains($0) }, "\(perTenSeconds)")
        #expect(Set(seconds).count > 50, "few mappings share a second")
    }

    @Test func aZeroPeriodMeansNoJitter() {
        #expect(TriggerPlanner.jitter(for: "acme/orders", schedule: .every(.zero)) == .zero)
    }
}
