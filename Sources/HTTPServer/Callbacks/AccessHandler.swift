import CMicroHTTPD
import Foundation

/// libmicrohttpd calls this once when a request's head is complete, once per
/// chunk of body, and once more when the body is complete (and again after a
/// suspended connection resumes). The first call decides everything that needs
/// no body (limits, route, authentication), so refusals are answered before a
/// body is read; the last one dispatches.
let accessHandler: MHD_AccessHandlerCallback = {
    contextPointer, connection, url, method, version, uploadData, uploadSize, slot in
    guard let contextPointer, let connection, let url, let method, let uploadSize, let slot else { return MHD_Result.NO }
    let context = Unmanaged<ServerContext>.fromOpaque(contextPointer).takeUnretainedValue()

    // Made when the request line arrived (`requestLineReceived`).
    guard let statePointer = slot.pointee else { return MHD_Result.NO }
    let state = Unmanaged<RequestState>.fromOpaque(statePointer).takeUnretainedValue()
    if state.takeFirstCall() {
        let isHTTP11 = version.map { strcmp($0, "HTTP/1.1") == 0 } ?? false
        return readHead(of: connection, url: url, method: method, isHTTP11: isHTTP11, into: state, context: context)
    }

    if uploadSize.pointee > 0 {
        state.append(UnsafeRawBufferPointer(start: uploadData, count: uploadSize.pointee),
                     limit: context.limits.maxBodyBytes)
        uploadSize.pointee = 0
        return MHD_Result.YES
    }
    guard let head = state.head else { return MHD_Result.YES }  // refused at the head; already queued
    if let reply = state.takeReply() { return queue(reply, on: connection, head: head, context: context) }
    guard state.markDispatched() else { return MHD_Result.YES }
    // Head and body are in: from here the handler's time is not the client's,
    // so the connection's deadline stops (a body trickled byte by byte does not),
    // and it may no longer be evicted. One already shut down (its deadline passed,
    // or evicted, as the request arrived) is closed without running the handler.
    guard connectionRecord(connection)?.beginRequest() ?? true else { return MHD_Result.NO }
    return dispatch(head, state: state, connection: connection, context: context)
}

/// Checks the head against the limits, resolves the route and authenticates.
/// Returns after queueing a refusal, or with the head kept for dispatch.
private func readHead(of connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
                      isHTTP11: Bool, into state: RequestState, context: ServerContext) -> MHD_Result {
    let limits = context.limits
    let settings = context.securitySettings
    var request = HTTPRequest(method: String(cString: method), rawPath: String(cString: url))
    request.headers = headers(of: connection)
    request.query = state.query ?? [:]
    request.clientAddress = connectionRecord(connection)?.address.text

    // What a refusal answers with before the route is known.
    var label = HTTPServerStatistics.unmatchedHandler
    var extraHeaders = settings.responseHeaders
    func refuse(_ reply: HTTPReply) -> MHD_Result {
        queue(reply, on: connection, label: label, extraHeaders: extraHeaders, context: context)
    }
    func refuse(_ status: Int, _ text: String) -> MHD_Result {
        refuse(HTTPResponse.text(text + "\n", status: status).reply)
    }
    if state.targetBytes > limits.maxURLBytes { return refuse(414, "request target over \(limits.maxURLBytes) bytes") }
    if state.query == nil { return refuse(414, "query of more than \(limits.maxQueryParameters) parameters") }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400 (libmicrohttpd
    // only checks in its strict mode, which also refuses other things clients send).
    if isHTTP11 && request.header("host") == nil { return refuse(400, "missing Host header") }
    if acs_mhd_request_header_size(connection) > limits.maxHeaderBytes {
        return refuse(431, "request head over \(limits.maxHeaderBytes) bytes")
    }
    if MHD_get_connection_values(connection, MHD_ValueKind.HEADER_KIND, nil, nil) > limits.maxHeaderFields {
        return refuse(431, "request head of more than \(limits.maxHeaderFields) header fields")
    }
    // A NUL cannot be part of any name this server knows, and would end the
    // value early wherever it reaches C (SQLite, crypt, logs): refuse it anywhere.
    if request.pathSegments.contains(where: { $0.utf8.contains(0) })
        || request.query.contains(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) }) {
        return refuse(400, "NUL in the path or query")
    }
    if let declared = request.header("content-length") {
        guard let length = Int(declared), length >= 0 else { return refuse(400, "invalid Content-Length") }
        if length > limits.maxBodyBytes { return refuse(context.router.payloadTooLarge(request, limits.maxBodyBytes)) }
    }

    let resolution = context.router.resolve(method: request.method, segments: request.pathSegments)
    switch resolution {
    case .found(let match):
        label = match.pattern
        extraHeaders = match.headers + extraHeaders
        request.pathParameters = match.parameters
    case .methodNotAllowed(_, let pattern):
        label = pattern
    case .notFound:
        break
    }
    var pendingAuthentication: (@Sendable () async -> AuthenticationDecision)?
    if let authenticator = settings.authenticator, !context.unauthenticatedRoutes.contains(label) {
        switch authenticator.authenticate(request) {
        case .allowed(let user): request.authenticatedUser = user
        case .refused(let reply): return refuse(reply)
        case .pending(let decide): pendingAuthentication = decide
        }
    }
    state.setHead(RequestState.Head(request: request, resolution: resolution, handlerLabel: label,
                                    extraHeaders: extraHeaders, pendingAuthentication: pendingAuthentication))
    return MHD_Result.YES
}

