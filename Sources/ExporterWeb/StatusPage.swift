import Foundation
import IngestionCollector
import IngestionModel
import IngestionStore

/// The landing page: per mapping the latest request, time since the last
/// success, the in-progress age, 30 days of records ingested and failures by
/// ACP code, then the most recent requests. Drawn on the server (inline SVG),
/// no scripts, no external assets.
struct StatusPage: Sendable {
    let settings: LiveConfiguration
    let store: any IngestionStore
    let telemetryPath: String
    let version: String
    /// What the page last read from the store, shown again (with a notice) while the store cannot be read.
    private let lastRead = Live<Contents?>(nil)

    /// What the page shows, read from the store at `readAt`.
    struct Contents: Sendable {
        var latest: [MappingKey: TrackedRequest]
        var totals: IngestionTotals
        var daily: [MappingKey: [String: Int]]
        var recent: [TrackedRequest]
        /// The recent requests' batches followed in Experience Platform, by request row id.
        var batches: [Int64: BatchFollowUp]
        var readAt: Date
    }

    init(settings: LiveConfiguration, store: any IngestionStore, telemetryPath: String, version: String) {
        (self.settings, self.store, self.telemetryPath, self.version) = (settings, store, telemetryPath, version)
    }

    /// The page from the store, or, while the store cannot be read, from what it last
    /// read, saying so; an error only when it never could.
    func render(now: Date) async throws(StoreError) -> String {
        do {
            let contents = try await read(now: now)
            lastRead.replace(contents)
            return render(contents, now: now, notice: nil)
        } catch {
            guard let last = lastRead.value else { throw error }
            return render(last, now: now, notice: "The store cannot be read (\(error)): this page shows it as of \(Self.clock(last.readAt)).")
        }
    }

    private func read(now: Date) async throws(StoreError) -> Contents {
        let days = Self.days(endingAt: now, count: 30)
        var recentQuery = HistoryQuery()
        recentQuery.limit = 25
        let recent = try await store.history(recentQuery)
        return Contents(latest: try await store.latestRequests(), totals: try await store.totals(),
                        daily: try await store.dailyRecords(since: Timestamp.startOfDay(days.first!) ?? now),
                        recent: recent,
                        batches: try await store.batches(ofRequests: recent.filter { $0.batchID?.isEmpty == false }.map(\.rowID)),
                        readAt: now)
    }

