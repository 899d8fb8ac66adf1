import Foundation
import IngestionModel
import Scheduling
import Testing

@Suite("Schedules")
struct ScheduleTests {
    @Test func everyNextSlotIsOneDurationLater() {
        #expect(Schedule.every(.seconds(3600)).nextSlot(after: instant("2026-01-10T10:00:17Z"))
            == instant("2026-01-10T11:00:17Z"))
    }

    @Test func cronNextSlotIsTheNextFireInItsZone() throws {
        let schedule = Schedule.cron(try cron("0 9 * * *"), zone("Europe/Paris"))
        #expect(schedule.nextSlot(after: instant("2026-01-10T10:00Z")) == instant("2026-01-11T09:00+01:00"))
    }

    @Test func cronThatNeverFiresHasNoSlotAndNoPeriod() throws {
        let schedule = Schedule.cron(try cron("0 0 30 2 *"), utc)
        #expect(schedule.nextSlot(after: instant("2026-01-10T10:00Z")) == nil)
        #expect(schedule.period == nil)
    }

    static let periods: [(expression: String, seconds: Int)] = [
        ("* * * * *", 60),
        ("*/15 * * * *", 900),
        ("0 * * * *", 3600),
        ("0 9,17 * * *", 8 * 3600),
        ("0 9 * * 1-5", 86_400),
        ("@daily", 86_400),
        ("@weekly", 7 * 86_400),
        ("@yearly", 365 * 86_400),
    ]

    @Test("a cron period is the smallest gap between consecutive fires", arguments: periods)
    func cronPeriod(expression: String, seconds: Int) throws {
        #expect(Schedule.cron(try cron(expression), zone("Europe/Paris")).period == .seconds(seconds))
    }

    @Test func everyPeriodIsItsDuration() {
        #expect(Schedule.every(.seconds(5400)).period == .seconds(5400))
    }

    @Test func zonesCompareByIdentifier() throws {
        let daily = try cron("@daily")
        #expect(Schedule.cron(daily, zone("Europe/Paris")) == .cron(daily, TimeZone(identifier: "Europe/Paris")!))
        #expect(Schedule.cron(daily, zone("Europe/Paris")) != .cron(daily, zone("America/New_York")))
        #expect(Schedule.cron(daily, utc) != .cron(try cron("@hourly"), utc))
        #expect(Schedule.every(.seconds(60)) != .every(.seconds(61)))
        #expect(Schedule.every(.seconds(86_400)) != .cron(daily, utc))
    }
}