/// Runs the route's handler (after a pending authentication, if any), at once
/// or with the connection suspended.
private func dispatch(_ head: RequestState.Head, state: RequestState, connection: OpaquePointer,
                      context: ServerContext) -> MHD_Result {
    var request = head.request
    let limits = context.limits
    if limits.maxConcurrentRequests > 0 {
        if context.inFlight.add(1, ordering: .relaxed).newValue > limits.maxConcurrentRequests {
            context.inFlight.subtract(1, ordering: .relaxed)
            let busy = HTTPResponse(status: 503, headers: [("Retry-After", String(limits.retryAfterSeconds)),
                                                           ("Content-Type", "text/plain; charset=utf-8")],
                                    body: Array("too many requests in progress; retry later\n".utf8))
            return queue(busy.reply, on: connection, head: head, context: context)
        }
        state.markCountedInFlight()
    }
    guard let body = state.takeBody() else {
        return queue(context.router.payloadTooLarge(request, limits.maxBodyBytes), on: connection, head: head,
                     context: context)
    }
    request.body = body
    let router = context.router

    var chosen: Router.Handler
    switch head.resolution {
    case .notFound:
        chosen = .immediate(router.notFound)
    case .methodNotAllowed(let allowed, _):
        chosen = .immediate { router.methodNotAllowed($0, allowed) }
    case .found(let match):
        chosen = match.handler
    }

    if head.pendingAuthentication == nil, case .immediate(let respond) = chosen {
        let reply = respond(request)
        guard case .later(let answer) = reply else { return queue(reply, on: connection, head: head, context: context) }
        chosen = .deferred { _ in await answer() }  // an answer not ready: suspended as a deferred route is
    }
    let route = chosen
    let handle = ConnectionHandle(pointer: connection)
    let pending = head.pendingAuthentication
    let finalRequest = request
    let started = context.startDeferred(suspending: connection) {
        var request = finalRequest
        if let pending {
            switch await pending() {
            case .allowed(let user): request.authenticatedUser = user
            case .refused(let reply):
                state.setReply(reply)
                MHD_resume_connection(handle.pointer)
                return
            case .pending:
                state.setReply(HTTPResponse.text("authentication did not complete\n", status: 503).reply)
                MHD_resume_connection(handle.pointer)
                return
            }
        }
        switch route {
        case .immediate(let respond): state.setReply(await settled(respond(request)))
        case .deferred(let respond): state.setReply(await settled(await respond(request)))
        }
        MHD_resume_connection(handle.pointer)
    }
    if started { return MHD_Result.YES }
    return queue(HTTPResponse.text("shutting down\n", status: 503).reply, on: connection, head: head, context: context)
}

