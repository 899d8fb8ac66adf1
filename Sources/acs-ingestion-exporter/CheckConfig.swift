import ArgumentParser
import ExporterConfiguration
import ExporterCore
import Foundation
import WebConfig

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; each problem is printed with its line and key.")

    @Option(name: .customLong("config.file"), help: "Path to the configuration file (YAML).")
    var configFile: String?

    @Option(name: .customLong("web.config.file"), help: "Path to a web configuration file (exporter-toolkit's format).")
    var webConfigFile: String?

    func validate() throws {
        guard configFile != nil || webConfigFile != nil else { throw ValidationError("--config.file or --web.config.file is required") }
    }

    func run() async throws {
        var problems: [String] = []
        if let configFile {
            do {
                let config = try ExporterConfig.load(file: configFile)
                let scheduled = config.tenants.flatMap(\.mappings).filter { $0.schedule != nil }.count
                say("\(configFile): OK: \(config.tenants.count) tenant(s), \(config.mappingKeys.count) mapping(s), \(scheduled) on a schedule")
            } catch {
                problems += error.problems
            }
        }
        if let webConfigFile {
            do {
                let loaded = try WebConfiguration.load(file: webConfigFile)
                let tls = loaded.configuration.tlsServerConfig == nil ? "no TLS" : "TLS"
                say("\(webConfigFile): OK: \(tls), \(loaded.configuration.basicAuthUsers.count) basic-auth user(s)")
            } catch {
                problems += error.problems
            }
        }
        guard problems.isEmpty else {
            for problem in problems { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}
