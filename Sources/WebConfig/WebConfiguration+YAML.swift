import HTTPServer
import Yams

// The one file that reads YAML for the web configuration, so a change of YAML
// library or of the project's YAML layer touches nothing else. Each key is
// spelled once here, beside its type; unknown keys are errors.

extension WebConfiguration {
    /// Reads the text of a web configuration file; `file` names it in errors.
    /// Every problem is collected, so `check-config` can name them all.
    public static func parse(yaml text: String, file: String) throws(WebConfigError) -> WebConfiguration {
        let reader = Reader(file: file)
        let configuration = reader.read(text)
        if !reader.problems.isEmpty { throw WebConfigError(problems: reader.problems) }
        return configuration
    }
}

private final class Reader {
    let file: String
    var problems: [String] = []

    init(file: String) { self.file = file }

    func read(_ text: String) -> WebConfiguration {
        var configuration = WebConfiguration()
        let root: Node
        do {
            // An empty file is a valid configuration that turns nothing on, as in exporter-toolkit.
            guard let node = try Yams.compose(yaml: text) else { return configuration }
            root = node
        } catch {
            problems.append("\(file): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
            return configuration
        }
        guard let mapping = mapping(root, key: "(top level)") else { return configuration }
        allowOnly(["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"], in: mapping, path: "")
        if let node = mapping["rate_limit"] {
            problem(node, "rate_limit", "not supported by this exporter; limit load with --web.max-requests instead")
        }
        if let node = mapping["tls_server_config"], let tls = self.mapping(node, key: "tls_server_config") {
            configuration.tlsServerConfig = readTLS(tls)
        }
        if let node = mapping["http_server_config"], let http = self.mapping(node, key: "http_server_config") {
            configuration.httpServerConfig = readHTTP(http)
        }
        if let node = mapping["basic_auth_users"], let users = self.mapping(node, key: "basic_auth_users") {
            for (name, hash) in users {
                guard let user = name.string, !user.isEmpty, !user.contains(":") else {
                    problem(name, "basic_auth_users", "a user name must be a non-empty string without ':'")
                    continue
                }
                guard let value = hash.string else {
                    problem(hash, "basic_auth_users.\(user)", "must be a bcrypt hash string")
                    continue
                }
                // Says what is wrong with the hash without ever quoting it.
                if let why = Bcrypt.problem(withHash: value) { problem(hash, "basic_auth_users.\(user)", why) }
                configuration.basicAuthUsers[user] = value
            }
        }
        return configuration
    }

    private func readTLS(_ tls: Node.Mapping) -> WebConfiguration.TLSServerConfig {
        let path = "tls_server_config"
        allowOnly(["cert", "key", "client_ca", "cert_file", "key_file", "client_ca_file", "client_auth_type",
                   "client_allowed_sans", "min_version", "max_version", "cipher_suites", "prefer_server_cipher_suites",
                   "curve_preferences"], in: tls, path: path)
        var config = WebConfiguration.TLSServerConfig()
        config.cert = string(tls, "cert", path)
        config.key = string(tls, "key", path)
        config.clientCA = string(tls, "client_ca", path)
        config.certFile = string(tls, "cert_file", path)
        config.keyFile = string(tls, "key_file", path)
        config.clientCAFile = string(tls, "client_ca_file", path)
        if let value = string(tls, "client_auth_type", path) {
            if let policy = ClientCertificatePolicy(rawValue: value) {
                config.clientAuthType = policy
            } else {
                problem(tls["client_auth_type"], "\(path).client_auth_type",
                        "unknown value; expected one of \(ClientCertificatePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        config.clientAllowedSANs = strings(tls, "client_allowed_sans", path) ?? []
        for (key, keyPath) in [("min_version", \WebConfiguration.TLSServerConfig.minVersion),
                               ("max_version", \WebConfiguration.TLSServerConfig.maxVersion)] {
            guard let value = string(tls, key, path) else { continue }
            if let version = TLSVersion(rawValue: value) {
                config[keyPath: keyPath] = version
            } else {
                problem(tls[key], "\(path).\(key)", "unknown version; expected one of TLS10, TLS11, TLS12, TLS13")
            }
        }
        if let node = tls["prefer_server_cipher_suites"] {
            if let value = node.bool { config.preferServerCipherSuites = value } else {
                problem(node, "\(path).prefer_server_cipher_suites", "must be true or false")
            }
        }
        // Go's names have no GnuTLS equivalent that keeps their meaning: refused rather than ignored.
        for key in ["cipher_suites", "curve_preferences"] where tls[key] != nil {
            problem(tls[key], "\(path).\(key)", "not supported: GnuTLS negotiates from its NORMAL priority; remove the key")
        }
        return config
    }

    private func readHTTP(_ http: Node.Mapping) -> WebConfiguration.HTTPServerConfig {
        let path = "http_server_config"
        allowOnly(["http2", "headers"], in: http, path: path)
        var config = WebConfiguration.HTTPServerConfig()
        if let node = http["http2"] {
            if let value = node.bool { config.http2 = value } else { problem(node, "\(path).http2", "must be true or false") }
        }
        if let node = http["headers"], let headers = mapping(node, key: "\(path).headers") {
            for (nameNode, valueNode) in headers {
                guard let name = nameNode.string else { continue }
                let key = "\(path).headers.\(name)"
                guard let allowed = WebConfiguration.allowedHeaders.first(where: { $0.key.lowercased() == name.lowercased() }) else {
                    problem(nameNode, key, "not an allowed header; expected one of "
                            + WebConfiguration.allowedHeaders.keys.sorted().joined(separator: ", "))
                    continue
                }
                guard let value = valueNode.string, !value.contains(where: \.isNewline) else {
                    problem(valueNode, key, "must be a one-line string")
                    continue
                }
                if value.isEmpty { continue }  // "Unset if blank"
                if let values = allowed.value, !values.contains(value.lowercased()) {
                    problem(valueNode, key, "must be one of \(values.sorted().joined(separator: ", "))")
                    continue
                }
                config.headers.append(.init(name: allowed.key, value: value))
            }
        }
        return config
    }

    // MARK: Typed reads

    private func mapping(_ node: Node, key: String) -> Node.Mapping? {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" {
            return Node.Mapping([])  // `key:` with nothing under it
        }
        guard let mapping = node.mapping else {
            problem(node, key, "expected a mapping of keys")
            return nil
        }
        return mapping
    }

    private func string(_ mapping: Node.Mapping, _ key: String, _ path: String) -> String? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.scalar?.string else {
            problem(node, "\(path).\(key)", "must be a string")
            return nil
        }
        return value
    }

    private func strings(_ mapping: Node.Mapping, _ key: String, _ path: String) -> [String]? {
        guard let node = mapping[key] else { return nil }
        guard let sequence = node.sequence else {
            problem(node, "\(path).\(key)", "must be a list of strings")
            return nil
        }
        return sequence.compactMap { item in
            guard let value = item.scalar?.string else {
                problem(item, "\(path).\(key)", "must be a list of strings")
                return nil
            }
            return value
        }
    }

    private func allowOnly(_ keys: Set<String>, in mapping: Node.Mapping, path: String) {
        for (key, _) in mapping {
            guard let name = key.string, !keys.contains(name) else { continue }
            problem(key, path.isEmpty ? name : "\(path).\(name)",
                    "unknown key; expected one of \(keys.sorted().joined(separator: ", "))")
        }
    }

    private func problem(_ node: Node?, _ key: String, _ why: String) {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        problems.append("\(file)\(line): \(key): \(why)")
    }
}
