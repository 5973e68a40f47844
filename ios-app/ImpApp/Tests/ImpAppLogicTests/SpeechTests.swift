import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

@MainActor
final class SpeechQueueTests: XCTestCase, @unchecked Sendable {
    func testHandsTheVoiceOneWholeSentenceAtATime() async {
        let voice = FakeVoice()
        let queue = SpeechQueue()
        queue.begin(voice: voice, rate: 0.6)
        for piece in ["One", " two", ".", " Three", ".", " Four"] { queue.append(piece) }
        XCTAssertEqual(voice.spoken, ["One two."], "the second sentence waits for the first")
        XCTAssertTrue(queue.isSpeaking)
        voice.finishSentence()
        XCTAssertEqual(voice.spoken, ["One two.", "Three."])
        XCTAssertEqual(voice.rates, [0.6, 0.6])
    }

    func testFinishSpeaksTheRestThenReportsTheEndOnce() async {
        let voice = FakeVoice()
        let queue = SpeechQueue()
        var ends = 0
        queue.begin(voice: voice, rate: 0.5)
        queue.append("First. Last words")
        queue.finish { ends += 1 }
        XCTAssertEqual(ends, 0, "not before the speech is heard")
        voice.finishSentence()
        XCTAssertEqual(voice.spoken, ["First.", "Last words"])
        XCTAssertEqual(ends, 0)
        voice.finishSentence()
        XCTAssertEqual(ends, 1)
        XCTAssertFalse(queue.isSpeaking)
    }

    func testStopSilencesAndDropsTheRest() async {
        let voice = FakeVoice()
        let queue = SpeechQueue()
        var ended = false
        queue.begin(voice: voice, rate: 0.5)
        queue.append("One. Two. Three. ")
        queue.finish { ended = true }
        queue.stop()
        XCTAssertEqual(voice.stops, 1)
        XCTAssertFalse(queue.isSpeaking)
        voice.finishAll()
        XCTAssertEqual(voice.spoken, ["One."])
        XCTAssertFalse(ended, "a stopped answer never reports its end")
    }

    func testALateCallbackFromAnEarlierAnswerIsIgnored() async {
        let voice = FakeVoice()
        voice.reportsStoppedSentences = true
        let queue = SpeechQueue()
        queue.begin(voice: voice, rate: 0.5)
        queue.append("Old answer. ")
        queue.begin(voice: voice, rate: 0.5)  // stops the old answer
        queue.append("New. Answer. ")
        XCTAssertEqual(voice.spoken, ["Old answer.", "New."])
        voice.finishSentence()  // the cancelled "Old answer." reports in: "New." is still being spoken
        XCTAssertEqual(voice.spoken, ["Old answer.", "New."])
        voice.finishSentence()
        XCTAssertEqual(voice.spoken, ["Old answer.", "New.", "Answer."])
    }

    func testWithoutAVoiceNothingIsSpokenAndTheEndComesAtOnce() async {
        let queue = SpeechQueue()
        var ended = false
        queue.begin(voice: nil, rate: 0.5)
        queue.append("Shown only. ")
        queue.finish { ended = true }
        XCTAssertTrue(ended)
        XCTAssertFalse(queue.isSpeaking)
    }
}

/// The announcement rules (AnswerNarrator's documentation, docs/ios.md "The iOS app").
@MainActor
final class AnswerNarratorTests: XCTestCase, @unchecked Sendable {
    func narrate(voiceOver: Bool, speech: SpeechMode, haptics: Bool = true)
        -> (Rig, AnswerNarrator)
    {
        let rig = Rig(voiceOver: voiceOver)
        var settings = rig.settings
        settings.speech = speech
        settings.haptics = haptics
        settings.speechRate = 0.7
        rig.storage.save(settings)
        return (rig, rig.narrator)
    }

