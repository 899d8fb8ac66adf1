/// Response headers that tell a browser what a page may do. The server adds
/// a route's headers to its answers unless the answer sets the same header.
public enum SecurityHeaders {
    /// For an HTML page whose only styling is inline `<style>` and whose charts
    /// are inline SVG: no script, no external resource, no framing, no referrer.
    public static let page: [(name: String, value: String)] = [
        ("Content-Security-Policy",
         "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
            + "frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]

    /// For JSON and text answers that a browser should never render or frame.
    public static let api: [(name: String, value: String)] = [
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
}
