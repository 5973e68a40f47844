import Foundation
import ImpKit
import Observation

/// Where a conversation's picture came from.
public enum PictureSource: String, Sendable, Equatable {
    case camera, library, shared, history
}

/// The one-tap questions. The model gets the full prompt; the history keeps it.
public enum QuickPrompt: CaseIterable, Sendable {
    case describe, readText

    public var question: String {
        switch self {
        case .describe: "Describe this picture in detail for someone who cannot see it."
        case .readText: "Read out all the text in this picture, exactly as written."
        }
    }

    public var title: String {
        switch self {
        case .describe: "Describe"
        case .readText: "Read the text"
        }
    }

    /// What to keep in mind about this kind of answer: shown under each one,
    /// said once (labels and medicine are read with this button).
    public var caveat: String? {
        switch self {
        case .describe: nil
        case .readText: "Text read from a picture can have mistakes: check anything important, such as a dose, "
            + "another way."
        }
    }

    /// The one-tap prompt a question is, if it is one.
    public static func of(_ question: String) -> QuickPrompt? {
        allCases.first { $0.question == question }
    }

    /// A question as shown in lists: the one-tap prompts by their button names.
    public static func shortTitle(_ question: String) -> String {
        of(question)?.title ?? question
    }
}

/// The ask screen: one picture, the questions about it and their streaming
/// answers. The picture starts encoding the moment the view model exists (it
/// is created as the shutter fires), so the image is ready while the person is
/// still forming the question; a question asked before then waits for it.
///
/// Offline by construction: this type is given the engine session, the history
/// and the device's outputs, and nothing that can reach the network.
@MainActor
@Observable
public final class ConversationViewModel: DescribesControls {
    public enum State: Equatable {
        /// The picture is being encoded (questions may be asked; they wait).
        case preparing
        /// Nothing is being answered.
        case ready
        /// An answer is on its way (waiting for the first words, or streaming).
        case answering(turn: Int)
        /// The picture could not be used, or the last answer failed.
        case failed(Problem)
    }

    public enum PictureState: Equatable {
        case encoding, ready, failed(Problem)
    }

    public struct Turn: Identifiable, Equatable, Sendable {
        public enum Status: Equatable, Sendable {
            /// Asked; no words yet (the picture or the prompt is being processed).
            case waiting
            case streaming
            case complete(StopReason)
            case stopped
            case failed(Problem)
            /// An answer from the history, shown for reading.
            case earlier
        }

        public let id: Int
        public let question: String
        public fileprivate(set) var answer: String
        public fileprivate(set) var status: Status
        public let askedAtMs: UInt64

        /// Shown under a finished answer (e.g. that text read can have mistakes).
        public var caveat: String? {
            guard case .complete = status, !answer.isEmpty else { return nil }
            return QuickPrompt.of(question)?.caveat
        }

        public var isDone: Bool {
            switch status {
            case .waiting, .streaming: false
            case .complete, .stopped, .failed, .earlier: true
            }
        }
    }

    /// Where VoiceOver focus should be (the view binds it to its focus state).
    public enum Focus: Hashable, Sendable {
        case describe, question, problem, voiceProblem
    }

    public private(set) var state: State = .preparing
    public private(set) var pictureState: PictureState = .encoding
    public private(set) var turns: [Turn] = []
    /// The question field's text.
    public var question = ""
    public var focus: Focus?
    /// A note for the person that does not stop anything (history not saved).
    public private(set) var notice: String?
    public let picture: Picture
    public let source: PictureSource
    public let voice: VoiceQuestion
    /// The history entry this conversation is saved as, once asked.
    public private(set) var savedId: String?

    @ObservationIgnored private let session: EngineSession
    @ObservationIgnored private let archive: any ConversationArchive
    @ObservationIgnored private let originals: OriginalPictures?
    @ObservationIgnored private let narrator: AnswerNarrator
    @ObservationIgnored private let clipboard: any Clipboard
    @ObservationIgnored private let clock: any WallClock
    @ObservationIgnored private let settings: @MainActor () -> AppSettings
    @ObservationIgnored private var conversation: (any PictureConversation)?
    @ObservationIgnored private var encoding: Task<Void, Never>?
    @ObservationIgnored private var answering: Task<Void, Never>?
    /// An answer stopped recently: the engine may report busy until its native
    /// side has stopped (within a token), so the next question retries briefly.
    @ObservationIgnored private var stoppedAt: ContinuousClock.Instant?
    @ObservationIgnored private var modelId: String?
    @ObservationIgnored private var nextTurnId = 0

