import Foundation
import ImpFFI

/// A loaded Imp model, owned by an actor so that its use is serialised. Release
/// every reference (and the conversations) to free its memory.
public actor ImpEngine {
    private let engine: ImpFFI.ImpEngine
    /// What is loaded; readable from any context.
    public nonisolated let details: ModelDetails

    private init(_ engine: ImpFFI.ImpEngine) throws {
        self.engine = engine
        self.details = ModelDetails(try engine.info())
    }

    /// Loads a model directory on a worker thread. Cancelling the calling task
    /// stops the load between layers.
    public static func load(
        path: String,
        options: EngineOptions = EngineOptions(),
        progress: @escaping @Sendable (Float) -> Void = { _ in }
    ) async throws(ImpError) -> ImpEngine {
        let cancel = CancelHandle()
        let listener = ProgressRelay(progress)
        return try await mapErrors {
            try await withTaskCancellationHandler {
                try ImpEngine(try await loadEngine(
                    modelPath: path, options: options.ffi, listener: listener, cancel: cancel))
            } onCancel: {
                cancel.cancel()
            }
        }
    }

    /// What a model is and needs, without loading its weights.
    public static func inspect(path: String) throws(ImpError) -> ModelDetails {
        try mapErrors { ModelDetails(try inspectModel(modelPath: path)) }
    }

    /// Engines whose memory is still held in this process.
    public static var liveEngineCount: UInt64 { liveEngines() }

    /// Encodes the picture (seconds on a phone, off the caller's thread).
    public func startConversation(_ picture: Picture) async throws(ImpError) -> Conversation {
        let engine = self.engine
        return try await mapErrors { Conversation(try await engine.startConversation(image: picture.ffi)) }
    }
}

/// Questions about one picture; follow-ups reuse it and the earlier turns.
public final class Conversation: Sendable {
    private let conversation: ImpFFI.ImpConversation

    init(_ conversation: ImpFFI.ImpConversation) {
        self.conversation = conversation
    }

    /// The answer as a stream of events ending with `.finished`. Ending the
    /// iteration early (or cancelling its task) cancels the generation; the
    /// engine is free again once the native side has stopped, within a token.
    /// While another answer of the same engine streams, the stream fails with
    /// `ImpError.busy`.
    public func ask(_ question: String, settings: AnswerSettings = AnswerSettings())
        -> AsyncThrowingStream<AnswerEvent, Error>
    {
        AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
            let relay = AnswerRelay(continuation)
            do {
                let handle = try conversation.ask(
                    question: question, params: settings.ffi, listener: relay)
                continuation.onTermination = { _ in handle.cancel() }
            } catch {
                continuation.finish(throwing: ImpError(error))
            }
        }
    }

    /// Context positions used so far.
    public var contextUsed: Int { Int(conversation.contextUsed()) }
}

public struct EngineOptions: Sendable, Equatable {
    /// Inference threads; nil means one per physical core.
    public var threads: UInt32?
    /// Fewer context positions than the model allows, to save memory.
    public var contextLength: UInt32?
    /// Another vision input size than the model's (e.g. 196 on a 384-px model:
    /// faster, less accurate).
    public var imageSize: UInt32?
    /// Free memory the app can spare; a bigger model fails with `.outOfMemory`.
    public var availableMemoryBytes: UInt64?

    public init(threads: UInt32? = nil, contextLength: UInt32? = nil, imageSize: UInt32? = nil,
                availableMemoryBytes: UInt64? = nil) {
        self.threads = threads
        self.contextLength = contextLength
        self.imageSize = imageSize
        self.availableMemoryBytes = availableMemoryBytes
    }

    var ffi: ImpFFI.EngineOptions {
        .init(threads: threads, contextLength: contextLength, imageSize: imageSize,
              availableMemoryBytes: availableMemoryBytes)
    }
}

public struct AnswerSettings: Sendable {
    public var maxTokens: UInt32 = 256
    /// 0 is greedy decoding, the reference setting.
    public var temperature: Float = 0
    public var topK: UInt32?
    public var topP: Float?
    public var repetitionPenalty: Float = 1
    public var seed: UInt64 = 299_792_458
    /// How many most likely tokens to report per step.
    public var logprobs: UInt32 = 0

    public init(maxTokens: UInt32 = 256, temperature: Float = 0, topK: UInt32? = nil, topP: Float? = nil,
                repetitionPenalty: Float = 1, seed: UInt64 = 299_792_458, logprobs: UInt32 = 0) {
        (self.maxTokens, self.temperature, self.topK, self.topP) = (maxTokens, temperature, topK, topP)
        (self.repetitionPenalty, self.seed, self.logprobs) = (repetitionPenalty, seed, logprobs)
    }

    var ffi: GenerationParams {
        .init(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
              repetitionPenalty: repetitionPenalty, seed: seed, logprobs: logprobs)
    }
}

/// Where the picture comes from.
public enum Picture: Sendable {
    /// JPEG, PNG, WebP, GIF or BMP bytes.
    case encoded(Data)
    case file(String)
    /// Pixels the platform decoded (e.g. HEIC via ImageIO): 8-bit RGBA rows, no padding.
    case rgba(width: UInt32, height: UInt32, pixels: Data)

    var ffi: ImageSource {
        switch self {
        case .encoded(let data): .encoded(bytes: data)
        case .file(let path): .file(path: path)
        case .rgba(let w, let h, let pixels): .rgba(width: w, height: h, pixels: pixels)
        }
    }
}

