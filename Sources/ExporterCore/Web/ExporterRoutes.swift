import ExporterMetrics
import Foundation
import HTTPServer
import Synchronization

/// The exporter's HTTP surface: landing page, metrics, health and readiness.
enum ExporterRoutes {
    static func install(into router: inout Router, telemetryPath: String, publisher: ExpositionPublisher,
                        ready: @escaping @Sendable () -> Bool, landing: @escaping @Sendable () -> String) {
        router.get(telemetryPath) { request in
            guard let response = publisher.response(gzip: request.acceptsGzip) else {
                return HTTPResponse.text("metrics not ready yet\n", status: 503).reply
            }
            return .prepared(response)
        }
        router.get("/-/healthy") { _ in HTTPResponse.text("Healthy\n").reply }
        router.get("/-/ready") { _ in
            ready() ? HTTPResponse.text("Ready\n").reply : HTTPResponse.text("Not ready\n", status: 503).reply
        }
        router.get("/") { _ in HTTPResponse.html(landing()).reply }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func landingPage(telemetryPath: String, version: String, mappings: [MappingDescriptor]) -> String {
        let rows = mappings.map { m in
            "<tr><td>\(escape(m.key.tenant))</td><td>\(escape(m.key.mapping))</td><td>\(escape(m.name))</td><td>\(m.scheduled ? "yes" : "no")</td></tr>"
        }.joined(separator: "\n")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>ACS ingestion exporter</title>
        <style>body{font-family:system-ui,sans-serif;margin:1rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.25rem .5rem;border-bottom:1px solid #ddd;text-align:left}</style>
        </head><body>
        <h1>ACS ingestion exporter</h1>
        <p><a href="\(escape(telemetryPath))">Metrics</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Readiness</a></p>
        <p>Version \(escape(version)).</p>
        <table><thead><tr><th>Tenant</th><th>Mapping</th><th>Name</th><th>Scheduled</th></tr></thead>
        <tbody>
        \(rows)
        </tbody></table>
        </body></html>
        """
    }
}
