import Foundation
import ImpKit
import Observation

/// The models screen, also the first-run screen: the catalogue with what fits
/// this phone, downloads (pause, resume, also after the app was closed, since
/// the store keeps the partial file), importing a `.gguf`, checking, deleting,
/// and choosing the model to answer with.
@MainActor
@Observable
public final class ModelsViewModel: DescribesControls {
    public enum State: Equatable {
        case loading
        case loaded
        case failed(Problem)
    }

    public enum Transfer: Equatable, Sendable {
        /// Nothing downloaded; `download` offered.
        case available
        case downloading(done: UInt64, total: UInt64?)
        /// Made on this phone from the hub's checkpoint: `fraction` of the whole.
        case preparing(stage: InstallStage, fraction: Double)
        /// Stopped part way; `resume` continues from `done`.
        case paused(done: UInt64)
        case failed(Problem)
        case installed
    }

    public struct CatalogRow: Identifiable, Equatable, Sendable {
        public let model: CatalogModel
        public let fit: ModelFit?
        public fileprivate(set) var transfer: Transfer
        public var id: String { model.id }
    }

    public enum Check: Equatable, Sendable {
        case none
        case verifying(fraction: Double?)
        case passed
        case failed(Problem)
    }

    public struct InstalledRow: Identifiable, Equatable, Sendable {
        public let model: InstalledModel
        public let title: String
        public fileprivate(set) var isChosen: Bool
        public fileprivate(set) var check: Check
        public var id: String { model.id }
    }

    public enum Import: Equatable, Sendable {
        case idle
        case copying(done: UInt64, total: UInt64?)
        case failed(Problem)
    }

    public private(set) var state: State = .loading
    public private(set) var catalog: [CatalogRow] = []
    public private(set) var installed: [InstalledRow] = []
    public private(set) var importing: Import = .idle
    /// Why the person was sent here (the chosen model is missing or damaged).
    public var notice: Problem?
    /// An installed model waiting for the person to confirm its deletion.
    public private(set) var pendingDelete: String?

    @ObservationIgnored private let library: any ModelLibrary
    @ObservationIgnored private let device: any DeviceFacts
    @ObservationIgnored private let announcements: Announcements
    @ObservationIgnored private let chosenId: @MainActor () -> String?
    @ObservationIgnored private var transfers: [String: Task<Void, Never>] = [:]
    @ObservationIgnored private var pausedByPerson: Set<String> = []
    @ObservationIgnored private var suspended: Set<String> = []
    @ObservationIgnored private var importTask: Task<Void, Never>?
    @ObservationIgnored private var checks: [String: Task<Void, Never>] = [:]
    /// The person chose a model to answer with.
    @ObservationIgnored public var onChoose: @MainActor (InstalledModel) -> Void = { _ in }
    /// An installed model was deleted.
    @ObservationIgnored public var onRemoved: @MainActor (String) -> Void = { _ in }

    public init(library: any ModelLibrary, device: any DeviceFacts, announcements: Announcements,
                chosenId: @escaping @MainActor () -> String?) {
        self.library = library
        self.device = device
        self.announcements = announcements
        self.chosenId = chosenId
    }

    /// No model installed yet: the screen welcomes and explains.
    public var isFirstRun: Bool { state == .loaded && installed.isEmpty }

    // MARK: reading the store

    public func refresh() {
        do {
            let models = try library.installed()
            let pending = Dictionary(try library.pendingDownloads().map { ($0.id, $0.doneBytes) },
                                     uniquingKeysWith: max)
            let fits = Dictionary((try? library.deviceFit(device.profile()))?.map { ($0.catalogId, $0) } ?? [],
                                  uniquingKeysWith: { a, _ in a })
            let chosen = chosenId()
            let oldChecks = Dictionary(installed.map { ($0.id, $0.check) }, uniquingKeysWith: { a, _ in a })
            installed = models.map { m in
                InstalledRow(model: m, title: title(of: m), isChosen: m.id == chosen, check: oldChecks[m.id] ?? .none)
            }
            let oldTransfers = Dictionary(catalog.map { ($0.id, $0.transfer) }, uniquingKeysWith: { a, _ in a })
            catalog = library.catalog.map { entry in
                let transfer: Transfer
                if models.contains(where: { $0.catalogId == entry.id && $0.problem == nil }) {
                    transfer = .installed
                } else if let old = oldTransfers[entry.id], transfers[entry.id] != nil || isFailed(old) {
                    transfer = old  // a download under way (or its error) outlives a refresh
                } else if let done = pending[entry.id] {
                    transfer = .paused(done: done)
                } else {
                    transfer = .available
                }
                return CatalogRow(model: entry, fit: fits[entry.id], transfer: transfer)
            }
            state = .loaded
        } catch {
            state = .failed(Problem(any: error, while: .transfer))
        }
    }

