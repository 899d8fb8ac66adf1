/// The keys of one section of a configuration file, each written once with its
/// type and what it sets: reading, the unknown-key check and required keys all
/// come from this table. Defaults are the properties' initial values, so a key
/// absent from the file leaves its default in place.
public struct ConfigTable<Value> {
    public let keys: [ConfigKey<Value>]
    /// Checks that span keys (one of two keys set, say), run after the keys are read.
    let check: (inout Value, YAMLValue, String, ConfigReader) -> Void

    public init(_ keys: [ConfigKey<Value>],
                check: @escaping (inout Value, _ node: YAMLValue, _ path: String, ConfigReader) -> Void = { _, _, _, _ in }) {
        self.keys = keys
        self.check = check
    }

    public func read(_ node: YAMLValue, into value: inout Value, path: String, reader: ConfigReader) {
        guard let entries = node.entries else {
            reader.problem(node, path.isEmpty ? "(top level)" : path, "must be a mapping")
            return
        }
        for (keyNode, valueNode) in entries {
            let name = keyNode.scalar ?? ""
            let qualified = Self.qualified(path, name)
            guard let key = keys.first(where: { $0.name == name }) else {
                reader.problem(keyNode, qualified, "unknown key; expected one of \(keys.map(\.name).sorted().joined(separator: ", "))")
                continue
            }
            key.read(&value, valueNode, qualified, reader)
        }
        for key in keys where key.isRequired && node[key.name] == nil {
            reader.problem(node, Self.qualified(path, key.name), key.missing)
        }
        check(&value, node, path, reader)
    }

    static func qualified(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// One key of a section: its name, whether it must be present, and how its value
/// is read into the section's type.
public struct ConfigKey<Value> {
    public let name: String
    public let isRequired: Bool
    let missing: String
    let read: (inout Value, YAMLValue, String, ConfigReader) -> Void

    /// A key read by `read(value, node, qualifiedKey, reader)`, which records its own problems.
    public init(_ name: String, required: Bool = false, missing: String = "is required",
                read: @escaping (inout Value, YAMLValue, String, ConfigReader) -> Void) {
        self.name = name
        self.isRequired = required
        self.missing = missing
        self.read = read
    }

    /// A key whose value `parse` turns into the property's type, or nil after recording why not.
    public static func value<Field>(_ name: String, _ field: WritableKeyPath<Value, Field>, required: Bool = false,
                                    parse: @escaping (YAMLValue, String, ConfigReader) -> Field?) -> ConfigKey {
        ConfigKey(name, required: required) { value, node, key, reader in
            if let parsed = parse(node, key, reader) { value[keyPath: field] = parsed }
        }
    }

    public static func string(_ name: String, _ field: WritableKeyPath<Value, String>, required: Bool = false) -> ConfigKey {
        value(name, field, required: required) { node, key, reader in
            guard let text = reader.string(node, key) else { return nil }
            guard !text.isEmpty else {
                reader.problem(node, key, "must not be empty")
                return nil
            }
            return text
        }
    }

    public static func string(_ name: String, _ field: WritableKeyPath<Value, String?>) -> ConfigKey {
        value(name, field) { node, key, reader in reader.string(node, key).map(Optional.some) }
    }

    public static func duration(_ name: String, _ field: WritableKeyPath<Value, Duration>, minimum: Duration = .zero) -> ConfigKey {
        value(name, field) { node, key, reader in reader.duration(node, key, minimum: minimum) }
    }

    public static func duration(_ name: String, _ field: WritableKeyPath<Value, Duration?>, minimum: Duration = .zero) -> ConfigKey {
        value(name, field) { node, key, reader in reader.duration(node, key, minimum: minimum).map(Optional.some) }
    }

    public static func int(_ name: String, _ field: WritableKeyPath<Value, Int>, range: ClosedRange<Int>) -> ConfigKey {
        value(name, field) { node, key, reader in reader.int(node, key, range: range) }
    }

    public static func int(_ name: String, _ field: WritableKeyPath<Value, Int?>, range: ClosedRange<Int>) -> ConfigKey {
        value(name, field) { node, key, reader in reader.int(node, key, range: range).map(Optional.some) }
    }

    public static func double(_ name: String, _ field: WritableKeyPath<Value, Double>, minimum: Double,
                              maximum: Double = .infinity) -> ConfigKey {
        value(name, field) { node, key, reader in reader.double(node, key, minimum: minimum, maximum: maximum) }
    }

    public static func bool(_ name: String, _ field: WritableKeyPath<Value, Bool>) -> ConfigKey {
        value(name, field) { node, key, reader in reader.bool(node, key) }
    }

    public static func stringList(_ name: String, _ field: WritableKeyPath<Value, [String]>) -> ConfigKey {
        value(name, field) { node, key, reader in
            guard let list = reader.stringList(node, key) else { return nil }
            guard !list.isEmpty else {
                reader.problem(node, key, "must list at least one value")
                return nil
            }
            return list
        }
    }

    public static func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, _ field: WritableKeyPath<Value, Choice>)
        -> ConfigKey where Choice.RawValue == String {
        value(name, field) { node, key, reader in reader.choice(node, key) }
    }

    /// A nested mapping read through its own table.
    public static func section<Section>(_ name: String, _ field: WritableKeyPath<Value, Section>,
                                        _ table: ConfigTable<Section>) -> ConfigKey {
        ConfigKey(name) { value, node, key, reader in
            table.read(node, into: &value[keyPath: field], path: key, reader: reader)
        }
    }

    /// A nested mapping that may be left out (nil then), read through its own table into a fresh `element()`.
    public static func optionalSection<Section>(_ name: String, _ field: WritableKeyPath<Value, Section?>,
                                                _ table: ConfigTable<Section>, element: @escaping () -> Section) -> ConfigKey {
        ConfigKey(name) { value, node, key, reader in
            var section = value[keyPath: field] ?? element()
            table.read(node, into: &section, path: key, reader: reader)
            value[keyPath: field] = section
        }
    }

    /// A list of mappings, each read through `table` into a fresh `element()`.
    /// `unique` names a key whose values must differ between elements.
    public static func list<Element>(_ name: String, _ field: WritableKeyPath<Value, [Element]>,
                                     _ table: ConfigTable<Element>, element: @escaping () -> Element,
                                     required: String? = nil,
                                     unique: (key: String, value: KeyPath<Element, String>, what: String)? = nil) -> ConfigKey {
        ConfigKey(name, required: required != nil, missing: required ?? "") { value, node, key, reader in
            guard let items = node.sequence, !items.isEmpty else {
                reader.problem(node, key, required ?? "must be a list")
                return
            }
            var seen = Set<String>()
            var elements: [Element] = []
            for (index, item) in items.enumerated() {
                var element = element()
                let path = "\(key)[\(index)]"
                table.read(item, into: &element, path: path, reader: reader)
                if let unique {
                    let identifier = element[keyPath: unique.value]
                    if !identifier.isEmpty && !seen.insert(identifier).inserted {
                        reader.problem(item[unique.key], "\(path).\(unique.key)", "duplicate \(unique.what) \"\(identifier)\"")
                    }
                }
                elements.append(element)
            }
            value[keyPath: field] = elements
        }
    }
}
