import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// When an answer goes out before most of its request's body came in (413 from Content-Length,
/// 401, 404, 429: refusals decided on the head), says `Connection: close` and closes the
/// connection shortly after, instead of letting Hummingbird read and discard the rest. A client
/// sending 3 MiB bodies as fast as it can otherwise costs the server the reading of every byte.
///
/// The close waits `grace` so that the client reads the answer before the connection goes (a
/// close with unread data in the buffer resets it); meanwhile nothing more is read from it.
final class UnreadBodyCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Unread body bytes below which draining is cheaper than a new connection.
    static let threshold = 64 * 1024
    static let grace: TimeAmount = .milliseconds(500)

    /// The current request's body has not ended.
    private var bodyOpen = false
    /// Declared body bytes not yet read (`Int.max` when chunked, without a length).
    private var unread = 0
    private var closing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            bodyOpen = true
            if let length = head.headerFields[.contentLength].flatMap({ Int($0) }) {
                unread = length
            } else {
                unread = head.headerFields[.transferEncoding] == nil ? 0 : Int.max
            }
        case .body(let buffer):
            if unread != Int.max { unread -= buffer.readableBytes }
        case .end:
            bodyOpen = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(var head) where head.status.kind != .informational && bodyOpen && unread > Self.threshold:
            closing = true
            head.headerFields[.connection] = "close"
            context.write(Self.wrapOutboundOut(.head(head)), promise: promise)
        case .end where closing:
            context.write(data, promise: promise)
            context.flush()
            let channel = context.channel
            context.eventLoop.scheduleTask(in: Self.grace) { channel.close(promise: nil) }
        default:
            context.write(data, promise: promise)
        }
    }

    /// Once closing, the rest of the body stays unread.
    func read(context: ChannelHandlerContext) {
        if !closing { context.read() }
    }
}
