import NIOCore
import LoomCore

/// Who to tell when a client hangs up. Hummingbird keeps a connection half-open when the client
/// closes its side (remote half-closure is on), so the connection's close future does not fire
/// while a reply is still being made; the end of the client's input is the signal.
final class HangUps: Sendable {
    private struct Watch {
        var nextToken = 0
        /// connection → token → what to do when it hangs up
        var callbacks: [ObjectIdentifier: [Int: @Sendable () -> Void]] = [:]
    }
    private let watches = Locked(Watch())

    /// Calls `body` once if the client of `channel` hangs up before `forget` is called with the token.
    func watch(_ channel: any Channel, _ body: @escaping @Sendable () -> Void) -> Int {
        watches.withLock { w in
            let token = w.nextToken
            w.nextToken += 1
            w.callbacks[ObjectIdentifier(channel), default: [:]][token] = body
            return token
        }
    }

    func forget(_ channel: any Channel, _ token: Int) {
        watches.withLock { w in
            let key = ObjectIdentifier(channel)
            w.callbacks[key]?[token] = nil
            if w.callbacks[key]?.isEmpty == true { w.callbacks[key] = nil }
        }
    }

    func hungUp(_ channel: any Channel) {
        let callbacks = watches.withLock { $0.callbacks.removeValue(forKey: ObjectIdentifier(channel)) }
        for body in callbacks?.values ?? [:].values { body() }
    }
}

/// Sits in each connection's pipeline and reports the end of the client's input, or of the
/// connection, to `HangUps`.
final class HangUpHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    let hangUps: HangUps

    init(hangUps: HangUps) { self.hangUps = hangUps }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event as? ChannelEvent ?? .outputClosed { hangUps.hungUp(context.channel) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hangUps.hungUp(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }
}
