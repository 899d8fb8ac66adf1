import AdobeIngestionClient
import ExporterMetrics
import Foundation
import HTTPServer
import IngestionModel
import IngestionStore

/// `/api/v1`: track and trigger requests from outside, read the history.
/// Writes need `Authorization: Bearer <api.token_file's token>`; without a
/// configured token they are off. Reads are open, like /metrics.
struct APIRoutes: Sendable {
    let collector: Collector
    let writeToken: Secret?
    let mappings: [MappingKey: ExporterConfig.Mapping]

    static let maxLimit = 1000

    init(collector: Collector, writeToken: Secret?) {
        self.collector = collector
        self.writeToken = writeToken
        var mappings: [MappingKey: ExporterConfig.Mapping] = [:]
        for tenant in collector.config.tenants {
            for mapping in tenant.mappings { mappings[MappingKey(tenant: tenant.name, mapping: mapping.id)] = mapping }
        }
        self.mappings = mappings
    }

    func install(into router: inout Router) {
        router.add("POST", "/api/v1/requests", .deferred { request in self.guarded(request, write: true, self.track) })
        router.add("POST", "/api/v1/tenants/{tenant}/mappings/{mapping}/ingest", .deferred { request in
            if let refused = self.authorize(request) { return refused }
            return await self.trigger(request)
        })
        router.add("GET", "/api/v1/requests", .deferred { request in self.guarded(request, write: false, self.list) })
        router.add("GET", "/api/v1/requests/{tenant}/{mapping}/{requestId}", .deferred { request in
            self.guarded(request, write: false, self.one)
        })
        router.add("GET", "/api/v1/mappings", .deferred { request in self.guarded(request, write: false, self.mappingList) })
    }

    private func guarded(_ request: HTTPRequest, write: Bool,
                         _ handler: (HTTPRequest) throws(APIError) -> HTTPReply) -> HTTPReply {
        if write, let refused = authorize(request) { return refused }
        do { return try handler(request) } catch { return error.reply }
    }

    /// Nil when the request may write; otherwise the refusal.
    private func authorize(_ request: HTTPRequest) -> HTTPReply? {
        guard let token = writeToken else {
            return JSONBody.error("write endpoints are disabled: set api.token_file in the configuration file to a file "
                                  + "holding a bearer token, then send it as 'Authorization: Bearer <token>'", status: 403)
        }
        let sent = request.header("authorization").flatMap { value -> String? in
            let parts = value.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : nil
        }
        guard let sent, Self.constantTimeEqual(sent, token.revealed) else {
            return JSONBody.error("missing or wrong bearer token", status: 401, headers: [("WWW-Authenticate", "Bearer")])
        }
        return nil
    }

    private func key(_ tenant: String?, _ mapping: String?) throws(APIError) -> MappingKey {
        guard let tenant, collector.config.tenants.contains(where: { $0.name == tenant }) else {
            throw APIError(404, "unknown tenant \"\(tenant ?? "")\"")
        }
        let key = MappingKey(tenant: tenant, mapping: mapping ?? "")
        guard mappings[key] != nil else { throw APIError(404, "unknown mapping \"\(mapping ?? "")\" in tenant \"\(tenant)\"") }
        return key
    }

    // MARK: - Handlers

