/// `report --output json`: capacity figures per mapping and period, then per mapping.
public struct ReportBody: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        public var tenant: String
        public var mapping: String
        /// `2026-11-29`, `2026-11-23` (a week's Monday), `2026-11`, or `total`.
        public var period: String
        public var recordsIngested: Int
        /// Ended requests by final status.
        public var requests: [String: Int]
        public var failuresByACPCode: [String: Int]

        enum CodingKeys: String, CodingKey {
            case tenant, mapping, period, requests
            case recordsIngested = "records_ingested", failuresByACPCode = "failures_by_acp_code"
        }

        public init(tenant: String, mapping: String, period: String, recordsIngested: Int, requests: [String: Int],
                    failuresByACPCode: [String: Int]) {
            (self.tenant, self.mapping, self.period) = (tenant, mapping, period)
            (self.recordsIngested, self.requests, self.failuresByACPCode) = (recordsIngested, requests, failuresByACPCode)
        }
    }

    public var period: String
    @Nullable public var from: String?
    @Nullable public var to: String?
    public var rows: [Row]
    public var totals: [Row]

    public init(period: String, from: String?, to: String?, rows: [Row], totals: [Row]) {
        (self.period, self.from, self.to, self.rows, self.totals) = (period, from, to, rows, totals)
    }
}
