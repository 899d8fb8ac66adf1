import ArgumentParser
import ExporterCore
import Foundation

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; each problem is printed with its line and key.")

    @Option(name: .customLong("config.file"), help: "Path to the configuration file (YAML).")
    var configFile: String

    func run() async throws {
        do {
            let config = try ExporterConfig.load(file: configFile)
            let scheduled = config.tenants.flatMap(\.mappings).filter { $0.schedule != nil }.count
            say("\(configFile): OK: \(config.tenants.count) tenant(s), \(config.mappingKeys.count) mapping(s), \(scheduled) on a schedule")
        } catch {
            for problem in error.problems { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}