    private func render(_ contents: Contents, now: Date, notice: String?) -> String {
        let config = settings.value
        let (latest, totals, daily, recent) = (contents.latest, contents.totals, contents.daily, contents.recent)
        let days = Self.days(endingAt: now, count: 30)

        var cards = ""
        for tenant in config.tenants {
            for mapping in tenant.mappings {
                let key = MappingKey(tenant: tenant.name, mapping: mapping.id)
                let failures = totals.failuresByACPCode(of: key)
                let oldestOpen = totals.open.filter { $0.key == key }.map(\.firstSeen).min()
                cards += card(key: key, name: mapping.name, latest: latest[key], lastSuccess: totals.latest[key]?.lastSuccessAt,
                              oldestOpen: oldestOpen, failures: failures, daily: days.map { daily[key]?[$0] ?? 0 },
                              days: days, now: now)
            }
        }
        let rows = recent.map { request in
            """
            <tr data-request="\(e(request.requestID.rawValue))"><td>\(e(Self.clock(request.firstSeen)))</td><td>\(e(request.key.tenant))/\(e(request.key.mapping))</td>\
            <td>\(e(request.requestID.rawValue))</td><td>\(badge(request.status))</td><td>\(request.numRecords)</td>\
            <td>\(e(request.acpCode?.rawValue ?? ""))</td><td class="info">\(e(request.info ?? ""))\(aep(contents.batches[request.rowID]))</td></tr>
            """
        }.joined(separator: "\n")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>ACS ingestion exporter</title>
        <style>
        body{font-family:system-ui,-apple-system,sans-serif;margin:0;padding:1rem;color:#1d232a;background:#f6f7f9}
        header a{margin-right:1rem}h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.8rem}
        .card{background:#fff;border:1px solid #dde1e6;border-radius:.5rem;padding:.8rem}
        .card h3{font-size:1rem;margin:0 0 .4rem}.muted{color:#5f6b7a;font-size:.85rem}
        dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .6rem;margin:.4rem 0;font-size:.9rem}dt{color:#5f6b7a}dd{margin:0}
        .badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;font-size:.8rem;font-weight:600}
        .success{background:#d8f3df;color:#13612e}.failed{background:#fbdada;color:#8a1c1c}.aborted{background:#fde7c8;color:#7a4500}
        .in_progress{background:#dbe8fb;color:#184a8c}.unknown{background:#e6e6e6;color:#333}
        svg.chart{width:100%;height:auto;display:block}ul.acp{margin:.2rem 0 0;padding-left:1.1rem;font-size:.85rem}
        .table{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff;font-size:.85rem}
        th,td{padding:.3rem .5rem;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}td.info{min-width:14rem}
        .notice{background:#fbdada;color:#8a1c1c;border-radius:.4rem;padding:.5rem .8rem}
        </style></head><body>
        <header><a href="\(e(telemetryPath))">Metrics</a><a href="/api/v1/mappings">API: mappings</a><a href="/-/healthy">Health</a><a href="/-/ready">Readiness</a></header>
        <h1>ACS ingestion exporter</h1>
        \(notice.map { "<p class=\"notice\" role=\"alert\">\(e($0))</p>" } ?? "")
        <p class="muted">Version \(e(version)) · \(config.mappingKeys.count) mappings · as of \(e(Self.clock(now)))</p>
        <h2>Mappings</h2>
        <section class="cards">
        \(cards)
        </section>
        <h2>Recent requests</h2>
        <div class="table"><table id="recent"><thead><tr><th>First seen</th><th>Mapping</th><th>Request</th><th>Status</th><th>Records</th><th>ACP code</th><th>Info</th></tr></thead>
        <tbody>
        \(rows.isEmpty ? "<tr><td colspan=\"7\">No request tracked yet.</td></tr>" : rows)
        </tbody></table></div>
        </body></html>
        """
    }

    private func card(key: MappingKey, name: String, latest: TrackedRequest?, lastSuccess: Date?, oldestOpen: Date?,
                      failures: [String: Int], daily: [Int], days: [String], now: Date) -> String {
        let latestText = latest.map { "\(e($0.requestID.rawValue)) \(badge($0.status))" } ?? "none yet"
        let sinceSuccess = lastSuccess.map { Self.age(now.timeIntervalSince($0)) + " ago" } ?? "never"
        let inProgress = oldestOpen.map { Self.age(now.timeIntervalSince($0)) } ?? "none"
        let failureList = failures.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        let acp = failureList.isEmpty ? "<p class=\"muted\">No failures.</p>"
            : "<ul class=\"acp\">" + failureList.map { "<li>\(e($0.key)): \($0.value)</li>" }.joined() + "</ul>"
        return """
        <article class="card" data-tenant="\(e(key.tenant))" data-mapping="\(e(key.mapping))">
        <h3>\(e(name)) <span class="muted">\(e(key.tenant)) / \(e(key.mapping))</span></h3>
        <dl><dt>Latest request</dt><dd>\(latestText)</dd><dt>Last success</dt><dd>\(sinceSuccess)</dd>
        <dt>Oldest in progress</dt><dd>\(inProgress)</dd></dl>
        \(chart(daily, days: days, label: "Records ingested per day, last 30 days, \(key.tenant)/\(key.mapping)"))
        <div class="muted">Failures by ACP code</div>
        \(acp)
        </article>
        """
    }

    /// A failed request's batch as Experience Platform saw it: status, records ingested and
    /// rejected, each error code with its count and Adobe's description.
    private func aep(_ batch: BatchFollowUp?) -> String {
        guard let batch else { return "" }
        var text = "<div class=\"aep\" data-batch=\"\(e(batch.batchID))\">AEP batch \(e(batch.batchID)): \(e(batch.status))"
        if !batch.isOpen, let input = batch.counts.input {
            text += ", \(batch.counts.output ?? 0) of \(input) records ingested, \(batch.counts.failed ?? 0) rejected"
        } else if batch.isOpen {
            text += " (followed: \(batch.lookups) lookups\(batch.lastError.map { "; last: " + e($0) } ?? ""))"
        }
        if !batch.errors.isEmpty {
            text += "<ul class=\"acp\">" + batch.errors.map { error in
                "<li>\(e(error.code))\(error.recordCount.map { " (\($0) records)" } ?? ""): \(e(error.description ?? ""))</li>"
            }.joined() + "</ul>"
        }
        return text + "</div>"
    }

    /// A 30-bar chart of records per day.
    private func chart(_ values: [Int], days: [String], label: String) -> String {
        let width = 300.0, height = 80.0, gap = 2.0
        let peak = Double(max(values.max() ?? 0, 1))
        let barWidth = (width - gap * Double(values.count - 1)) / Double(values.count)
        var bars = ""
        for (index, value) in values.enumerated() {
            let barHeight = value == 0 ? 0 : max(1, Double(value) / peak * (height - 14))
            let x = Double(index) * (barWidth + gap)
            bars += "<rect x=\"\(Self.fixed(x))\" y=\"\(Self.fixed(height - barHeight))\" width=\"\(Self.fixed(barWidth))\" height=\"\(Self.fixed(barHeight))\" fill=\"#2f6fd0\"><title>\(days[index]): \(value) records</title></rect>"
        }
        let total = values.reduce(0, +)
        return """
        <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(e(label))">\
        <text x="0" y="10" font-size="10" fill="#5f6b7a">\(total) records in 30 days (best day \(values.max() ?? 0))</text>\
        <line x1="0" y1="\(Int(height) - 1)" x2="\(Int(width))" y2="\(Int(height) - 1)" stroke="#c4cad3" stroke-width="1"/>\(bars)</svg>
        """
    }

    private func badge(_ status: IngestionStatus) -> String {
        "<span class=\"badge \(status.name)\">\(e(status.apiValue))</span>"
    }

    private func e(_ text: String) -> String { HTML.escape(text) }

    static func days(endingAt now: Date, count: Int) -> [String] {
        (0..<count).reversed().map { offset in dayString(now.addingTimeInterval(-Double(offset) * 86400)) }
    }

    static func dayString(_ date: Date) -> String { Timestamp.day(date) }

    static func clock(_ date: Date) -> String { Timestamp.rfc3339(date) }

    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h \(s % 3600 / 60)m" }
        return "\(s / 86400)d \(s % 86400 / 3600)h"
    }

    static func fixed(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Text made safe inside HTML elements and attribute values.
enum HTML {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
