/// Everything a body reader yields (a `StreamedResponse`'s `read`, an exposition's
/// `plainStream()`), asked for `blockSize` bytes at a time as libmicrohttpd does;
/// nil when the reader fails.
public func readAll(_ read: (UnsafeMutableRawBufferPointer) -> Int?, blockSize: Int = 64 * 1024) -> [UInt8]? {
    var body: [UInt8] = []
    var block = [UInt8](repeating: 0, count: blockSize)
    while true {
        guard let count = block.withUnsafeMutableBytes({ read($0) }) else { return nil }
        if count == 0 { return body }
        body += block[..<count]
    }
}
