import Foundation
import ImpAppFakes
import ImpKit
import PictureInbox
import XCTest

@testable import ImpAppLogic

#if os(Linux)
/// Swift 6.0's libswiftObservation.so on Linux references this C++ function of
/// the runtime's threading library without defining it, so nothing using
/// @Observable links (swiftlang/swift#75670; fixed in Swift 6.2). It is only
/// called on a fatal threading error. Apple's toolchains are not affected.
@_cdecl("_ZN5swift9threading5fatalEPKcz")
public func swiftThreadingFatal(_ message: UnsafePointer<CChar>) -> Never {
    fatalError(String(cString: message))
}
#endif

/// Waits (polling, up to `timeout` seconds) until `condition` holds; fails otherwise.
@MainActor
func eventually(_ what: String = "condition", timeout: Double = 10, file: StaticString = #filePath,
                line: UInt = #line, _ condition: () -> Bool) async {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline {
            XCTFail("timed out waiting for \(what)", file: file, line: line)
            return
        }
        try? await Task.sleep(nanoseconds: 1_000_000)
    }
}

/// Lets pending main-actor work run (tasks started by the code under test).
@MainActor
func settle() async {
    for _ in 0..<50 { await Task.yield() }
    try? await Task.sleep(nanoseconds: 5_000_000)
    for _ in 0..<50 { await Task.yield() }
}

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("imp-app-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Every fake, and the app and view models built on them.
@MainActor
final class Rig {
    let engine: FakeEngine
    let loader: FakeEngineLoader
    let library: FakeLibrary
    let archive = FakeArchive()
    let benchmark = FakeBenchmark()
    var device = FakeDevice()
    let network = FakeNetwork()
    let storage: MemorySettingsStorage
    let camera = FakeCamera()
    let decoder = FakePictureDecoder()
    let synthesizer = FakeVoice()
    let voiceOverVoice = FakeVoice()
    let announcer = FakeAnnouncer()
    let accessibility: FakeAccessibility
    let haptics = FakeHaptics()
    let clipboard = FakeClipboard()
    let recognizer = FakeRecognizer()
    let originals = OriginalPictures(directory: temporaryDirectory())
    let inbox = PictureInbox(directory: temporaryDirectory())

    init(voiceOver: Bool = false, installed: [InstalledModel] = [.fake()], chosen: String? = "imp-3b",
         catalog: [CatalogModel] = [.fake()], details: ModelDetails = .fake()) {
        engine = FakeEngine(details: details)
        loader = FakeEngineLoader(engine: engine)
        library = FakeLibrary(catalog: catalog, installed: installed)
        accessibility = FakeAccessibility(voiceOver: voiceOver)
        var settings = AppSettings()
        settings.modelId = chosen
        storage = MemorySettingsStorage(settings)
    }

    var settings: AppSettings { storage.load() ?? AppSettings() }

    func environment() -> AppEnvironment {
        AppEnvironment(
            loader: loader, library: library, archive: archive, benchmark: benchmark, device: device,
            network: network, settingsStorage: storage, camera: camera, pictureDecoder: decoder, synthesizer: synthesizer,
            voiceOverVoice: voiceOverVoice, announcer: announcer, accessibility: accessibility, haptics: haptics,
            clipboard: clipboard, recognizer: recognizer, clock: FixedClock(), originals: originals, inbox: inbox)
    }

    func app() -> AppModel { AppModel(environment: environment()) }

    lazy var announcements = Announcements(announcer: announcer, accessibility: accessibility)
    lazy var speech = SpeechQueue()
    lazy var narrator = AnswerNarrator(
        speech: speech, synthesizer: synthesizer, voiceOverVoice: voiceOverVoice, announcements: announcements,
        haptics: haptics, settings: { [storage] in storage.load() ?? AppSettings() })

    /// An engine session with the fake model loading (or loaded).
    func session(model: InstalledModel = .fake()) -> EngineSession {
        let session = EngineSession(loader: loader, device: device)
        session.use(model, settings: settings)
        return session
    }

    func conversation(session: EngineSession? = nil, restoring saved: SavedConversation? = nil,
                      picture: Picture = .encoded(Data([0xFF, 0xD8, 0xFF, 0xE0, 9]))) -> ConversationViewModel {
        ConversationViewModel(
            picture: picture, source: .camera, session: session ?? self.session(), archive: archive,
            originals: originals, narrator: narrator, recognizer: recognizer, clipboard: clipboard,
            clock: FixedClock(), settings: { [storage] in storage.load() ?? AppSettings() }, restoring: saved)
    }

    /// Describes in `chat` and streams `text` as the answer's first words.
    func streamingAnswer(in chat: ConversationViewModel, _ text: String) async -> FakeAnswer? {
        let count = engine.answers.current.count
        chat.describe()
        let answer = await nextAnswer(after: count)
        answer?.send(text)
        await eventually("streaming") { chat.turns.last?.status == .streaming }
        return answer
    }

    /// Waits for the fake engine's next answer to be asked.
    func nextAnswer(after count: Int) async -> FakeAnswer? {
        await eventually("answer \(count + 1) asked") { engine.answers.current.count > count }
        return engine.answers.current.count > count ? engine.answers.current[count] : nil
    }
}

extension ConversationViewModel.State {
    var isAnswering: Bool {
        if case .answering = self { true } else { false }
    }
}

extension ConversationViewModel {
    func turn(_ index: Int) -> Turn? { turns.indices.contains(index) ? turns[index] : nil }
}
