import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1/records/{object}`: list, create, get (ETag), patch (If-Match), soft delete,
/// restore, history; `/api/v1/recycle-bin/{object}` lists deleted records.
enum RecordRoutes {
    /// `oneTrip` serves the read of one record, in one round trip when it can.
    static func register(on authed: RouterGroup<AppRequestContext>, oneTrip: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        let records = authed.group("records")

        records.get(":object") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let page = try await services.records.list(try context.parameters.require("object"), params: queryPairs(request),
                                                       caller: caller, tenant: try context.requireTenant().schemaName, in: tx)
            return json(page.json)
        }
        records.post(":object") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let body = try await context.recordBody(request, limit: limit)
            let object = try context.parameters.require("object")
            let record = try await services.records.create(object, body: body, options: writeOptions(request, object, services),
                                                           caller: caller, in: tx)
            return json(record, status: .created)
        }
        oneTrip.get("records/:object/:id") { _, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let object = try context.parameters.require("object")
            let record = try await services.records.get(object, id: try recordId(context, object), caller: caller, in: tx)
            return json(record.json, version: record.version)
        }
        records.patch(":object/:id") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let object = try context.parameters.require("object")
            let id = try recordId(context, object)
            let body = try await context.recordBody(request, limit: limit)
            let record = try await services.records.update(object, id: id, body: body, ifMatch: try ifMatch(request),
                                                           options: writeOptions(request, object, services), caller: caller, in: tx)
            return json(record)
        }
        records.delete(":object/:id") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let object = try context.parameters.require("object")
            try await services.records.delete(object, id: try recordId(context, object), ifMatch: try ifMatch(request),
                                              caller: caller, in: tx)
            return Response(status: .noContent)
        }
        records.post(":object/:id/restore") { _, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let object = try context.parameters.require("object")
            let record = try await services.records.restore(object, id: try recordId(context, object), caller: caller, in: tx)
            return json(record.json, version: record.version)
        }
        records.get(":object/:id/history") { _, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let object = try context.parameters.require("object")
            let entries = try await services.records.history(object, id: try recordId(context, object), caller: caller, in: tx)
            return try JSONOut.response(Page(data: entries, nextCursor: nil))
        }
        authed.get("recycle-bin/:object") { request, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let page = try await services.records.list(try context.parameters.require("object"), params: queryPairs(request),
                                                       deleted: true, caller: caller, tenant: try context.requireTenant().schemaName, in: tx)
            return json(page.json)
        }
    }

    /// Query parameters in order, keys and values decoded as HTML forms (and most HTTP clients)
    /// encode them: `+` is a space, then percent escapes (`filter%5Bname%5D`, `q=tea+house`).
    static func queryPairs(_ request: Request) -> [(String, String)] {
        guard let query = request.uri.query else { return [] }
        return query.split(separator: "&").map { part in
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (formDecoded(pair[0]), pair.count > 1 ? formDecoded(pair[1]) : "")
        }
    }

    static func formDecoded(_ text: Substring) -> String {
        // Most names and values need no decoding; Foundation's replacing goes through NSString.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) { return String(text) }
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    static func recordId(_ context: AppRequestContext, _ object: String) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw CRMError.notFound("No such record.") }
        return id
    }

    /// The version an `If-Match` names (`"3"`, `W/"3"`); nil without the header or for `*`.
    /// Anything else cannot match a version, so it is stale by definition.
    static func ifMatch(_ request: Request) throws -> Int64? {
        guard let raw = request.headers[.ifMatch]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty, raw != "*" else { return nil }
        var tag = Substring(raw)
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        tag = tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 ? tag.dropFirst().dropLast() : tag
        guard let version = Int64(tag) else {
            throw CRMError(.preconditionFailed, "If-Match names no version of this record; read it again for its ETag.")
        }
        return version
    }

    /// The write parameters the object's hooks declared, as sent in the query.
    static func writeOptions(_ request: Request, _ object: String, _ services: AppServices) -> [String: String] {
        let declared = services.records.hooks.writeParameters(for: object)
        guard !declared.isEmpty else { return [:] }
        let query = request.uri.queryParameters
        var out: [String: String] = [:]
        for parameter in declared { if let value = query.get(parameter.name) { out[parameter.name] = value } }
        return out
    }

    /// A record with what hooks added beside its fields, and its ETag.
    static func json(_ record: RecordService.Fetched, status: HTTPResponse.Status = .ok) -> Response {
        json(RecordJSON.render(record), status: status, version: record.version)
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok, version: Int64? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let version { headers[.eTag] = "\"\(version)\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension AppRequestContext {
    /// The flat JSON object of a record write: parsed once, before the transaction.
    func recordBody(_ request: Request, limit: Int) async throws -> [String: JSONValue] {
        if let jsonObject { return jsonObject }
        return try await JSONBody.decode([String: JSONValue].self, from: request, limit: limit)
    }

    /// The caller as the records engine sees them, and the request's transaction.
    func recordCaller(_ services: AppServices) async throws -> (RecordCaller, Transaction) {
        let (principal, tx) = try session()
        let tenant = try requireTenant()
        guard tenant.has(.recordChangeEvents) else {
            throw CRMError(CRMError.Code("migration-pending"), "This tenant is being migrated; try again shortly.")
        }
        let metadata = try await services.metadata.metadata(for: principal, in: tenant, tx: tx)
        var caller = RecordCaller(principal: principal, permissions: try permissions.unwrap(), metadata: metadata, meta: meta)
        caller.zone = tenant.zone
        return (caller, tx)
    }
}
