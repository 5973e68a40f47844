import Foundation
import ImpKit

// The phone's hardware and system services, each behind a protocol so that the
// logic runs (and is tested) without them. The iOS adapters live in
// App/Platform/ (AVFoundation, PhotosUI, ImageIO, Speech, UIKit).

public enum CameraAccess: Sendable, Equatable {
    case notDetermined, granted, denied, restricted
}

@MainActor
public protocol Camera: AnyObject {
    /// False where there is no camera (the simulator, some iPads in a case).
    var isAvailable: Bool { get }
    var access: CameraAccess { get }
    func requestAccess() async -> Bool
    /// Starts the preview; throws when the camera cannot be used now (another
    /// app holds it, the session failed).
    func start() async throws
    func stop()
    /// The picture, ready for the core.
    func takePicture() async throws -> Picture
}

/// A photo the person picked from the library (or that another app shared).
public protocol PhotoLibraryItem: Sendable {
    /// The file's bytes as stored (JPEG, HEIC, PNG...).
    func loadData() async throws -> Data
}

/// Decodes what the core cannot (HEIC) and shrinks what is needlessly large.
public protocol PictureDecoding: Sendable {
    /// Width and height in pixels, orientation applied; nil if unreadable.
    func pixelSize(of data: Data) -> (width: Int, height: Int)?
    /// 8-bit RGBA, orientation applied, the longer side at most `maxPixelSize`.
    func decodeRGBA(_ data: Data, maxPixelSize: Int) throws -> Picture
}

/// Something that speaks text and says when it is done: the speech synthesizer,
/// or VoiceOver itself (announcements).
@MainActor
public protocol SpeechVoice: AnyObject {
    /// Speaks `text` after whatever it is speaking; `onFinished` runs once it
    /// has been spoken (or dropped). `rate` is 0...1 (the synthesizer's scale);
    /// VoiceOver keeps the person's own rate.
    func speak(_ text: String, rate: Float, onFinished: @escaping @MainActor () -> Void)
    /// Silence at once; pending `onFinished` calls may be dropped.
    func stop()
    /// Nothing more to say for now (the answer was spoken, or stopped): give
    /// back what speaking took, so that other apps' sound comes back up.
    func release()
}

/// One-off messages for VoiceOver (errors, "Stopped", "End of answer").
@MainActor
public protocol Announcer: AnyObject {
    /// `interrupting` cuts off what VoiceOver is saying; otherwise it waits.
    func announce(_ message: String, interrupting: Bool)
}

@MainActor
public protocol AccessibilityStatus: AnyObject {
    var isVoiceOverRunning: Bool { get }
}

public enum HapticEvent: Sendable, Equatable {
    case pictureTaken
    case answerStarted
    case answerFinished
    case answerStopped
    case listening
    case failure
}

@MainActor
public protocol Haptics: AnyObject {
    func play(_ event: HapticEvent)
}

@MainActor
public protocol Clipboard: AnyObject {
    func copy(_ text: String)
}

public protocol WallClock: Sendable {
    var nowMs: UInt64 { get }
}

public struct SystemClock: WallClock {
    public init() {}
    public var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

public enum RecognitionAccess: Sendable, Equatable {
    case granted, denied, restricted
}

public struct RecognitionUpdate: Sendable, Equatable {
    public let transcript: String
    public let isFinal: Bool
    public init(transcript: String, isFinal: Bool) {
        (self.transcript, self.isFinal) = (transcript, isFinal)
    }
}

/// The platform's speech recogniser for voice questions.
@MainActor
public protocol SpeechRecognizing: AnyObject {
    /// A recogniser exists for the person's language.
    var isAvailable: Bool { get }
    /// Recognition can run on the phone (it is then required: no audio leaves it).
    var recognizesOnDevice: Bool { get }
    /// Asks for speech recognition and microphone access (once; then reports).
    func requestAccess() async -> RecognitionAccess
    /// Starts listening: transcripts as the person speaks, the last one final.
    func start() throws -> AsyncThrowingStream<RecognitionUpdate, Error>
    /// Stops listening; the final transcript follows.
    func finish()
    /// Stops listening and drops the transcript.
    func cancel()
}

/// A file the person picked in the Files app: readable only while accessed.
public protocol PickedFile: Sendable {
    var path: String { get }
    func startAccessing() -> Bool
    func stopAccessing()
}
