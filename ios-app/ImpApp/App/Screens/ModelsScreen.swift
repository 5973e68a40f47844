import ImpAppLogic
import ImpKit
import SwiftUI
import UniformTypeIdentifiers
#if DEBUG
import ImpAppFakes  // previews
#endif

/// The models screen, also the first screen before any model is installed:
/// what fits this phone, downloads with pause and resume, import, check, delete.
struct ModelsScreen: View {
    let app: AppModel
    let models: ModelsViewModel
    let firstRun: Bool
    @State private var importing = false

    var body: some View {
        List {
            if firstRun {
                Section {
                    Text("Imp describes what the camera sees and answers questions about it, on this phone, "
                        + "without the internet. It needs a model first: download one, or import a .gguf file.")
                }
            }
            if let notice = models.notice {
                Section {
                    ProblemView(problem: notice, action: nil, perform: {})
                }
            }
            if case .failed(let problem) = models.state {
                Section {
                    ProblemView(problem: problem, action: nil, perform: {})
                }
            }
            if !models.installed.isEmpty {
                Section("On this phone") {
                    ForEach(models.installed) { row in InstalledRowView(models: models, row: row) }
                }
            }
            Section("Catalogue") {
                ForEach(models.catalog) { row in CatalogRowView(models: models, row: row) }
            }
            Section {
                ForEach(models.added) { row in AddedRowView(models: models, row: row) }
                ControlButton(control: models.control(.addModel), systemImage: "plus.circle") { models.openAdd() }
                importRow
            } header: {
                Text("Other models")
            } footer: {
                Text("A Hugging Face repository that holds an Imp model, a link to a .gguf file, "
                    + "or a .gguf file you already have, from Files.")
            }
        }
        .navigationTitle(firstRun ? "Welcome to Imp" : "Models")
        .task { models.refresh() }
        .refreshable { models.refresh() }
        .fileImporter(isPresented: $importing, allowedContentTypes: [UTType(filenameExtension: "gguf") ?? .data]) {
            result in
            if case .success(let url) = result { models.importFile(SecurityScopedFile(url: url)) }
        }
        .sheet(isPresented: adding) { AddModelSheet(models: models) }
        .alert("Use mobile data?", isPresented: askingMobileData, presenting: models.askingMobileData) { _ in
            ControlButton(control: models.control(.allowMobileData)) { models.allowMobileData() }
            ControlButton(control: models.control(.waitForWifi), role: .cancel) { models.waitForWifi() }
        } message: { question in
            Text("This phone is not on Wi-Fi. Downloading \(question.name)"
                + (question.bytes.map { " takes \(ByteSize.text($0)), which" } ?? "")
                + " may cost you or use up your data plan.")
        }
        .confirmationDialog(
            "Delete this model?", isPresented: deleting, titleVisibility: .visible
        ) {
            if models.pendingDelete != nil {
                ControlButton(control: models.control(.confirmDelete), role: .destructive) { models.confirmDelete() }
                ControlButton(control: models.control(.cancelDelete), role: .cancel) { models.cancelDelete() }
            }
        } message: {
            Text("It can be downloaded or imported again later.")
        }
    }

    private var askingMobileData: Binding<Bool> {
        Binding(get: { models.askingMobileData != nil }, set: { if !$0 { models.waitForWifi() } })
    }

    private var adding: Binding<Bool> {
        Binding(get: { models.addForm != nil }, set: { if !$0 { models.cancelAdd() } })
    }

    private var deleting: Binding<Bool> {
        Binding(get: { models.pendingDelete != nil }, set: { if !$0 { models.cancelDelete() } })
    }

    @ViewBuilder private var importRow: some View {
        switch models.importing {
        case .copying(let done, let total):
            VStack(alignment: .leading) {
                if let total, total > 0 {
                    ProgressView("Importing", value: Double(done), total: Double(total))
                } else {
                    ProgressView("Importing")
                }
                ControlButton(control: models.control(.cancelImport)) { models.cancelImport() }
            }
        case .failed(let problem):
            ProblemView(problem: problem, action: nil, perform: {})
            importButton
        case .idle:
            importButton
        }
    }

    private var importButton: some View {
        ControlButton(control: models.control(.importFile), systemImage: "square.and.arrow.down") {
            importing = true
        }
    }
}

private struct CatalogRowView: View {
    let models: ModelsViewModel
    let row: ModelsViewModel.CatalogRow

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            VStack(alignment: .leading, spacing: 4) {
                Text(row.model.displayName).font(.headline)
                Text(row.model.goodFor).font(.subheadline)
                if let fit = row.fit {
                    Label(fitTitle(fit.verdict), systemImage: fitSymbol(fit.verdict))
                        .font(.subheadline)
                }
                Text(models.transferText(row.transfer)).font(.footnote).foregroundStyle(.secondary)
            }
            // One element for VoiceOver: the whole summary in sentences.
            .accessibilityElement(children: .ignore)
            .accessibilityLabel(models.summary(of: row))
            transfer
        }
        .padding(.vertical, 4)
    }

    @ViewBuilder private var transfer: some View {
        switch row.transfer {
        case .available:
            ControlButton(control: models.control(.download(catalogId: row.id)), systemImage: "arrow.down.circle") {
                models.download(row.id)
            }
        case .downloading(let done, let total):
            ProgressView(value: Double(done), total: Double(max(total ?? 1, 1)))
                .accessibilityHidden(true)  // the summary above says the percentage
            ControlButton(control: models.control(.pause(catalogId: row.id)), systemImage: "pause.circle") {
                models.pause(row.id)
            }
        case .preparing(_, let fraction):
            ProgressView(value: fraction)
                .accessibilityHidden(true)  // the summary above says the stage and percentage
            ControlButton(control: models.control(.pause(catalogId: row.id)), systemImage: "pause.circle") {
                models.pause(row.id)
            }
        case .paused, .failed:
            if case .failed(let problem) = row.transfer {
                Text(problem.message).font(.footnote)
            }
            AdaptiveStack {
                ControlButton(control: models.control(.resume(catalogId: row.id)), systemImage: "arrow.clockwise") {
                    models.resume(row.id)
                }
                ControlButton(control: models.control(.discardDownload(catalogId: row.id)), systemImage: "trash",
                              role: .destructive) {
                    models.discardDownload(row.id)
                }
            }
        case .installed:
            EmptyView()
        }
    }

    private func fitTitle(_ verdict: FitVerdict) -> String {
        switch verdict {
        case .fits: "Fits this phone"
        case .tight: "Tight: close other apps first"
        case .doesNotFit: "Does not fit this phone"
        }
    }

    private func fitSymbol(_ verdict: FitVerdict) -> String {
        switch verdict {
        case .fits: "checkmark.circle"
        case .tight: "exclamationmark.circle"
        case .doesNotFit: "xmark.circle"
        }
    }
}

