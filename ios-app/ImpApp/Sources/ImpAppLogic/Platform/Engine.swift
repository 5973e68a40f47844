import Foundation
import ImpKit

// The engine as the app sees it. Answering is offline by construction: nothing
// on this path can name a place on the network. A model is a `LocalModelFile`
// (a path on this device, never a URL), a picture is an ImpKit `Picture`
// (bytes, pixels or a local file), a question is text, and an answer is a
// stream of events. The one object that can download, `ModelLibrary`, is not
// reachable from a conversation (see `ConversationViewModel.init`), and the
// core behind `CoreEngineLoader` reads local files only.

/// A model file on this device.
public struct LocalModelFile: Sendable, Hashable {
    public let path: String

    /// Nil for anything that is not a plain local path (a URL with a scheme,
    /// or an empty string): a model is never fetched while it is loaded.
    public init?(path: String) {
        guard !path.isEmpty, !path.contains("://") else { return nil }
        self.path = path
    }
}

/// Loads models. The real one is `CoreEngineLoader`; tests use fakes.
public protocol EngineLoading: Sendable {
    /// Loads the model, reporting progress from 0 to 1 on any thread.
    /// Cancelling the calling task stops the load.
    func load(_ model: LocalModelFile, options: EngineOptions,
              progress: @escaping @Sendable (Float) -> Void) async throws(ImpError) -> any AnsweringEngine
}

/// A loaded model. One answer at a time per engine (`ImpError.busy` otherwise).
public protocol AnsweringEngine: Sendable {
    var details: ModelDetails { get }
    /// Encodes the picture (seconds on a phone).
    func startConversation(_ picture: Picture) async throws(ImpError) -> any PictureConversation
}

/// Questions about one encoded picture.
public protocol PictureConversation: Sendable {
    /// The answer as events ending with `.finished`; ending the iteration (or
    /// cancelling its task) stops the generation.
    func ask(_ question: String, settings: AnswerSettings) -> AsyncThrowingStream<AnswerEvent, Error>
}
