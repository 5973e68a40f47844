import Foundation
import ImpFFI

/// The person's past conversations, kept by the core in one format for both
/// apps: each write is atomic, a damaged entry is skipped, the oldest go past
/// `maxBytes`.
public final class ConversationHistory: Sendable {
    private let history: ImpFFI.ConversationHistory

    public init(directory: String, maxBytes: UInt64 = 200 << 20) throws(ImpError) {
        history = try mapErrors { try ImpFFI.ConversationHistory.open(dir: directory, maxBytes: maxBytes) }
    }

    /// A new conversation about `picture` (a small thumbnail is kept).
    public func create(modelId: String, picture: Picture) throws(ImpError) -> SavedConversation {
        try mapErrors { try history.create(modelId: modelId, picture: picture.ffi) }
    }

    public func append(_ turn: SavedTurn, to id: String) throws(ImpError) -> SavedConversation {
        try mapErrors { try history.appendTurn(id: id, turn: turn) }
    }

    /// `limit` conversations from `offset`, most recently used first.
    public func list(offset: UInt32 = 0, limit: UInt32 = 50) throws(ImpError) -> HistoryPage {
        try mapErrors { try history.list(offset: offset, limit: limit) }
    }

    public func load(id: String) throws(ImpError) -> SavedConversation {
        try mapErrors { try history.load(id: id) }
    }

    /// The conversation's picture, small, as JPEG data.
    public func thumbnail(id: String) throws(ImpError) -> Data {
        try mapErrors { try history.thumbnail(id: id) }
    }

    public func delete(id: String) throws(ImpError) {
        try mapErrors { try history.delete(id: id) }
    }

    public func deleteAll() throws(ImpError) {
        try mapErrors { try history.deleteAll() }
    }
}

extension SavedTurn {
    /// The turn an answer made, as the history keeps it; nil for a token event.
    public static func of(question: String, answer: AnswerEvent, askedAtMs: UInt64) -> SavedTurn? {
        guard case .finished(let text, _, let reason, let visionMs, let prefillTokens, let prefillMs,
                             let decodeTokens, let decodeMs) = answer else { return nil }
        let stop = switch reason {
        case .endOfAnswer: "eos"
        case .maxTokens: "max_tokens"
        case .contextFull: "context_full"
        case .cancelled: "cancelled"
        }
        return SavedTurn(
            question: question, answer: text, stopReason: stop, askedAtMs: askedAtMs,
            timings: TurnTimings(visionMs: visionMs, prefillTokens: UInt64(prefillTokens),
                                 prefillMs: prefillMs, decodeTokens: UInt64(decodeTokens),
                                 decodeMs: decodeMs))
    }
}