    public init(picture: Picture, source: PictureSource, session: EngineSession,
                archive: any ConversationArchive, originals: OriginalPictures?, narrator: AnswerNarrator,
                recognizer: any SpeechRecognizing, clipboard: any Clipboard, clock: any WallClock,
                settings: @escaping @MainActor () -> AppSettings, restoring saved: SavedConversation? = nil) {
        self.picture = picture
        self.source = source
        self.session = session
        self.archive = archive
        self.originals = originals
        self.narrator = narrator
        self.clipboard = clipboard
        self.clock = clock
        self.settings = settings
        self.voice = VoiceQuestion(recognizer: recognizer)
        if let saved {
            savedId = saved.id
            turns = saved.turns.map { turn in
                defer { nextTurnId += 1 }
                return Turn(id: nextTurnId, question: turn.question, answer: turn.answer, status: .earlier,
                            askedAtMs: turn.askedAtMs)
            }
            notice = "Earlier answers are shown for reading. A new question is answered from the picture, "
                + "without the earlier answers."
        }
        focus = saved == nil ? .describe : .question
        voice.onQuestion = { [weak self] text in self?.ask(text) }
        voice.beforeListening = { [weak self] in self?.narrator.listening() }
        voice.onProblem = { [weak self] problem in
            self?.narrator.failed(problem)
            self?.focus = .voiceProblem
        }
        encodePicture()
    }

    // MARK: actions

    public func describe() { ask(QuickPrompt.describe.question) }

    public func readText() { ask(QuickPrompt.readText.question) }

