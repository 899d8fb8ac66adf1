import Foundation
import IngestionModel

extension IngestionMetrics {
    /// A followed batch ended and was counted (`addition`, as the store counted it): its
    /// request and batch ids become the exemplars of the records and error series it added to.
    public func batchEnded(_ addition: AEPTotals.Addition, requestID: RequestID, batchID: String, at time: Date) {
        update { state in
            guard let position = state.index[addition.key] else { return }
            let exemplar = { (value: Double) in
                Exemplar(requestID: requestID.rawValue, batchID: batchID, value: value, timestamp: time.timeIntervalSince1970)
            }
            state.updateMapping(position, marking: [.aepBatches, .aepRecords, .aepErrors]) { mapping in
                if mapping.aep == nil { mapping.aep = MetricsState.AEPSeries() }
                mapping.aep!.add(addition, exemplar: exemplar)
            }
            state.changed(at: time)
        }
    }

    /// How many batches of the mapping are being followed now; changes (and tells the observers) only when it moved.
    public func batchesInProgress(_ key: MappingKey, count: Int, at time: Date) {
        let current = state.withLock { state in state.index[key].flatMap { state.mappings[$0].aep?.inProgress } }
        guard let current, current != count else { return }
        update { state in
            guard let position = state.index[key], state.mappings[position].aep != nil else { return }
            state.updateMapping(position, marking: [.aepInProgress]) { $0.aep!.inProgress = count }
            state.changed(at: time)
        }
    }
}

extension MetricsState {
    /// One mapping's `acs_ingestion_aep_*` series.
    struct AEPSeries {
        var batches: [String: Int] = Dictionary(uniqueKeysWithValues: AEPTotals.presetStatuses.map { ($0, 0) })
        /// By `AEPTotals.outcomes` index.
        var records = Array(repeating: 0, count: AEPTotals.outcomes.count)
        var recordExemplars: [Exemplar?] = Array(repeating: nil, count: AEPTotals.outcomes.count)
        var errors: [String: Int] = Dictionary(uniqueKeysWithValues: AEPTotals.presetCodes.map { ($0, 0) })
        var errorExemplars: [String: Exemplar] = [:]
        var inProgress = 0

        mutating func restore(_ totals: AEPTotals) {
            for (status, count) in totals.batches { batches[status, default: 0] += count }
            for (index, outcome) in AEPTotals.outcomes.enumerated() { records[index] += totals.records[outcome] ?? 0 }
            for (code, count) in totals.errors { errors[code, default: 0] += count }
            inProgress = totals.inProgress
        }

        mutating func add(_ addition: AEPTotals.Addition, exemplar: (Double) -> Exemplar?) {
            batches[addition.status, default: 0] += 1
            for (index, count) in addition.records.enumerated() {
                records[index] += count
                if count > 0 { recordExemplars[index] = exemplar(Double(count)) }
            }
            for code in addition.codes {
                errors[code, default: 0] += 1
                errorExemplars[code] = exemplar(1)
            }
        }

        func render(_ f: MetricFamily, labels: String, _ format: ExpositionFormat, created: Double, into w: inout ExpositionWriter) {
            let om = format == .openMetrics
            func counter(_ extra: String, _ value: Int, _ exemplar: Exemplar?) {
                w.sample(f.name, labels, extra, value: value, exemplar: om ? exemplar : nil)
                if om { w.sample(f.openMetricsName, suffix: "_created", labels, extra, value: created) }
            }
            switch f.name {
            case MetricFamily.aepBatches.name:
                for status in batches.keys.sorted() {
                    counter("," + ExpositionWriter.labels([("status", status)]), batches[status]!, nil)
                }
            case MetricFamily.aepRecords.name:
                for (index, outcome) in AEPTotals.outcomes.enumerated() {
                    counter(",outcome=\"\(outcome)\"", records[index], recordExemplars[index])
                }
            case MetricFamily.aepErrors.name:
                for code in errors.keys.sorted() {
                    counter("," + ExpositionWriter.labels([("code", code)]), errors[code]!, errorExemplars[code])
                }
            default:
                w.sample(f.name, labels, value: inProgress)
            }
        }
    }
}
