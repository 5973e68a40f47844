import Foundation
import ImpAppLogic
import ImpKit

/// An app on fakes with some content, for SwiftUI previews: a model installed
/// and loaded, a second one downloadable, two past conversations, and answers
/// that write themselves.
@MainActor
public enum PreviewApp {
    public static func make(voiceOver: Bool = false, installed: Bool = true) -> AppModel {
        let engine = FakeEngine()
        engine.script.mutate {
            $0 = ["A red ", "mug sits ", "on a wooden ", "desk. ", "Steam rises ", "from it."]
        }
        let library = FakeLibrary(
            catalog: [.fake(), .fake(id: "imp-2b", name: "Imp 2B", size: 1_600_000_000, memory: 1_900_000_000),
                      .fake(id: "imp-4b", name: "Imp 4B", downloadable: false)],
            installed: installed ? [.fake()] : [])
        let archive = FakeArchive()
        for (question, answer) in [("What is written on the sign?", "Platform 4, trains to the airport."),
                                   (QuickPrompt.describe.question, "A kitchen counter with a kettle.")] {
            if let saved = try? archive.create(modelId: "imp-3b", picture: .encoded(Data())) {
                _ = try? archive.append(.fake(question, answer, at: 1_764_500_000_000), to: saved.id)
            }
        }
        var settings = AppSettings()
        settings.modelId = installed ? "imp-3b" : nil
        let environment = AppEnvironment(
            loader: FakeEngineLoader(engine: engine), library: library, archive: archive, benchmark: FakeBenchmark(),
            device: FakeDevice(), network: FakeNetwork(), settingsStorage: MemorySettingsStorage(settings), camera: FakeCamera(),
            pictureDecoder: FakePictureDecoder(), synthesizer: FakeVoice(finishesAtOnce: true),
            voiceOverVoice: FakeVoice(finishesAtOnce: true), announcer: FakeAnnouncer(),
            accessibility: FakeAccessibility(voiceOver: voiceOver), haptics: FakeHaptics(), clipboard: FakeClipboard(),
            recognizer: FakeRecognizer(), clock: FixedClock(), originals: nil, inbox: nil)
        let app = AppModel(environment: environment)
        app.launch()
        return app
    }
}
