import Foundation
import HTTPServer

/// A web configuration read from disk with everything it names: certificate,
/// key and CA files read and parsed, users ready to authenticate.
public struct LoadedWebConfiguration: Sendable {
    public let file: String
    public let configuration: WebConfiguration
    public let settings: SecuritySettings
    /// The configuration file and every file it names, for the watcher.
    public let watchedFiles: [String]
}

extension WebConfiguration {
    /// Reads, validates and applies `file`. Relative file names inside it are
    /// relative to its directory, as in exporter-toolkit.
    public static func load(file: String, realm: String = "acs-ingestion-exporter") throws(WebConfigError)
        -> LoadedWebConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw WebConfigError(problems: ["\(file): cannot read the web configuration: \(reason(error))"])
        }
        let configuration = try parse(yaml: text, file: file)
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        let (settings, files) = try configuration.securitySettings(file: file, directory: directory, realm: realm)
        return LoadedWebConfiguration(file: file, configuration: configuration, settings: settings,
                                      watchedFiles: [file] + files)
    }

    /// The settings the server applies, and the files they were read from.
    func securitySettings(file: String, directory: String, realm: String) throws(WebConfigError)
        -> (SecuritySettings, [String]) {
        var settings = SecuritySettings()
        var files: [String] = []
        if let tlsConfig = tlsServerConfig {
            settings.tls = try tlsConfig.tlsConfiguration(file: file, directory: directory, files: &files)
        }
        if !basicAuthUsers.isEmpty {
            settings.authenticator = BasicAuthenticator(users: basicAuthUsers, realm: realm)
        }
        settings.responseHeaders = httpServerConfig.headers.map { ($0.name, $0.value) }
        return (settings, files)
    }
}

extension WebConfiguration.TLSServerConfig {
    func tlsConfiguration(file: String, directory: String, files: inout [String]) throws(WebConfigError)
        -> TLSConfiguration {
        let path = "tls_server_config"
        var problems: [String] = []
        func pem(inline: String?, file name: String?, inlineKey: String, fileKey: String, required: Bool) -> [UInt8]? {
            switch (inline, name) {
            case (.some, .some):
                problems.append("\(file): \(path).\(fileKey): set either \(inlineKey) or \(fileKey), not both")
            case (.some(let text), nil):
                return Array(text.utf8)
            case (nil, .some(let name)) where !name.isEmpty:
                let resolved = name.hasPrefix("/") ? name : directory + "/" + name
                files.append(resolved)
                do {
                    return Array(try Data(contentsOf: URL(fileURLWithPath: resolved)))
                } catch {
                    problems.append("\(file): \(path).\(fileKey): cannot read \(resolved): \(reason(error))")
                }
            default:
                if required { problems.append("\(file): \(path): \(inlineKey) or \(fileKey) is required") }
            }
            return nil
        }
        let certificatePEM = pem(inline: cert, file: certFile, inlineKey: "cert", fileKey: "cert_file", required: true)
        let keyPEM = pem(inline: key, file: keyFile, inlineKey: "key", fileKey: "key_file", required: true)
        let caPEM = pem(inline: clientCA, file: clientCAFile, inlineKey: "client_ca", fileKey: "client_ca_file",
                        required: false)
        guard problems.isEmpty, let certificatePEM, let keyPEM else { throw WebConfigError(problems: problems) }

        let certificate: TLSCertificate
        do {
            certificate = try TLSCertificate(certificatePEM: certificatePEM, privateKeyPEM: keyPEM)
        } catch {
            let key = if case .privateKey = error { keyFile == nil ? "key" : "key_file" } else { certFile == nil ? "cert" : "cert_file" }
            throw WebConfigError(file, key: "\(path).\(key)", error.description)
        }
        var tls = TLSConfiguration(certificate: certificate)
        tls.clientCertificates = clientAuthType
        tls.allowedSANs = clientAllowedSANs
        tls.minimumVersion = minVersion
        tls.maximumVersion = maxVersion
        tls.preferServerCipherSuites = preferServerCipherSuites
        if let caPEM {
            do {
                tls.clientCAs = try TLSTrustAnchors(pem: caPEM)
            } catch {
                throw WebConfigError(file, key: "\(path).\(clientCAFile == nil ? "client_ca" : "client_ca_file")",
                                     error.description)
            }
        }
        do {
            try tls.validate()
        } catch {
            throw WebConfigError(file, key: path, error.description)
        }
        return tls
    }
}

/// The system's reason for a failed read, without Foundation's long wrapping.
private func reason(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
       let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
        return String(cString: strerror(code.rawValue))
    }
    if nsError.domain == NSCocoaErrorDomain && nsError.code == NSFileReadNoSuchFileError { return "no such file" }
    return nsError.localizedDescription
}
