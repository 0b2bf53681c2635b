import CRMCore
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refuses with a problem+json and an X-Request-Id, like every
/// other answer, instead of Hummingbird's empty 400: a request head past NIO's 80 KiB (most often
/// a URL with too many or too long filters) is 431, any other malformed request 400.
///
/// It answers only between requests; a parser error while a request or its answer is under way
/// goes on to Hummingbird, which closes the connection.
final class RequestHeadErrorAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests whose head came in and whose answer has not ended.
    private var open = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = Self.unwrapInboundIn(data) { open += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = Self.unwrapOutboundIn(data) { open = max(0, open - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError, open == 0 else {
            context.fireErrorCaught(error)
            return
        }
        let (head, body) = Self.answer(parserError)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    static func answer(_ error: HTTPParserError) -> (HTTPResponse, ByteBuffer) {
        let requestId = UUID.v7().compactHex
        let status: HTTPResponse.Status
        let problem: Problem
        if case .headerOverflow = error {
            status = .init(code: 431, reasonPhrase: "Request Header Fields Too Large")
            problem = Problem(type: CRMError.Code.requestHeadTooLarge.rawValue, title: status.reasonPhrase, status: 431,
                              detail: "The URL and each header may be at most 80 KiB, and all of them together 80 KiB: send fewer or shorter filters.",
                              errors: [FieldError(field: "url", code: "too_long", message: "The request's URL and headers are longer than 80 KiB.")],
                              requestId: requestId)
        } else {
            status = .badRequest
            problem = Problem(type: CRMError.Code.malformedBody.rawValue, title: status.reasonPhrase, status: 400,
                              detail: "This is not an HTTP/1.1 request the server can read.",
                              errors: [FieldError(field: "request", code: "malformed", message: "Malformed HTTP request.")],
                              requestId: requestId)
        }
        // The same encoding as every other problem answer (`Problem.response`).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(problem)) ?? Data("{}".utf8)
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.contentLength] = String(data.count)
        head.headerFields[.connection] = "close"
        head.headerFields[HTTPField.Name("X-Request-Id")!] = requestId
        return (head, ByteBuffer(data: data))
    }
}
