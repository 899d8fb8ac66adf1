import ArgumentParser
import ExporterCore
import Foundation
import HTTPServer
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How the commands reach a running exporter's /api/v1.
struct RemoteOptions: ParsableArguments {
    @Option(help: "The exporter's base URL.")
    var url = "http://127.0.0.1:10193"

    @Option(name: .customLong("token-file"),
            help: "File holding the API bearer token (else the ACS_EXPORTER_API_TOKEN environment variable).")
    var tokenFile: String?

    @Option(help: "table or json.")
    var output = "table"

    var json: Bool {
        guard ["table", "json"].contains(output) else { fail("--output must be table or json; got \"\(output)\"") }
        return output == "json"
    }

    var token: String? {
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { fail("cannot read --token-file \(tokenFile)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment["ACS_EXPORTER_API_TOKEN"]
    }

    /// Sends one API call; exits with the API's error message on failure.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil) async -> (Int, [String: Any], Data) {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        guard let target = URL(string: base + path) else { fail("invalid --url \"\(url)\"") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = 90
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try? JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            fail("cannot reach the exporter at \(base): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        if status >= 400 && object["result"] == nil {
            fail("\(method) \(path): HTTP \(status): \(object["error"] as? String ?? String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return (status, object, data)
    }
}

enum RequestTable {
    static func render(_ requests: [[String: Any]]) -> String {
        let rows = requests.map { r -> [String] in
            let duration = (r["duration_seconds"] as? Double).map { String(format: "%.0fs", $0) } ?? ""
            return [r["first_seen"] as? String ?? "", r["tenant"] as? String ?? "", r["mapping"] as? String ?? "",
                    r["request_id"] as? String ?? "", r["status"] as? String ?? "", String(r["num_records"] as? Int ?? 0),
                    r["acp_code"] as? String ?? "", duration]
        }
        return TextTable.render(header: ["FIRST SEEN", "TENANT", "MAPPING", "REQUEST", "STATUS", "RECORDS", "ACP CODE", "DURATION"],
                                rows: rows, rightAligned: [5, 7])
    }
}

struct Track: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running exporter to follow a request triggered elsewhere (idempotent).")
    @OptionGroup var remote: RemoteOptions
    @Option var tenant: String
    @Option var mapping: String
    @Option(name: .customLong("request-id")) var requestID: String

    func run() async throws {
        let json = remote.json
        let id: Any = Int(requestID) ?? requestID
        let (status, object, data) = await remote.call("POST", "/api/v1/requests",
                                                       body: ["tenant": tenant, "mapping": mapping, "requestId": id])
        if json { say(String(decoding: data, as: UTF8.self), newline: false); return }
        say(status == 201 ? "now tracking:" : "already tracked:")
        say(RequestTable.render([object]), newline: false)
    }
}

struct Trigger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running exporter to trigger an ingestion now and follow it.")
    @OptionGroup var remote: RemoteOptions
    @Option var tenant: String
    @Option var mapping: String

    func run() async throws {
        let json = remote.json
        let path = "/api/v1/tenants/\(PercentEncoding.encode(tenant))/mappings/\(PercentEncoding.encode(mapping))/ingest"
        let (status, object, data) = await remote.call("POST", path)
        if json { say(String(decoding: data, as: UTF8.self), newline: false) } else {
            let result = object["result"] as? String ?? "?"
            let detail = (object["requestId"] as? String).map { " request \($0)" } ?? (object["info"] as? String).map { ": \($0)" }
                ?? (object["error"] as? String).map { ": \($0)" } ?? ""
            say("\(tenant)/\(mapping): \(result)\(detail)")
        }
        if status >= 400 { throw ExitCode(1) }
    }
}

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List requests a running exporter tracks, newest first.")
    @OptionGroup var remote: RemoteOptions
    @Option var tenant: String?
    @Option var mapping: String?
    @Option(help: "in_progress, success, failed or aborted.") var status: String?
    @Option(help: "First seen at or after (2026-11-01 or RFC 3339).") var since: String?
    @Option var limit: Int = 50
    @Option(help: "The next_cursor of a previous page.") var cursor: String?

    func run() async throws {
        let json = remote.json
        var items = [URLQueryItem(name: "limit", value: String(limit))]
        for (name, value) in [("tenant", tenant), ("mapping", mapping), ("status", status), ("since", since), ("cursor", cursor)] {
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        var components = URLComponents()
        components.queryItems = items
        let (_, object, data) = await remote.call("GET", "/api/v1/requests" + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
        if json { say(String(decoding: data, as: UTF8.self), newline: false); return }
        say(RequestTable.render(object["requests"] as? [[String: Any]] ?? []), newline: false)
        if let next = object["next_cursor"] as? String { say("more: --cursor \(next)") }
    }
}
