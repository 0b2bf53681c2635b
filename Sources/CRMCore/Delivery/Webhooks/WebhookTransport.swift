import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOConcurrencyHelpers

/// One POST of a webhook.
public struct WebhookRequest: Sendable {
    public var url: URL
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timeout: TimeInterval

    public init(url: URL, headers: [(name: String, value: String)], body: [UInt8], timeout: TimeInterval) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// Sends a webhook and answers the receiver's status code; throws when no answer came
/// (refused, reset, timed out). Redirects are not followed: a 3xx is the answer.
public protocol WebhookTransport: Sendable {
    func send(_ request: WebhookRequest) async throws -> Int
}

/// `WebhookTransport` over Foundation's URLSession (libcurl on Linux).
///
/// Tasks run with a session delegate rather than a completion handler: with a completion
/// handler URLSession follows redirects by itself, and a redirect could lead past the address
/// check to an internal host. The response body is not read.
public final class URLSessionWebhookTransport: WebhookTransport, @unchecked Sendable {
    private let session: URLSession
    private let delegate: Delegate

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        configuration.timeoutIntervalForRequest = 10
        configuration.timeoutIntervalForResource = 10
        delegate = Delegate()
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    public func send(_ request: WebhookRequest) async throws -> Int {
        var urlRequest = URLRequest(url: request.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: request.timeout)
        urlRequest.httpMethod = "POST"
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.httpBody = Data(request.body)
        let task = session.dataTask(with: urlRequest)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                delegate.waiting.withLockedValue { $0[task.taskIdentifier] = Delegate.Waiting(continuation: continuation) }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    final class Delegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        struct Waiting {
            var continuation: CheckedContinuation<Int, Error>
            var status: Int?
        }
        let waiting = NIOLockedValueBox<[Int: Waiting]>([:])

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            let status = (response as? HTTPURLResponse)?.statusCode
            waiting.withLockedValue { $0[dataTask.taskIdentifier]?.status = status }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {}

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            guard let entry = waiting.withLockedValue({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
            if let status = entry.status ?? (task.response as? HTTPURLResponse)?.statusCode {
                entry.continuation.resume(returning: status)
            } else {
                entry.continuation.resume(throwing: error ?? URLError(.badServerResponse))
            }
        }
    }
}
