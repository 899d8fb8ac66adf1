import IngestionModel

/// Where and how one Campaign tenant is reached.
public struct AdobeClientConfiguration: Sendable, Equatable {
    /// Where the GET sends the requestId: Adobe shows it "in the parameters";
    /// some organizations need it as a JSON body.
    public enum RequestIDPlacement: String, Sendable, CaseIterable {
        case query
        case body
    }

    /// `{tenant}` in the API path, e.g. `acme-mkt-prod1`.
    public var tenant: String
    public var apiBaseURL: String = "https://mc.adobe.io"
    public var imsTokenURL: String = "https://ims-na1.adobelogin.com/ims/token/v3"
    public var clientID: String
    public var clientSecret: Secret
    public var scopes: [String] = ["openid", "AdobeID", "campaign_sdk"]
    public var requestIDPlacement: RequestIDPlacement = .query
    /// adobe.io gives up at 60 s; so do we.
    public static let defaultTimeout: Duration = .seconds(60)
    public var timeout = defaultTimeout
    public var retry = RetryPolicy()
    /// A token is renewed when this share of its lifetime is left: 8 h of a 24 h IMS
    /// token, so a failing renewal has hours to be noticed and fixed before it expires.
    public var tokenRenewalShare = 1.0 / 3
    /// Larger bodies are refused as soon as their size is known.
    public var maxBodyBytes: Int = 1 << 20

    /// Experience Platform, where the failed requests' batches are looked up (nil: they are not).
    public var platform: PlatformSettings?

    public init(tenant: String = "", clientID: String = "", clientSecret: Secret = Secret("")) {
        self.tenant = tenant
        self.clientID = clientID
        self.clientSecret = clientSecret
    }
}

/// How one tenant reaches Experience Platform's Catalog (the `aep` block of its configuration).
public struct PlatformSettings: Sendable, Equatable {
    /// `x-gw-ims-org-id`: the IMS organization, `…@AdobeOrg`.
    public var orgID = ""
    /// `x-sandbox-name`.
    public var sandbox = "prod"
    public var url = "https://platform.adobe.io"
    /// A batch is looked up at once, then after this, doubling up to `lookupIntervalMax`…
    public var lookupInterval: Duration = .seconds(60)
    public var lookupIntervalMax: Duration = .seconds(900)
    /// … until this long after its request ended, when it ends as `unknown`.
    public var giveUpAfter: Duration = .seconds(6 * 3600)

    public init() {}
}

/// Bounded retries for throttling, server errors, time-outs and lost connections.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int = 4
    public var initialBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(30)
    /// A Retry-After longer than this is not waited for: the call fails as throttled.
    public var maxRetryAfter: Duration = .seconds(300)

    public init() {}

    /// A single attempt: for a call whose caller retries on a schedule of its own.
    public static var once: RetryPolicy {
        var policy = RetryPolicy()
        policy.maxAttempts = 1
        return policy
    }

    /// Exponential back-off with "equal jitter": half fixed, half random, so
    /// clients that failed together do not retry together.
    public func backoff(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let exponent = Double(1 << min(max(attempt - 1, 0), 20))
        let ceiling = min(initialBackoff.seconds * exponent, maxBackoff.seconds)
        let seconds = ceiling / 2 + ceiling / 2 * min(max(jitter, 0), 1)
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
