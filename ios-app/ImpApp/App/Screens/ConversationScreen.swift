import ImpAppLogic
import ImpKit
import SwiftUI
#if DEBUG
import ImpAppFakes  // previews
#endif

/// The ask screen: the picture, one-tap Describe and Read the text, a question
/// by typing or voice, the answer streaming in with Stop, follow-ups.
///
/// For VoiceOver: focus lands on Describe when the picture is taken; the answer
/// is heard sentence by sentence (AnswerNarrator decides how), not as the text
/// changes; Stop is the first control while an answer is written; when the
/// answer has been heard, focus moves to the question field for a follow-up.
struct ConversationScreen: View {
    let app: AppModel
    @Bindable var chat: ConversationViewModel
    @AccessibilityFocusState private var focus: ConversationViewModel.Focus?
    @FocusState private var typing: Bool
    @Environment(\.openURL) private var openURL
    @Environment(\.dynamicTypeSize) private var textSize

    var body: some View {
        ScrollViewReader { scroller in
            ScrollView {
                VStack(alignment: .leading, spacing: 16) {
                    PictureView(picture: chat.picture)
                        .frame(maxHeight: 240)
                        .accessibilityLabel(pictureLabel)
                    Text(chat.status)
                        .font(.headline)
                        .accessibilityAddTraits(.updatesFrequently)
                    if let notice = chat.notice {
                        Text(notice).font(.footnote).foregroundStyle(.secondary)
                    }
                    ForEach(chat.turns) { turn in
                        TurnView(chat: chat, turn: turn).id(turn.id)
                    }
                    if let problem = chat.problem {
                        ProblemView(problem: problem, action: chat.controls.first { $0.id == .problemAction },
                                    perform: { recover(problem) })
                            .accessibilityFocused($focus, equals: .problem)
                    }
                    if let problem = chat.voice.problem {
                        ProblemView(problem: problem, action: chat.controls.first { $0.id == .voiceProblemAction },
                                    perform: { recover(problem) })
                            .accessibilityFocused($focus, equals: .voiceProblem)
                    }
                    if !pinsQuestionControls && !chat.isAnswering {
                        VStack(alignment: .leading, spacing: 12) { questionControls }
                    }
                }
                .padding()
            }
            .scrollDismissesKeyboard(.interactively)
            .onChange(of: chat.turns.last?.answer) { _, _ in
                if let last = chat.turns.last { scroller.scrollTo(last.id, anchor: .bottom) }
            }
        }
        .safeAreaInset(edge: .bottom) { bottomBar }
        .navigationTitle("Ask")
        .navigationBarTitleDisplayMode(.inline)
        .toolbar {
            ToolbarItem(placement: .topBarTrailing) {
                ControlButton(control: chat.control(.newPicture), systemImage: "camera") {
                    app.closeConversation()
                }
            }
        }
        .accessibilityAction(.magicTap) {
            Task { await chat.magicTap() }
        }
        .onChange(of: chat.focus, initial: true) { _, target in
            // The view model asks for focus; applying it consumes the request,
            // so the same target can be asked for again.
            guard let target else { return }
            focus = target
            chat.focus = nil
        }
    }

    private var pictureLabel: String {
        switch chat.source {
        case .camera: "The picture you took"
        case .library: "The photo you chose"
        case .shared: "The picture shared with Imp"
        case .history: "The picture of this conversation"
        }
    }

    /// At the accessibility text sizes the question controls, one above the
    /// other, would cover most of the screen if pinned: they scroll after the
    /// answers instead. Stop stays pinned at every size.
    private var pinsQuestionControls: Bool { !textSize.isAccessibilitySize }

    /// The controls at the bottom, within thumb reach; Stop replaces the
    /// question controls while an answer is written.
    @ViewBuilder private var bottomBar: some View {
        if chat.isAnswering || pinsQuestionControls {
            VStack(spacing: 12) {
                if chat.isAnswering {
                    ControlButton(control: chat.control(.stop), systemImage: "stop.fill", role: .destructive) {
                        chat.stop()
                    }
                    .buttonStyle(.borderedProminent)
                    .controlSize(.large)
                    .frame(maxWidth: .infinity)
                    .accessibilitySortPriority(3)
                } else {
                    questionControls
                }
            }
            .padding()
            .background(.bar)
        }
    }

