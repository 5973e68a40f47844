import Foundation
import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

@MainActor
final class ConversationViewModelTests: XCTestCase, @unchecked Sendable {
    func testThePictureEncodesAtOnceAndAQuestionAskedMeanwhileWaitsForIt() async {
        let rig = Rig()
        rig.engine.encodeGate.close()
        let chat = rig.conversation()
        XCTAssertEqual(chat.state, .preparing)
        XCTAssertEqual(chat.pictureState, .encoding)
        XCTAssertEqual(chat.focus, .describe, "VoiceOver lands on Describe after the shutter")
        XCTAssertEqual(chat.status, "Looking at the picture…")
        chat.describe()
        XCTAssertEqual(chat.state, .answering(turn: 0))
        XCTAssertEqual(chat.turn(0)?.status, .waiting)
        XCTAssertEqual(chat.status, "Thinking…")
        await settle()
        XCTAssertTrue(rig.engine.answers.current.isEmpty, "nothing is asked before the picture is encoded")
        rig.engine.encodeGate.open()
        let answer = await rig.nextAnswer(after: 0)
        XCTAssertEqual(answer?.question, QuickPrompt.describe.question)
        XCTAssertEqual(rig.engine.encodedPictures.current.count, 1)
    }

    func testStreamsAnAnswerSavesItAndAsksAFollowUpAboutTheSamePicture() async {
        let rig = Rig()
        let chat = rig.conversation()
        await eventually { chat.state == .ready }
        XCTAssertEqual(chat.pictureState, .ready)
        chat.describe()
        let first = await rig.nextAnswer(after: 0)
        first?.send("A red")
        await eventually { chat.turn(0)?.status == .streaming }
        XCTAssertEqual(chat.turn(0)?.answer, "A red")
        XCTAssertEqual(chat.status, "Answering…")
        first?.send(" cup.")
        first?.finish(.endOfAnswer)
        await eventually { chat.state == .ready }
        XCTAssertEqual(chat.turn(0)?.answer, "A red cup.")
        XCTAssertEqual(chat.turn(0)?.status, .complete(.endOfAnswer))
        XCTAssertEqual(chat.focus, .question, "after the answer, focus goes to the follow-up field")

        chat.question = "  What colour is the handle?  "
        chat.askTypedQuestion()
        XCTAssertEqual(chat.question, "")
        let second = await rig.nextAnswer(after: 1)
        XCTAssertEqual(second?.question, "What colour is the handle?")
        second?.send("Blue.")
        second?.finish(.endOfAnswer)
        await eventually { chat.state == .ready }

        XCTAssertEqual(rig.engine.encodedPictures.current.count, 1, "a follow-up reuses the encoded picture")
        let saved = rig.archive.conversations.current
        XCTAssertEqual(saved.count, 1)
        XCTAssertEqual(saved.first?.id, chat.savedId)
        XCTAssertEqual(saved.first?.modelId, "imp-3b")
        XCTAssertEqual(saved.first?.turns.map(\.question), [QuickPrompt.describe.question, "What colour is the handle?"])
        XCTAssertEqual(saved.first?.turns.map(\.answer), ["A red cup.", "Blue."])
        XCTAssertEqual(saved.first?.turns.map(\.stopReason), ["eos", "eos"])
        XCTAssertEqual(saved.first?.turns.first?.askedAtMs, FixedClock().nowMs)
        XCTAssertNotNil(rig.originals.picture(for: chat.savedId!), "the picture is kept for reopening")
    }

    func testStopKeepsWhatWasWrittenSavesItAndCancelsTheEngine() async {
        let rig = Rig(voiceOver: true)
        let chat = rig.conversation()
        chat.readText()
        let answer = await rig.nextAnswer(after: 0)
        answer?.send("EXIT")
        await eventually { chat.turn(0)?.answer == "EXIT" }
        XCTAssertTrue(chat.controls.contains { $0.id == .stop })
        chat.stop()
        XCTAssertEqual(chat.state, .ready)
        XCTAssertEqual(chat.turn(0)?.status, .stopped)
        XCTAssertEqual(chat.turn(0)?.answer, "EXIT")
        XCTAssertEqual(chat.focus, .question)
        XCTAssertEqual(rig.announcer.texts.last, "Stopped.")
        await eventually("the engine is told") { answer?.cancelled.current == true }
        let saved = rig.archive.conversations.current.first?.turns
        XCTAssertEqual(saved?.map(\.answer), ["EXIT"])
        XCTAssertEqual(saved?.map(\.stopReason), ["cancelled"])
        // Tokens the engine sends after Stop change nothing.
        answer?.send(" ROUTE")
        await settle()
        XCTAssertEqual(chat.turn(0)?.answer, "EXIT")
    }

