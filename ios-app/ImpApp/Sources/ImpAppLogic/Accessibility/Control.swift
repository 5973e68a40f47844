import Foundation

/// A control on a screen as VoiceOver presents it. View models list every
/// control their screen shows in its current state, with its label (what it
/// is, also its visible title), hint (what activating it does) and whether it
/// can be used; the SwiftUI views take these instead of writing their own, so
/// a test can check that no control lacks words.
public struct Control: Identifiable, Equatable, Sendable {
    public let id: ControlID
    public let label: String
    public let hint: String
    public let isEnabled: Bool
    /// A spoken value (a slider's position, a toggle's state), if any.
    public let value: String?

    public init(_ id: ControlID, label: String, hint: String, isEnabled: Bool = true, value: String? = nil) {
        (self.id, self.label, self.hint, self.isEnabled, self.value) = (id, label, hint, isEnabled, value)
    }
}

/// Every control of every screen.
public enum ControlID: Hashable, Sendable {
    // Capture
    case shutter, allowCamera, chooseFromLibrary, openSystemSettings, openHistory, openSettings, openModels
    // Conversation
    case describe, readText, questionField, ask, voiceQuestion, stop, stopSpeaking, newPicture
    case copyAnswer(turn: Int), shareAnswer(turn: Int), readAgain(turn: Int)
    case problemAction, voiceProblemAction
    // Models
    case download(catalogId: String), pause(catalogId: String), resume(catalogId: String)
    case discardDownload(catalogId: String), importFile, cancelImport, useModel(installedId: String)
    case verify(installedId: String), delete(installedId: String)
    case confirmDelete, cancelDelete
    case addModel, addressField, sha256Field, confirmAdd, cancelAdd, allowMobileData, waitForWifi
    case pauseAdded(key: String), resumeAdded(key: String), dismissAdded(key: String)
    // History
    case openConversation(id: String), deleteConversation(id: String), deleteAll, confirmDeleteAll
    case cancelDeleteAll, loadMore
    // Settings
    case chooseModel, resolution, answerLength, threads, speechMode, speechRate, haptics, wifiOnly, openBenchmark
    // Benchmark
    case runBenchmark, cancelBenchmark
}

/// A screen whose controls are described by its view model.
@MainActor
public protocol DescribesControls {
    var controls: [Control] { get }
}

extension DescribesControls {
    /// The control with `id`; views call this for each control they draw.
    /// Asking for a control the screen does not show is a programming error,
    /// caught by the tests (and in debug builds).
    public func control(_ id: ControlID) -> Control {
        if let found = controls.first(where: { $0.id == id }) { return found }
        assertionFailure("no control \(id) in this state")
        return Control(id, label: "", hint: "", isEnabled: false)
    }
}
