import FuzzDriver
import IngestionModel

/// Adobe's trigger (POST) bodies through the lenient decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    _ = try? IngestionResponseDecoder.decodeTrigger(Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : count)))
    return 0
}

@_cdecl("fuzz_decode_trigger_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