    func testReadTheTextCarriesItsCaveatOnScreenAndSaysItOnce() async {
        let rig = Rig(voiceOver: true)
        let chat = rig.conversation()
        for (index, _) in ["first", "second"].enumerated() {
            chat.readText()
            let answer = await rig.nextAnswer(after: index)
            answer?.send("TAKE 2 TABLETS")
            answer?.finish()
            await eventually { chat.state == .ready }
            rig.voiceOverVoice.finishAll()
        }
        XCTAssertEqual(chat.turns.map(\.caveat), [QuickPrompt.readText.caveat, QuickPrompt.readText.caveat])
        let said = rig.announcer.texts.filter { $0.contains("can have mistakes") }
        XCTAssertEqual(said.count, 1, "\(rig.announcer.texts)")
        chat.describe()
        let described = await rig.nextAnswer(after: 2)
        described?.send("A box.")
        described?.finish()
        await eventually { chat.state == .ready }
        XCTAssertNil(chat.turns.last?.caveat)
    }

    func testAQuestionRightAfterStopWaitsOutTheEnginesBusyMoment() async {
        let rig = Rig()
        let chat = rig.conversation()
        _ = await rig.streamingAnswer(in: chat, "Partial")
        chat.stop()
        rig.engine.busyTimes.mutate { $0 = 3 }  // the native side is still stopping
        chat.ask("And the colour?")
        let second = await rig.nextAnswer(after: 1)
        XCTAssertEqual(second?.question, "And the colour?")
        XCTAssertEqual(chat.state, .answering(turn: 1))
        XCTAssertEqual(rig.engine.busyTimes.current, 0)
    }

    func testBusyWithoutAStopIsShownAsAProblem() async {
        let rig = Rig(voiceOver: true)
        let chat = rig.conversation()
        await eventually { chat.state == .ready }
        rig.engine.busyTimes.mutate { $0 = 1 }
        chat.describe()
        await eventually { chat.problem != nil }
        XCTAssertEqual(chat.problem?.kind, .busy)
        XCTAssertEqual(chat.turn(0)?.status, .failed(chat.problem!))
        XCTAssertEqual(chat.focus, .problem)
        XCTAssertEqual(rig.announcer.messages.last?.interrupting, true)
        XCTAssertEqual(rig.haptics.events.last, .failure)
        // The picture is still good: asking again works.
        chat.describe()
        let answer = await rig.nextAnswer(after: 0)
        XCTAssertNotNil(answer)
        XCTAssertTrue(chat.state.isAnswering)
    }

    func testAnswerErrorsBecomePlainProblems() async {
        let cases: [(ImpError, Problem.Kind, Problem.Recovery?)] = [
            (.outOfMemory("Needs 2.8 GB, 1.1 GB free."), .outOfMemory, .openSettings),
            (.inputTooLong("Context full."), .conversationFull, .takeNewPicture),
            (.cancelled, .cancelled, nil),
            (.internalError("boom"), .failed, .tryAgain),
        ]
        for (error, kind, recovery) in cases {
            let rig = Rig()
            let chat = rig.conversation()
            chat.describe()
            let answer = await rig.nextAnswer(after: 0)
            answer?.fail(error)
            await eventually("\(error)") { chat.problem != nil }
            XCTAssertEqual(chat.problem?.kind, kind, "\(error)")
            XCTAssertEqual(chat.problem?.recovery, recovery, "\(error)")
            XCTAssertFalse(chat.problem?.message.isEmpty ?? true)
            if recovery != nil {
                XCTAssertEqual(chat.control(.problemAction).label, chat.problem?.recoveryTitle)
            }
        }
    }

