import Foundation
import ImpAppFakes
import ImpKit
import PictureInbox
import XCTest

@testable import ImpAppLogic

@MainActor
final class AppModelTests: XCTestCase, @unchecked Sendable {
    /// The app launched on `rig`, its model loaded.
    func launched(_ rig: Rig) async -> AppModel {
        let app = rig.app()
        app.launch()
        await ready(app)
        return app
    }

    func ready(_ app: AppModel) async {
        await eventually("the model loads") {
            if case .ready = app.engine.state { true } else { false }
        }
    }

    func testFirstRunShowsTheModelsThenTheCameraOnceAModelIsInstalled() async {
        let rig = Rig(installed: [], chosen: nil)
        let app = rig.app()
        app.launch()
        XCTAssertTrue(app.isFirstRun)
        XCTAssertEqual(app.engine.state, .noModel)
        XCTAssertEqual(app.modelStatus, "No model yet.")
        app.models.download("imp-3b")
        rig.library.models.mutate { $0 = [.fake()] }
        rig.library.lastTransfer?.finish(.installed(.fake()))
        await ready(app)
        XCTAssertFalse(app.isFirstRun)
        XCTAssertEqual(rig.settings.modelId, "imp-3b", "the downloaded model was chosen and saved")
        XCTAssertNil(app.modelStatus)
    }

    func testLaunchLoadsTheChosenModelAndSettingsReloadIt() async {
        let rig = Rig()
        let app = await launched(rig)
        XCTAssertEqual(rig.loader.loads.current.map(\.options.imageSize), [196])
        app.settings.setResolution(.detailed)
        await eventually { rig.loader.loads.current.count == 2 }
        await ready(app)
        XCTAssertEqual(rig.loader.loads.current.last?.options.imageSize, nil)
        app.settings.setSpeech(.always)
        await settle()
        XCTAssertEqual(rig.loader.loads.current.count, 2, "speech settings do not reload the model")
    }

    func testTheOnlyInstalledModelIsChosenByItself() async {
        let rig = Rig(chosen: nil)
        let app = rig.app()
        app.launch()
        await ready(app)
        XCTAssertEqual(rig.settings.modelId, "imp-3b")
    }

    func testADamagedOrMissingModelSendsThePersonToTheModelsScreen() async {
        let rig = Rig(voiceOver: true, installed: [.fake(problem: "The file is shorter than its header says.")])
        let app = rig.app()
        app.launch()
        await eventually { app.path == [.models] }
        XCTAssertEqual(app.models.notice?.kind, .modelDamaged)
        XCTAssertTrue(app.models.notice?.details?.contains("shorter than its header") ?? false)
        XCTAssertTrue(rig.announcer.texts.last?.hasPrefix("The model cannot be used.") ?? false)

        let gone = Rig(installed: [], chosen: "imp-3b")
        let app2 = gone.app()
        app2.launch()
        await eventually { app2.path == [.models] }
        XCTAssertEqual(app2.models.notice?.kind, .modelMissing)

        let broken = Rig()
        broken.loader.failure.mutate { $0 = .modelUnusable("Not an Imp model.") }
        let app3 = broken.app()
        app3.launch()
        await eventually { app3.path == [.models] }
        XCTAssertEqual(app3.models.notice?.kind, .modelDamaged)
    }

    func testOutOfMemoryStaysOnTheCameraAndSaysSo() async {
        let rig = Rig(voiceOver: true)
        rig.loader.failure.mutate { $0 = .outOfMemory("Needs 2.8 GB; 1.5 GB free.") }
        let app = rig.app()
        app.launch()
        await eventually { app.modelStatus == "Not enough memory" }
        XCTAssertEqual(app.path, [])
        await eventually { rig.announcer.texts.last?.contains("Needs 2.8 GB") ?? false }
    }

    /// The path a VoiceOver user takes, through the app model, on fakes:
    /// take a picture, Describe, hear the answer, Stop, ask a follow-up.
    func testTakePictureDescribeHearStopFollowUp() async {
        let rig = Rig(voiceOver: true)
        let app = rig.app()
        app.launch()
        await app.capture.appeared()
        await app.capture.takePicture()
        XCTAssertEqual(app.path, [.conversation])
        guard let chat = app.conversation else { return XCTFail("no conversation") }
        XCTAssertEqual(chat.focus, .describe)
        XCTAssertEqual(chat.source, .camera)
        await eventually("the picture encodes before any question") { rig.engine.encodedPictures.current.count == 1 }

        chat.describe()
        let answer = await rig.nextAnswer(after: 0)
        for token in ["A", " kettle", " on", " a", " stove", ".", " Steam", " rises", "."] { answer?.send(token) }
        await eventually { rig.voiceOverVoice.spoken == ["A kettle on a stove."] }
        XCTAssertEqual(rig.haptics.events, [.pictureTaken, .answerStarted])
        chat.stop()
        XCTAssertEqual(rig.announcer.texts.last, "Stopped.")
        XCTAssertEqual(chat.focus, .question)

        chat.question = "Is the stove on?"
        chat.askTypedQuestion()
        let followUp = await rig.nextAnswer(after: 1)
        XCTAssertEqual(followUp?.question, "Is the stove on?")
        followUp?.send("Yes, a flame is lit.")
        followUp?.finish()
        await eventually { chat.state == .ready }
        rig.voiceOverVoice.finishAll()
        await eventually { rig.announcer.texts.last == "End of answer." }
        XCTAssertEqual(rig.library.networkCalls.current, 0, "answering never touched the network")
        XCTAssertEqual(rig.archive.conversations.current.first?.turns.map(\.stopReason), ["cancelled", "eos"])

        app.closeConversation()
        XCTAssertEqual(app.path, [])
        XCTAssertNil(app.conversation)
    }

