/// How SQLite keeps the +Inf histogram bound: as 1e308, the largest round REAL (the
/// schema has always written it so). PostgreSQL keeps `Infinity` itself; both read
/// back as +Inf, so the two stores' totals agree.
enum SQLiteBound {
    static let infinity = 1e308

    static func stored(_ bound: Double) -> Double { bound.isFinite ? bound : infinity }

    static func read(_ stored: Double) -> Double { stored >= infinity ? .infinity : stored }
}
