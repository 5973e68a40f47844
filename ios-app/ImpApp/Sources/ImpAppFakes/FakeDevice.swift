import Foundation
import ImpAppLogic
import ImpKit

@MainActor
public final class FakeCamera: Camera {
    public var isAvailable = true
    public var access: CameraAccess = .granted
    public var grantsAccess = true
    public var startError: (any Error)?
    public var captureError: (any Error)?
    public var picture: Picture = .encoded(Data([0xFF, 0xD8, 0xFF, 0xE0]))
    public private(set) var isRunning = false
    public private(set) var picturesTaken = 0

    public init() {}

    public func requestAccess() async -> Bool {
        access = grantsAccess ? .granted : .denied
        return grantsAccess
    }

    public func start() async throws {
        if let startError { throw startError }
        isRunning = true
    }

    public func stop() { isRunning = false }

    public func takePicture() async throws -> Picture {
        if let captureError { throw captureError }
        picturesTaken += 1
        return picture
    }
}

public struct FakePhoto: PhotoLibraryItem {
    public let data: Data?
    public init(_ data: Data?) { self.data = data }

    public func loadData() async throws -> Data {
        guard let data else { throw Problem(.imageUnusable("The photo could not be loaded."), while: .encodingPicture) }
        return data
    }
}

/// Knows each test picture's size; "decodes" to a 2x2 RGBA picture.
public final class FakePictureDecoder: PictureDecoding, @unchecked Sendable {
    public let sizes = Locked<[Data: (width: Int, height: Int)]>([:])
    public let decoded = Locked<[(bytes: Int, maxPixelSize: Int)]>([])

    public init() {}

    public func pixelSize(of data: Data) -> (width: Int, height: Int)? { sizes.current[data] }

    public func decodeRGBA(_ data: Data, maxPixelSize: Int) throws -> Picture {
        decoded.mutate { $0.append((data.count, maxPixelSize)) }
        return .rgba(width: 2, height: 2, pixels: Data(repeating: 128, count: 16))
    }
}

/// A voice that records what it is asked to say. Sentences finish when the
/// test says so, or at once with `finishesAtOnce`.
@MainActor
public final class FakeVoice: SpeechVoice {
    public private(set) var spoken: [String] = []
    public private(set) var rates: [Float] = []
    public private(set) var stops = 0
    public private(set) var releases = 0
    public var finishesAtOnce = false
    /// A real synthesizer still reports the utterances a stop cancelled.
    public var reportsStoppedSentences = false
    private var pending: [@MainActor () -> Void] = []

    public init(finishesAtOnce: Bool = false) { self.finishesAtOnce = finishesAtOnce }

    public func speak(_ text: String, rate: Float, onFinished: @escaping @MainActor () -> Void) {
        spoken.append(text)
        rates.append(rate)
        if finishesAtOnce { onFinished() } else { pending.append(onFinished) }
    }

    public func stop() {
        stops += 1
        if !reportsStoppedSentences { pending = [] }
    }

    public func release() { releases += 1 }

    /// Whether a sentence is being "spoken".
    public var isBusy: Bool { !pending.isEmpty }

    /// The current sentence has been spoken.
    public func finishSentence() {
        guard !pending.isEmpty else { return }
        pending.removeFirst()()
    }

    /// Speaks everything, including what finishing each sentence releases.
    public func finishAll() {
        while !pending.isEmpty { finishSentence() }
    }
}

@MainActor
public final class FakeAnnouncer: Announcer {
    public private(set) var messages: [(text: String, interrupting: Bool)] = []
    public init() {}
    public func announce(_ message: String, interrupting: Bool) { messages.append((message, interrupting)) }
    public var texts: [String] { messages.map(\.text) }
}

@MainActor
public final class FakeAccessibility: AccessibilityStatus {
    public var isVoiceOverRunning: Bool
    public init(voiceOver: Bool = false) { isVoiceOverRunning = voiceOver }
}

@MainActor
public final class FakeHaptics: Haptics {
    public private(set) var events: [HapticEvent] = []
    public init() {}
    public func play(_ event: HapticEvent) { events.append(event) }
}

@MainActor
public final class FakeClipboard: Clipboard {
    public private(set) var copied: [String] = []
    public init() {}
    public func copy(_ text: String) { copied.append(text) }
}

public struct FixedClock: WallClock {
    public let nowMs: UInt64
    public init(_ nowMs: UInt64 = 1_764_500_000_000) { self.nowMs = nowMs }
}

@MainActor
public final class FakeRecognizer: SpeechRecognizing {
    public var isAvailable = true
    public var recognizesOnDevice = true
    public var access: RecognitionAccess = .granted
    public var startError: (any Error)?
    public private(set) var finished = 0
    public private(set) var cancelled = 0
    private var continuation: AsyncThrowingStream<RecognitionUpdate, Error>.Continuation?

    public init() {}

    public func requestAccess() async -> RecognitionAccess { access }

    public func start() throws -> AsyncThrowingStream<RecognitionUpdate, Error> {
        if let startError { throw startError }
        let (stream, continuation) = AsyncThrowingStream<RecognitionUpdate, Error>.makeStream()
        self.continuation = continuation
        return stream
    }

    public func finish() { finished += 1 }

    public func cancel() {
        cancelled += 1
        continuation?.finish()
    }

    /// The person said `text` so far (or finally).
    public func hear(_ text: String, final: Bool = false) {
        continuation?.yield(RecognitionUpdate(transcript: text, isFinal: final))
        if final { continuation?.finish() }
    }

    public func fail() { continuation?.finish(throwing: Problem.voiceUnavailable) }
}

public struct FakePickedFile: PickedFile {
    public let path: String
    public let accesses = Locked(0)
    public let releases = Locked(0)
    public init(path: String) { self.path = path }
    public func startAccessing() -> Bool {
        accesses.mutate { $0 += 1 }
        return true
    }
    public func stopAccessing() { releases.mutate { $0 += 1 } }
}
