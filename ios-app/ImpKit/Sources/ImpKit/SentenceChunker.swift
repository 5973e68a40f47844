import Foundation
import ImpFFI

/// Turns a streaming answer into whole sentences for speech and VoiceOver, by
/// the core's rules (`rust-core/core/src/text/sentences.rs`), so both apps
/// speak an answer at the same sentence ends. Sentences longer than
/// `maxLength` characters are cut at a comma or a space (0: the core's
/// default, 200).
public final class SentenceChunker: Sendable {
    private let chunker: ImpFFI.SentenceChunker

    public init(maxLength: Int = 0) {
        chunker = ImpFFI.SentenceChunker(maxChars: UInt32(clamping: max(0, maxLength)))
    }

    /// Adds a piece of the answer; returns the sentences it completed.
    public func append(_ piece: String) -> [String] {
        orElse([piece]) { try chunker.append(piece: piece) }
    }

    /// The rest of the answer, if any words are left; the chunker is then empty.
    public func finish() -> [String] {
        orElse([]) { try chunker.finish() }
    }

    /// Text held back waiting for a sentence end.
    public var held: String {
        orElse("") { try chunker.held() }
    }

    /// The core failing here would be a bug (its only error is a caught panic);
    /// the person still hears the answer, unchunked, rather than silence.
    private func orElse<T>(_ fallback: T, _ call: () throws -> T) -> T {
        (try? call()) ?? fallback
    }
}
