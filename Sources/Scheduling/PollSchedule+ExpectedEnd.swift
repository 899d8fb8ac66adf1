import IngestionModel

extension PollSchedule {
    /// The window of ages around a mapping's usual end, from its recent durations; nil
    /// with fewer than `DurationHistory.minimumSamples` of them (the age rule alone applies).
    ///
    /// With p10, median and p90 the nearest-rank percentiles of the last 20 ended runs:
    /// - it opens at p10, or half an age-rule gap before the median when that is earlier;
    /// - it closes at p90;
    /// - it spans at most `maximumWindowPolls` polls (20 × `interval`, 10 min by default):
    ///   a wider one is cut to that width, centred on the median as far as it stays
    ///   inside the window above. So a mapping with scattered durations costs at most
    ///   about 20 calls per request more than the age rule, however scattered;
    /// - it is widened to whole seconds, for readable logs.
    ///
    /// Why half a gap before the median: a recorded duration is the age of the poll that
    /// saw the end, late by up to one gap. Were the window to open at p10 alone, runs that
    /// always end at the same age, between two age-rule polls, would all record the second
    /// poll's age, and the window would open there for ever, after the real end. Opening
    /// half a gap earlier lets it slide down to the real end within about ten runs (five to
    /// have a window, five more for the median to move), after which the durations recorded
    /// inside the window are accurate to `interval`.
    public func expectedEnd(from history: DurationHistory) -> ExpectedEnd? {
        guard let p10 = history.percentile(10), let median = history.percentile(50),
              let p90 = history.percentile(90) else { return nil }
        var earliest = max(.zero, min(p10, median - ageRuleGap(afterPollAtAge: median) / 2))
        var latest = max(p90, earliest)
        let widest = interval * max(maximumWindowPolls, 1)
        if latest - earliest > widest {
            earliest = min(max(earliest, median - widest / 2), latest - widest)
            latest = earliest + widest
        }
        return ExpectedEnd(earliestAge: .seconds(earliest.components.seconds), latestAge: wholeSecondsUp(latest))
    }

    private func wholeSecondsUp(_ duration: Duration) -> Duration {
        let (seconds, attoseconds) = duration.components
        return .seconds(attoseconds > 0 ? seconds + 1 : seconds)
    }
}
