import FuzzDriver
import WebConfig

/// `--web.config.file` contents: any text parses or fails with problems, each one line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : count), as: UTF8.self)
    do {
        _ = try WebConfiguration.parse(yaml: text, file: "web.yml")
    } catch {
        precondition(!error.problems.isEmpty)
        precondition(!error.description.contains("\n"), "multi-line error")
    }
    return 0
}

@_cdecl("fuzz_web_config_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
