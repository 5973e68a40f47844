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

    /// The synthesizer ducks other apps' sound while it speaks: once an answer
    /// has been spoken, or stopped, the voice gives the audio back, once.
    func testTheVoiceIsReleasedOnceAfterTheLastSentenceOrAStop() async {
        let voice = FakeVoice()
        let queue = SpeechQueue()
        queue.begin(voice: voice, rate: 0.5)
        queue.append("One. Two. ")
        voice.finishSentence()
        XCTAssertEqual(voice.releases, 0, "not between sentences")
        queue.finish {}
        XCTAssertEqual(voice.releases, 0, "not while the last sentence plays")
        voice.finishAll()
        XCTAssertEqual(voice.releases, 1)
        queue.stop()
        XCTAssertEqual(voice.releases, 1, "nothing more to give back")

        queue.speak("Again. And again.", voice: voice, rate: 0.5)
        queue.stop()
        XCTAssertEqual(voice.releases, 2, "a stop gives it back too")
        queue.begin(voice: voice, rate: 0.5)
        queue.finish {}
        XCTAssertEqual(voice.releases, 2, "a voice that said nothing took nothing")
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

    /// VoiceOver reads the answer itself, so a braille display shows it as it
    /// streams (the synthesizer would leave braille readers with nothing).
    func testWithVoiceOverTheAnswerGoesToVoiceOverSentenceBySentence() async {
        for mode in [SpeechMode.whenVoiceOverIsOn, .always] {
            let (rig, narrator) = narrate(voiceOver: true, speech: mode)
            var focusMoved = false
            narrator.questionAsked()
            XCTAssertEqual(rig.announcer.texts, ["Answering."])
            for token in ["A", " red", " cup", ".", " On", " a", " desk", "."] { narrator.answerText(token) }
            XCTAssertEqual(rig.voiceOverVoice.spoken, ["A red cup."], "whole sentences, never tokens")
            XCTAssertEqual(rig.synthesizer.spoken, [], "one voice at a time: VoiceOver's")
            narrator.answerFinished(.endOfAnswer) { focusMoved = true }
            XCTAssertEqual(rig.haptics.events, [.answerStarted, .answerFinished])
            XCTAssertEqual(rig.announcer.texts, ["Answering."], "the end waits for the speech")
            XCTAssertFalse(focusMoved)
            rig.voiceOverVoice.finishAll()
            XCTAssertEqual(rig.voiceOverVoice.spoken, ["A red cup.", "On a desk."])
            XCTAssertEqual(rig.announcer.texts, ["Answering.", "End of answer."])
            XCTAssertEqual(rig.announcer.messages.last?.interrupting, false)
            XCTAssertTrue(focusMoved)
        }
    }

    func testNeverMeansTheAnswerIsOnlyShownEvenWithVoiceOver() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .never)
        var ended = false
        narrator.questionAsked()
        narrator.answerText("Text reads EXIT. Below it")
        narrator.answerFinished(.maxTokens) { ended = true }
        XCTAssertTrue(ended, "nothing to wait for")
        XCTAssertEqual(rig.voiceOverVoice.spoken + rig.synthesizer.spoken, [])
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

    /// "Read the text" is used on labels and medicine: that it can be wrong
    /// is said once, after the answer, by whatever reads answers.
    func testACaveatIsSaidOnceAfterTheAnswer() async {
        let caveat = QuickPrompt.readText.caveat!
        let (rig, narrator) = narrate(voiceOver: true, speech: .whenVoiceOverIsOn)
        for _ in 0..<2 {
            narrator.questionAsked()
            narrator.answerText("TAKE 2 TABLETS")
            narrator.answerFinished(.endOfAnswer, caveat: caveat) {}
            rig.voiceOverVoice.finishAll()
        }
        XCTAssertEqual(rig.announcer.texts,
                       ["Answering.", "End of answer. \(caveat)", "Answering.", "End of answer."])
        XCTAssertEqual(rig.voiceOverVoice.spoken, ["TAKE 2 TABLETS", "TAKE 2 TABLETS"], "not read as the answer")

        let (sighted, aloud) = narrate(voiceOver: false, speech: .always)
        aloud.questionAsked()
        aloud.answerText("TAKE 2 TABLETS")
        aloud.answerFinished(.endOfAnswer, caveat: caveat) {}
        sighted.synthesizer.finishAll()
        XCTAssertEqual(sighted.synthesizer.spoken, ["TAKE 2 TABLETS", caveat], "its own sentence, after the answer")
        XCTAssertEqual(sighted.announcer.texts, [])
    }

    func testStopSilencesAtOnceAndSaysStopped() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .always)
        narrator.questionAsked()
        narrator.answerText("One. Two. Three. ")
        narrator.answerStopped()
        XCTAssertEqual(rig.voiceOverVoice.stops, 1)
        rig.voiceOverVoice.finishAll()
        XCTAssertEqual(rig.voiceOverVoice.spoken, ["One."])
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

    func testReadAgainReadsWhateverTheSettingWithVoiceOversVoiceWhenItRuns() async {
        let (rig, narrator) = narrate(voiceOver: true, speech: .never)
        narrator.readAgain("First. Second.")
        rig.voiceOverVoice.finishAll()
        XCTAssertEqual(rig.voiceOverVoice.spoken, ["First.", "Second."])
        XCTAssertEqual(rig.synthesizer.spoken, [])

        let (sighted, quiet) = narrate(voiceOver: false, speech: .never)
        quiet.readAgain("First. Second.")
        sighted.synthesizer.finishAll()
        XCTAssertEqual(sighted.synthesizer.spoken, ["First.", "Second."])
    }
}
