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
            byKey[row.key]!.recordsIngested += row.recordsIngested
            byKey[row.key]!.succeeded += row.succeeded
            byKey[row.key]!.failed += row.failed
            byKey[row.key]!.aborted += row.aborted
            for (code, count) in row.failuresByACPCode { byKey[row.key]!.failuresByACPCode[code, default: 0] += count }
        }
        return order.map { byKey[$0]! }
    }

    public static func make(store: IngestionStore, period: ReportPeriod, from: Date?, to: Date?) throws(StoreError) -> CapacityReport {
        CapacityReport(period: period, from: from, to: to, rows: try store.report(period: period, from: from, to: to))
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .json: return json()
        case .csv: return csv()
        case .table: return table()
        }
    }

    private var codes: [String] {
        Set(rows.flatMap(\.failuresByACPCode.keys)).sorted()
    }

    private func json() -> String {
        func encode(_ row: ReportRow) -> [String: Any] {
            ["tenant": row.key.tenant, "mapping": row.key.mapping, "period": row.period,
             "records_ingested": row.recordsIngested,
             "requests": ["success": row.succeeded, "failed": row.failed, "aborted": row.aborted],
             "failures_by_acp_code": row.failuresByACPCode]
        }
        let object: [String: Any] = [
            "period": period.rawValue, "from": JSONBody.date(from), "to": JSONBody.date(to),
            "rows": rows.map(encode), "totals": totals.map(encode),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private func csv() -> String {
        var lines = [(["period", "tenant", "mapping", "records_ingested", "success", "failed", "aborted"] + codes)
            .joined(separator: ",")]
        for row in rows + totals {
            let fields = [row.period, row.key.tenant, row.key.mapping, String(row.recordsIngested), String(row.succeeded),
                          String(row.failed), String(row.aborted)] + codes.map { String(row.failuresByACPCode[$0] ?? 0) }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func table() -> String {
        let header = ["PERIOD", "TENANT", "MAPPING", "RECORDS", "SUCCESS", "FAILED", "ABORTED", "FAILURES BY ACP CODE"]
        let body = (rows + totals).map { row in
            [row.period, row.key.tenant, row.key.mapping, String(row.recordsIngested), String(row.succeeded),
             String(row.failed), String(row.aborted),
             row.failuresByACPCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")]
        }
        return TextTable.render(header: header, rows: body, rightAligned: [3, 4, 5, 6])
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