    func testVoiceOverWithAutomaticSpeechUsesTheSynthesizerAndAnnouncesOnlyStatus() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .whenVoiceOverIsOn)
        var focusMoved = false
        narrator.questionAsked()
        XCTAssertEqual(rig.announcer.texts, ["Answering."])
        for token in ["A", " red", " cup", ".", " On", " a", " desk", "."] { narrator.answerText(token) }
        XCTAssertEqual(rig.synthesizer.spoken, ["A red cup."], "whole sentences, never tokens")
        XCTAssertEqual(rig.voiceOverVoice.spoken, [], "one voice at a time")
        XCTAssertEqual(rig.synthesizer.rates, [0.7])
        narrator.answerFinished(.endOfAnswer) { focusMoved = true }
        XCTAssertEqual(rig.haptics.events, [.answerStarted, .answerFinished])
        XCTAssertEqual(rig.announcer.texts, ["Answering."], "the end waits for the speech")
        XCTAssertFalse(focusMoved)
        rig.synthesizer.finishAll()
        XCTAssertEqual(rig.synthesizer.spoken, ["A red cup.", "On a desk."])
        XCTAssertEqual(rig.announcer.texts, ["Answering.", "End of answer."])
        XCTAssertEqual(rig.announcer.messages.last?.interrupting, false)
        XCTAssertTrue(focusMoved)
    }

    func testVoiceOverWithSpeechOffAnnouncesTheSentencesThroughVoiceOver() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .never)
        narrator.questionAsked()
        narrator.answerText("Text reads EXIT. Below it")
        narrator.answerFinished(.maxTokens) {}
        XCTAssertEqual(rig.voiceOverVoice.spoken, ["Text reads EXIT."])
        rig.voiceOverVoice.finishAll()
        XCTAssertEqual(rig.voiceOverVoice.spoken, ["Text reads EXIT.", "Below it"])
        XCTAssertEqual(rig.synthesizer.spoken, [])
        XCTAssertEqual(rig.announcer.texts, ["Answering.", "The answer reached its length limit."])
    }

    func testWithoutVoiceOverNothingIsAnnouncedAndSpeechFollowsTheSetting() async {
        let (quiet, narrator) = narrate(voiceOver: false, speech: .whenVoiceOverIsOn)
        var ended = false
        narrator.questionAsked()
        narrator.answerText("Hello there. ")
        narrator.answerFinished(.endOfAnswer) { ended = true }
        XCTAssertTrue(ended, "nothing to wait for")
        XCTAssertEqual(quiet.synthesizer.spoken + quiet.voiceOverVoice.spoken, [])
        XCTAssertEqual(quiet.announcer.texts, [])

        let (loud, always) = narrate(voiceOver: false, speech: .always)
        always.questionAsked()
        always.answerText("Hello there. ")
        XCTAssertEqual(loud.synthesizer.spoken, ["Hello there."])
        XCTAssertEqual(loud.announcer.texts, [])
    }

    func testStopSilencesAtOnceAndSaysStopped() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .always)
        narrator.questionAsked()
        narrator.answerText("One. Two. Three. ")
        narrator.answerStopped()
        XCTAssertEqual(rig.synthesizer.stops, 1)
        rig.synthesizer.finishAll()
        XCTAssertEqual(rig.synthesizer.spoken, ["One."])
        XCTAssertEqual(rig.announcer.messages.last?.text, "Stopped.")
        XCTAssertEqual(rig.announcer.messages.last?.interrupting, true)
        XCTAssertEqual(rig.haptics.events, [.answerStarted, .answerStopped])
    }

    func testAnErrorIsAnnouncedInterruptingWithTheFailureHaptic() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .always)
        narrator.questionAsked()
        narrator.failed(Problem(.outOfMemory("The model needs 2.8 GB."), while: .answering))
        XCTAssertEqual(rig.announcer.messages.last?.interrupting, true)
        XCTAssertTrue(rig.announcer.texts.last!.hasPrefix("Not enough memory. The model needs 2.8 GB."))
        XCTAssertEqual(rig.haptics.events, [.failure])
    }

    func testHapticsOffMeansNoHaptics() async {
        let (rig, narrator) = narrate(voiceOver: false, speech: .never, haptics: false)
        narrator.questionAsked()
        narrator.answerText("Hi.")
        narrator.answerFinished(.endOfAnswer) {}
        XCTAssertEqual(rig.haptics.events, [])
    }

    func testReadAgainUsesTheSynthesizerWhateverTheSetting() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .never)
        narrator.readAgain("First. Second.")
        rig.synthesizer.finishAll()
        XCTAssertEqual(rig.synthesizer.spoken, ["First.", "Second."])
    }
}
