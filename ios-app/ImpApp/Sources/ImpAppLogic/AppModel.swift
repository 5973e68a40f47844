import Foundation
import ImpKit
import Observation
import PictureInbox

/// Everything the app is given by the platform (App/Platform/ on the phone,
/// fakes in tests and previews).
public struct AppEnvironment {
    public var loader: any EngineLoading
    public var library: any ModelLibrary
    public var archive: any ConversationArchive
    public var benchmark: any BenchmarkRunning
    public var device: any DeviceFacts
    public var network: any NetworkCost
    public var settingsStorage: any SettingsStorage
    public var camera: any Camera
    public var pictureDecoder: any PictureDecoding
    public var synthesizer: any SpeechVoice
    public var voiceOverVoice: any SpeechVoice
    public var announcer: any Announcer
    public var accessibility: any AccessibilityStatus
    public var haptics: any Haptics
    public var clipboard: any Clipboard
    public var recognizer: any SpeechRecognizing
    public var clock: any WallClock
    public var originals: OriginalPictures?
    public var inbox: PictureInbox?

    public init(loader: any EngineLoading, library: any ModelLibrary, archive: any ConversationArchive,
                benchmark: any BenchmarkRunning, device: any DeviceFacts, network: any NetworkCost,
                settingsStorage: any SettingsStorage,
                camera: any Camera, pictureDecoder: any PictureDecoding, synthesizer: any SpeechVoice,
                voiceOverVoice: any SpeechVoice, announcer: any Announcer, accessibility: any AccessibilityStatus,
                haptics: any Haptics, clipboard: any Clipboard, recognizer: any SpeechRecognizing,
                clock: any WallClock = SystemClock(), originals: OriginalPictures?, inbox: PictureInbox?) {
        (self.loader, self.library, self.archive, self.benchmark) = (loader, library, archive, benchmark)
        (self.device, self.network, self.settingsStorage, self.camera, self.pictureDecoder) =
            (device, network, settingsStorage, camera, pictureDecoder)
        (self.synthesizer, self.voiceOverVoice, self.announcer, self.accessibility) =
            (synthesizer, voiceOverVoice, announcer, accessibility)
        (self.haptics, self.clipboard, self.recognizer, self.clock) = (haptics, clipboard, recognizer, clock)
        (self.originals, self.inbox) = (originals, inbox)
    }
}

/// The app: which screen shows, the model in use, and the hand-offs between
/// screens (a picture taken opens a conversation, a damaged model opens the
/// models screen, the benchmark releases the model).
@MainActor
@Observable
public final class AppModel {
    public enum Destination: Hashable, Sendable {
        case conversation, history, settings, models, benchmark
    }

    /// The navigation stack above the camera screen.
    public var path: [Destination] = []
    public let engine: EngineSession
    public let capture: CaptureViewModel
    public let models: ModelsViewModel
    public let history: HistoryViewModel
    public let settings: SettingsViewModel
    public let benchmark: BenchmarkViewModel
    public let speech: SpeechQueue
    public let narrator: AnswerNarrator
    public let announcements: Announcements
    public private(set) var conversation: ConversationViewModel?

    @ObservationIgnored private let environment: AppEnvironment
    @ObservationIgnored private let preparer: PicturePreparer
    @ObservationIgnored private var watchingLoad: Task<Void, Never>?

    public init(environment env: AppEnvironment) {
        environment = env
        preparer = PicturePreparer(decoder: env.pictureDecoder)
        announcements = Announcements(announcer: env.announcer, accessibility: env.accessibility)
        let settings = SettingsViewModel(storage: env.settingsStorage, device: env.device)
        self.settings = settings
        engine = EngineSession(loader: env.loader, device: env.device)
        speech = SpeechQueue()
        narrator = AnswerNarrator(
            speech: speech, synthesizer: env.synthesizer, voiceOverVoice: env.voiceOverVoice,
            announcements: announcements, haptics: env.haptics, settings: { settings.settings })
        capture = CaptureViewModel(camera: env.camera, preparer: preparer, haptics: env.haptics,
                                   announcements: announcements, settings: { settings.settings })
        models = ModelsViewModel(library: env.library, device: env.device, network: env.network,
                                 announcements: announcements, chosenId: { settings.settings.modelId },
                                 wifiOnly: { settings.settings.wifiOnly })
        let models = self.models
        history = HistoryViewModel(archive: env.archive, originals: env.originals, announcements: announcements,
                                   modelName: { models.name(ofModel: $0) })
        benchmark = BenchmarkViewModel(runner: env.benchmark, announcements: announcements)
        wire()
    }

    private func wire() {
        capture.onPicture = { [weak self] picture, source in self?.startConversation(picture, source: source) }
        models.onChoose = { [weak self] model in self?.settings.chooseModel(model.id) }
        models.onRemoved = { [weak self] id in
            guard let self else { return }
            if settings.settings.modelId == id { settings.chooseModel(nil) }
            syncModels()
        }
        settings.onChange = { [weak self] old, new in
            guard let self else { return }
            if old.modelId != new.modelId || old.resolution != new.resolution || old.threads != new.threads {
                loadChosenModel()
            }
        }
        settings.chosenModelImageSize = { [weak self] in self?.chosenModel?.details?.imageSize }
        history.onOpen = { [weak self] saved, picture in self?.reopen(saved, picture: picture) }
        benchmark.onStart = { [weak self] in
            self?.closeConversation()
            self?.engine.unload()
        }
        benchmark.onEnd = { [weak self] in self?.loadChosenModel() }
    }

