import FuzzDriver
import HTTPServer
import WireFormat

/// Query strings as the server reads them (the text after `?`). Past the limit
/// nothing is decoded; within it, the parameters encoded again and read back are
/// the same, and there are never more than the limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : count), as: UTF8.self)
    let fields = text.utf8.split(separator: UInt8(ascii: "&")).count
    let limit = 8
    let parameters = QueryString.parameters(of: text, maxParameters: limit)
    precondition((parameters == nil) == (fields > limit), "limit of \(limit) with \(fields) fields")
    guard let parameters else { return 0 }
    precondition(parameters.count <= fields)
    let encoded = parameters.map { PercentEncoding.encode($0.key) + "=" + PercentEncoding.encode($0.value) }
    precondition(QueryString.parameters(of: encoded.joined(separator: "&"), maxParameters: limit) == parameters,
                 "round trip of \(text)")
    return 0
}

@_cdecl("fuzz_query_string_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
