import Foundation
import ImpKit

/// Something that went wrong, said plainly, with what the person can do. Every
/// screen shows (and VoiceOver announces) `title` and `message`; `recovery`
/// names the one button offered. The core's own words, which name files, byte
/// offsets and checksums, are `details`: shown on request, never announced.
public struct Problem: Equatable, Sendable, Error {
    public enum Kind: String, Sendable, CaseIterable {
        case cameraDenied, cameraUnavailable, microphoneDenied, voiceUnavailable
        case modelMissing, modelDamaged, outOfMemory, busy, cancelled
        case pictureUnusable, conversationFull
        case noSpace, networkFailed, verificationFailed, notDownloadable
        case storageFailed, failed
    }

    public enum Recovery: Equatable, Sendable {
        /// The models screen (a model to download, import or choose).
        case openModels
        /// The app's page in the Settings app (a permission to grant).
        case openSystemSettings
        case tryAgain
        case takeNewPicture
        /// The app's settings (a smaller resolution or model).
        case openSettings
    }

    public let kind: Kind
    public let title: String
    public let message: String
    public let recovery: Recovery?
    /// What a developer needs to know (the core's message); nil when the
    /// message says it all.
    public let details: String?

    public init(_ kind: Kind, title: String, message: String, recovery: Recovery? = nil, details: String? = nil) {
        (self.kind, self.title, self.message, self.recovery) = (kind, title, message, recovery)
        self.details = details.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// What VoiceOver says when the problem appears.
    public var announcement: String { "\(title). \(message)" }

    public var recoveryTitle: String? {
        switch recovery {
        case .openModels: "Open models"
        case .openSystemSettings: "Open Settings"
        case .tryAgain: "Try again"
        case .takeNewPicture: "Take a new picture"
        case .openSettings: "Open settings"
        case nil: nil
        }
    }

    public var recoveryHint: String? {
        switch recovery {
        case .openModels: "Shows the models you can download, import or choose."
        case .openSystemSettings: "Opens Imp's page in the Settings app, where access can be allowed."
        case .tryAgain: "Tries the same thing again."
        case .takeNewPicture: "Returns to the camera."
        case .openSettings: "Opens Imp's settings."
        case nil: nil
        }
    }
}

/// Where an error happened: the same core error needs different words (a
/// missing file while loading a model is a missing model; while importing, a
/// missing file).
public enum ProblemContext: Sendable {
    case loadingModel, encodingPicture, answering, transfer, history, benchmark
}

extension Problem {
    public init(_ error: ImpError, while context: ProblemContext) {
        switch (error, context) {
        case (.modelUnusable(let m), _):
            self.init(.modelDamaged, title: "The model cannot be used",
                      message: "The model file is damaged or is not an Imp model. Download it again, "
                          + "or import another model file.", recovery: .openModels, details: m)
        case (.notFound(let m), .loadingModel):
            self.init(.modelMissing, title: "The model file is missing",
                      message: "It may have been deleted. Download or import it again.", recovery: .openModels,
                      details: m)
        case (.notFound(let m), _):
            self.init(.failed, title: "Not found", message: "It may have been deleted.", recovery: nil, details: m)
        case (.imageUnusable(let m), _):
            self.init(.pictureUnusable, title: "This picture cannot be read",
                      message: "\(m) Take another picture or choose another photo.", recovery: .takeNewPicture)
        case (.inputTooLong, _):
            self.init(.conversationFull, title: "This conversation is full",
                      message: "The model cannot hold more questions about this picture. "
                          + "Take a new picture, or open it again from History, to go on.",
                      recovery: .takeNewPicture)
        case (.cancelled, _):
            self.init(.cancelled, title: "Cancelled", message: "Nothing was changed.", recovery: nil)
        case (.outOfMemory(let m), _):
            self.init(.outOfMemory, title: "Not enough memory",
                      message: "\(m) Close other apps, choose Fast resolution, or use a smaller model.",
                      recovery: .openSettings)
        case (.busy, _):
            self.init(.busy, title: "Still answering",
                      message: "The model is still writing another answer. Stop it first, or wait for it.",
                      recovery: nil)
        case (.noSpace(let m), _):
            self.init(.noSpace, title: "Not enough storage",
                      message: "\(m) Free some space on this phone, then try again.", recovery: .tryAgain)
        case (.networkFailed(let m), _):
            self.init(.networkFailed, title: "The download stopped",
                      message: "The connection was lost. What was downloaded is kept; try again when online.",
                      recovery: .tryAgain, details: m)
        case (.verificationFailed(let m), _):
            self.init(.verificationFailed, title: "The file is damaged",
                      message: "It did not match its checksum and was not used. Download it again.",
                      recovery: .tryAgain, details: m)
        case (.notDownloadable(let how), _):
            // The core's words continue a sentence ("it is made on this device...").
            self.init(.notDownloadable, title: "Not available for download",
                      message: Self.sentence(how), recovery: nil)
        case (.invalidAddress(let m), _):
            self.init(.failed, title: "This names no model", message: m, recovery: nil)
        case (.internalError(let m), .history):
            self.init(.storageFailed, title: "History could not be saved or read",
                      message: "The phone's storage refused it. Free some space, or restart Imp.", recovery: nil,
                      details: m)
        case (.internalError(let m), _):
            self.init(.failed, title: "Something went wrong",
                      message: "Imp met a problem it did not expect. Try again; if it comes back, restart Imp.",
                      recovery: .tryAgain, details: m)
        }
    }

    /// Any error a platform adapter or the core threw.
    public init(any error: any Error, while context: ProblemContext) {
        if let problem = error as? Problem {
            self = problem
        } else if let imp = error as? ImpError {
            self.init(imp, while: context)
        } else if error is CancellationError {
            self.init(.cancelled, while: context)
        } else {
            self.init(.internalError("\(error)"), while: context)
        }
    }

    public static let cameraDenied = Problem(
        .cameraDenied, title: "Camera access is off",
        message: "Imp needs the camera to take pictures. Allow it in Settings, or choose a photo instead.",
        recovery: .openSystemSettings)

    public static let cameraUnavailable = Problem(
        .cameraUnavailable, title: "No camera",
        message: "This device has no camera Imp can use. Choose a photo instead.")

    public static let microphoneDenied = Problem(
        .microphoneDenied, title: "Voice questions are off",
        message: "Imp needs the microphone and speech recognition to hear questions. "
            + "Allow them in Settings, or type the question.",
        recovery: .openSystemSettings)

    public static let voiceUnavailable = Problem(
        .voiceUnavailable, title: "Voice questions are not available",
        message: "Speech recognition is not available for this language. Type the question instead.")

    /// `text` as a sentence of its own: capitalised, and ended as
    /// `SpokenText.sentences` ends every part.
    static func sentence(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return SpokenText.sentences([trimmed.prefix(1).uppercased() + trimmed.dropFirst()])
    }

    /// The camera fired but gave no photo (the reason is the system's).
    public static func pictureNotTaken(details: String) -> Problem {
        Problem(.failed, title: "The picture was not taken",
                message: "The camera did not give a photo. Try again, or choose a photo instead.",
                recovery: .tryAgain, details: details)
    }

    public static let noModel = Problem(
        .modelMissing, title: "Choose a model first",
        message: "Imp answers with a model kept on this phone. Download or import one.",
        recovery: .openModels)
}