    // MARK: downloads

    public func download(_ catalogId: String) {
        guard let index = catalog.firstIndex(where: { $0.id == catalogId }) else { return }
        let row = catalog[index]
        guard let file = row.model.files.first else {
            installFromHub(row)
            return
        }
        transfers[catalogId]?.cancel()
        pausedByPerson.remove(catalogId)
        let startedAt: UInt64 = if case .paused(let done) = row.transfer { done } else { 0 }
        catalog[index].transfer = .downloading(done: startedAt, total: file.sizeBytes)
        announcements.say("Downloading \(row.model.displayName).")
        let stream = library.download(.catalog(id: catalogId, quantization: nil))
        transfers[catalogId] = Task { [weak self] in
            var lastQuarter = Int(startedAt * 4 / max(file.sizeBytes, 1))
            do {
                for try await event in stream {
                    guard let self else { return }
                    switch event {
                    case .progress(let done, let total):
                        self.setTransfer(catalogId, .downloading(done: done, total: total ?? file.sizeBytes))
                        let quarter = Int(done * 4 / max(total ?? file.sizeBytes, 1))
                        if quarter > lastQuarter, quarter < 4 {
                            lastQuarter = quarter
                            self.announcements.say("\(row.model.displayName): \(quarter * 25) percent downloaded.")
                        }
                    case .installed(let model):
                        self.transfers[catalogId] = nil
                        self.setTransfer(catalogId, .installed)
                        self.announcements.say("\(row.model.displayName) downloaded and checked.")
                        self.installedNew(model)
                    case .verified:
                        break
                    }
                }
                self?.transferEnded(catalogId)
            } catch {
                self?.transferFailed(catalogId, error)
            }
        }
    }

    /// A model with no published file, made on this phone from its authors'
    /// checkpoint on the hub. VoiceOver hears each stage as it starts and every
    /// tenth of the whole, not every byte, and when it is ready; the screen
    /// stays awake while it runs (`isBusy`).
    private func installFromHub(_ row: CatalogRow) {
        let catalogId = row.id, name = row.model.displayName
        transfers[catalogId]?.cancel()
        pausedByPerson.remove(catalogId)
        setTransfer(catalogId, .preparing(stage: .downloading, fraction: 0))
        let stream = library.installFromHub(catalogId: catalogId)
        transfers[catalogId] = Task { [weak self] in
            var told: (InstallStage, Int)?
            do {
                for try await event in stream {
                    guard let self else { return }
                    switch event {
                    case .progress(let stage, _, _, let fraction):
                        self.setTransfer(catalogId, .preparing(stage: stage, fraction: fraction))
                        let tenth = Int(fraction * 10)
                        if told.map({ $0.0 != stage || $0.1 != tenth }) ?? true {
                            told = (stage, tenth)
                            if tenth < 10 { self.announcements.say(Self.stageText(stage, name, percent: tenth * 10)) }
                        }
                    case .installed(let model):
                        self.transfers[catalogId] = nil
                        self.setTransfer(catalogId, .installed)
                        self.announcements.say("\(name) is ready. You can take a picture and ask.", interrupting: true)
                        self.installedNew(model)
                    }
                }
                self?.transferEnded(catalogId)
            } catch {
                self?.transferFailed(catalogId, error)
            }
        }
    }

    static func stageText(_ stage: InstallStage, _ name: String, percent: Int) -> String {
        switch stage {
        case .downloading: "Downloading \(name): \(percent) percent"
        case .converting: "Preparing \(name) on this phone: \(percent) percent"
        case .verifying: "Checking \(name): \(percent) percent"
        }
    }

    /// A download or install is running: the screen should not lock (iOS
    /// suspends an app whose screen locks, which pauses the work).
    public var isBusy: Bool {
        catalog.contains { row in
            switch row.transfer {
            case .downloading, .preparing: true
            default: false
            }
        }
    }

    /// Pauses a download; the store keeps what arrived.
    public func pause(_ catalogId: String) {
        pausedByPerson.insert(catalogId)
        transfers[catalogId]?.cancel()
        transferEnded(catalogId)
    }

    public func resume(_ catalogId: String) { download(catalogId) }

    /// Deletes what a paused download has fetched.
    public func discardDownload(_ catalogId: String) {
        pause(catalogId)
        do {
            try library.discardDownload(id: catalogId)
            pausedByPerson.remove(catalogId)
            refresh()
        } catch {
            setTransfer(catalogId, .failed(Problem(any: error, while: .transfer)))
        }
    }

