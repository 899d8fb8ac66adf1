import CGnuTLS
import Foundation

/// A certificate chain and its private key, parsed once into the form GnuTLS
/// hands to a handshake. Immutable after init: GnuTLS reads it from every
/// handshake thread at once, which its credentials API allows. A session keeps
/// pointers into it until the session ends, so each connection that used it
/// holds a reference (see `ConnectionRecord`) and a rotated-out certificate is
/// freed only when its last connection closes.
public final class TLSCertificate: @unchecked Sendable {
    let chain: UnsafeMutablePointer<gnutls_pcert_st>
    let chainLength: UInt32
    let privateKey: gnutls_privkey_t
    /// The leaf's serial number in lower-case hex, to tell certificates apart in logs and tests.
    public let serialNumber: String
    public let notAfter: Date

    private static let maxChainLength: UInt32 = 16

    /// Parses PEM text. Fails when there is no certificate, the key cannot be
    /// read (encrypted keys are not supported) or does not match the leaf.
    public init(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) throws(TLSError) {
        // Proves the pair belongs together with GnuTLS's own check before anything is kept.
        try Self.checkKeyMatches(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)

        let chain = UnsafeMutablePointer<gnutls_pcert_st>.allocate(capacity: Int(Self.maxChainLength))
        var count = Self.maxChainLength
        let imported = withDatum(certificatePEM) { datum in
            gnutls_pcert_list_import_x509_raw(chain, &count, &datum, GNUTLS_X509_FMT_PEM, 0)
        }
        guard imported >= 0, count > 0 else {
            chain.deallocate()
            throw .certificate(gnutlsMessage(imported, otherwise: "no PEM certificate found"))
        }
        var key: gnutls_privkey_t?
        gnutls_privkey_init(&key)
        let keyResult = withDatum(privateKeyPEM) { datum in
            gnutls_privkey_import_x509_raw(key, &datum, GNUTLS_X509_FMT_PEM, nil, 0)
        }
        guard let key, keyResult >= 0 else {
            for index in 0..<Int(count) { gnutls_pcert_deinit(chain + index) }
            chain.deallocate()
            if let key { gnutls_privkey_deinit(key) }
            throw .privateKey(gnutlsMessage(keyResult, otherwise: "unreadable"))
        }
        self.chain = chain
        self.chainLength = count
        self.privateKey = key
        let leaf = X509Certificate(der: chain.pointee.cert)
        serialNumber = leaf?.serialNumber ?? ""
        notAfter = leaf?.notAfter ?? .distantPast
    }

    deinit {
        for index in 0..<Int(chainLength) { gnutls_pcert_deinit(chain + index) }
        chain.deallocate()
        gnutls_privkey_deinit(privateKey)
    }

    private static func checkKeyMatches(certificatePEM: [UInt8], privateKeyPEM: [UInt8]) throws(TLSError) {
        var credentials: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&credentials) >= 0, let credentials else {
            throw .certificate("GnuTLS could not allocate credentials")
        }
        defer { gnutls_certificate_free_credentials(credentials) }
        let result = withDatum(certificatePEM) { certificate in
            withDatum(privateKeyPEM) { key in
                gnutls_certificate_set_x509_key_mem2(credentials, &certificate, &key, GNUTLS_X509_FMT_PEM, nil, 0)
            }
        }
        switch result {
        case _ where result >= 0: return
        case GNUTLS_E_CERTIFICATE_KEY_MISMATCH: throw .privateKey("does not match the certificate")
        case GNUTLS_E_BASE64_DECODING_ERROR, GNUTLS_E_ASN1_DER_ERROR, GNUTLS_E_ASN1_GENERIC_ERROR,
             GNUTLS_E_ASN1_TAG_ERROR, GNUTLS_E_NO_CERTIFICATE_FOUND, GNUTLS_E_BASE64_UNEXPECTED_HEADER_ERROR:
            // GnuTLS does not say which of the two it could not read: try each alone.
            var probe = gnutls_pcert_st()
            var one: UInt32 = 1
            let certificateReadable = withDatum(certificatePEM) { datum in
                gnutls_pcert_list_import_x509_raw(&probe, &one, &datum, GNUTLS_X509_FMT_PEM, 0)
            } >= 0
            if certificateReadable { gnutls_pcert_deinit(&probe) }
            throw certificateReadable ? .privateKey(gnutlsMessage(result, otherwise: "unreadable"))
                                      : .certificate(gnutlsMessage(result, otherwise: "unreadable"))
        default:
            throw .privateKey(gnutlsMessage(result, otherwise: "unusable"))
        }
    }
}

/// The CAs whose signatures make a client certificate acceptable. Immutable
/// after init; verification only reads it.
public final class TLSTrustAnchors: @unchecked Sendable {
    private let list: gnutls_x509_trust_list_t
    public let count: Int

