import Foundation

/// The standard `process_*` metrics, read from /proc as node_exporter and the
/// client libraries do.
public enum ProcessMetrics {
    public static func write(into writer: inout ExpositionWriter) {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after "comm)": state is field 3, utime 14, stime 15, starttime 22, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double { Double(fields[number - 3]) ?? 0 }
            writer.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
            writer.sample("process_cpu_seconds_total", "", (field(14) + field(15)) / ticks)
            writer.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
            writer.sample("process_virtual_memory_bytes", "", field(23))
            writer.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            writer.sample("process_resident_memory_bytes", "", field(24) * pageSize)
            if let boot = bootTime() {
                writer.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
                writer.sample("process_start_time_seconds", "", boot + field(22) / ticks)
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            writer.family("process_open_fds", "gauge", "Number of open file descriptors.")
            writer.sample("process_open_fds", "", fds.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            writer.family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
            writer.sample("process_max_fds", "", Double(limit.rlim_cur))
        }
    }

    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