/// `reply`, once an answer that was not ready is.
private func settled(_ reply: HTTPReply) async -> HTTPReply {
    var reply = reply
    while case .later(let answer) = reply { reply = await answer() }
    return reply
}

/// A raw pointer that crosses into the Task that resumes its connection.
private struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

private func queue(_ reply: HTTPReply, on connection: OpaquePointer, head: RequestState.Head,
                   context: ServerContext) -> MHD_Result {
    queue(reply, on: connection, label: head.handlerLabel, extraHeaders: head.extraHeaders, context: context)
}

/// Queues `reply` with `extraHeaders` (the route's and the configuration's)
/// that the reply does not set itself, and counts it under `label` (the route
/// pattern) and its status.
private func queue(_ reply: HTTPReply, on connection: OpaquePointer, label: String,
                   extraHeaders extra: [(name: String, value: String)], context: ServerContext) -> MHD_Result {
    func additions(to headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        extra.filter { header in !headers.contains { $0.name.lowercased() == header.name.lowercased() } }
    }
    func queueAsIs(_ prepared: PreparedResponse) -> MHD_Result {
        withExtendedLifetime(prepared) { MHD_queue_response(connection, UInt32(prepared.status), prepared.handle) }
    }
    func queueOnce(_ handle: OpaquePointer, status: Int) -> MHD_Result {
        defer { MHD_destroy_response(handle) }
        return MHD_queue_response(connection, UInt32(status), handle)
    }
    let status: Int
    let result: MHD_Result
    switch reply {
    case .prepared(let prepared):
        status = prepared.status
        let added = additions(to: prepared.headers)
        if !added.isEmpty, let handle = prepared.sharingBody(adding: added) {
            result = queueOnce(handle, status: status)
        } else {
            // No headers to add (or no memory for a copy that has them): the response as prepared.
            result = queueAsIs(prepared)
        }
    case .streamed(let streamed):
        if let handle = streamed.makeHandle(adding: additions(to: streamed.headers)) {
            status = streamed.status
            result = queueOnce(handle, status: status)
        } else {
            status = 503
            result = queueAsIs(PreparedResponse(HTTPResponse.text("out of memory\n", status: status)))
        }
    case .response(var response):
        response.headers += additions(to: response.headers)
        status = response.status
        result = queueAsIs(PreparedResponse(response))
    case .later:
        // `dispatch` awaits these: never here.
        status = 500
        result = queueAsIs(PreparedResponse(HTTPResponse.text("an answer was not awaited\n", status: status)))
    }
    context.countRequest(handler: label, code: status)
    return result
}

/// Header values by lower-cased name; a repeated header's values joined with ", ".
private func headers(of connection: OpaquePointer) -> [String: String] {
    var headers = [String: String](minimumCapacity: 8)
    withUnsafeMutablePointer(to: &headers) { target in
        _ = MHD_get_connection_values(connection, MHD_ValueKind.HEADER_KIND, { cls, _, key, value in
            guard let cls, let key else { return MHD_Result.YES }
            let headers = cls.assumingMemoryBound(to: [String: String].self)
            let name = HTTPRequest.headerKey(key)
            let text = value.map { String(cString: $0) } ?? ""
            if let existing = headers.pointee[name] {
                headers.pointee[name] = existing + ", " + text
            } else {
                headers.pointee[name] = text
            }
            return MHD_Result.YES
        }, UnsafeMutableRawPointer(target))
    }
    return headers
}
