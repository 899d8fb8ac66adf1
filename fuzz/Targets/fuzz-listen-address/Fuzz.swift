import FuzzDriver
import HTTPServer

/// `--web.listen-address` values. A parsed address must print back to one that
/// parses to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : count), as: UTF8.self)
    if let address = try? ListenAddress(parsing: text) {
        precondition((0...65535).contains(address.port))
        precondition((try? ListenAddress(parsing: address.description)) == address, "round trip of \(text)")
    }
    return 0
}

@_cdecl("fuzz_listen_address_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
