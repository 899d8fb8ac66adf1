import AdobeSimulator
import ArgumentParser
import ExporterCore
import Foundation
import HTTPServer
import UnixSignals

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Serve a simulated Adobe IMS and Campaign ingestion API (for tests and demos; loopback by default).",
        discussion: Scenario.formatHelp + """


        Paths served: POST /ims/token/v3 and POST|GET /{tenant}/campaign/dataIngestion/xdmIngestion/{mapping}/ingest.
        Without --scenario: tenant acme-mkt-prod1, mapping XDM44, credentials sim-client / sim-secret.
        """)

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("web.listen-address"), help: "Address to listen on.")
    var listenAddress = "127.0.0.1:10194"

    @Option(help: "Scenario file (YAML), described below.")
    var scenario: String?

    @Option(help: "Seed for every random choice; overrides the scenario's.")
    var seed: UInt64?

    func run() async throws {
        let logger = common.bootstrapLogging()
        var model = Scenario.standard
        if let scenario {
            let text: String
            do {
                text = try String(contentsOfFile: scenario, encoding: .utf8)
            } catch {
                fail("cannot read scenario file \(scenario): \(error.localizedDescription)")
            }
            do {
                model = try Scenario.load(yaml: text, file: scenario)
            } catch {
                fail(error.description.split(separator: "\n").first.map(String.init) ?? error.description)
            }
        }
        if let seed { model.seed = seed }
        let simulator: AdobeSimulator
        do {
            simulator = try AdobeSimulator(scenario: model, listenAddress: try ListenAddress(parsing: listenAddress))
        } catch {
            fail("\(error)")
        }
        logger.info("simulator listening", metadata: ["url": "\(simulator.baseURL)", "seed": "\(model.seed)"])
        say("Simulated Adobe API at \(simulator.baseURL) (token URL \(simulator.tokenURL)); Ctrl-C to stop.")
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        for await _ in signals { break }
        await simulator.stop()
    }
}