public struct ModelDetails: Sendable, Equatable {
    public let variant: String
    public let weightsDtype: String
    public let imageSize: Int
    public let imageTokens: Int
    public let contextLength: Int
    public let parameterCount: UInt64
    public let estimatedMemoryBytes: UInt64

    public func fits(in availableMemoryBytes: UInt64) -> Bool { estimatedMemoryBytes <= availableMemoryBytes }

    /// For apps' test doubles and previews; the core's values come from `inspect` and `load`.
    public init(variant: String, weightsDtype: String, imageSize: Int, imageTokens: Int, contextLength: Int,
                parameterCount: UInt64, estimatedMemoryBytes: UInt64) {
        (self.variant, self.weightsDtype, self.imageSize, self.imageTokens) =
            (variant, weightsDtype, imageSize, imageTokens)
        (self.contextLength, self.parameterCount, self.estimatedMemoryBytes) =
            (contextLength, parameterCount, estimatedMemoryBytes)
    }

    init(_ info: ModelInfo) {
        variant = info.variant
        weightsDtype = info.weightsDtype
        imageSize = Int(info.imageSize)
        imageTokens = Int(info.imageTokens)
        contextLength = Int(info.contextLength)
        parameterCount = info.parameterCount
        estimatedMemoryBytes = info.estimatedMemoryBytes
    }
}

public enum StopReason: Sendable {
    case endOfAnswer, maxTokens, contextFull, cancelled
}

public enum AnswerEvent: Sendable {
    case token(id: UInt32, text: String, topLogprobs: [(id: UInt32, logprob: Float)])
    /// `text` is the whole answer: the token texts followed by `tail`.
    case finished(text: String, tail: String, stopReason: StopReason, visionMs: Double,
                  prefillTokens: Int, prefillMs: Double, decodeTokens: Int, decodeMs: Double)
}

/// What went wrong, one case per thing an app does differently; messages can be shown to users.
public enum ImpError: Error, Sendable, Equatable {
    case modelUnusable(String)
    case imageUnusable(String)
    case inputTooLong(String)
    case cancelled
    case outOfMemory(String)
    case busy
    case noSpace(String)
    case networkFailed(String)
    case verificationFailed(String)
    case notDownloadable(String)
    case notFound(String)
    /// What was typed into "Add a model" names no model; the message says what would.
    case invalidAddress(String)
    case internalError(String)

    public var message: String {
        switch self {
        case .modelUnusable(let m), .imageUnusable(let m), .inputTooLong(let m),
             .outOfMemory(let m), .noSpace(let m), .networkFailed(let m),
             .verificationFailed(let m), .notDownloadable(let m), .notFound(let m),
             .invalidAddress(let m), .internalError(let m): m
        case .cancelled: "Cancelled."
        case .busy: "Another answer is still being written."
        }
    }

    init(_ error: any Error) {
        guard let e = error as? ImpFfiError else {
            self = error is CancellationError ? .cancelled : .internalError("\(error)")
            return
        }
        switch e {
        case .ModelUnusable(let reason): self = .modelUnusable(reason)
        case .ImageUnusable(let reason): self = .imageUnusable(reason)
        case .InputTooLong(let reason): self = .inputTooLong(reason)
        case .Cancelled: self = .cancelled
        case .OutOfMemory(let reason): self = .outOfMemory(reason)
        case .Busy: self = .busy
        case .NoSpace(let reason): self = .noSpace(reason)
        case .NetworkFailed(let reason): self = .networkFailed(reason)
        case .VerificationFailed(let reason): self = .verificationFailed(reason)
        case .NotDownloadable(let reason): self = .notDownloadable(reason)
        case .NotFound(let reason): self = .notFound(reason)
        case .InvalidAddress(let reason): self = .invalidAddress(reason)
        case .Internal(let reason): self = .internalError(reason)
        }
    }
}

func mapErrors<T>(_ body: () async throws -> T) async throws(ImpError) -> T {
    do { return try await body() } catch { throw ImpError(error) }
}

func mapErrors<T>(_ body: () throws -> T) throws(ImpError) -> T {
    do { return try body() } catch { throw ImpError(error) }
}

private final class ProgressRelay: LoadListener {
    private let report: @Sendable (Float) -> Void
    init(_ report: @escaping @Sendable (Float) -> Void) { self.report = report }
    func onProgress(fraction: Float) { report(fraction) }
}

private final class AnswerRelay: AnswerListener {
    private let continuation: AsyncThrowingStream<AnswerEvent, Error>.Continuation
    init(_ continuation: AsyncThrowingStream<AnswerEvent, Error>.Continuation) {
        self.continuation = continuation
    }

    func onToken(token: TokenEvent) {
        continuation.yield(.token(id: token.id, text: token.text,
                                  topLogprobs: token.topLogprobs.map { ($0.id, $0.logprob) }))
    }

    func onDone(summary s: AnswerSummary) {
        let reason: StopReason = switch s.stopReason {
        case .endOfAnswer: .endOfAnswer
        case .maxTokens: .maxTokens
        case .contextFull: .contextFull
        case .cancelled: .cancelled
        }
        continuation.yield(.finished(text: s.text, tail: s.tail, stopReason: reason, visionMs: s.visionMs,
                                     prefillTokens: Int(s.prefillTokens), prefillMs: s.prefillMs,
                                     decodeTokens: Int(s.decodeTokens), decodeMs: s.decodeMs))
        continuation.finish()
    }

    func onError(error: ImpFfiError) {
        continuation.finish(throwing: ImpError(error))
    }
}
