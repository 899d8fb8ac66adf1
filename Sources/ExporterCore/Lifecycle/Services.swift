import Foundation
import HTTPServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Serves HTTP until a graceful shutdown, then stops accepting and closes every
/// connection. Listening starts earlier (in the daemon's init), so the port is known.
struct HTTPServerService: Service {
    let server: HTTPServer

    func run() async {
        try? await gracefulShutdown()
        await server.stop()
    }
}

/// Renders the exposition on change until a graceful shutdown.
struct PublisherService: Service {
    let publisher: ExpositionPublisher

    func run() async {
        await cancelWhenGracefulShutdown { await publisher.run() }
    }
}

/// Triggers and polls until a graceful shutdown, which cancels every upstream call.
struct CollectorService: Service {
    let collector: Collector

    func run() async {
        await cancelWhenGracefulShutdown { await collector.run() }
    }
}

/// What the service group does not do with signals: a second SIGTERM or SIGINT
/// ends the process at once, and SIGHUP is logged instead of killing it.
struct SignalWatcher {
    let logger: Logger

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        var stopSignals = 0
        for await signal in signals {
            if signal == .sighup {
                logger.info("SIGHUP received; this version does not reload its configuration: restart to apply changes")
                continue
            }
            stopSignals += 1
            if stopSignals >= 2 {
                logger.warning("second stop signal: exiting now", metadata: ["signal": "\(signal)"])
                exit(1)
            }
        }
    }
}