    public init(pem: [UInt8]) throws(TLSError) {
        var list: gnutls_x509_trust_list_t?
        guard gnutls_x509_trust_list_init(&list, 0) >= 0, let list else {
            throw .clientCA("GnuTLS could not allocate a trust list")
        }
        let added = withDatum(pem) { datum in
            gnutls_x509_trust_list_add_trust_mem(list, &datum, nil, GNUTLS_X509_FMT_PEM, 0, 0)
        }
        guard added > 0 else {
            gnutls_x509_trust_list_deinit(list, 1)
            throw .clientCA(gnutlsMessage(added, otherwise: "no PEM certificate found"))
        }
        self.list = list
        self.count = Int(added)
    }

    deinit { gnutls_x509_trust_list_deinit(list, 1) }

    /// Whether `chain` (leaf first, DER) leads to one of these CAs, is within its
    /// validity period and may be used for TLS client authentication.
    func verifies(_ chain: [X509Certificate]) -> Bool {
        var handles = chain.map { Optional($0.handle) }
        var status: UInt32 = 0
        let result = "1.3.6.1.5.5.7.3.2".withCString { clientAuthPurpose in  // id-kp-clientAuth
            var purpose = gnutls_typed_vdata_st(
                type: GNUTLS_DT_KEY_PURPOSE_OID,
                data: UnsafeMutableRawPointer(mutating: clientAuthPurpose).assumingMemoryBound(to: UInt8.self),
                size: 0)
            return gnutls_x509_trust_list_verify_crt2(list, &handles, UInt32(handles.count), &purpose, 1, 0, &status, nil)
        }
        return withExtendedLifetime(chain) { result >= 0 && status == 0 }
    }
}

/// One parsed X.509 certificate, for verification and its subject alternative names.
final class X509Certificate {
    let handle: gnutls_x509_crt_t

    init?(der: gnutls_datum_t) {
        var handle: gnutls_x509_crt_t?
        guard gnutls_x509_crt_init(&handle) >= 0, let handle else { return nil }
        var datum = der
        guard gnutls_x509_crt_import(handle, &datum, GNUTLS_X509_FMT_DER) >= 0 else {
            gnutls_x509_crt_deinit(handle)
            return nil
        }
        self.handle = handle
    }

    deinit { gnutls_x509_crt_deinit(handle) }

    var serialNumber: String {
        var bytes = [UInt8](repeating: 0, count: 64)
        var size = bytes.count
        guard gnutls_x509_crt_get_serial(handle, &bytes, &size) >= 0 else { return "" }
        return bytes.prefix(size).map { String(format: "%02x", $0) }.joined()
    }

    var notAfter: Date { Date(timeIntervalSince1970: TimeInterval(gnutls_x509_crt_get_expiration_time(handle))) }

    /// DNS names, e-mail addresses, URIs and IP addresses (in text form), as exporter-toolkit compares them.
    var subjectAlternativeNames: [String] {
        var names: [String] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        for sequence in 0..<UInt32(64) {
            var size = buffer.count
            let type = gnutls_x509_crt_get_subject_alt_name(handle, sequence, &buffer, &size, nil)
            if type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE { break }
            guard type >= 0 else { continue }
            let value = buffer.prefix(size)
            switch gnutls_x509_subject_alt_name_t(UInt32(type)) {
            case GNUTLS_SAN_DNSNAME, GNUTLS_SAN_RFC822NAME, GNUTLS_SAN_URI:
                names.append(String(decoding: value, as: UTF8.self))
            case GNUTLS_SAN_IPADDRESS:
                if let text = ipAddressText(Array(value)) { names.append(text) }
            default:
                continue
            }
        }
        return names
    }
}

private func ipAddressText(_ bytes: [UInt8]) -> String? {
    let family: Int32
    switch bytes.count {
    case 4: family = AF_INET
    case 16: family = AF_INET6
    default: return nil
    }
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    return bytes.withUnsafeBytes { raw in
        inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) != nil
            ? String(cString: text) : nil
    }
}

/// Calls `body` with a GnuTLS datum over `bytes` (valid only during the call).
func withDatum<R>(_ bytes: [UInt8], _ body: (inout gnutls_datum_t) -> R) -> R {
    var copy = bytes
    return copy.withUnsafeMutableBufferPointer { buffer in
        var datum = gnutls_datum_t(data: buffer.baseAddress, size: UInt32(buffer.count))
        return body(&datum)
    }
}

/// GnuTLS's description of an error code: generic text that never carries key material.
func gnutlsMessage(_ code: Int32, otherwise: String) -> String {
    guard code < 0, let text = gnutls_strerror(code) else { return otherwise }
    return String(cString: text)
}
