import ExporterMetrics
import Exposition
import Foundation
import HTTPServer
import IngestionCollector
import IngestionStore

/// The exporter's HTTP surface besides the API: landing page, metrics, health
/// and readiness, and the error shapes of unknown paths (JSON under /api).
enum ExporterRoutes {
    /// Health and readiness: orchestrators probe them without credentials, and they reveal nothing.
    static let probes: Set<String> = ["/-/healthy", "/-/ready"]

    static func install(into router: inout Router, telemetryPath: String, publisher: ExpositionPublisher,
                        readiness: Readiness, statusPage: StatusPage, now: @escaping @Sendable () -> Date) {
        router.get(telemetryPath) { request in
            let format = ExpositionFormat.negotiate(accept: request.header("accept"))
            return publisher.reply(format: format, gzip: request.acceptsGzip)
                ?? HTTPResponse.text("metrics not ready yet\n", status: 503).reply
        }
        router.get("/-/healthy") { _ in HTTPResponse.text("Healthy\n").reply }
        router.get("/-/ready") { _ in
            guard let reason = readiness.notReadyReason else { return HTTPResponse.text("Ready\n").reply }
            return HTTPResponse.text("Not ready: \(reason)\n", status: 503).reply
        }
        router.add("GET", "/", .deferred { _ in
            do throws(StoreError) {
                return HTTPResponse.html(try await statusPage.render(now: now())).reply
            } catch {
                return HTTPResponse.text("cannot read the store: \(error)\n", status: error.isOutage ? 503 : 500).reply
            }
        }, headers: SecurityHeaders.page)
        router.notFound = { request in
            isAPI(request) ? HTTPError(404, "no such endpoint: \(request.method) \(request.rawPath)").jsonReply
                : HTTPResponse.text("not found\n", status: 404).reply
        }
        router.methodNotAllowed = { request, allowed in
            let allow = allowed.joined(separator: ", ")
            guard isAPI(request) else { return Router().methodNotAllowed(request, allowed) }
            return HTTPError(405, "method \(request.method) not allowed; allowed: \(allow)", headers: [("Allow", allow)]).jsonReply
        }
        router.payloadTooLarge = { request, limit in
            isAPI(request) ? HTTPError(413, "request body over \(limit) bytes").jsonReply
                : HTTPResponse.text("request body over \(limit) bytes\n", status: 413).reply
        }
    }

    private static func isAPI(_ request: HTTPRequest) -> Bool { request.rawPath.hasPrefix("/api/") }
}


/// `POST /-/reload` (and PUT), as Prometheus has it: only with `--web.enable-lifecycle`.
enum LifecycleRoutes {
    static func install(into router: inout Router, enabled: Bool,
                        reload: @escaping @Sendable () async -> Result<String, ReloadError>) {
        let handler = Router.Handler.deferred { _ in
            guard enabled else { return HTTPResponse.text("Lifecycle API is not enabled (--web.enable-lifecycle).\n", status: 403).reply }
            switch await reload() {
            case .success: return HTTPResponse.text("Reloaded\n").reply
            case .failure(let error): return HTTPResponse.text("failed to reload config: \(error)\n", status: 500).reply
            }
        }
        router.add("POST", "/-/reload", handler)
        router.add("PUT", "/-/reload", handler)
    }
}
