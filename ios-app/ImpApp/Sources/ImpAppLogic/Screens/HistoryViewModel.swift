import Foundation
import ImpKit
import Observation

/// Past conversations, most recently used first, a page at a time: open one to
/// read it or ask a follow-up, delete one or all.
@MainActor
@Observable
public final class HistoryViewModel: DescribesControls {
    public enum State: Equatable {
        case loading
        case empty
        case loaded
        case failed(Problem)
    }

    public struct Row: Identifiable, Equatable, Sendable {
        public let summary: ConversationSummary
        public var id: String { summary.id }
        public let title: String
        public let detail: String
        public let date: String
        /// Everything VoiceOver reads for the row, in one sentence group.
        public let spoken: String
    }

    public static let pageSize: UInt32 = 30

    public private(set) var state: State = .loading
    public private(set) var rows: [Row] = []
    public private(set) var total: UInt64 = 0
    /// Conversations the store could not read (left on disk, not shown).
    public private(set) var skipped: UInt64 = 0
    public private(set) var confirmingDeleteAll = false

    @ObservationIgnored private let archive: any ConversationArchive
    @ObservationIgnored private let originals: OriginalPictures?
    @ObservationIgnored private let announcements: Announcements
    @ObservationIgnored private let modelName: @MainActor (String) -> String
    @ObservationIgnored private let dateText: @Sendable (UInt64) -> String
    /// The person opened a conversation (with its picture, for a follow-up).
    @ObservationIgnored public var onOpen: @MainActor (SavedConversation, Picture) -> Void = { _, _ in }

    public init(archive: any ConversationArchive, originals: OriginalPictures?, announcements: Announcements,
                modelName: @escaping @MainActor (String) -> String,
                dateText: @escaping @Sendable (UInt64) -> String = HistoryViewModel.mediumDate) {
        self.archive = archive
        self.originals = originals
        self.announcements = announcements
        self.modelName = modelName
        self.dateText = dateText
    }

    public var canLoadMore: Bool { UInt64(rows.count) + skipped < total }

    public func refresh() {
        rows = []
        loadPage(offset: 0)
        // Pictures kept for conversations the store dropped (size bound) go too.
        if state == .loaded || state == .empty, !canLoadMore {
            originals?.prune(keeping: Set(rows.map(\.id)))
        }
    }

    public func loadMore() {
        guard canLoadMore else { return }
        loadPage(offset: UInt32(rows.count))
    }

    /// Opens a conversation: its turns, and its picture (the kept original, or
    /// the history's thumbnail) to encode again.
    public func open(_ id: String) {
        do {
            let saved = try archive.load(id: id)
            let picture = try originals?.picture(for: id) ?? .encoded(archive.thumbnail(id: id))
            onOpen(saved, picture)
        } catch {
            let problem = Problem(any: error, while: .history)
            state = .failed(problem)
            announcements.say(problem.announcement, interrupting: true)
        }
    }

    /// The conversation's small picture for its row (JPEG), if it can be read.
    public func thumbnail(_ id: String) -> Data? {
        try? archive.thumbnail(id: id)
    }

    public func delete(_ id: String) {
        do {
            try archive.delete(id: id)
            originals?.remove(id)
            rows.removeAll { $0.id == id }
            total = total > 0 ? total - 1 : 0
            if rows.isEmpty { refresh() }
            announcements.say("Conversation deleted.")
        } catch {
            state = .failed(Problem(any: error, while: .history))
        }
    }

    public func requestDeleteAll() { confirmingDeleteAll = true }

    public func cancelDeleteAll() { confirmingDeleteAll = false }

    public func confirmDeleteAll() {
        confirmingDeleteAll = false
        do {
            try archive.deleteAll()
            originals?.prune(keeping: [])
            rows = []
            total = 0
            state = .empty
            announcements.say("All conversations deleted.")
        } catch {
            state = .failed(Problem(any: error, while: .history))
        }
    }

    public var controls: [Control] {
        var list: [Control] = []
        for row in rows {
            list.append(Control(.openConversation(id: row.id), label: row.spoken,
                                hint: "Opens the conversation to read it or ask a follow-up."))
            list.append(Control(.deleteConversation(id: row.id), label: "Delete",
                                hint: "Deletes this conversation."))
        }
        if canLoadMore {
            list.append(Control(.loadMore, label: "Show older conversations", hint: "Loads more of the history."))
        }
        if !rows.isEmpty {
            list.append(Control(.deleteAll, label: "Delete all", hint: "Deletes every conversation, after you confirm."))
        }
        if confirmingDeleteAll {
            list.append(Control(.confirmDeleteAll, label: "Delete all conversations",
                                hint: "Deletes every conversation and its picture. This cannot be undone."))
            list.append(Control(.cancelDeleteAll, label: "Cancel", hint: "Keeps the conversations."))
        }
        return list
    }

    private func loadPage(offset: UInt32) {
        do {
            let page = try archive.list(offset: offset, limit: Self.pageSize)
            total = page.total
            skipped = page.skipped
            rows += page.items.map(row)
            state = rows.isEmpty ? .empty : .loaded
        } catch {
            state = .failed(Problem(any: error, while: .history))
        }
    }

    private func row(_ s: ConversationSummary) -> Row {
        let title = s.firstQuestion.map(QuickPrompt.shortTitle) ?? "No question yet"
        let answer = s.lastAnswer.map { String($0.prefix(140)) } ?? ""
        let date = dateText(s.updatedAtMs)
        let questions = s.turnCount == 1 ? "1 question" : "\(s.turnCount) questions"
        let model = modelName(s.modelId)
        let detail = [answer, "\(questions), \(model)"].filter { !$0.isEmpty }.joined(separator: "\n")
        let spoken = SpokenText.sentences([title, answer.isEmpty ? "" : "Answer: \(answer)", questions, model, date])
        return Row(summary: s, title: title, detail: detail, date: date, spoken: spoken)
    }

    public nonisolated static let mediumDate: @Sendable (UInt64) -> String = { ms in
        let formatter = DateFormatter()
        formatter.dateStyle = .medium
        formatter.timeStyle = .short
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