    /// Asks what is in the question field.
    public func askTypedQuestion() {
        let text = question.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return }
        question = ""
        ask(text)
    }

    /// Asks `text` about the picture (a follow-up if something was asked before).
    public func ask(_ text: String) {
        guard !isAnswering, !text.isEmpty else { return }
        if case .failed(let problem) = pictureState {
            // Encoding failed: try the picture again (the model may have loaded since).
            guard problem.kind != .pictureUnusable else { return }
            encodePicture()
        }
        let turn = Turn(id: nextTurnId, question: text, answer: "", status: .waiting, askedAtMs: clock.nowMs)
        nextTurnId += 1
        turns.append(turn)
        state = .answering(turn: turn.id)
        voice.cancel()
        narrator.questionAsked()
        let encoding = self.encoding
        answering = Task { [weak self] in
            await encoding?.value
            await self?.answer(turn.id)
        }
    }

    /// Stops the answer being written (what was written stays, and is saved).
    public func stop() {
        guard case .answering(let id) = state else {
            narrator.silence()
            return
        }
        answering?.cancel()
        answering = nil
        stoppedAt = .now
        update(id) { $0.status = .stopped }
        state = pictureReadyOrFailedState
        narrator.answerStopped()
        focus = .question
        if let turn = turns.first(where: { $0.id == id }), !turn.answer.isEmpty {
            save(SavedTurn(question: turn.question, answer: turn.answer, stopReason: "cancelled",
                           askedAtMs: turn.askedAtMs,
                           // A stopped answer has no summary from the core: no timings.
                           timings: TurnTimings(visionMs: 0, prefillTokens: 0, prefillMs: 0, decodeTokens: 0,
                                                decodeMs: 0)))
        }
    }

    /// Silences the answer being spoken (generation goes on, shown on screen).
    public func stopSpeaking() {
        narrator.silence()
    }

    /// VoiceOver's Magic Tap (two-finger double tap, anywhere): the one thing
    /// most wanted now. Stop an answer being written; else silence one being
    /// read; else Describe a picture nothing was asked about; else ask a
    /// follow-up by voice (a second Magic Tap asks what was heard).
    public func magicTap() async {
        if isAnswering {
            stop()
        } else if narrator.speech.isSpeaking {
            stopSpeaking()
        } else if turns.allSatisfy({ $0.status == .earlier }) && !pictureUnusable {
            describe()
        } else if !pictureUnusable {
            await voice.toggle()
        }
    }

    public func copyAnswer(_ turnId: Int) {
        guard let turn = turns.first(where: { $0.id == turnId }), !turn.answer.isEmpty else { return }
        clipboard.copy(turn.answer)
        narrator.say("Answer copied.")
    }

    /// The text the share sheet offers for a turn.
    public func shareText(_ turnId: Int) -> String {
        guard let turn = turns.first(where: { $0.id == turnId }) else { return "" }
        return "\(turn.question)\n\n\(turn.answer)"
    }

    public func readAgain(_ turnId: Int) {
        guard !isAnswering, let turn = turns.first(where: { $0.id == turnId }), !turn.answer.isEmpty else { return }
        narrator.readAgain(turn.answer)
    }

    /// The person left the screen: silence, and stop what is being written.
    public func close() {
        if isAnswering { stop() }
        encoding?.cancel()
        voice.cancel()
        narrator.silence()
    }

    // MARK: what the screen shows

    public var isAnswering: Bool {
        if case .answering = state { true } else { false }
    }

    public var problem: Problem? {
        if case .failed(let problem) = state { problem } else { nil }
    }

    /// What the status line says (and VoiceOver reads on it).
    public var status: String {
        switch state {
        case .preparing: "Looking at the picture…"
        case .ready: turns.isEmpty ? "Ready. Describe, read the text, or ask a question." : "Ask a follow-up question."
        case .answering(let id):
            turns.first(where: { $0.id == id })?.status == .waiting ? "Thinking…" : "Answering…"
        case .failed(let problem): problem.title
        }
    }

    public var controls: [Control] {
        var list: [Control] = []
        let answering = isAnswering
        let canAsk = !answering && !pictureUnusable
        list.append(Control(.describe, label: QuickPrompt.describe.title,
                            hint: "Describes everything in the picture.", isEnabled: canAsk))
        list.append(Control(.readText, label: QuickPrompt.readText.title,
                            hint: "Reads out any text in the picture.", isEnabled: canAsk))
        list.append(Control(.questionField, label: turns.isEmpty ? "Question" : "Follow-up question",
                            hint: "Type a question about the picture.", isEnabled: canAsk))
        list.append(Control(.ask, label: "Ask", hint: "Asks the typed question.",
                            isEnabled: canAsk && !question.trimmingCharacters(in: .whitespaces).isEmpty))
        var voiceControl = voice.control
        if !canAsk { voiceControl = Control(.voiceQuestion, label: voiceControl.label, hint: voiceControl.hint,
                                            isEnabled: false) }
        list.append(voiceControl)
        if answering {
            list.append(Control(.stop, label: "Stop", hint: "Stops the answer. What was written is kept."))
        } else if narrator.speech.isSpeaking {
            list.append(Control(.stopSpeaking, label: "Stop speaking", hint: "Stops reading the answer aloud."))
        }
        for turn in turns where turn.isDone && !turn.answer.isEmpty {
            list.append(Control(.copyAnswer(turn: turn.id), label: "Copy answer",
                                hint: "Copies this answer to the clipboard."))
            list.append(Control(.shareAnswer(turn: turn.id), label: "Share answer",
                                hint: "Shares this question and answer with another app."))
            list.append(Control(.readAgain(turn: turn.id), label: "Read aloud",
                                hint: "Reads this answer aloud again.", isEnabled: !answering))
        }
        if let problem, let title = problem.recoveryTitle, let hint = problem.recoveryHint {
            list.append(Control(.problemAction, label: title, hint: hint))
        }
        if let problem = voice.problem, let title = problem.recoveryTitle, let hint = problem.recoveryHint,
            title != self.problem?.recoveryTitle
        {
            list.append(Control(.voiceProblemAction, label: title, hint: hint))
        }
        list.append(Control(.newPicture, label: "New picture", hint: "Returns to the camera for another picture."))
        return list
    }

    private var pictureUnusable: Bool {
        if case .failed(let problem) = pictureState { problem.kind == .pictureUnusable } else { false }
    }

    // MARK: the work

    private func encodePicture() {
        pictureState = .encoding
        if !isAnswering { state = .preparing }
        let picture = self.picture
        let session = self.session
        encoding = Task { [weak self] in
            do {
                let engine = try await session.readyEngine()
                let conversation = try await engine.startConversation(picture)
                self?.encoded(conversation, modelId: session.modelId)
            } catch {
                self?.encodingFailed(Problem(any: error, while: .encodingPicture))
            }
        }
    }

    private func encoded(_ conversation: any PictureConversation, modelId: String?) {
        self.conversation = conversation
        self.modelId = modelId
        pictureState = .ready
        if state == .preparing { state = .ready }
    }

    private func encodingFailed(_ problem: Problem) {
        guard problem.kind != .cancelled else { return }
        pictureState = .failed(problem)
        if case .answering(let id) = state {
            update(id) { $0.status = .failed(problem) }
        }
        state = .failed(problem)
        narrator.failed(problem)
        focus = .problem
    }

    private func answer(_ id: Int) async {
        guard isCurrent(id), let conversation, let question = turns.first(where: { $0.id == id })?.question
        else {
            return  // stopped, encoding failed (already reported), or the screen closed
        }
        await ensureSaved()
        guard isCurrent(id) else { return }
        let answerSettings = settings().answerSettings
        var retries = 0
        while true {
            do {
                for try await event in conversation.ask(question, settings: answerSettings) {
                    guard isCurrent(id) else { return }
                    switch event {
                    case .token(_, let text, _):
                        update(id) {
                            $0.answer += text
                            $0.status = .streaming
                        }
                        narrator.answerText(text)
                    case .finished(let text, _, let reason, _, _, _, _, _):
                        update(id) {
                            $0.answer = text
                            $0.status = .complete(reason)
                        }
                        state = pictureReadyOrFailedState
                        answering = nil
                        if let turn = turns.first(where: { $0.id == id }),
                            let saved = SavedTurn.of(question: question, answer: event, askedAtMs: turn.askedAtMs)
                        {
                            save(saved)
                        }
                        narrator.answerFinished(reason, caveat: QuickPrompt.of(question)?.caveat) { [weak self] in
                            self?.focus = .question
                        }
                    }
                }
                return  // ended by `stop()` (handled there) or after `.finished`
            } catch ImpError.busy where recentlyStopped && retries < 100 {
                retries += 1
                try? await Task.sleep(nanoseconds: 20_000_000)
                guard isCurrent(id) else { return }
            } catch {
                guard isCurrent(id) else { return }
                let problem = Problem(any: error, while: .answering)
                update(id) { $0.status = .failed(problem) }
                state = .failed(problem)
                answering = nil
                narrator.failed(problem)
                focus = .problem
                return
            }
        }
    }

    private var recentlyStopped: Bool {
        stoppedAt.map { ContinuousClock.now - $0 < .seconds(3) } ?? false
    }

    private func isCurrent(_ id: Int) -> Bool {
        !Task.isCancelled && state == .answering(turn: id)
    }

    private var pictureReadyOrFailedState: State {
        if case .failed(let problem) = pictureState { .failed(problem) } else { .ready }
    }

    private func update(_ id: Int, _ change: (inout Turn) -> Void) {
        guard let index = turns.firstIndex(where: { $0.id == id }) else { return }
        change(&turns[index])
    }

    /// Creates the history entry at the first question (a picture nobody asked
    /// about is not history). Failing to save never stops the answer.
    private func ensureSaved() async {
        guard savedId == nil else { return }
        let (archive, originals, picture) = (self.archive, self.originals, self.picture)
        let model = modelId ?? session.modelId ?? "unknown"
        do {
            // Off the main actor: the core decodes the picture for the thumbnail.
            let saved = try await Task.detached {
                let saved = try archive.create(modelId: model, picture: picture)
                originals?.keep(picture, for: saved.id)
                return saved
            }.value
            savedId = saved.id
        } catch {
            notice = "This conversation could not be saved to History: \(Problem(any: error, while: .history).message)"
        }
    }

    private func save(_ turn: SavedTurn) {
        guard let savedId else { return }
        do {
            _ = try archive.append(turn, to: savedId)
        } catch {
            notice = "This answer could not be saved to History: \(Problem(any: error, while: .history).message)"
        }
    }
}
