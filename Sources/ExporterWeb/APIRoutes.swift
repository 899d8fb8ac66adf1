import AdobeIngestionClient
import Cluster
import ExporterAPI
import ExporterConfiguration
import Foundation
import HTTPServer
import IngestionCollector
import IngestionModel
import IngestionStore
import Scheduling
import WireFormat

/// `/api/v1`: track and trigger requests from outside, read the history.
/// Writes need `Authorization: Bearer <api.token_file's token>`, or, with basic auth
/// on (`--web.config.file`), a user listed in `api.write_users`; without either
/// they are off. Reads are open to whoever may read /metrics.
public struct APIRoutes: Sendable {
    /// Who may write.
    public enum Writers: Sendable {
        /// The bearer token of `api.token_file` (nil: writes are off).
        case token(Secret?)
        /// Basic auth is on: these users of `basic_auth_users`.
        case users(Set<String>)

        /// Who may write under `config`: with basic auth, the users of `api.write_users`; else
        /// the token in `api.token_file`, read now (a reload reads it again).
        public init(_ config: ExporterConfig, basicAuth: Bool) throws(ReloadError) {
            if basicAuth {
                self = .users(Set(config.api.writeUsers))
                return
            }
            guard let file = config.api.tokenFile else {
                self = .token(nil)
                return
            }
            let token = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let token, !token.isEmpty else { throw ReloadError("api.token_file \(file) is unreadable or empty") }
            self = .token(Secret(token))
        }
    }

    let collector: Collector
    /// Cluster mode: a trigger of a tenant another replica runs goes through its queue.
    let coordinator: ClusterCoordinator?
    /// Replaced by a configuration reload (a new token file, new write users).
    let writers: Live<Writers>

    static let maxLimit = 1000

    init(collector: Collector, coordinator: ClusterCoordinator?, writers: Live<Writers>) {
        (self.collector, self.coordinator, self.writers) = (collector, coordinator, writers)
    }

    /// The mappings configured now (a reload may change them).
    private var mappings: Set<MappingKey> { Set(collector.config.mappingKeys) }

    func install(into router: inout Router) {
        var api = APIRouteGroup(router: router, authorizeWrite: authorize, headers: SecurityHeaders.api)
        api.write("POST", "/api/v1/requests", track)
        api.write("POST", "/api/v1/tenants/{tenant}/mappings/{mapping}/ingest", trigger)
        api.read("GET", "/api/v1/requests", list)
        api.read("GET", "/api/v1/requests/{tenant}/{mapping}/{requestId}", one)
        api.write("DELETE", "/api/v1/requests/{tenant}/{mapping}/{requestId}", untrack)
        api.read("GET", "/api/v1/mappings", mappingList)
        router = api.router
    }

    /// Throws the refusal unless the request may write.
    @Sendable private func authorize(_ request: HTTPRequest) throws(HTTPError) {
        switch writers.value {
        case .token(nil):
            throw HTTPError(403, "write endpoints are disabled: set api.token_file in the configuration file to a file "
                            + "holding a bearer token, then send it as 'Authorization: Bearer <token>'")
        case .token(let token?):
            guard let sent = request.bearerToken, ConstantTime.equals(sent, token.revealed) else {
                throw HTTPError(401, "missing or wrong bearer token", headers: [("WWW-Authenticate", "Bearer")])
            }
        case .users(let users):
            // The server has checked the password already; only who may write is decided here.
            guard let user = request.authenticatedUser, users.contains(user) else {
                throw HTTPError(403, users.isEmpty
                    ? "write endpoints are disabled under basic auth: list the users who may write in api.write_users"
                    : "user \(request.authenticatedUser ?? "") may not write: only the users of api.write_users may")
            }
        }
    }

    private func key(_ tenant: String?, _ mapping: String?) throws(HTTPError) -> MappingKey {
        guard let tenant, collector.config.tenants.contains(where: { $0.name == tenant }) else {
            throw HTTPError(404, "unknown tenant \"\(tenant ?? "")\"")
        }
        let key = MappingKey(tenant: tenant, mapping: mapping ?? "")
        guard mappings.contains(key) else { throw HTTPError(404, "unknown mapping \"\(mapping ?? "")\" in tenant \"\(tenant)\"") }
        return key
    }

    // MARK: - Handlers

    @Sendable private func track(_ request: HTTPRequest) async throws(HTTPError) -> (status: Int, body: RequestBody) {
        let body: TrackRequest
        do { body = try APIJSON.decodeBody(TrackRequest.self, from: request.body) } catch { throw HTTPError(400, error.description) }
        let key = try key(body.tenant, body.mapping)
        do {
            switch try await collector.track(key, requestID: body.requestID) {
            case .inserted(let tracked): return (201, RequestBody(tracked))
            case .alreadyTracked(let tracked): return (200, RequestBody(tracked))
            }
        } catch {
            throw HTTPError(error, doing: "cannot store the request")
        }
    }

    @Sendable private func trigger(_ request: HTTPRequest) async throws(HTTPError) -> (status: Int, body: TriggerResponse) {
        let key = try key(request.pathParameters["tenant"], request.pathParameters["mapping"])
        return try await triggerNow(key).get()
    }

