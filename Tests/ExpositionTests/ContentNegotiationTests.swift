import ExporterMetrics
import Testing
@testable import Exposition

@Suite("Accept negotiation")
struct ContentNegotiationTests {
    /// What Prometheus 2.42 sends by default.
    static let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    @Test(arguments: [
        (prometheus, ExpositionFormat.openMetrics),
        ("application/openmetrics-text", .openMetrics),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", .openMetrics),
        ("Application/OpenMetrics-Text; Version=\"1.0.0\"", .openMetrics),
        ("text/plain;q=0.5, application/openmetrics-text;version=1.0.0;q=0.6", .openMetrics),
        // Anything acceptable at 0.2 beats text at 0.1: the most specific range sets each type's q.
        ("*/*;q=0.2, text/plain;q=0.1", .openMetrics),
    ])
    func openMetricsWhenAcceptableAndPreferred(_ accept: String, _ expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }

    @Test(arguments: [
        "", "*/*", "text/plain", "text/plain;version=0.0.4", "text/*", "application/json",
        // Equal preference: text, the format every scraper reads.
        "application/openmetrics-text, text/plain",
        "text/plain;q=0.9, application/openmetrics-text;q=0.5",
        "application/openmetrics-text;q=0",
        "application/openmetrics-text;q=0.000",
        // An OpenMetrics version this exporter does not write.
        "application/openmetrics-text;version=0.0.1",
        // Malformed ranges are ignored, not errors.
        "application/openmetrics-text;q=2", "application/openmetrics-text;q=0.5.1", "application/openmetrics-text;q=",
        "application/openmetrics-text;q=1.5", "application/openmetrics-text;version", "application/openmetrics-text/x",
        ";;;,,,", "/", "*/openmetrics-text", "\"application/openmetrics-text\"",
    ])
    func textOtherwise(_ accept: String) {
        #expect(ExpositionFormat.negotiate(accept: accept) == .text)
    }

    @Test func aRepeatedHeaderGetsTheSameAnswer() {
        for _ in 0..<3 {
            #expect(ExpositionFormat.negotiate(accept: Self.prometheus) == .openMetrics)
            #expect(ExpositionFormat.negotiate(accept: "text/plain") == .text)
        }
        // More distinct headers than the cache keeps: still answered, memory stays bounded.
        for index in 1...200 {
            let thousandths = String(index), padded = String(repeating: "0", count: 3 - thousandths.count) + thousandths
            #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q=0.\(padded)") == .openMetrics)
        }
        #expect(ExpositionFormat.parse(accept: Self.prometheus) == .openMetrics)
    }

    @Test func textWithoutAnAcceptHeader() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .text)
    }

    @Test func quotedCommasAndSemicolonsStayInsideTheirParameter() {
        let ranges = MediaRange.parseList(#"application/openmetrics-text;x="a,b;c";q=0.8, text/plain"#)
        #expect(ranges.count == 2)
        #expect(ranges.first?.parameters["x"] == "a,b;c")
        #expect(ranges.first?.quality == 800)
    }

    @Test func qualityHasAtMostThreeDecimals() {
        #expect(MediaRange.parseQuality("1") == 1000)
        #expect(MediaRange.parseQuality("1.000") == 1000)
        #expect(MediaRange.parseQuality("0.125") == 125)
        #expect(MediaRange.parseQuality("0.") == 0)
        #expect(MediaRange.parseQuality("0.1234") == nil)
        #expect(MediaRange.parseQuality("1.001") == nil)
        #expect(MediaRange.parseQuality("-0.5") == nil)
        #expect(MediaRange.parseQuality(" 0.5") == nil)
    }

    @Test func contentTypesNameTheirVersions() {
        #expect(ExpositionFormat.text.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }
}