    @ViewBuilder private var questionControls: some View {
        if chat.controls.contains(where: { $0.id == .stopSpeaking }) {
            ControlButton(control: chat.control(.stopSpeaking), systemImage: "speaker.slash") {
                chat.stopSpeaking()
            }
            .buttonStyle(.bordered)
        }
        AdaptiveStack {
            ControlButton(control: chat.control(.describe), systemImage: "text.below.photo") {
                chat.describe()
            }
            .buttonStyle(.borderedProminent)
            .accessibilityFocused($focus, equals: .describe)
            ControlButton(control: chat.control(.readText), systemImage: "doc.text.viewfinder") {
                chat.readText()
            }
            .buttonStyle(.bordered)
        }
        .controlSize(.large)
        AdaptiveStack(spacing: 8) {
            TextField(chat.control(.questionField).label, text: $chat.question, axis: .vertical)
                .textFieldStyle(.roundedBorder)
                .lineLimit(1...4)
                .focused($typing)
                .submitLabel(.send)
                .onSubmit { chat.askTypedQuestion() }
                .described(by: chat.control(.questionField))
                .accessibilityFocused($focus, equals: .question)
            ControlButton(control: chat.control(.ask), systemImage: "arrow.up.circle.fill") {
                typing = false
                chat.askTypedQuestion()
            }
            .labelStyle(.iconOnly)
            .font(.title)
            VoiceButton(chat: chat)
        }
    }

    private func recover(_ problem: Problem) {
        switch problem.recovery {
        case .openSystemSettings?:
            if let url = URL(string: UIApplication.openSettingsURLString) { openURL(url) }
        case .tryAgain?:
            if let question = chat.turns.last?.question { chat.ask(question) }
        case let recovery?:
            app.recover(recovery)
        case nil:
            break
        }
    }
}

/// One question and its answer, with copy, share and read aloud once done.
private struct TurnView: View {
    let chat: ConversationViewModel
    let turn: ConversationViewModel.Turn

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(QuickPrompt.shortTitle(turn.question))
                .font(.headline)
                .accessibilityAddTraits(.isHeader)
            if !turn.answer.isEmpty {
                // Read by VoiceOver when the person moves to it; while it grows,
                // the sentences are announced instead (no live-region chatter).
                Text(turn.answer)
                    .font(.body)
                    .textSelection(.enabled)
            }
            if let note = note {
                Text(note).font(.footnote).foregroundStyle(.secondary)
            }
            if let caveat = turn.caveat {
                Label(caveat, systemImage: "exclamationmark.triangle").font(.footnote)
            }
            if turn.isDone, !turn.answer.isEmpty {
                AdaptiveStack(spacing: 8) {
                    ControlButton(control: chat.control(.copyAnswer(turn: turn.id)), systemImage: "doc.on.doc") {
                        chat.copyAnswer(turn.id)
                    }
                    let share = chat.control(.shareAnswer(turn: turn.id))
                    ShareLink(item: chat.shareText(turn.id)) {
                        Label(share.label, systemImage: "square.and.arrow.up")
                    }
                    .described(by: share)
                    ControlButton(control: chat.control(.readAgain(turn: turn.id)), systemImage: "speaker.wave.2") {
                        chat.readAgain(turn.id)
                    }
                }
                .buttonStyle(.bordered)
                .labelStyle(.titleAndIcon)
            }
        }
        .frame(maxWidth: .infinity, alignment: .leading)
    }

    private var note: String? {
        switch turn.status {
        case .waiting: "Thinking…"
        case .stopped: "Stopped."
        case .complete(.maxTokens): "Cut short at the answer length limit."
        case .complete(.contextFull): "The conversation is full."
        case .failed(let problem): problem.title
        case .earlier: "Earlier answer"
        case .streaming, .complete: nil
        }
    }
}

/// Ask by voice: the microphone, with what has been heard shown as it comes.
private struct VoiceButton: View {
    let chat: ConversationViewModel

    var body: some View {
        let control = chat.control(.voiceQuestion)
        Button {
            Task { await chat.voice.toggle() }
        } label: {
            Label(control.label, systemImage: chat.voice.isListening ? "mic.fill" : "mic")
                .labelStyle(.iconOnly)
                .font(.title)
                .symbolEffect(.pulse, isActive: chat.voice.isListening)
        }
        .described(by: control)
        .overlay(alignment: .top) {
            if !chat.voice.transcript.isEmpty {
                Text(chat.voice.transcript)
                    .font(.callout)
                    .padding(6)
                    .background(.thinMaterial, in: RoundedRectangle(cornerRadius: 8))
                    .offset(y: -44)
                    .accessibilityHidden(true)  // the recogniser's guesses would talk over the person
            }
        }
    }
}

#if DEBUG
#Preview("Ask, answered") {
    let app = PreviewApp.make()
    app.startConversation(.encoded(Data()), source: .camera)
    app.conversation?.describe()
    return NavigationStack { ConversationScreen(app: app, chat: app.conversation!) }
}

#Preview("Ask, largest text") {
    let app = PreviewApp.make(voiceOver: true)
    app.startConversation(.encoded(Data()), source: .library)
    return NavigationStack { ConversationScreen(app: app, chat: app.conversation!) }
        .dynamicTypeSize(.accessibility5)
}
#endif