    /// The app goes to the background, where iOS suspends it within seconds:
    /// downloads pause cleanly (the store keeps their partial files).
    public func suspendTransfers() {
        suspended = Set(transfers.keys)
        for id in suspended {
            transfers[id]?.cancel()
            transferEnded(id)
        }
    }

    /// Back in the foreground: the downloads paused by `suspendTransfers` go on.
    public func resumeSuspendedTransfers() {
        let ids = suspended
        suspended = []
        for id in ids { download(id) }
    }

    // MARK: import, check, delete, choose

    /// Copies a `.gguf` the person picked into the store.
    public func importFile(_ file: any PickedFile) {
        importTask?.cancel()
        let accessing = file.startAccessing()
        importing = .copying(done: 0, total: nil)
        announcements.say("Importing the model file.")
        let stream = library.importFile(path: file.path, inPlace: false, expectedSHA256: nil)
        importTask = Task { [weak self] in
            defer { if accessing { file.stopAccessing() } }
            do {
                for try await event in stream {
                    guard let self else { return }
                    switch event {
                    case .progress(let done, let total): self.importing = .copying(done: done, total: total)
                    case .installed(let model):
                        self.importing = .idle
                        self.announcements.say("Model imported.")
                        self.installedNew(model)
                    case .verified: break
                    }
                }
                if let self, case .copying = self.importing { self.importing = .idle }  // cancelled
            } catch {
                guard let self else { return }
                let problem = Problem(any: error, while: .transfer)
                self.importing = problem.kind == .cancelled ? .idle : .failed(problem)
                if problem.kind != .cancelled { self.announcements.say(problem.announcement, interrupting: true) }
            }
        }
    }

    public func cancelImport() {
        importTask?.cancel()
        importTask = nil
        importing = .idle
    }

    /// Hashes an installed model again to find damage.
    public func verify(_ installedId: String) {
        setCheck(installedId, .verifying(fraction: nil))
        let stream = library.verify(id: installedId)
        checks[installedId] = Task { [weak self] in
            do {
                for try await event in stream {
                    guard let self else { return }
                    switch event {
                    case .progress(let done, let total):
                        self.setCheck(installedId, .verifying(fraction: total.map { Double(done) / Double(max($0, 1)) }))
                    case .verified(_, _, let expected, let ok):
                        if ok {
                            self.setCheck(installedId, .passed)
                            self.announcements.say(expected == nil
                                ? "Checked: the file reads completely. No checksum was published to compare with."
                                : "Checked: the file matches its checksum.")
                        } else {
                            let problem = Problem(.verificationFailed("The file does not match its checksum."),
                                                  while: .transfer)
                            self.setCheck(installedId, .failed(problem))
                            self.announcements.say(problem.announcement, interrupting: true)
                        }
                    case .installed: break
                    }
                }
            } catch {
                self?.setCheck(installedId, .failed(Problem(any: error, while: .transfer)))
            }
        }
    }

    public func requestDelete(_ installedId: String) { pendingDelete = installedId }

    public func cancelDelete() { pendingDelete = nil }

    public func confirmDelete() {
        guard let id = pendingDelete else { return }
        pendingDelete = nil
        do {
            try library.remove(id: id)
            onRemoved(id)
            announcements.say("Model deleted.")
            refresh()
        } catch {
            state = .failed(Problem(any: error, while: .transfer))
        }
    }

    public func use(_ installedId: String) {
        guard let row = installed.first(where: { $0.id == installedId }), row.model.problem == nil else { return }
        onChoose(row.model)
        notice = nil
        for i in installed.indices { installed[i].isChosen = installed[i].id == installedId }
        announcements.say("\(row.title) will answer your questions.")
    }

    // MARK: what the screen shows

    /// The row's VoiceOver label: what the model is and whether it fits.
    public func summary(of row: CatalogRow) -> String {
        var parts = ["\(row.model.displayName)", row.model.goodFor]
        if let size = row.model.files.first?.sizeBytes ?? row.model.downloadBytes {
            parts.append("\(ByteSize.spoken(size)) download")
        }
        parts.append("needs \(ByteSize.spoken(row.model.memoryBytes)) of memory")
        if let fit = row.fit {
            let verdict = switch fit.verdict {
            case .fits: "Fits this phone."
            case .tight: "Tight on this phone: close other apps first."
            case .doesNotFit: "Does not fit this phone."
            }
            parts += [verdict, fit.reason]
        }
        parts.append(transferText(row.transfer))
        return SpokenText.sentences(parts)
    }