    func testAnUnreadablePictureDisablesAskingAndOffersANewPicture() async {
        let rig = Rig(voiceOver: true)
        rig.engine.encodeFailure.mutate { $0 = .imageUnusable("The file is not an image.") }
        let chat = rig.conversation()
        await eventually { chat.problem != nil }
        XCTAssertEqual(chat.pictureState, .failed(chat.problem!))
        XCTAssertEqual(chat.problem?.kind, .pictureUnusable)
        XCTAssertEqual(chat.problem?.recovery, .takeNewPicture)
        XCTAssertFalse(chat.control(.describe).isEnabled)
        XCTAssertFalse(chat.control(.voiceQuestion).isEnabled)
        XCTAssertTrue(rig.announcer.texts.last!.hasPrefix("This picture cannot be read."))
        chat.describe()
        XCTAssertTrue(chat.turns.isEmpty)
    }

    func testWithoutAModelTheQuestionFailsThenWorksOnceOneLoads() async {
        let rig = Rig(installed: [], chosen: nil)
        let session = EngineSession(loader: rig.loader, device: rig.device)
        let chat = rig.conversation(session: session)
        chat.describe()
        await eventually { chat.problem != nil }
        XCTAssertEqual(chat.problem, .noModel)
        XCTAssertEqual(chat.problem?.recovery, .openModels)
        XCTAssertEqual(chat.turn(0)?.status, .failed(.noModel))

        session.use(.fake(), settings: rig.settings)
        chat.describe()  // the picture is encoded again, now that a model is there
        let answer = await rig.nextAnswer(after: 0)
        XCTAssertEqual(answer?.question, QuickPrompt.describe.question)
        XCTAssertEqual(chat.pictureState, .ready)
    }

    func testTheAnswerLengthSettingLimitsTokens() async {
        let rig = Rig()
        var settings = rig.settings
        settings.answerLength = .short
        rig.storage.save(settings)
        let chat = rig.conversation()
        chat.describe()
        let answer = await rig.nextAnswer(after: 0)
        XCTAssertEqual(answer?.maxTokens, 96)
    }

    func testCopyShareAndReadAgain() async {
        let rig = Rig(voiceOver: true)
        let chat = rig.conversation()
        chat.ask("What is written?")
        let answer = await rig.nextAnswer(after: 0)
        answer?.send("Open daily. ")
        answer?.finish()
        await eventually { chat.state == .ready }
        chat.copyAnswer(0)
        XCTAssertEqual(rig.clipboard.copied, ["Open daily. "])
        XCTAssertEqual(rig.announcer.texts.last, "Answer copied.")
        XCTAssertEqual(chat.shareText(0), "What is written?\n\nOpen daily. ")
        rig.voiceOverVoice.finishAll()
        chat.readAgain(0)
        XCTAssertEqual(rig.voiceOverVoice.spoken.last, "Open daily.")
    }

    func testAVoiceQuestionSilencesTheAnswerThenAsksWhatWasHeard() async {
        let rig = Rig(voiceOver: true)
        let chat = rig.conversation()
        chat.describe()
        let first = await rig.nextAnswer(after: 0)
        first?.send("A long description. Still going. ")
        first?.finish()
        await eventually { chat.state == .ready }
        XCTAssertTrue(rig.speech.isSpeaking)
        let stopsBefore = rig.voiceOverVoice.stops
        await chat.voice.toggle()
        XCTAssertEqual(chat.voice.state, .listening(transcript: ""))
        XCTAssertEqual(rig.voiceOverVoice.stops, stopsBefore + 1, "the microphone must not hear the answer")
        XCTAssertEqual(rig.haptics.events.last, .listening)
        XCTAssertEqual(chat.control(.voiceQuestion).label, "Stop listening and ask")
        rig.recognizer.hear("what colour")
        await eventually { chat.voice.transcript == "what colour" }
        rig.recognizer.hear("what colour is it", final: true)
        let second = await rig.nextAnswer(after: 1)
        XCTAssertEqual(second?.question, "what colour is it")
        XCTAssertEqual(chat.voice.state, .idle)
    }

