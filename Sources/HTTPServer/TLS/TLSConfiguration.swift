/// TLS for the server: a certificate and key, and how clients prove who they
/// are. The certificate, the client CAs and `allowedSANs` apply to the next
/// handshake when replaced (`HTTPServer.apply(_:)`); the protocol versions and
/// cipher preference are fixed when the server starts (libmicrohttpd keeps one
/// GnuTLS priority cache per daemon), and so is whether TLS is on at all.
public struct TLSConfiguration: Sendable {
    public var certificate: TLSCertificate
    public var clientCertificates: ClientCertificatePolicy = .none
    /// The CAs that sign acceptable client certificates; required by the
    /// policies that verify.
    public var clientCAs: TLSTrustAnchors?
    /// When not empty, a client certificate must carry one of these as a DNS
    /// name, IP address, e-mail address or URI (exact match, as exporter-toolkit).
    public var allowedSANs: [String] = []
    public var minimumVersion: TLSVersion = .tls12
    public var maximumVersion: TLSVersion = .tls13
    /// Whether the server's cipher order wins over the client's (GnuTLS's `%SERVER_PRECEDENCE`).
    public var preferServerCipherSuites = true

    public init(certificate: TLSCertificate) {
        self.certificate = certificate
    }

    /// Refuses combinations that could not do what they say.
    public func validate() throws(TLSError) {
        if clientCertificates.verifies && clientCAs == nil {
            throw .configuration("client_auth_type \(clientCertificates.rawValue) needs client_ca_file or client_ca")
        }
        if !allowedSANs.isEmpty && !clientCertificates.requiresCertificate {
            throw .configuration("client_allowed_sans needs client_auth_type RequireAnyClientCert or "
                                 + "RequireAndVerifyClientCert (the others let a client connect with no certificate)")
        }
        if minimumVersion > maximumVersion {
            throw .configuration("min_version \(minimumVersion.rawValue) is above max_version \(maximumVersion.rawValue)")
        }
    }

    /// The GnuTLS priority string for the versions and cipher preference.
    var priorities: String {
        let versions = TLSVersion.allCases.filter { $0 >= minimumVersion && $0 <= maximumVersion }
        var text = "NORMAL:-VERS-ALL" + versions.map { ":+" + $0.priorityToken }.joined()
        if preferServerCipherSuites { text += ":%SERVER_PRECEDENCE" }
        return text
    }

    /// The settings only a restart can change, to tell a reload what it cannot apply.
    var fixedAtStart: String { priorities }
}

/// exporter-toolkit's `min_version`/`max_version` values.
public enum TLSVersion: String, Sendable, CaseIterable, Comparable {
    case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

    var priorityToken: String {
        switch self {
        case .tls10: "VERS-TLS1.0"
        case .tls11: "VERS-TLS1.1"
        case .tls12: "VERS-TLS1.2"
        case .tls13: "VERS-TLS1.3"
        }
    }

    public static func < (a: TLSVersion, b: TLSVersion) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// exporter-toolkit's `client_auth_type` values (Go's `tls.ClientAuthType`).
public enum ClientCertificatePolicy: String, Sendable, CaseIterable {
    var asksForCertificate: Bool { self != .none }
    var requiresCertificate: Bool { self == .requireAny || self == .requireAndVerify }
    var verifies: Bool { self == .verifyIfGiven || self == .requireAndVerify }

    case none = "NoClientCert"
    case request = "RequestClientCert"
    case requireAny = "RequireAnyClientCert"
    case verifyIfGiven = "VerifyClientCertIfGiven"
    case requireAndVerify = "RequireAndVerifyClientCert"
}

/// A certificate, key or TLS setting that cannot be used. The text names the
/// problem, never the key's bytes.
public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    case certificate(String)
    case privateKey(String)
    case clientCA(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .certificate(let why): "certificate: \(why)"
        case .privateKey(let why): "private key: \(why)"
        case .clientCA(let why): "client CA: \(why)"
        case .configuration(let why): why
        }
    }
}
