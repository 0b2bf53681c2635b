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

    /// The methods of the most specific routes whose path matches `path` (none: the path does
    /// not exist). A literal segment beats a parameter: `approvals/batch` takes POST only, though
    /// `approvals/:id` would match it too (GET there answers 404 "no such request").
    func allowedMethods(_ path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var out: Set<HTTPRequest.Method> = []
        var best: [Bool] = []
        for route in routes where Self.matches(route.components, segments) {
            let literal = route.components.map(Self.isLiteral)
            if best.isEmpty || Self.moreSpecific(literal, than: best) {
                best = literal
                out = route.methods
            } else if literal == best {
                out.formUnion(route.methods)
            }
        }
        return out
    }

    /// A plain path segment (Hummingbird keeps the element's kind internal; its description
    /// writes parameters in braces and wildcards with `*`).
    static func isLiteral(_ element: RouterPath.Element) -> Bool {
        let text = element.description
        return !text.contains("{") && !text.contains("*") && text != "!"
    }

    /// The first segment where they differ is literal in `a`.
    static func moreSpecific(_ a: [Bool], than b: [Bool]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x }
        return false
    }

    static func matches(_ components: [RouterPath.Element], _ segments: [Substring]) -> Bool {
        guard components.count == segments.count else { return false }
        return zip(components, segments).allSatisfy { $0 ~= $1 }
    }
}
