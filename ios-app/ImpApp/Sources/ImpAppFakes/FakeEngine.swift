import Foundation
import ImpAppLogic
import ImpKit

/// A value shared between the test and the code under test, behind a lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public var current: Value { lock.withLock { value } }
    public func mutate<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A gate a fake waits at until the test opens it.
public final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(open: Bool = false) { isOpen = open }

    public func open() {
        let resumed: [CheckedContinuation<Void, Never>] = lock.withLock {
            isOpen = true
            defer { waiters = [] }
            return waiters
        }
        resumed.forEach { $0.resume() }
    }

    public func close() { lock.withLock { isOpen = false } }

    public func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = lock.withLock {
                if !isOpen { waiters.append(c) }
                return isOpen
            }
            if ready { c.resume() }
        }
    }
}

public extension ModelDetails {
    static func fake(imageSize: Int = 384, variant: String = "imp-phi2") -> ModelDetails {
        ModelDetails(variant: variant, weightsDtype: "q4_k", imageSize: imageSize,
                     imageTokens: imageSize == 196 ? 196 : 729, contextLength: 2048,
                     parameterCount: 3_190_000_000, estimatedMemoryBytes: 2_750_000_000)
    }
}

/// Loads `FakeEngine`s, or fails as told.
public final class FakeEngineLoader: EngineLoading, @unchecked Sendable {
    public let engine: FakeEngine
    /// Set to make the next loads fail.
    public let failure = Locked<ImpError?>(nil)
    /// Loads wait here when closed.
    public let gate = Gate(open: true)
    public let loads = Locked<[(path: String, options: EngineOptions)]>([])

    public init(engine: FakeEngine = FakeEngine()) { self.engine = engine }

    public func load(_ model: LocalModelFile, options: EngineOptions,
                     progress: @escaping @Sendable (Float) -> Void) async throws(ImpError) -> any AnsweringEngine
    {
        loads.mutate { $0.append((model.path, options)) }
        progress(0.5)
        await gate.wait()
        if Task.isCancelled { throw .cancelled }
        if let failure = failure.current { throw failure }
        progress(1)
        return engine
    }
}

/// An engine whose answers the test writes, token by token.
public final class FakeEngine: AnsweringEngine, @unchecked Sendable {
    public let details: ModelDetails
    /// Encoding waits here when closed (to see the "preparing" state).
    public let encodeGate = Gate(open: true)
    public let encodeFailure = Locked<ImpError?>(nil)
    public let encodedPictures = Locked<[Picture]>([])
    /// Every answer asked of any conversation, in order.
    public let answers = Locked<[FakeAnswer]>([])
    /// Answers fail with `.busy` this many times first.
    public let busyTimes = Locked(0)
    /// Answers play this script by themselves instead of waiting for the test.
    public let script = Locked<[String]?>(nil)

    public init(details: ModelDetails = .fake()) { self.details = details }

    public func startConversation(_ picture: Picture) async throws(ImpError) -> any PictureConversation {
        await encodeGate.wait()
        if let failure = encodeFailure.current { throw failure }
        encodedPictures.mutate { $0.append(picture) }
        return FakeConversation(engine: self)
    }

    public var lastAnswer: FakeAnswer? { answers.current.last }
}

public final class FakeConversation: PictureConversation, @unchecked Sendable {
    let engine: FakeEngine
    init(engine: FakeEngine) { self.engine = engine }

    public func ask(_ question: String, settings: AnswerSettings) -> AsyncThrowingStream<AnswerEvent, Error> {
        let busy = engine.busyTimes.mutate { count -> Bool in
            defer { count = max(0, count - 1) }
            return count > 0
        }
        let (stream, continuation) = AsyncThrowingStream<AnswerEvent, Error>.makeStream()
        if busy {
            continuation.finish(throwing: ImpError.busy)
            return stream
        }
        let answer = FakeAnswer(question: question, settings: settings, continuation: continuation)
        continuation.onTermination = { reason in
            if case .cancelled = reason { answer.cancelled.mutate { $0 = true } }
        }
        engine.answers.mutate { $0.append(answer) }
        if let script = engine.script.current {
            for piece in script { answer.send(piece) }
            answer.finish(.endOfAnswer)
        }
        return stream
    }
}

/// One answer being written by the test.
public final class FakeAnswer: Sendable {
    public let question: String
    public let maxTokens: UInt32
    private let continuation: AsyncThrowingStream<AnswerEvent, Error>.Continuation
    private let text = Locked("")
    /// The app stopped listening before the end (Stop, or the screen closed).
    public let cancelled = Locked(false)

    init(question: String, settings: AnswerSettings, continuation: AsyncThrowingStream<AnswerEvent, Error>.Continuation) {
        self.question = question
        self.maxTokens = settings.maxTokens
        self.continuation = continuation
    }

    public func send(_ piece: String) {
        text.mutate { $0 += piece }
        continuation.yield(.token(id: 0, text: piece, topLogprobs: []))
    }

    public func finish(_ reason: StopReason = .endOfAnswer) {
        continuation.yield(.finished(text: text.current, tail: "", stopReason: reason, visionMs: 10,
                                     prefillTokens: 237, prefillMs: 20, decodeTokens: 5, decodeMs: 5))
        continuation.finish()
    }

    public func fail(_ error: ImpError) {
        continuation.finish(throwing: error)
    }
}
