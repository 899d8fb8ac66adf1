import ArgumentParser
import AsyncHTTPClient
import ExporterAPI
import ExporterCore
import Foundation
import NIOCore
import WireFormat

/// How the commands reach a running exporter's /api/v1.
struct RemoteOptions: ParsableArguments {
    enum Output: String, CaseIterable, Sendable {
        case table, json
    }

    @Option(help: "The exporter's base URL.")
    var url = "http://127.0.0.1:10193"

    @Option(name: .customLong("token-file"),
            help: "File holding the API bearer token (else the ACS_EXPORTER_API_TOKEN environment variable).")
    var tokenFile: String?

    @Option(name: .customLong("web.user"), help: "Basic-auth user, when the exporter's web configuration asks for one.")
    var user: String?

    @Option(name: .customLong("web.password-file"), help: "File holding that user's password.")
    var passwordFile: String?

    @Option(help: "\(Output.choices).", transform: choice("--output"))
    var output = Output.table

    /// The Authorization header: basic auth when a user is given, else the bearer token.
    var authorization: String? {
        if let user {
            guard let passwordFile, let password = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                fail("--web.user needs --web.password-file, a readable file holding the password")
            }
            return Authorization.basic(user: user, password: password.trimmingCharacters(in: .newlines))
        }
        return token.map(Authorization.bearer)
    }

    var token: String? {
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { fail("cannot read --token-file \(tokenFile)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment["ACS_EXPORTER_API_TOKEN"]
    }

    /// One connection attempt, as curl makes: an exporter that is down or unreachable is
    /// reported at once (AsyncHTTPClient's default retries connecting until the deadline).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends one API call and returns the status and the body; exits with the API's
    /// error message when it answers one (unless `errorBody` accepts that status).
    func call(_ method: String, _ path: String, body: [UInt8]? = nil,
              acceptingErrorsAs errorBody: Bool = false) async -> (status: Int, data: Data) {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        // The URL is never quoted: it could hold a password.
        guard let target = URL(string: base + path), target.scheme == "http" || target.scheme == "https", target.host != nil else {
            fail("invalid --url: an http:// or https:// URL of the exporter is expected")
        }
        guard target.user == nil && target.password == nil else {
            fail("--url must not hold credentials: use --web.user and --web.password-file, or --token-file")
        }
        // AsyncHTTPClient, as the daemon's calls to Adobe: the CLI links no second HTTP stack
        // (Foundation's URLSession loads libcurl and its libraries into the daemon too).
        var request = HTTPClientRequest(url: target.absoluteString)
        request.method = .init(rawValue: method)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let status: Int
        let data: Data
        do {
            let response = try await Self.client.execute(request, timeout: .seconds(90))
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        } catch is NIOTooManyBytesError {
            fail("\(method) \(path): the exporter's answer is over 64 MiB")
        } catch {
            fail("cannot reach the exporter at \(base): \(error)")
        }
        if status >= 400 && !errorBody {
            let message = (try? APIJSON.decode(ErrorBody.self, from: data))?.error ?? String(decoding: data.prefix(200), as: UTF8.self)
            fail("\(method) \(path): HTTP \(status): \(message)")
        }
        return (status, data)
    }

    /// Decodes an answer, or exits naming what the exporter sent.
    func decode<Body: Decodable>(_ type: Body.Type, _ data: Data) -> Body {
        do {
            return try APIJSON.decode(type, from: data)
        } catch {
            fail("the exporter's answer is not the expected JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }

    /// The answer as is (`--output json`), or nil when a table is wanted.
    func printedAsJSON(_ data: Data) -> Bool {
        guard output == .json else { return false }
        say(String(decoding: data, as: UTF8.self), newline: false)
        return true
    }
}

enum RequestTable {
    static func render(_ requests: [RequestBody]) -> String {
        let rows = requests.map { r -> [String] in
            [r.firstSeen, r.tenant, r.mapping, r.requestID, r.status, String(r.numRecords), r.acpCode ?? "",
             r.durationSeconds.map { String(format: "%.0fs", $0) } ?? "", aep(r.aepBatch)]
        }
        return TextTable.render(header: ["FIRST SEEN", "TENANT", "MAPPING", "REQUEST", "STATUS", "RECORDS", "ACP CODE", "DURATION", "AEP BATCH"],
                                rows: rows, rightAligned: [5, 7])
    }

    /// `success 1342/1491 ingested, 149 failed: INGEST-1401-400 (149)`, or the Catalog status while it is followed.
    static func aep(_ batch: AEPBatchBody?) -> String {
        guard let batch else { return "" }
        guard batch.ended, let input = batch.inputRecords else { return batch.status }
        let codes = batch.errors.map { error in error.code + (error.recordCount.map { " (\($0))" } ?? "") }.joined(separator: ", ")
        return "\(batch.status) \(batch.ingestedRecords ?? 0)/\(input) ingested, \(batch.failedRecords ?? 0) failed"
            + (codes.isEmpty ? "" : ": " + codes)
    }
}

/// One request of one mapping, as the commands that name one take it.
struct RequestOptions: ParsableArguments {
    @Option var tenant: String
    @Option var mapping: String
    @Option(name: .customLong("request-id"), help: "The request id Adobe gave (a positive whole number).")
    var requestID: String

    /// The id, or one line saying what it must be.
    func id() -> RequestID {
        guard let id = RequestID(validating: requestID) else { fail("--request-id \(RequestID.validForm)") }
        return id
    }
}

struct Track: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running exporter to follow a request triggered elsewhere (idempotent).")
    @OptionGroup var remote: RemoteOptions
    @OptionGroup var request: RequestOptions

    func run() async throws {
        let body: [UInt8]
        do { body = try APIJSON.encode(TrackRequest(tenant: request.tenant, mapping: request.mapping, requestID: request.id())) } catch {
            fail("cannot encode the request: \(error)")
        }
        let (status, data) = await remote.call("POST", "/api/v1/requests", body: body)
        if remote.printedAsJSON(data) { return }
        say(status == 201 ? "now tracking:" : "already tracked:")
        say(RequestTable.render([remote.decode(RequestBody.self, data)]), newline: false)
    }
}

struct Trigger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running exporter to trigger an ingestion now and follow it.")
    @OptionGroup var remote: RemoteOptions
    @Option var tenant: String
    @Option var mapping: String

    func run() async throws {
        let path = "/api/v1/tenants/\(PercentEncoding.encode(tenant))/mappings/\(PercentEncoding.encode(mapping))/ingest"
        let (status, data) = await remote.call("POST", path, acceptingErrorsAs: true)
        // 409 and 502 carry a trigger answer; any other error is the API's own.
        guard status < 400 || status == 409 || status == 502 else {
            fail("POST \(path): HTTP \(status): \((try? APIJSON.decode(ErrorBody.self, from: data))?.error ?? "")")
        }
        if !remote.printedAsJSON(data) {
            let answer = remote.decode(TriggerResponse.self, data)
            let detail = answer.requestID.map { " request \($0)" } ?? answer.info.map { ": \($0)" }
                ?? answer.error.map { ": \($0)" } ?? ""
            say("\(tenant)/\(mapping): \(answer.result)\(detail)")
        }
        if status >= 400 { throw ExitCode(1) }
    }
}

struct Untrack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running exporter to stop following a mistaken request (its history stays; nothing is counted).")
    @OptionGroup var remote: RemoteOptions
    @OptionGroup var request: RequestOptions

    func run() async throws {
        let path = "/api/v1/requests/\(PercentEncoding.encode(request.tenant))/\(PercentEncoding.encode(request.mapping))/\(request.id())"
        let (_, data) = await remote.call("DELETE", path)
        if remote.printedAsJSON(data) { return }
        say("untracked:")
        say(RequestTable.render([remote.decode(RequestBody.self, data)]), newline: false)
    }
}

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List requests a running exporter tracks, newest first.")
    @OptionGroup var remote: RemoteOptions
    @Option var tenant: String?
    @Option var mapping: String?
    @Option(help: "\(IngestionStatus.filterNames.joined(separator: ", ")).") var status: String?
    @Option(help: "First seen at or after (2026-11-01 or RFC 3339).") var since: String?
    @Option var limit: Int = 50
    @Option(help: "The next_cursor of a previous page.") var cursor: String?

    func run() async throws {
        var items = [URLQueryItem(name: "limit", value: String(limit))]
        for (name, value) in [("tenant", tenant), ("mapping", mapping), ("status", status), ("since", since), ("cursor", cursor)] {
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        var components = URLComponents()
        components.queryItems = items
        let (_, data) = await remote.call("GET", "/api/v1/requests" + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
        if remote.printedAsJSON(data) { return }
        let page = remote.decode(RequestPage.self, data)
        say(RequestTable.render(page.requests), newline: false)
        if let next = page.nextCursor { say("more: --cursor \(next)") }
    }
}

import IngestionModel
