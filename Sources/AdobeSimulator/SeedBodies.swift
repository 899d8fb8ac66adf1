/// The response bodies of Adobe's page, byte for byte as the seed shows them:
/// each code block with its Markdown list indentation removed, `<value>` filled
/// in, and no trailing newline. The gateway and IMS bodies are the ones the
/// contract (`adobe-ingestion-api.md`) quotes.
public enum SeedBodies {
    // POST
    public static func submitted(requestID: String, mapping: String) -> String {
        "{\n\"requestId\": \(requestID),\n\"info\": \"Ingestion request submitted successfully for the Mapping ID: \(mapping)\",\n\"status\":\"Success\"\n}"
    }

    public static func alreadyInProgress(requestID: String, mapping: String) -> String {
        "{\n\"requestId\": \(requestID),\n\"info\": \"Ingestion request already in progress for the Mapping ID: \(mapping)\",\n\"status\":\"In Progress\"\n}"
    }

    public static func notStopped(mapping: String) -> String {
        "{\n\"info\": \"Unable to submit data ingestion request, XDM Mapping ID: \(mapping) is not stopped\",\n\"status\": \"Failed\"\n}"
    }

    public static func notPublished(mapping: String) -> String {
        "{\n\"info\": \"Unable to submit data ingestion request, XDM Mapping ID: \(mapping) is not published\",\n\"status\": \"Failed\"\n}"
    }

    // GET
    public static func success(mapping: String, records: Int, requestID: String) -> String {
        statusBody(batch: "", info: "Mapping Id: \(mapping). ", records: records, requestID: requestID, status: "Success")
    }

    public static func failedToFetch(mapping: String, requestID: String) -> String {
        statusBody(batch: "", info: "Mapping Id: \(mapping). ACP-880056 Failed to fetch the record from the database.",
                   records: 0, requestID: requestID, status: "Failed")
    }

    public static func failedToUpload(mapping: String, batchID: String, requestID: String) -> String {
        statusBody(batch: batchID,
                   info: "Mapping Id: \(mapping). ACP-880096 Sync Job failed to upload. Please check the error in the Platform UI.",
                   records: 0, requestID: requestID, status: "Failed")
    }

    public static func aborted(mapping: String, requestID: String) -> String {
        statusBody(batch: "",
                   info: "Mapping Id: \(mapping). Ingestion request aborted due to some issue with data ingestion service. Please submit a new request",
                   records: 0, requestID: requestID, status: "Aborted")
    }

    public static func inProgress(mapping: String, requestID: String) -> String {
        statusBody(batch: "", info: "Mapping Id: \(mapping).", records: 0, requestID: requestID, status: "In Progress")
    }

    private static func statusBody(batch: String, info: String, records: Int, requestID: String, status: String) -> String {
        "{\n\"batchId\": \"\(batch)\",\n\"info\": \"\(info)\",\n\"numRecords\": \(records),\n\"requestId\": \(requestID),\n\"status\": \"\(status)\"\n}"
    }

    // Gateway and IMS
    public static let invalidToken = "{\"error_code\":\"401013\",\"message\":\"Oauth token is not valid\"}"
    public static let invalidProfile = "{\"error_code\":\"403023\",\"message\":\"Profile is not valid\"}"
    public static let tooManyRequests = "{\"error_code\":\"429050\",\"message\":\"Too many requests\"}"
    public static let serverError = "{\"code\":500,\"message\":\"Oops. Something went wrong. Check your URI and try again.\"}"

    public static func token(_ token: String, expiresIn: Int) -> String {
        "{\"access_token\": \"\(token)\", \"token_type\": \"bearer\", \"expires_in\": \(expiresIn)}"
    }
}
