import ExporterMetrics
import Foundation
import HTTPServer
import Synchronization

/// The exporter's HTTP surface: landing page, metrics, health and readiness.
enum ExporterRoutes {
    static func install(into router: inout Router, telemetryPath: String, publisher: ExpositionPublisher,
                        ready: @escaping @Sendable () -> Bool, statusPage: StatusPage, now: @escaping @Sendable () -> Date) {
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
        router.add("GET", "/", .deferred { _ in
            do {
                return HTTPResponse.html(try statusPage.render(now: now())).reply
            } catch {
                return HTTPResponse.text("cannot read the store: \(error)\n", status: 500).reply
            }
        })
        router.notFound = { request in
            request.rawPath.hasPrefix("/api/") ? JSONBody.error("no such endpoint: \(request.method) \(request.rawPath)", status: 404)
                : HTTPResponse.text("not found\n", status: 404).reply
        }
        router.methodNotAllowed = { request, allowed in
            guard request.rawPath.hasPrefix("/api/"), case .response(var response) = JSONBody.error(
                "method \(request.method) not allowed; allowed: \(allowed.joined(separator: ", "))", status: 405) else {
                return Router().methodNotAllowed(request, allowed)
            }
            response.headers.append((name: "Allow", value: allowed.joined(separator: ", ")))
            return .response(response)
        }
        router.payloadTooLarge = { request, limit in
            request.rawPath.hasPrefix("/api/") ? JSONBody.error("request body over \(limit) bytes", status: 413)
                : HTTPResponse.text("request body over \(limit) bytes\n", status: 413).reply
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
