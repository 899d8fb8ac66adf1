import CGnuTLS
import CMicroHTTPD

// GnuTLS callbacks of a handshake. libmicrohttpd sets the session's user
// pointer to its connection, whose socket context is our ConnectionRecord; that
// is how these callbacks, which get no closure argument, reach the server.

private func record(of session: gnutls_session_t?) -> ConnectionRecord? {
    guard let session, let connection = gnutls_session_get_ptr(session) else { return nil }
    return connectionRecord(OpaquePointer(connection))
}

/// Hands GnuTLS the current certificate and key (so a rotated certificate
/// applies from the next handshake), and sets how this session treats a
/// client certificate. GnuTLS calls it while reading the ClientHello, before the
/// server sends CertificateRequest, in TLS 1.2 and 1.3 alike.
let certificateRetriever: @convention(c) (
    gnutls_session_t?, UnsafePointer<gnutls_datum_t>?, Int32, UnsafePointer<gnutls_pk_algorithm_t>?, Int32,
    UnsafeMutablePointer<UnsafeMutablePointer<gnutls_pcert_st>?>?, UnsafeMutablePointer<UInt32>?,
    UnsafeMutablePointer<gnutls_privkey_t?>?
) -> Int32 = {
    session, _, _, _, _, chain, chainLength, privateKey in
    guard let session, let record = record(of: session),
          let tls = record.tlsSettings({ record.context.currentTLS }) else { return -1 }
    // Only ever REQUEST: a missing certificate is then refused (and counted) by
    // the verifier below, like every other refusal, rather than inside GnuTLS.
    if tls.clientCertificates.asksForCertificate {
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST)
        gnutls_session_set_verify_function(session, clientCertificateVerifier)
    } else {
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE)
    }
    // The record keeps `tls` (and so the certificate) alive for the session's lifetime.
    chain?.pointee = tls.certificate.chain
    chainLength?.pointee = tls.certificate.chainLength
    privateKey?.pointee = tls.certificate.privateKey
    return 0
}

/// Accepts or refuses the client's certificate during the handshake, with the
/// settings this session started with. A refusal fails the handshake with an
/// alert: the client sees a TLS error, never an HTTP answer.
let clientCertificateVerifier: @convention(c) (gnutls_session_t?) -> Int32 = { session in
    guard let session, let record = record(of: session),
          let tls = record.tlsSettings({ nil }) else { return -1 }
    var count: UInt32 = 0
    guard let peers = gnutls_certificate_get_peers(session, &count), count > 0 else {
        if tls.clientCertificates.requiresCertificate {
            record.context.countRefusal(.clientCertificate)
            return -1
        }
        return 0
    }
    let chain = (0..<Int(count)).compactMap { X509Certificate(der: peers[$0]) }
    guard chain.count == Int(count), let leaf = chain.first else {
        record.context.countRefusal(.clientCertificate)
        return -1
    }
    if tls.clientCertificates.verifies, !(tls.clientCAs?.verifies(chain) ?? false) {
        record.context.countRefusal(.clientCertificate)
        return -1
    }
    if !tls.allowedSANs.isEmpty, !leaf.subjectAlternativeNames.contains(where: tls.allowedSANs.contains) {
        record.context.countRefusal(.clientCertificate)
        return -1
    }
    return 0
}