    /// Auto-lock would suspend the app in the middle of something the person
    /// is waiting for: a download or conversion, an answer being written or
    /// read aloud, a benchmark. The screen stays on meanwhile, and only then
    /// (the root view binds it to the idle timer).
    public var keepsScreenAwake: Bool {
        if models.isBusy || speech.isSpeaking || (conversation?.isAnswering ?? false) { return true }
        if case .running = benchmark.state { return true }
        return false
    }

    // MARK: the app's life

    /// First launch of the process: read the store, load the chosen model.
    public func launch() {
        models.refresh()
        syncModels()
        if settings.settings.modelId == nil, let only = usableModels.first, usableModels.count == 1 {
            settings.chooseModel(only.id)  // loads it through onChange
        } else {
            loadChosenModel()
        }
    }

    /// The app came to the foreground: shared pictures, paused downloads.
    public func becameActive() async {
        models.resumeSuspendedTransfers()
        if let data = environment.inbox?.takeNewest() {
            let preparer = self.preparer
            do {
                let picture = try await Task.detached { try preparer.prepare(data) }.value
                startConversation(picture, source: .shared)
            } catch {
                announcements.say(Problem(any: error, while: .encodingPicture).announcement, interrupting: true)
            }
        }
    }

    public func enteredBackground() {
        models.suspendTransfers()
        conversation?.stopSpeaking()
    }

    /// No usable model yet: the models screen is the first screen.
    public var isFirstRun: Bool { models.isFirstRun || (models.state == .loaded && usableModels.isEmpty) }

    /// A line about the model for the camera screen (nil when ready).
    public var modelStatus: String? {
        switch engine.state {
        case .noModel: usableModels.isEmpty ? "No model yet." : "No model chosen."
        case .loading(_, let fraction): "Loading the model, \(Int(fraction * 100)) percent."
        case .ready: nil
        case .failed(_, let problem): problem.title
        }
    }

    // MARK: conversations

    /// A picture was taken, picked or shared: its conversation opens and the
    /// picture starts encoding at once.
    public func startConversation(_ picture: Picture, source: PictureSource, restoring saved: SavedConversation? = nil) {
        conversation?.close()
        let env = environment
        conversation = ConversationViewModel(
            picture: picture, source: source, session: engine, archive: env.archive, originals: env.originals,
            narrator: narrator, recognizer: env.recognizer, clipboard: env.clipboard, clock: env.clock,
            settings: { [settings = self.settings] in settings.settings }, restoring: saved)
        path = [.conversation]
    }

    public func reopen(_ saved: SavedConversation, picture: Picture) {
        startConversation(picture, source: .history, restoring: saved)
    }

    /// Reopens the conversation that was on screen when iOS ended the app.
    public func restoreConversation(id: String) {
        guard conversation == nil else { return }
        history.open(id)
    }

    public func closeConversation() {
        conversation?.close()
        conversation = nil
        if path.last == .conversation { path.removeLast() }
    }

    /// What a problem's button does, where it is navigation.
    public func recover(_ recovery: Problem.Recovery) {
        switch recovery {
        case .openModels:
            models.refresh()
            path = [.models]
        case .openSettings: path = [.settings]
        case .takeNewPicture: closeConversation()
        case .tryAgain, .openSystemSettings: break  // the screen's own retry; the platform opens Settings
        }
    }

    /// Table 4's protocol with the settings' resolution and threads.
    public var benchmarkOptions: BenchmarkOptions {
        let options = settings.settings.engineOptions(nativeImageSize: chosenModel?.details?.imageSize,
                                                      device: environment.device)
        return BenchmarkOptions(imageSize: options.imageSize, promptTokens: 41, genTokens: 64,
                                threads: options.threads, repeat: 3)
    }

    public func openBenchmark() {
        benchmark.setModel(path: chosenModel?.path, name: chosenModel.map(title) ?? "")
        path.append(.benchmark)
    }

    // MARK: the model

    private var usableModels: [InstalledModel] {
        models.installed.map(\.model).filter { $0.problem == nil }
    }

    private var chosenModel: InstalledModel? {
        models.installed.first(where: { $0.id == settings.settings.modelId })?.model
    }

    private func title(_ model: InstalledModel) -> String {
        models.installed.first(where: { $0.id == model.id })?.title ?? model.id
    }

    private func syncModels() {
        settings.setModels(models.installed.map(\.model), titles: title)
    }

    /// Loads the chosen model; a missing or damaged one sends the person to the
    /// models screen with the reason.
    public func loadChosenModel() {
        models.refresh()
        syncModels()
        watchingLoad?.cancel()
        guard settings.settings.modelId != nil else {
            engine.unload()
            return
        }
        guard let model = chosenModel else {
            engine.unload()
            sendToModels(Problem(.notFound("The chosen model is no longer on this phone."), while: .loadingModel))
            return
        }
        engine.use(model, settings: settings.settings)
        let engine = self.engine
        watchingLoad = Task { [weak self] in
            do {
                _ = try await engine.readyEngine()
            } catch {
                guard !Task.isCancelled else { return }
                self?.loadFailed(Problem(any: error, while: .loadingModel))
            }
        }
    }

    private func loadFailed(_ problem: Problem) {
        switch problem.kind {
        case .modelMissing, .modelDamaged: sendToModels(problem)
        case .cancelled: break
        default: announcements.say(problem.announcement, interrupting: true)
        }
    }

    private func sendToModels(_ problem: Problem) {
        models.notice = problem
        models.refresh()
        path = [.models]
        announcements.say(problem.announcement, interrupting: true)
    }
}
