import CCrypt
import WireFormat

/// bcrypt through libxcrypt's `crypt_r`, which reads the `$2a$`, `$2b$` and
/// `$2y$` hashes `htpasswd -nBC 10` and Go's bcrypt write.
public enum Bcrypt {
    /// What is wrong with `hash` as a bcrypt hash, or nil. Never quotes it.
    public static func problem(withHash hash: String) -> String? {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$") else {
            return "not a bcrypt hash (expected $2y$, $2b$ or $2a$, a cost and 53 characters; see htpasswd -nBC 10)"
        }
        guard let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost) else {
            return "bcrypt cost must be from 04 to 31"
        }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        guard bytes[7...].allSatisfy(alphabet.contains) else {
            return "not a bcrypt hash (characters outside bcrypt's alphabet)"
        }
        return nil
    }

    /// Whether `password` hashes to `hash`. Takes as long as the hash's cost
    /// says (about 70 ms at cost 10): call it off libmicrohttpd's threads.
    /// Passwords holding a NUL, or over bcrypt's 72 bytes (which it would
    /// silently truncate), never match.
    public static func verify(_ password: [UInt8], against hash: String) -> Bool {
        guard password.count <= 72, !password.contains(0) else { return false }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        // crypt_data is about 32 KiB; zeroed as crypt_r's contract asks, and again after use (it held the password).
        let size = MemoryLayout<crypt_data>.size
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: size)
            data.deallocate()
        }
        let matched = (password + [0]).withUnsafeBufferPointer { phrase in
            phrase.withMemoryRebound(to: CChar.self) { phrase -> Bool in
                guard let output = crypt_r(phrase.baseAddress, hash, data) else { return false }
                // libxcrypt answers a string starting with "*" on failure, never the setting itself.
                let computed = Array(String(cString: output).utf8)
                return computed.first != UInt8(ascii: "*") && ConstantTime.equals(computed, Array(hash.utf8))
            }
        }
        return matched
    }

    /// A new `$2b$` hash of `password` with a random salt (for tests and tools;
    /// operators use `htpasswd -nBC 10`).
    public static func hash(_ password: String, cost: Int = 10) -> String? {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &setting, Int32(setting.count)) != nil else { return nil }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        defer { data.deallocate() }
        guard let output = crypt_r(password, setting, data) else { return nil }
        let hash = String(cString: output)
        return hash.hasPrefix("$2b$") ? hash : nil
    }
}