    private func track(_ request: HTTPRequest) throws(APIError) -> HTTPReply {
        let object: [String: Any]
        switch JSONBody.object(request.body) {
        case .success(let value): object = value
        case .failure(let error): throw error
        }
        for field in ["tenant", "mapping"] {
            guard let value = object[field] else { throw APIError(400, "field \"\(field)\" is required") }
            guard let text = value as? String, !text.isEmpty else { throw APIError(400, "field \"\(field)\" must be a non-empty string") }
        }
        guard object["requestId"] != nil else { throw APIError(400, "field \"requestId\" is required") }
        // JSONSerialization cannot tell true from 1 on Linux; JSONDecoder can.
        guard let field = try? JSONDecoder().decode(RequestIDField.self, from: Data(request.body)).requestId,
              let requestID = field.requestID else {
            throw APIError(400, "field \"requestId\" must be a number or a string")
        }
        let key = try key(object["tenant"] as? String, object["mapping"] as? String)
        do {
            if try collector.store.isPruned(key, requestID) {
                throw APIError(409, "request \(requestID) of \(key.tenant)/\(key.mapping) ended before the retention horizon and was already counted")
            }
            switch try collector.track(key, requestID: requestID) {
            case .inserted(let tracked): return JSONBody.reply(JSONBody.request(tracked), status: 201)
            case .alreadyTracked(let tracked): return JSONBody.reply(JSONBody.request(tracked), status: 200)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(500, "cannot store the request: \(error)")
        }
    }

    private func trigger(_ request: HTTPRequest) async -> HTTPReply {
        let key: MappingKey
        do { key = try self.key(request.pathParameters["tenant"], request.pathParameters["mapping"]) } catch { return error.reply }
        switch await collector.trigger(key) {
        case .success(let outcome):
            var body: [String: Any] = ["tenant": key.tenant, "mapping": key.mapping, "result": outcome.resultLabel]
            switch outcome {
            case .submitted(let id), .alreadyInProgress(let id): body["requestId"] = id.rawValue
            case .notStopped(let info), .notPublished(let info): body["info"] = info
            }
            let status: Int = switch outcome {
            case .submitted: 201
            case .alreadyInProgress: 200
            case .notStopped, .notPublished: 409
            }
            return JSONBody.reply(body, status: status)
        case .failure(let error):
            return JSONBody.reply(["tenant": key.tenant, "mapping": key.mapping, "result": "error",
                                   "error": error.description], status: 502)
        }
    }

    private func list(_ request: HTTPRequest) throws(APIError) -> HTTPReply {
        var query = HistoryQuery()
        query.tenant = request.query["tenant"].flatMap { $0.isEmpty ? nil : $0 }
        query.mapping = request.query["mapping"].flatMap { $0.isEmpty ? nil : $0 }
        if let tenant = query.tenant, !collector.config.tenants.contains(where: { $0.name == tenant }) {
            throw APIError(404, "unknown tenant \"\(tenant)\"")
        }
        if let mapping = query.mapping, !mappings.keys.contains(where: { $0.mapping == mapping && (query.tenant ?? $0.tenant) == $0.tenant }) {
            throw APIError(404, "unknown mapping \"\(mapping)\"" + (query.tenant.map { " in tenant \"\($0)\"" } ?? ""))
        }
        if let status = request.query["status"], !status.isEmpty {
            let parsed = IngestionStatus(storedName: status)
            guard case .unknown = parsed else { query.status = parsed; return try page(query, request) }
            throw APIError(400, "parameter \"status\" must be one of in_progress, success, failed, aborted")
        }
        return try page(query, request)
    }

    private func page(_ base: HistoryQuery, _ request: HTTPRequest) throws(APIError) -> HTTPReply {
        var query = base
        if let since = request.query["since"], !since.isEmpty {
            guard let date = APITime.parse(since) else {
                throw APIError(400, "parameter \"since\" must be an RFC 3339 time (2026-11-29T08:00:00Z) or Unix seconds")
            }
            query.since = date
        }
        if let limit = request.query["limit"], !limit.isEmpty {
            guard let value = Int(limit), (1...Self.maxLimit).contains(value) else {
                throw APIError(400, "parameter \"limit\" must be a whole number from 1 to \(Self.maxLimit)")
            }
            query.limit = value
        }
        if let cursor = request.query["cursor"], !cursor.isEmpty {
            guard let value = Int64(cursor), value > 0 else { throw APIError(400, "parameter \"cursor\" is not a cursor this API returned") }
            query.before = value
        }
        let rows: [TrackedRequest]
        do { rows = try collector.store.history(query) } catch { throw APIError(500, "cannot read the history: \(error)") }
        let next: Any = rows.count == query.limit ? String(rows.last!.rowID) : NSNull()
        return JSONBody.reply(["requests": rows.map(JSONBody.request), "next_cursor": next])
    }

    private func one(_ request: HTTPRequest) throws(APIError) -> HTTPReply {
        let key = try key(request.pathParameters["tenant"], request.pathParameters["mapping"])
        let id = RequestID(request.pathParameters["requestId"] ?? "")
        do {
            guard let found = try collector.store.request(key, id) else {
                throw APIError(404, "request \(id) of \(key.tenant)/\(key.mapping) is not tracked")
            }
            var body = JSONBody.request(found)
            body["observations"] = try collector.store.observations(of: found.rowID).map(JSONBody.observation)
            return JSONBody.reply(body)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(500, "cannot read the request: \(error)")
        }
    }

    private func mappingList(_ request: HTTPRequest) throws(APIError) -> HTTPReply {
        let latest: [MappingKey: TrackedRequest]
        let totals: StoreTotals
        do {
            latest = try collector.store.latestRequests()
            totals = try collector.store.totals()
        } catch {
            throw APIError(500, "cannot read the store: \(error)")
        }
        let body: [[String: Any]] = collector.config.tenants.flatMap { tenant in
            tenant.mappings.map { mapping -> [String: Any] in
                let key = MappingKey(tenant: tenant.name, mapping: mapping.id)
                let outcomes = totals.outcomes.filter { $0.key == key }
                func count(_ status: String) -> Int { outcomes.filter { $0.status == status }.map(\.requests).reduce(0, +) }
                var failures: [String: Int] = [:]
                for outcome in outcomes where outcome.status != "success" { failures[outcome.acpCode, default: 0] += outcome.requests }
                return [
                    "tenant": tenant.name, "mapping": mapping.id, "name": mapping.name,
                    "trigger_every": mapping.triggerEvery.map { DurationText.format($0) } ?? NSNull(),
                    "latest_request": latest[key].map(JSONBody.request) ?? NSNull(),
                    "counters": [
                        "requests": ["success": count("success"), "failed": count("failed"), "aborted": count("aborted")],
                        "records_ingested": outcomes.map(\.records).reduce(0, +),
                        "failures_by_acp_code": failures,
                        "in_progress": totals.open.filter { $0.key == key }.count,
                        "triggers": totals.triggers[key] ?? [:],
                    ] as [String: Any],
                ]
            }
        }
        return JSONBody.reply(["mappings": body])
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<min(x.count, y.count) { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

/// Times as the API and the command line accept them: RFC 3339, a date, or Unix seconds.
public enum APITime {
    public static func parse(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }
}

/// The `requestId` of a tracking request: a whole number or a non-empty string.
private struct RequestIDField: Decodable {
    enum Value: Decodable {
        case integer(Int64), string(String), other

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) { self = .integer(number) }
            else if let text = try? container.decode(String.self) { self = .string(text) }
            else { self = .other }
        }

        var requestID: RequestID? {
            switch self {
            case .integer(let number): return RequestID(String(number))
            case .string(let text):
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                return trimmed.isEmpty ? nil : RequestID(trimmed)
            case .other: return nil
            }
        }
    }
    let requestId: Value
}
