import FuzzDriver
import Yams
import YAMLSupport

/// The configuration reader's typed reads (`--config.file`), over any document:
/// every top-level key read as each type the exporter asks for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : count), as: UTF8.self)
    let fields = YAMLFields(file: "config.yml", environment: ["ACS_CLIENT_ID": "id"])
    guard let root = fields.root(of: text) else { return 0 }
    for (key, value) in root {
        guard let name = key.string else { continue }
        _ = fields.string(root, name, path: "")
        _ = fields.int(root, name, path: "", range: 0...100)
        _ = fields.double(root, name, path: "")
        _ = fields.bool(root, name, path: "")
        _ = fields.duration(root, name, path: "")
        _ = fields.stringList(root, name, path: "")
        if let nested = value.mapping {
            fields.allowOnly(["name", "mappings"], in: nested, path: name)
            for (inner, _) in nested { _ = fields.duration(nested, inner.string ?? "", path: name) }
        }
    }
    for problem in fields.problems { precondition(!problem.contains("\n"), "multi-line problem") }
    return 0
}

@_cdecl("fuzz_config_fields_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
