import ImpAppLogic
import SwiftUI
#if DEBUG
import ImpAppFakes  // previews
#endif

/// Past conversations, newest first: open one to read or ask again, delete one
/// (swipe, or the VoiceOver actions rotor) or all.
struct HistoryScreen: View {
    let app: AppModel
    let history: HistoryViewModel

    var body: some View {
        Group {
            switch history.state {
            case .loading:
                ProgressView("Loading history")
            case .empty:
                ContentUnavailableView("No conversations yet", systemImage: "clock",
                                       description: Text("Questions you ask about pictures are kept here."))
            case .failed(let problem):
                ProblemView(problem: problem, action: nil, perform: {}).padding()
            case .loaded:
                list
            }
        }
        .navigationTitle("History")
        .toolbar {
            if history.controls.contains(where: { $0.id == .deleteAll }) {
                ToolbarItem(placement: .topBarTrailing) {
                    ControlButton(control: history.control(.deleteAll), role: .destructive) {
                        history.requestDeleteAll()
                    }
                }
            }
        }
        .task { history.refresh() }
        .confirmationDialog("Delete every conversation?", isPresented: confirming, titleVisibility: .visible) {
            if history.confirmingDeleteAll {
                ControlButton(control: history.control(.confirmDeleteAll), role: .destructive) {
                    history.confirmDeleteAll()
                }
                ControlButton(control: history.control(.cancelDeleteAll), role: .cancel) { history.cancelDeleteAll() }
            }
        }
    }

    private var confirming: Binding<Bool> {
        Binding(get: { history.confirmingDeleteAll }, set: { if !$0 { history.cancelDeleteAll() } })
    }

    private var list: some View {
        List {
            ForEach(history.rows) { row in
                let open = history.control(.openConversation(id: row.id))
                let delete = history.control(.deleteConversation(id: row.id))
                Button {
                    history.open(row.id)
                } label: {
                    HStack(alignment: .top, spacing: 12) {
                        if let data = history.thumbnail(row.id), let image = UIImage(data: data) {
                            Image(uiImage: image)
                                .resizable()
                                .scaledToFill()
                                .frame(width: 64, height: 64)
                                .clipShape(RoundedRectangle(cornerRadius: 8))
                        }
                        VStack(alignment: .leading, spacing: 4) {
                            Text(row.title).font(.headline)
                            Text(row.detail).font(.subheadline).foregroundStyle(.secondary).lineLimit(3)
                            Text(row.date).font(.footnote).foregroundStyle(.secondary)
                        }
                    }
                }
                .described(by: open)
                .accessibilityAction(named: Text(delete.label)) { history.delete(row.id) }
                .swipeActions {
                    Button(role: .destructive) {
                        history.delete(row.id)
                    } label: {
                        Label(delete.label, systemImage: "trash")
                    }
                }
            }
            if history.canLoadMore {
                ControlButton(control: history.control(.loadMore)) { history.loadMore() }
            }
        }
    }
}

#if DEBUG
#Preview("History") {
    let app = PreviewApp.make()
    return NavigationStack { HistoryScreen(app: app, history: app.history) }
}
#endif
