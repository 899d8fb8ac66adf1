import AdobeIngestionClient
import Cluster
import ExporterAPI
import Foundation
import IngestionCollector
import IngestionModel
import IngestionStore

/// A trigger-now's answer as the API gives it, wherever the POST was sent from:
/// this replica (the tenant's owner), or the owner through the shared queue.
public enum TriggerNow {
    typealias Answer = Result<(status: Int, body: TriggerResponse), HTTPError>

    /// What a trigger came to, in the API's terms: 201 submitted, 200 already in
    /// progress, 409 refused by Campaign, 502 upstream failure, 503 when nothing was
    /// sent because the store could not record it.
    static func answer(_ key: MappingKey, _ result: Result<TriggerOutcome, TriggerFailure>) -> Answer {
        switch result {
        case .success(let outcome):
            var body = TriggerResponse(tenant: key.tenant, mapping: key.mapping, result: outcome.result.label)
            switch outcome {
            case .submitted(let id), .alreadyInProgress(let id): body.requestID = id.rawValue
            case .notStopped(let info), .notPublished(let info): body.info = info
            }
            let status: Int = switch outcome {
            case .submitted: 201
            case .alreadyInProgress: 200
            case .notStopped, .notPublished: 409
            }
            return .success((status, body))
        case .failure(.storeUnavailable(let error)):
            return .failure(HTTPError(error, doing: "not sent"))
        case .failure(let error):
            return .success((502, TriggerResponse(tenant: key.tenant, mapping: key.mapping, result: TriggerResult.error.label,
                                                  error: error.description)))
        }
    }

    /// A trigger run for another replica's queued call, as the queue keeps its answer.
    public static func queuedAnswer(_ key: MappingKey, _ result: Result<TriggerOutcome, TriggerFailure>) -> (status: Int, body: [UInt8]) {
        encode(answer(key, result))
    }

    /// The answer as the queue keeps it: a status and a JSON body.
    static func encode(_ answer: Answer) -> (status: Int, body: [UInt8]) {
        switch answer {
        case .success(let (status, body)): return (status, (try? APIJSON.encode(body)) ?? [])
        case .failure(let error): return (error.status, (try? APIJSON.encode(ErrorBody(error: error.message))) ?? [])
        }
    }

    /// An answer the queue kept, back in the API's terms.
    static func decode(status: Int, body: [UInt8]) -> Answer {
        if let response = try? APIJSON.decode(TriggerResponse.self, from: Data(body)), status < 400 || status == 409 || status == 502 {
            return .success((status, response))
        }
        let message = (try? APIJSON.decode(ErrorBody.self, from: Data(body)))?.error ?? "the tenant's owner answered HTTP \(status)"
        return .failure(HTTPError(status, message, headers: status == 503 ? [("Retry-After", "30")] : []))
    }
}

extension APIRoutes {
    /// Triggers `key` now, from this replica when it runs the tenant, else (cluster mode)
    /// through the shared queue, which the tenant's owner empties every second: one POST either way.
    func triggerNow(_ key: MappingKey) async -> TriggerNow.Answer {
        if collector.isRunning(key.tenant) { return TriggerNow.answer(key, await collector.trigger(key)) }
        guard let coordinator else { return .failure(HTTPError(404, "unknown tenant \"\(key.tenant)\"")) }
        let wait = coordinator.queuedTriggerWait(requestTimeout: collector.config.collector.requestTimeout)
        do {
            if let answer = try await coordinator.forwardTrigger(key, at: collector.time.now(), wait: wait) {
                return TriggerNow.decode(status: answer.status, body: answer.body)
            }
            return .failure(HTTPError(504, "no replica running tenant \(key.tenant) answered within \(DurationText.format(wait)); "
                                      + "if its owner took it, it is recorded: see GET /api/v1/requests"))
        } catch {
            return .failure(HTTPError(error, doing: "not queued"))
        }
    }
}
