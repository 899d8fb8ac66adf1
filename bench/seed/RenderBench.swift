import ExporterMetrics
import Exposition
import Foundation
import IngestionModel

/// `acs-bench-seed render --mappings M --changes N`: the CPU one model change
/// costs the renderer, segmented (what the exporter does: the gzip segments, and
/// with uncompressed scrapes the text body spliced too) and whole (one text body
/// rendered and gzip-compressed again, as before segments), on a model shaped
/// like the seeded configuration. Prints one Markdown table row.
func renderBench(mappings count: Int, changes: Int) {
    let tenants = max(1, min(20, count / 50))
    let descriptors = (0..<count).map { index in
        MappingDescriptor(key: MappingKey(tenant: "bench-tenant-\(index % tenants)", mapping: "XDM\(index)"),
                          name: "Bench mapping \(index)", scheduled: false)
    }
    let start = Date()
    let metrics = IngestionMetrics(mappings: descriptors, version: "bench", revision: "bench", now: start)
    for (index, descriptor) in descriptors.enumerated() {
        metrics.requestFinished(descriptor.key, status: index % 7 == 4 ? .failed : .success, acpCode: nil, records: 100 + index,
                                duration: Double(30 + index % 3000), requestID: RequestID(index), finishedAt: start)
    }
    let exposition = SegmentedExposition(metrics: metrics, includeProcessMetrics: false)
    var first: [ExpositionFormat: ExpositionSnapshot] = [:]
    let full = cpuSeconds { first = exposition.refresh(updatingPlain: false) }  // as at start-up

    var generator = SystemRandomNumberGenerator()
    var requests = count
    func segmented(updatingPlain: Bool) -> Double {
        cpuSeconds {
            for _ in 0..<changes {
                let key = descriptors[Int.random(in: 0..<count, using: &generator)].key
                requests += 1
                metrics.requestFinished(key, status: .success, acpCode: nil, records: 10, duration: 60, requestID: RequestID(requests),
                                        finishedAt: start.addingTimeInterval(Double(requests)))
                _ = exposition.refresh(processMetrics: false, updatingPlain: updatingPlain)
            }
        } / Double(changes)
    }
    let gzipOnly = segmented(updatingPlain: false)
    _ = exposition.refresh(processMetrics: false)  // the body brought up to date once
    let withPlain = segmented(updatingPlain: true)

    let wholeRuns = max(1, min(changes, 10))
    let whole = cpuSeconds {
        for _ in 0..<wholeRuns {
            let body = metrics.render(.text)
            _ = Gzip.compress(body)
        }
    } / Double(wholeRuns)

    let text = first[.text]!, openMetrics = first[.openMetrics]!
    func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
    print(String(format: "| %d | %@ / %@ | %@ / %@ | %.1f | %.2f | %.2f | %.1f |", count, mib(text.plainCount), mib(openMetrics.plainCount),
                 mib(text.gzipCount ?? 0), mib(openMetrics.gzipCount ?? 0), full * 1000, gzipOnly * 1000, withPlain * 1000, whole * 1000))
}

/// CPU time of this thread while `body` runs, in seconds.
private func cpuSeconds(_ body: () -> Void) -> Double {
    func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
    let before = now()
    body()
    return now() - before
}
