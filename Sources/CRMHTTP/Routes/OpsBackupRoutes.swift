import CRMCore
import Foundation
import Hummingbird

/// `/ops/v1` backups, restores, erasures and purge of one tenant (operator role ops).
enum OpsBackupRoutes {
    struct RestoreBody: Decodable {
        var asSlug: String?
        enum CodingKeys: String, CodingKey { case asSlug = "as_slug" }
    }

    struct EraseBody: Decodable {
        var object: String?
        var id: String?
        var email: String?
    }

    struct PurgeBody: Decodable {
        var confirm: String?
    }

    struct ErasureOut: Encodable {
        var rows: Int
        var subjectKeySha256: String
        enum CodingKeys: String, CodingKey {
            case rows
            case subjectKeySha256 = "subject_key_sha256"
        }
    }

    static func register(on router: Router<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        let authed = router.group("ops/v1").add(middleware: OperatorAuthMiddleware(operators: services.operators))
            .add(middleware: IdempotencyMiddleware(services: services, scope: .platform))
        authed.post("tenants/:slug/backups") { _, context -> Response in
            _ = try context.requireOperator(.ops)
            let rec = try await services.backups.backup(slug: try context.parameters.require("slug"))
            return try JSONOut.response(rec, status: .created)
        }
        authed.get("tenants/:slug/backups") { _, context -> Response in
            _ = try context.requireOperator(.ops)
            let rows = try await services.backups.list(slug: try context.parameters.require("slug"))
            return try JSONOut.response(Page(data: rows, nextCursor: nil))
        }
        authed.post("backups/:id/restore") { request, context -> Response in
            _ = try context.requireOperator(.ops)
            guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw CRMError.notFound("No such backup.") }
            let body = try await JSONBody.decodeIfPresent(RestoreBody.self, from: request, limit: limit) ?? RestoreBody()
            let result = try await services.backups.restore(backupId: id, asSlug: body.asSlug, actor: context.operatorActor().actorLabel ?? "operator")
            return try JSONOut.response(result, status: .created)
        }
        authed.post("tenants/:slug/erasures") { request, context -> Response in
            _ = try context.requireOperator(.ops)
            let body = try await JSONBody.decode(EraseBody.self, from: request, limit: limit)
            let subject: ErasureSubject
            if let email = body.email {
                subject = .email(email)
            } else if let object = body.object, let raw = body.id {
                guard let id = UUID(uuidString: raw) else { throw CRMError.invalid("id", "invalid_uuid", "A record id (UUID).") }
                subject = .record(object: object, id: id)
            } else {
                throw CRMError.invalid("email", "required", "Give email, or object and id.")
            }
            let rows = try await services.backups.erase(slug: try context.parameters.require("slug"), subject: subject,
                                                        actor: context.operatorActor().actorLabel ?? "operator")
            return try JSONOut.response(ErasureOut(rows: rows, subjectKeySha256: subject.key), status: .created)
        }
        authed.post("tenants/:slug/purge") { request, context -> Response in
            _ = try context.requireOperator(.ops)
            let body = try await JSONBody.decode(PurgeBody.self, from: request, limit: limit)
            let result = try await services.backups.purge(slug: try context.parameters.require("slug"), confirm: body.confirm,
                                                          actor: context.operatorActor().actorLabel ?? "operator")
            return try JSONOut.response(result)
        }
    }
}