    @Sendable private func list(_ request: HTTPRequest) async throws(HTTPError) -> (status: Int, body: RequestPage) {
        var query = HistoryQuery()
        query.tenant = request.query["tenant"].flatMap { $0.isEmpty ? nil : $0 }
        query.mapping = request.query["mapping"].flatMap { $0.isEmpty ? nil : $0 }
        if let tenant = query.tenant, !collector.config.tenants.contains(where: { $0.name == tenant }) {
            throw HTTPError(404, "unknown tenant \"\(tenant)\"")
        }
        if let mapping = query.mapping, !mappings.contains(where: { $0.mapping == mapping && (query.tenant ?? $0.tenant) == $0.tenant }) {
            throw HTTPError(404, "unknown mapping \"\(mapping)\"" + (query.tenant.map { " in tenant \"\($0)\"" } ?? ""))
        }
        if let status = request.query["status"], !status.isEmpty {
            guard IngestionStatus.filterNames.contains(status) else {
                throw HTTPError(400, "parameter \"status\" must be one of \(IngestionStatus.filterNames.joined(separator: ", "))")
            }
            query.status = IngestionStatus(storedName: status)
        }
        if let since = request.query["since"], !since.isEmpty {
            guard let date = Timestamp.parse(since) else {
                throw HTTPError(400, "parameter \"since\" must be an RFC 3339 time (2026-11-29T08:00:00Z) or Unix seconds")
            }
            query.since = date
        }
        if let limit = request.query["limit"], !limit.isEmpty {
            guard let value = Int(limit), (1...Self.maxLimit).contains(value) else {
                throw HTTPError(400, "parameter \"limit\" must be a whole number from 1 to \(Self.maxLimit)")
            }
            query.limit = value
        }
        if let cursor = request.query["cursor"], !cursor.isEmpty {
            guard let value = Int64(cursor), value > 0 else { throw HTTPError(400, "parameter \"cursor\" is not a cursor this API returned") }
            query.before = value
        }
        let rows: [TrackedRequest]
        let batches: [Int64: BatchFollowUp]
        do {
            rows = try await collector.store.history(query)
            batches = try await collector.store.batches(ofRequests: rows.filter { $0.batchID?.isEmpty == false }.map(\.rowID))
        } catch {
            throw HTTPError(error, doing: "cannot read the history")
        }
        let next = rows.count == query.limit ? rows.last.map { String($0.rowID) } : nil
        return (200, RequestPage(requests: rows.map { RequestBody($0, batch: batches[$0.rowID]) }, nextCursor: next))
    }

    /// The request a path names: `/{tenant}/{mapping}/{requestId}`.
    private func requestKey(_ request: HTTPRequest) throws(HTTPError) -> (MappingKey, RequestID) {
        let key = try key(request.pathParameters["tenant"], request.pathParameters["mapping"])
        let text = request.pathParameters["requestId"] ?? ""
        guard let id = RequestID(validating: text) else { throw HTTPError(400, "request id \(RequestID.validForm)") }
        return (key, id)
    }

    @Sendable private func untrack(_ request: HTTPRequest) async throws(HTTPError) -> (status: Int, body: RequestBody) {
        let (key, id) = try requestKey(request)
        let untracked: TrackedRequest?
        do { untracked = try await collector.untrack(key, requestID: id) } catch { throw HTTPError(error, doing: "cannot store it") }
        guard let untracked else { throw HTTPError(404, "request \(id) of \(key.tenant)/\(key.mapping) is not tracked") }
        guard untracked.untrackedAt != nil else {
            throw HTTPError(409, "request \(id) of \(key.tenant)/\(key.mapping) already ended (\(untracked.status.name)): nothing to untrack")
        }
        return (200, RequestBody(untracked))
    }

    @Sendable private func one(_ request: HTTPRequest) async throws(HTTPError) -> (status: Int, body: RequestBody) {
        let (key, id) = try requestKey(request)
        do {
            guard let found = try await collector.store.request(key, id) else {
                throw HTTPError(404, "request \(id) of \(key.tenant)/\(key.mapping) is not tracked")
            }
            let batch = try await collector.store.batches(ofRequests: [found.rowID])[found.rowID]
            return (200, RequestBody(found, observations: try await collector.store.observations(of: found.rowID), batch: batch))
        } catch let error as HTTPError {
            throw error
        } catch let error as StoreError {
            throw HTTPError(error, doing: "cannot read the request")
        } catch {
            throw HTTPError(500, "cannot read the request: \(error)")
        }
    }

    @Sendable private func mappingList(_ request: HTTPRequest) async throws(HTTPError) -> (status: Int, body: MappingList) {
        let latest: [MappingKey: TrackedRequest]
        let totals: IngestionTotals
        do {
            latest = try await collector.store.latestRequests()
            totals = try await collector.store.totals()
        } catch {
            throw HTTPError(error, doing: "cannot read the store")
        }
        let entries = collector.config.tenants.flatMap { tenant in
            tenant.mappings.map { mapping -> MappingList.Entry in
                let key = MappingKey(tenant: tenant.name, mapping: mapping.id)
                let requests = totals.requests(of: key)
                let counters = MappingList.Counters(
                    requests: Dictionary(uniqueKeysWithValues: FinalStatus.allCases.map { ($0.label, requests[$0] ?? 0) }),
                    recordsIngested: totals.recordsIngested(of: key),
                    failuresByACPCode: totals.failuresByACPCode(of: key),
                    inProgress: totals.open.filter { $0.key == key }.count,
                    triggers: Dictionary(uniqueKeysWithValues: (totals.triggers[key] ?? [:]).map { ($0.key.label, $0.value) }))
                var every: String?, cron: String?, zone: String?
                switch mapping.schedule {
                case .every(let interval)?: every = DurationText.format(interval)
                case .cron(let expression, let timeZone)?: (cron, zone) = (expression.text, timeZone.identifier)
                case nil: break
                }
                return MappingList.Entry(tenant: tenant.name, mapping: mapping.id, name: mapping.name, triggerEvery: every,
                                         triggerCron: cron, triggerTimezone: zone,
                                         latestRequest: latest[key].map { RequestBody($0) }, counters: counters)
            }
        }
        return (200, MappingList(mappings: entries))
    }
}
