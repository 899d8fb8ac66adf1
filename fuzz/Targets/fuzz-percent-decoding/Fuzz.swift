import FuzzDriver
import WireFormat

/// Paths and query values as the server decodes them, and the encoder the
/// client uses: decoding what was encoded gives the original back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : count), as: UTF8.self)
    _ = PercentEncoding.segments(of: text)
    _ = PercentEncoding.decode(text, plusIsSpace: true)
    precondition(PercentEncoding.decode(PercentEncoding.encode(text)) == text, "round trip")
    return 0
}

@_cdecl("fuzz_percent_decoding_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