    public func transferText(_ transfer: Transfer) -> String {
        switch transfer {
        case .available: "Not downloaded"
        case .preparing(let stage, let fraction): Self.stageText(stage, "it", percent: Int(fraction * 100))
        case .downloading(let done, let total):
            if let percent = ByteSize.percent(done: done, of: total) {
                "Downloading, \(percent) percent, \(ByteSize.text(done)) of \(ByteSize.text(total ?? 0))"
            } else {
                "Downloading, \(ByteSize.text(done))"
            }
        case .paused(let done): "Paused at \(ByteSize.text(done))"
        case .failed(let problem): problem.title
        case .installed: "Installed"
        }
    }

    public var controls: [Control] {
        var list: [Control] = []
        for row in catalog {
            let name = row.model.displayName
            switch row.transfer {
            case .available:
                list.append(Control(.download(catalogId: row.id), label: "Download \(name)",
                                    hint: "Downloads the model and checks it before use."))
            case .downloading, .preparing:
                list.append(Control(.pause(catalogId: row.id), label: "Pause \(name)",
                                    hint: "Pauses the download. It can go on later from where it stopped."))
            case .paused, .failed:
                list.append(Control(.resume(catalogId: row.id), label: "Resume \(name)",
                                    hint: "Goes on with the download from where it stopped."))
                list.append(Control(.discardDownload(catalogId: row.id), label: "Discard \(name) download",
                                    hint: "Deletes what was downloaded so far."))
            case .installed:
                break
            }
        }
        for row in installed {
            if row.model.problem == nil {
                list.append(Control(.useModel(installedId: row.id), label: "Use \(row.title)",
                                    hint: "Answers your questions with this model.", isEnabled: !row.isChosen,
                                    value: row.isChosen ? "In use" : nil))
            }
            let verifying = if case .verifying = row.check { true } else { false }
            list.append(Control(.verify(installedId: row.id), label: "Check \(row.title)",
                                hint: "Reads the whole file to find damage.", isEnabled: !verifying))
            list.append(Control(.delete(installedId: row.id), label: "Delete \(row.title)",
                                hint: "Removes the model from this phone, after you confirm."))
        }
        if case .copying = importing {
            list.append(Control(.cancelImport, label: "Cancel import", hint: "Stops copying the model file."))
        } else {
            list.append(Control(.importFile, label: "Import model file",
                                hint: "Copies a .gguf model file from Files into Imp."))
        }
        if pendingDelete != nil {
            list.append(Control(.confirmDelete, label: "Delete", hint: "Deletes the model file."))
            list.append(Control(.cancelDelete, label: "Keep", hint: "Keeps the model."))
        }
        return list
    }

    // MARK: private

    private func title(of model: InstalledModel) -> String {
        if let entry = library.catalog.first(where: { $0.id == model.catalogId }) { return entry.displayName }
        return model.id
    }

    private func isFailed(_ transfer: Transfer) -> Bool {
        if case .failed = transfer { true } else { false }
    }

    private func setTransfer(_ catalogId: String, _ transfer: Transfer) {
        guard let index = catalog.firstIndex(where: { $0.id == catalogId }) else { return }
        catalog[index].transfer = transfer
    }

    private func setCheck(_ installedId: String, _ check: Check) {
        guard let index = installed.firstIndex(where: { $0.id == installedId }) else { return }
        installed[index].check = check
    }

    /// The download stream ended without installing: it was paused.
    private func transferEnded(_ catalogId: String) {
        guard let index = catalog.firstIndex(where: { $0.id == catalogId }) else { return }
        let done: UInt64
        switch catalog[index].transfer {
        case .downloading(let bytes, _): done = bytes
        // The hub install's files resume from the store's cache.
        case .preparing: done = 0
        default: return
        }
        transfers[catalogId] = nil
        catalog[index].transfer = .paused(done: done)
        if pausedByPerson.contains(catalogId) { announcements.say("\(catalog[index].model.displayName) paused.") }
    }

    private func transferFailed(_ catalogId: String, _ error: any Error) {
        transfers[catalogId] = nil
        let problem = Problem(any: error, while: .transfer)
        if problem.kind == .cancelled {
            transferEnded(catalogId)
            return
        }
        setTransfer(catalogId, .failed(problem))
        announcements.say(problem.announcement, interrupting: true)
    }

    private func installedNew(_ model: InstalledModel) {
        refresh()
        // With no usable model chosen, the new one answers.
        let chosen = chosenId()
        if chosen == nil || !installed.contains(where: { $0.id == chosen && $0.model.problem == nil }) {
            use(model.id)
        }
    }
}
