import FuzzDriver
import WireFormat

/// `Authorization` headers: bearer tokens and basic credentials. Whatever
/// basic credentials come out hold no NUL or control byte and no colon in the user.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : count))
    let text = String(decoding: bytes, as: UTF8.self)
    _ = Authorization.bearerToken(text)
    for header in [text, "Basic " + text] {
        if let credentials = Authorization.basicCredentials(header) {
            precondition(!credentials.user.isEmpty && !credentials.user.contains(":"))
            precondition(!credentials.password.contains { $0 < 0x20 || $0 == 0x7F })
        }
    }
    // Constant-time comparison agrees with ordinary equality.
    let half = bytes.count / 2
    precondition(ConstantTime.equals(bytes[..<half], bytes[half...]) == (Array(bytes[..<half]) == Array(bytes[half...])))
    return 0
}

@_cdecl("fuzz_authorization_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