    func testASharedPictureOpensAConversationWhenTheAppComesForward() async throws {
        let rig = Rig()
        let app = rig.app()
        app.launch()
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE1, 7])
        rig.decoder.sizes.mutate { $0[jpeg] = (1600, 1200) }
        try rig.inbox.deposit(jpeg)
        await app.becameActive()
        XCTAssertEqual(app.conversation?.source, .shared)
        guard case .encoded(let data) = app.conversation?.picture else { return XCTFail() }
        XCTAssertEqual(data, jpeg)
        XCTAssertEqual(app.path, [.conversation])

        // A share from long ago is not opened.
        try rig.inbox.deposit(jpeg, now: Date(timeIntervalSinceNow: -3600))
        app.closeConversation()
        await app.becameActive()
        XCTAssertNil(app.conversation)
    }

    func testTheBenchmarkRunsWithTheModelReleasedThenReloadsIt() async {
        let rig = Rig()
        let app = await launched(rig)
        app.openBenchmark()
        XCTAssertEqual(app.path, [.benchmark])
        XCTAssertEqual(app.benchmark.state, .ready)
        app.benchmark.start(options: BenchmarkOptions(imageSize: nil, promptTokens: 41, genTokens: 64, threads: nil,
                                                      repeat: 3))
        XCTAssertEqual(app.engine.state, .noModel, "two copies of the model would not fit")
        XCTAssertEqual(rig.benchmark.runs.current.first?.target, .model(path: "/models/imp-3b.gguf"))
        rig.benchmark.runs.current[0].continuation.yield(.finished(FakeBenchmark.record()))
        rig.benchmark.runs.current[0].continuation.finish()
        await ready(app)
        XCTAssertEqual(rig.loader.loads.current.count, 2)
    }

    func testAConversationComesBackAfterTheProcessEnded() async {
        let rig = Rig()
        let saved = try! rig.archive.create(modelId: "imp-3b", picture: .encoded(Data([1])))
        _ = try! rig.archive.append(.fake("Q?", "A."), to: saved.id)
        let app = rig.app()
        app.launch()
        app.restoreConversation(id: saved.id)
        XCTAssertEqual(app.conversation?.savedId, saved.id)
        XCTAssertEqual(app.conversation?.turns.map(\.answer), ["A."])
        XCTAssertEqual(app.conversation?.source, .history)
        XCTAssertEqual(app.path, [.conversation])
    }

    func testDeletingTheChosenModelUnloadsIt() async {
        let rig = Rig()
        let app = await launched(rig)
        app.models.requestDelete("imp-3b")
        app.models.confirmDelete()
        XCTAssertEqual(app.engine.state, .noModel)
        XCTAssertNil(rig.settings.modelId)
        XCTAssertTrue(app.isFirstRun)
    }

    func testProblemButtonsNavigate() async {
        let rig = Rig()
        let app = rig.app()
        app.recover(.openModels)
        XCTAssertEqual(app.path, [.models])
        app.recover(.openSettings)
        XCTAssertEqual(app.path, [.settings])
        app.startConversation(.encoded(Data([1])), source: .library)
        app.recover(.takeNewPicture)
        XCTAssertNil(app.conversation)
        XCTAssertEqual(app.path, [])
    }

    /// VoiceOver reads each history row: the model by its name, not its id.
    func testHistoryNamesTheModelAsPeopleReadIt() async {
        let rig = Rig()
        for id in ["imp-3b", "gone-model"] {
            let saved = try! rig.archive.create(modelId: id, picture: .encoded(Data([1])))
            _ = try! rig.archive.append(.fake("Q?", "A."), to: saved.id)
        }
        let app = await launched(rig)
        app.models.refresh()
        await eventually("the models are listed") { !app.models.installed.isEmpty }
        app.history.refresh()
        let spoken = app.history.rows.map(\.spoken)
        XCTAssertEqual(spoken.count, 2)
        XCTAssertTrue(spoken.contains { $0.contains("Imp 3B.") }, "\(spoken)")
        XCTAssertTrue(spoken.contains { $0.contains("a model no longer on this phone") }, "\(spoken)")
        XCTAssertFalse(spoken.contains { $0.contains("imp-3b") || $0.contains("gone-model") }, "\(spoken)")
    }

    /// Auto-lock would suspend the app: the screen stays on while an answer is
    /// written or read aloud and while a model downloads, and only then.
    func testTheScreenStaysAwakeWhileSomethingIsUnderWayAndOnlyThen() async {
        let rig = Rig(voiceOver: true, catalog: [.fake(), .fake(id: "imp-4b", name: "Imp 4B")])
        let app = await launched(rig)
        XCTAssertFalse(app.keepsScreenAwake)
        app.startConversation(.encoded(Data([0xFF, 0xD8, 0xFF, 0xE0, 9])), source: .camera)
        guard let chat = app.conversation else { return XCTFail("no conversation") }
        chat.describe()
        XCTAssertTrue(app.keepsScreenAwake, "waiting for the first words")
        let answer = await rig.nextAnswer(after: 0)
        answer?.send("A cup. On a desk. ")
        answer?.finish()
        await eventually { chat.state == .ready }
        XCTAssertTrue(app.keepsScreenAwake, "written, still being read by VoiceOver")
        rig.voiceOverVoice.finishAll()
        XCTAssertFalse(app.keepsScreenAwake)

        app.models.refresh()
        app.models.download("imp-4b")
        XCTAssertTrue(app.keepsScreenAwake, "a download")
        app.models.pause("imp-4b")
        await eventually("paused") { !app.keepsScreenAwake }
    }
}
