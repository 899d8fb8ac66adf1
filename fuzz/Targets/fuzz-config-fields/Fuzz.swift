import FuzzDriver
import YAMLSupport

/// The configuration reader (`--config.file`) over any document: a table with a key of
/// each type the exporter reads, a nested section and a list of sections. Every problem
/// must be one line.
struct Fields {
    struct Item {
        var name = ""
        var every = Duration.zero
    }
    var text = ""
    var number = 0
    var ratio = 0.0
    var flag = false
    var wait = Duration.zero
    var names: [String] = []
    var nested = Item()
    var items: [Item] = []

    static var item: ConfigTable<Item> {
        ConfigTable([.string("name", \.name, required: true), .duration("every", \.every, minimum: .seconds(1))])
    }
    static var table: ConfigTable<Fields> {
        ConfigTable([
        .string("text", \.text), .int("number", \.number, range: 0...100), .double("ratio", \.ratio, minimum: 0),
        .bool("flag", \.flag), .duration("wait", \.wait), .stringList("names", \.names),
        .section("nested", \.nested, item), .list("items", \.items, item, element: Item.init, unique: ("name", \.name, "item")),
        ])
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : count), as: UTF8.self)
    let reader = ConfigReader(file: "config.yml", environment: ["ACS_CLIENT_ID": "id"])
    var fields = Fields()
    _ = reader.read(text, into: &fields, table: Fields.table)
    for problem in reader.problems { precondition(!problem.contains("\n"), "multi-line problem") }
    return 0
}

@_cdecl("fuzz_config_fields_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
