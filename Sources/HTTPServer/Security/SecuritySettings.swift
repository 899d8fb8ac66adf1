/// What a web configuration file decides, in the form the server applies:
/// replaced as a whole by `HTTPServer.apply(_:)`, read per connection (TLS) and
/// per request (the rest), so a change applies to the next of each.
public struct SecuritySettings: Sendable {
    /// nil serves plain HTTP. Whether TLS is on is fixed when the server starts.
    public var tls: TLSConfiguration?
    /// nil lets every request through.
    public var authenticator: (any RequestAuthenticator)?
    /// Added to every answer (exporter-toolkit's `http_server_config.headers`),
    /// unless the answer or its route sets the same header.
    public var responseHeaders: [(name: String, value: String)] = []

    public init(tls: TLSConfiguration? = nil, authenticator: (any RequestAuthenticator)? = nil,
                responseHeaders: [(name: String, value: String)] = []) {
        self.tls = tls
        self.authenticator = authenticator
        self.responseHeaders = responseHeaders
    }
}
