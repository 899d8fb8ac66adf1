import HTTPServer
import Testing

/// The server's query parser: what libmicrohttpd's parsing and our decoding gave before, within a limit.
@Suite("Query strings")
struct QueryStringTests {
    @Test func namesAndValuesAreDecodedAndTheLastOfARepeatedNameWins() {
        #expect(QueryString.parameters(of: "q=x+y%26z&a%20b=1&q=last", maxParameters: 10) == ["q": "last", "a b": "1"])
    }

    @Test func aParameterWithoutEqualsHasAnEmptyValueAndEmptyOnesAreSkipped() {
        #expect(QueryString.parameters(of: "&flag&&a=1&b=&=v&", maxParameters: 10) == ["flag": "", "a": "1", "b": "", "": "v"])
        #expect(QueryString.parameters(of: "", maxParameters: 0) == [:])
    }

    @Test func moreParametersThanTheLimitAreRefusedAndEmptyOnesDoNotCount() {
        let hundred = (0..<100).map { "a\($0)=b" }.joined(separator: "&")
        #expect(QueryString.parameters(of: hundred + "&&&", maxParameters: 100)?.count == 100)
        #expect(QueryString.parameters(of: hundred + "&x", maxParameters: 100) == nil)
    }

    @Test func aValueMayHoldEquals() {
        #expect(QueryString.parameters(of: "expr=a==b", maxParameters: 1) == ["expr": "a==b"])
    }
}
