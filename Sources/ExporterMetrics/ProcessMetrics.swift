import Foundation

/// The standard `process_*` metrics, read from /proc as node_exporter and the
/// client libraries do.
package enum ProcessMetrics {
    /// The values, read once, so both formats of one refresh agree.
    package struct Reading {
        var cpuSeconds: Double?
        var virtualBytes: Double?
        var residentBytes: Double?
        var startTime: Double?
        var openFDs: Int?
        var maxFDs: Double?
    }

    package static func read() -> Reading {
        var reading = Reading()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after "comm)": state is field 3, utime 14, stime 15, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double { Double(fields[number - 3]) ?? 0 }
            reading.cpuSeconds = (field(14) + field(15)) / ticks
            reading.virtualBytes = field(23)
            reading.residentBytes = field(24) * pageSize
            reading.startTime = bootTime().map { $0 + field(22) / ticks }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { reading.openFDs = fds.count }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { reading.maxFDs = Double(limit.rlim_cur) }
        return reading
    }

    /// The process section of a scrape in `format`: these metrics, then the HTTP server's
    /// `traffic`, in a malloc'd buffer the caller frees.
    package static func render(_ reading: Reading, traffic: HTTPTraffic?, _ format: ExpositionFormat)
        -> (pointer: UnsafeMutableRawPointer, count: Int) {
        var writer = ExpositionWriter(capacity: 1024)
        write(reading, format, into: &writer)
        traffic?.write(format, into: &writer)
        return writer.takeBuffer()
    }

    static func write(_ reading: Reading, _ format: ExpositionFormat, into writer: inout ExpositionWriter) {
        func single(_ family: MetricFamily, _ value: Double?) {
            guard let value else { return }
            writer.header(family, format)
            writer.sample(family.name, value: value)
        }
        // No `_created` for the CPU counter: like the client libraries', it counts from the process start.
        single(.processCPU, reading.cpuSeconds)
        single(.processVirtualMemory, reading.virtualBytes)
        single(.processResidentMemory, reading.residentBytes)
        single(.processStartTime, reading.startTime)
        single(.processOpenFDs, reading.openFDs.map(Double.init))
        single(.processMaxFDs, reading.maxFDs)
    }

    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