/// "Add a model": a repository or a link, and the file's SHA-256 if the
/// person has it; the core's words say what a wrong entry is not.
private struct AddModelSheet: View {
    let models: ModelsViewModel

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    TextField("Repository or link", text: text, axis: .vertical)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                        .keyboardType(.URL)
                        .accessibilityLabel(models.control(.addressField).label)
                        .accessibilityHint(models.control(.addressField).hint)
                    if let error = models.addForm?.error {
                        Text(error).font(.footnote).foregroundStyle(.red)
                    }
                    TextField("SHA-256 of the file, if you have it", text: sha256)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                        .accessibilityLabel(models.control(.sha256Field).label)
                        .accessibilityHint(models.control(.sha256Field).hint)
                } footer: {
                    Text("For example MILVLG/Imp-v1.5-3B-196, its page's link, or a link to a .gguf file.")
                }
            }
            .navigationTitle("Add a model")
            .toolbar {
                ToolbarItem(placement: .confirmationAction) {
                    ControlButton(control: models.control(.confirmAdd)) { models.confirmAdd() }
                }
                ToolbarItem(placement: .cancellationAction) {
                    ControlButton(control: models.control(.cancelAdd)) { models.cancelAdd() }
                }
            }
        }
    }

    private var text: Binding<String> {
        Binding(get: { models.addForm?.text ?? "" },
                set: { models.editAdd(text: $0, sha256: models.addForm?.sha256 ?? "") })
    }

    private var sha256: Binding<String> {
        Binding(get: { models.addForm?.sha256 ?? "" },
                set: { models.editAdd(text: models.addForm?.text ?? "", sha256: $0) })
    }
}

private struct AddedRowView: View {
    let models: ModelsViewModel
    let row: ModelsViewModel.AddedRow

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            VStack(alignment: .leading, spacing: 4) {
                Text(row.key).font(.headline)
                Text(models.transferText(row.transfer)).font(.footnote).foregroundStyle(.secondary)
            }
            .accessibilityElement(children: .combine)
            switch row.transfer {
            case .preparing(_, let fraction):
                ProgressView(value: fraction).accessibilityHidden(true)
                ControlButton(control: models.control(.pauseAdded(key: row.key)), systemImage: "pause.circle") {
                    models.pauseAdded(row.key)
                }
            case .installed, .downloading:
                EmptyView()
            case .available, .paused, .failed:
                if case .failed(let problem) = row.transfer { Text(problem.message).font(.footnote) }
                AdaptiveStack {
                    ControlButton(control: models.control(.resumeAdded(key: row.key)), systemImage: "arrow.clockwise") {
                        models.resumeAdded(row.key)
                    }
                    ControlButton(control: models.control(.dismissAdded(key: row.key)), systemImage: "xmark") {
                        models.dismissAdded(row.key)
                    }
                }
            }
        }
        .padding(.vertical, 4)
    }
}

private struct InstalledRowView: View {
    let models: ModelsViewModel
    let row: ModelsViewModel.InstalledRow

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            VStack(alignment: .leading, spacing: 4) {
                Text(row.title).font(.headline)
                Text(ByteSize.text(row.model.sizeBytes)).font(.subheadline)
                if let problem = row.model.problem {
                    Text(problem).font(.subheadline).foregroundStyle(.red)
                }
                if row.isChosen { Text("In use").font(.subheadline.bold()) }
                checkText.map { Text($0).font(.footnote) }
            }
            .accessibilityElement(children: .combine)
            AdaptiveStack {
                if row.model.problem == nil {
                    ControlButton(control: models.control(.useModel(installedId: row.id)), systemImage: "checkmark") {
                        models.use(row.id)
                    }
                }
                ControlButton(control: models.control(.verify(installedId: row.id)), systemImage: "checkmark.shield") {
                    models.verify(row.id)
                }
                ControlButton(control: models.control(.delete(installedId: row.id)), systemImage: "trash",
                              role: .destructive) {
                    models.requestDelete(row.id)
                }
            }
            .buttonStyle(.bordered)
        }
    }

    private var checkText: String? {
        switch row.check {
        case .none: nil
        case .verifying(let fraction): fraction.map { "Checking, \(Int($0 * 100)) percent" } ?? "Checking"
        case .passed: "Checked: no damage found."
        case .failed(let problem): problem.title
        }
    }
}

#if DEBUG
#Preview("First run") {
    let app = PreviewApp.make(installed: false)
    return NavigationStack { ModelsScreen(app: app, models: app.models, firstRun: true) }
}
#endif