    func testMagicTapDoesTheOneThingMostWanted() async {
        let rig = Rig(voiceOver: true)
        let chat = rig.conversation()
        await chat.magicTap()
        let answer = await rig.nextAnswer(after: 0)
        XCTAssertEqual(answer?.question, QuickPrompt.describe.question, "first: Describe")
        answer?.send("A door. ")
        await eventually { chat.turn(0)?.status == .streaming }
        await chat.magicTap()
        XCTAssertEqual(chat.turn(0)?.status, .stopped, "while answering: Stop")
        chat.ask("Is it open?")
        let second = await rig.nextAnswer(after: 1)
        second?.send("Yes, it is open. ")
        second?.finish()
        await eventually { chat.state == .ready }
        XCTAssertTrue(rig.speech.isSpeaking)
        await chat.magicTap()
        XCTAssertFalse(rig.speech.isSpeaking, "while reading: stop reading")
        await chat.magicTap()
        XCTAssertEqual(chat.voice.state, .listening(transcript: ""), "then: a follow-up by voice")
        await chat.magicTap()
        XCTAssertEqual(chat.voice.state, .finishing(transcript: ""), "again: ask what was heard")
    }

    func testVoiceWithoutPermissionSaysWhyAndOffersSettings() async {
        let rig = Rig(voiceOver: true)
        rig.recognizer.access = .denied
        let chat = rig.conversation()
        await chat.voice.toggle()
        XCTAssertEqual(chat.voice.problem, .microphoneDenied)
        XCTAssertEqual(chat.focus, .voiceProblem)
        XCTAssertTrue(rig.announcer.texts.last?.hasPrefix("Voice questions are off.") ?? false)
        XCTAssertEqual(chat.control(.voiceProblemAction).label, "Open Settings")
        XCTAssertTrue(chat.control(.describe).isEnabled, "typing and the one-tap questions still work")
    }

    func testAReopenedConversationShowsItsTurnsAndAddsToTheSameEntry() async {
        let rig = Rig()
        let saved = try! rig.archive.create(modelId: "imp-3b", picture: .encoded(Data([1])))
        _ = try! rig.archive.append(.fake("What is this?", "A mug.", at: 5), to: saved.id)
        let chat = rig.conversation(restoring: try! rig.archive.load(id: saved.id))
        XCTAssertEqual(chat.turns.map(\.status), [.earlier])
        XCTAssertEqual(chat.turn(0)?.answer, "A mug.")
        XCTAssertEqual(chat.focus, .question)
        XCTAssertNotNil(chat.notice, "the person is told the earlier answers are not in the model's memory")
        chat.ask("Is it full?")
        let answer = await rig.nextAnswer(after: 0)
        answer?.send("No.")
        answer?.finish()
        await eventually { chat.state == .ready }
        XCTAssertEqual(rig.archive.conversations.current.count, 1)
        XCTAssertEqual(rig.archive.conversations.current.first?.turns.map(\.answer), ["A mug.", "No."])
    }

    func testAHistoryFailureDoesNotStopTheAnswer() async {
        let rig = Rig()
        rig.archive.failure.mutate { $0 = .internalError("disk full") }
        let chat = rig.conversation()
        chat.describe()
        let answer = await rig.nextAnswer(after: 0)
        answer?.send("Still here.")
        answer?.finish()
        await eventually { chat.state == .ready }
        XCTAssertEqual(chat.turn(0)?.status, .complete(.endOfAnswer))
        XCTAssertTrue(chat.notice?.contains("could not be saved") ?? false, "\(String(describing: chat.notice))")
        XCTAssertNil(chat.savedId)
    }

    func testClosingStopsTheAnswerAndTheVoice() async {
        let rig = Rig()
        let chat = rig.conversation()
        let answer = await rig.streamingAnswer(in: chat, "Going")
        chat.close()
        await eventually { answer?.cancelled.current == true }
        XCTAssertEqual(chat.turn(0)?.status, .stopped)
        XCTAssertFalse(rig.speech.isSpeaking)
    }

    /// Offline by construction: a conversation holds nothing that can download.
    func testAConversationCannotReachTheModelLibrary() async {
        let rig = Rig()
        let chat = rig.conversation()
        var seen = 0
        for child in Mirror(reflecting: chat).children {
            seen += 1
            XCTAssertFalse(child.value is any ModelLibrary, "\(child.label ?? "?") can download")
            let type = String(describing: Swift.type(of: child.value))
            XCTAssertFalse(type.contains("URLSession") || type.contains("ModelStore"), "\(type) can reach the network")
        }
        XCTAssertGreaterThan(seen, 5, "the mirror sees the stored properties")
        XCTAssertNil(LocalModelFile(path: "https://example.org/imp.gguf"))
        XCTAssertNil(LocalModelFile(path: ""))
        XCTAssertEqual(LocalModelFile(path: "/models/imp.gguf")?.path, "/models/imp.gguf")
    }
}
