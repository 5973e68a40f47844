import Foundation
import ImpKit
import Observation

/// The camera screen: permission, the live preview, the shutter, and the photo
/// library as the other way in. A picture is handed on (`onPicture`) the moment
/// it exists, so its encoding starts before the person has moved on.
@MainActor
@Observable
public final class CaptureViewModel: DescribesControls {
    public enum State: Equatable {
        /// Not on screen.
        case idle
        /// The camera was never asked for: the screen explains, then asks.
        case needsAccess
        case denied
        case unavailable
        case starting
        case live
        case takingPicture
        /// A photo from the library is being read.
        case readingPhoto
        case failed(Problem)
    }

    public private(set) var state: State = .idle
    /// A line about the model (loading, missing) shown above the shutter.
    public var modelStatus: String?

    @ObservationIgnored private let camera: any Camera
    @ObservationIgnored private let preparer: PicturePreparer
    @ObservationIgnored private let haptics: any Haptics
    @ObservationIgnored private let announcements: Announcements?
    @ObservationIgnored private let settings: @MainActor () -> AppSettings
    @ObservationIgnored public var onPicture: @MainActor (Picture, PictureSource) -> Void = { _, _ in }

    public init(camera: any Camera, preparer: PicturePreparer, haptics: any Haptics,
                announcements: Announcements? = nil, settings: @escaping @MainActor () -> AppSettings) {
        self.camera = camera
        self.preparer = preparer
        self.haptics = haptics
        self.announcements = announcements
        self.settings = settings
    }

    /// The screen appeared: start the camera if allowed.
    public func appeared() async {
        guard camera.isAvailable else {
            state = .unavailable
            return
        }
        switch camera.access {
        case .notDetermined: state = .needsAccess
        case .denied, .restricted: state = .denied
        case .granted: await startCamera()
        }
    }

    public func disappeared() {
        camera.stop()
        state = .idle
    }

    /// The person chose to allow the camera (the system asks).
    public func allowCamera() async {
        if await camera.requestAccess() {
            await startCamera()
        } else {
            report(.denied)
        }
    }

    public func takePicture() async {
        guard state == .live else { return }
        state = .takingPicture
        do {
            let picture = try await camera.takePicture()
            if settings().haptics { haptics.play(.pictureTaken) }
            state = .live
            onPicture(picture, .camera)
        } catch {
            report(.failed(Problem(any: error, while: .encodingPicture)))
        }
    }

    /// A photo picked from the library.
    public func picked(_ item: any PhotoLibraryItem) async {
        let previous = state
        state = .readingPhoto
        do {
            let data = try await item.loadData()
            let preparer = self.preparer
            let picture = try await Task.detached { try preparer.prepare(data) }.value
            state = previous
            onPicture(picture, .library)
        } catch {
            let problem = Problem(any: error, while: .encodingPicture)
            // Leaving the picker without a photo is not a failure.
            if problem.kind == .cancelled { state = previous } else { report(.failed(problem)) }
        }
    }

    public var problem: Problem? {
        switch state {
        case .denied: .cameraDenied
        case .unavailable: .cameraUnavailable
        case .failed(let problem): problem
        default: nil
        }
    }

    /// What the screen says above the controls.
    public var explanation: String? {
        switch state {
        case .needsAccess:
            "Imp looks at what the camera sees and answers questions about it. "
                + "Pictures stay on this phone."
        case .starting: "Starting the camera…"
        case .readingPhoto: "Opening the photo…"
        default: problem?.message
        }
    }

    public var controls: [Control] {
        var list: [Control] = []
        switch state {
        case .needsAccess:
            list.append(Control(.allowCamera, label: "Allow camera",
                                hint: "Asks for permission to use the camera."))
        case .denied:
            list.append(Control(.openSystemSettings, label: "Open Settings",
                                hint: "Opens Imp's page in the Settings app, where the camera can be allowed."))
        case .live, .takingPicture, .starting:
            list.append(Control(.shutter, label: "Take picture",
                                hint: "Takes a picture to ask about. Point the back camera at the thing first.",
                                isEnabled: state == .live))
        case .failed(let problem):
            list.append(Control(.shutter, label: "Take picture",
                                hint: "Takes a picture to ask about. The camera is not working now.",
                                isEnabled: false))
            if let title = problem.recoveryTitle, let hint = problem.recoveryHint {
                list.append(Control(.problemAction, label: title, hint: hint))
            }
        case .idle, .unavailable, .readingPhoto:
            break
        }
        list.append(Control(.chooseFromLibrary, label: "Choose photo",
                            hint: "Picks a photo from your library to ask about.", isEnabled: state != .readingPhoto))
        list.append(Control(.openHistory, label: "History", hint: "Shows past conversations."))
        list.append(Control(.openModels, label: "Models", hint: "Download, import or choose a model."))
        list.append(Control(.openSettings, label: "Settings",
                            hint: "Resolution, answer length, speech and more."))
        return list
    }

    private func startCamera() async {
        state = .starting
        do {
            try await camera.start()
            state = .live
        } catch {
            report(.failed(Problem(
                .cameraUnavailable, title: "The camera could not start",
                message: "Another app may be using it. Close it and come back, or choose a photo instead.",
                recovery: .tryAgain)))
        }
    }

    /// A failure that follows something the person did (allowing the camera,
    /// the shutter, a photo picked): a person who cannot see the screen would
    /// otherwise wait for a conversation that never opens. So it is felt, and
    /// with VoiceOver heard at once, interrupting. Problems found on arrival
    /// (no camera, access off) are read on the screen like its other text.
    private func report(_ failure: State) {
        state = failure
        guard let problem else { return }
        if settings().haptics { haptics.play(.failure) }
        announcements?.say(problem.announcement, interrupting: true)
    }

    /// Tries the camera again after a failure.
    public func retry() async {
        await appeared()
    }
}
