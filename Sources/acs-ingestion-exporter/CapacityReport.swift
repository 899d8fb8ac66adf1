import ExporterAPI
import Foundation
import IngestionModel
import IngestionStore

/// `report`: capacity figures read straight from the database, per mapping and
/// period, with totals per mapping over the whole range.
public struct CapacityReport: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case table, csv, json
    }

    public let period: ReportPeriod
    public let from: Date?
    public let to: Date?
    public let rows: [ReportRow]

    /// Per mapping over the whole range (the `period` field is `total`).
    public var totals: [ReportRow] {
        var byKey: [MappingKey: ReportRow] = [:]
        var order: [MappingKey] = []
        for row in rows {
            if byKey[row.key] == nil { order.append(row.key); byKey[row.key] = ReportRow(key: row.key, period: "total") }
            byKey[row.key]!.add(row)
        }
        return order.map { byKey[$0]! }
    }

    public static func make(store: any IngestionStore, period: ReportPeriod, from: Date?, to: Date?) async throws(StoreError) -> CapacityReport {
        CapacityReport(period: period, from: from, to: to, rows: try await store.report(period: period, from: from, to: to))
    }

    public func render(_ format: Format) throws -> String {
        switch format {
        case .json: return String(decoding: try APIJSON.encode(body, pretty: true), as: UTF8.self)
        case .csv: return csv()
        case .table: return table()
        }
    }

    var body: ReportBody {
        func row(_ row: ReportRow) -> ReportBody.Row {
            ReportBody.Row(tenant: row.key.tenant, mapping: row.key.mapping, period: row.period, recordsIngested: row.recordsIngested,
                           requests: Dictionary(uniqueKeysWithValues: FinalStatus.allCases.map { ($0.label, row.requests[$0] ?? 0) }),
                           failuresByACPCode: row.failuresByACPCode)
        }
        return ReportBody(period: period.rawValue, from: from.map(Timestamp.rfc3339), to: to.map(Timestamp.rfc3339),
                          rows: rows.map(row), totals: totals.map(row))
    }

    private var codes: [String] {
        Set(rows.flatMap(\.failuresByACPCode.keys)).sorted()
    }

    private func counts(_ row: ReportRow) -> [String] {
        FinalStatus.allCases.map { String(row.requests[$0] ?? 0) }
    }

    private func csv() -> String {
        var lines = [(["period", "tenant", "mapping", "records_ingested"] + FinalStatus.allCases.map(\.label) + codes)
            .joined(separator: ",")]
        for row in rows + totals {
            let fields = [row.period, row.key.tenant, row.key.mapping, String(row.recordsIngested)] + counts(row)
                + codes.map { String(row.failuresByACPCode[$0] ?? 0) }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func table() -> String {
        let header = ["PERIOD", "TENANT", "MAPPING", "RECORDS"] + FinalStatus.allCases.map { $0.label.uppercased() }
            + ["FAILURES BY ACP CODE"]
        let body = (rows + totals).map { row in
            [row.period, row.key.tenant, row.key.mapping, String(row.recordsIngested)] + counts(row)
                + [row.failuresByACPCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")]
        }
        return TextTable.render(header: header, rows: body, rightAligned: Set(3..<(4 + FinalStatus.allCases.count)))
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Columns padded for a terminal.
public enum TextTable {
    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
