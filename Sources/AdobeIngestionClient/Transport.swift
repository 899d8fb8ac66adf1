import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange's answer, body already read (and bounded).
struct RawResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]
}

struct OutgoingRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]?
}

/// Sends one request with a hard deadline and a cap on the body it will read.
struct Transport: Sendable {
    let client: HTTPClient
    let timeout: Duration
    let maxBodyBytes: Int

    func send(_ outgoing: OutgoingRequest) async throws(AdobeAPIError) -> RawResponse {
        let timeout = self.timeout
        if Task.isCancelled { throw .cancelled }
        do {
            return try await withThrowingTaskGroup(of: RawResponse.self) { group in
                group.addTask { try await exchange(outgoing) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw AdobeAPIError.timeout(timeout)
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as AdobeAPIError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .timeout(timeout)
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .connectionFailed(Transport.describe(error))
        }
    }

    private func exchange(_ outgoing: OutgoingRequest) async throws -> RawResponse {
        var request = HTTPClientRequest(url: outgoing.url)
        request.method = outgoing.method
        for (name, value) in outgoing.headers { request.headers.add(name: name, value: value) }
        if let body = outgoing.body { request.body = .bytes(ByteBuffer(bytes: body)) }

        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
        if let declared = response.headers.first(name: "content-length").flatMap(Int.init), declared > maxBodyBytes {
            throw AdobeAPIError.bodyTooLarge(limit: maxBodyBytes)
        }
        var body: [UInt8] = []
        for try await chunk in response.body {
            guard body.count + chunk.readableBytes <= maxBodyBytes else {
                throw AdobeAPIError.bodyTooLarge(limit: maxBodyBytes)
            }
            body.append(contentsOf: chunk.readableBytesView)
        }
        return RawResponse(status: Int(response.status.code), headers: response.headers, body: body)
    }

    /// A short, secret-free account of a network failure.
    static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

/// Reads `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
enum RetryAfter {
    static func parse(_ value: String?, now: Date) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int(value) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
            }
        }
        return nil
    }
}
