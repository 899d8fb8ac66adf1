/// Something a test starts and must stop, even when the test fails.
public protocol AsyncStoppable: Sendable {
    func stop() async
}

/// Runs `body` with `resource`, then stops it, whether `body` returns or throws
/// (a failed `#require` included): a red test leaves nothing listening.
public func stopping<Resource: AsyncStoppable, Result>(_ resource: Resource,
                                                       _ body: (Resource) async throws -> Result) async throws -> Result {
    try await ending(resource, with: { await $0.stop() }, body)
}

/// Runs `body` with `resource`, then `end`s it, whether `body` returns or throws.
public func ending<Resource, Result>(_ resource: Resource, with end: (Resource) async -> Void,
                                     _ body: (Resource) async throws -> Result) async throws -> Result {
    do {
        let result = try await body(resource)
        await end(resource)
        return result
    } catch {
        await end(resource)
        throw error
    }
}

/// Things a test made and must stop later, kept from any task.
public final class Registry<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])

    public init() {}

    public func add(_ item: Item) { items.withLock { $0.append(item) } }

    public var all: [Item] { items.withLock { $0 } }
}

import Synchronization

import HTTPServer

extension HTTPServer: AsyncStoppable {}
