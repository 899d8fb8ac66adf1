import FuzzDriver
import IngestionModel

/// Adobe's status bodies through the lenient decoder: any bytes, no crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    _ = try? IngestionResponseDecoder.decodeStatus(Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : count)))
    return 0
}

@_cdecl("fuzz_decode_status_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
