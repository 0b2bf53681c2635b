import CRMCore
import HTTPTypes
import Hummingbird

/// Answers 405 with `Allow` (as problem+json) when the path exists with other methods:
/// Hummingbird's router answers 404 for any method it has no route for. Added to the router
/// after every route, so it wraps the router's not-found answer only.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    struct Route: Sendable {
        var components: [RouterPath.Element]
        var methods: Set<HTTPRequest.Method>
    }

    let routes: [Route]

    /// The route table of `router` as it is now: each path with its methods.
    init(routes: [Router<AppRequestContext>.RouteDescription]) {
        var byPath: [String: Route] = [:]
        for route in routes {
            byPath[route.path.description, default: Route(components: route.path.components, methods: [])].methods.insert(route.method)
        }
        self.routes = Array(byPath.values)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = allowedMethods(request.uri.path)
            guard !allowed.isEmpty else { throw error }
            let list = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            var response = Problem.response(
                CRMError(CRMError.Code("method-not-allowed"), "\(request.method.rawValue) is not a method of this path; it takes \(list)."),
                status: .methodNotAllowed, requestId: context.requestId)
            response.headers[.allow] = list
            return response
        }
    }

    /// The methods of every route whose path matches `path` (none: the path does not exist).
    func allowedMethods(_ path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var out: Set<HTTPRequest.Method> = []
        for route in routes where Self.matches(route.components, segments) { out.formUnion(route.methods) }
        return out
    }

    static func matches(_ components: [RouterPath.Element], _ segments: [Substring]) -> Bool {
        guard components.count == segments.count else { return false }
        return zip(components, segments).allSatisfy { $0 ~= $1 }
    }
}
