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

    /// A model the person added by address, while it installs, or how it stopped.
    public struct AddedRow: Identifiable, Equatable, Sendable {
        public let key: String
        let address: ModelAddress
        public fileprivate(set) var transfer: Transfer
        public var id: String { key }
    }

    /// "Add a model": what the person typed, and why it names no model (the
    /// core's words), if it does not.
    public struct AddForm: Equatable, Sendable {
        public var text = ""
        public var sha256 = ""
        public var error: String?
    }

    /// A download that would use mobile data: of `name`, `bytes` if known.
    public struct MobileDataQuestion: Equatable, Sendable {
        public let name: String
        public let bytes: UInt64?
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
    /// Models added by address that are installing, stopped or failed.
    public private(set) var added: [AddedRow] = []
    /// The "Add a model" sheet, while open.
    public private(set) var addForm: AddForm?
    /// A download waiting for the person to allow mobile data.
    public var askingMobileData: MobileDataQuestion? { mobileDataAsk?.question }
    /// Why the person was sent here (the chosen model is missing or damaged).
    public var notice: Problem?
    /// An installed model waiting for the person to confirm its deletion.
    public private(set) var pendingDelete: String?

    @ObservationIgnored private let library: any ModelLibrary
    @ObservationIgnored private let device: any DeviceFacts
    @ObservationIgnored private let network: any NetworkCost
    @ObservationIgnored private let wifiOnly: @MainActor () -> Bool
    private var mobileDataAsk: (question: MobileDataQuestion, start: @MainActor () -> Void)?
    /// What the person allowed over mobile data (not asked again this run).
    @ObservationIgnored private var allowedOnMobileData: Set<String> = []
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

    public init(library: any ModelLibrary, device: any DeviceFacts, network: any NetworkCost,
                announcements: Announcements, chosenId: @escaping @MainActor () -> String?,
                wifiOnly: @escaping @MainActor () -> Bool) {
        self.library = library
        self.device = device
        self.network = network
        self.wifiOnly = wifiOnly
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

    /// Starts or resumes a catalogue model (asking first on mobile data
    /// when Wi-Fi only is on).
    public func download(_ catalogId: String) {
        guard let row = catalog.first(where: { $0.id == catalogId }) else { return }
        let question = MobileDataQuestion(name: row.model.displayName,
                                          bytes: row.model.files.first?.sizeBytes ?? row.model.downloadBytes)
        whenNetworkAllows(catalogId, question) { [weak self] in self?.start(catalogId) }
    }

    /// Runs `start` now, or once the person allows mobile data when Wi-Fi
    /// only is on and the network may cost them.
    private func whenNetworkAllows(_ key: String, _ question: MobileDataQuestion,
                                   _ start: @escaping @MainActor () -> Void) {
        if wifiOnly(), network.isExpensive, !allowedOnMobileData.contains(key) {
            mobileDataAsk = (question, { [weak self] in
                self?.allowedOnMobileData.insert(key)
                start()
            })
            announcements.say("\(question.name): use mobile data? This phone is not on Wi-Fi.")
            return
        }
        start()
    }

    /// The person allowed this download over mobile data.
    public func allowMobileData() {
        guard let ask = mobileDataAsk else { return }
        mobileDataAsk = nil
        ask.start()
    }

    /// The person will wait for Wi-Fi: nothing starts.
    public func waitForWifi() { mobileDataAsk = nil }

    private func start(_ catalogId: String) {
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
    /// checkpoint on the hub.
    private func installFromHub(_ row: CatalogRow) {
        install(row.id, name: row.model.displayName, library.installFromHub(catalogId: row.id))
    }

    /// Runs an install of `key` (a catalogue id or an added model's key).
    /// VoiceOver hears each stage as it starts and every tenth of the whole,
    /// not every byte, and when it is ready; the screen stays awake while it
    /// runs (`isBusy`).
    private func install(_ key: String, name: String, _ stream: AsyncThrowingStream<InstallEvent, Error>) {
        transfers[key]?.cancel()
        pausedByPerson.remove(key)
        setTransfer(key, .preparing(stage: .downloading, fraction: 0))
        transfers[key] = Task { [weak self] in
            var told: (InstallStage, Int)?
            do {
                for try await event in stream {
                    guard let self else { return }
                    switch event {
                    case .progress(let stage, _, _, let fraction):
                        self.setTransfer(key, .preparing(stage: stage, fraction: fraction))
                        let tenth = Int(fraction * 10)
                        if told.map({ $0.0 != stage || $0.1 != tenth }) ?? true {
                            told = (stage, tenth)
                            if tenth < 10 { self.announcements.say(Self.stageText(stage, name, percent: tenth * 10)) }
                        }
                    case .installed(let model):
                        self.transfers[key] = nil
                        self.setTransfer(key, .installed)
                        self.added.removeAll { $0.key == key }
                        self.announcements.say("\(name) is ready. You can take a picture and ask.", interrupting: true)
                        self.installedNew(model)
                    }
                }
                self?.transferEnded(key)
            } catch {
                self?.transferFailed(key, error)
            }
        }
    }

    // MARK: adding a model by address

    public func openAdd() { addForm = AddForm() }

    public func editAdd(text: String, sha256: String) {
        addForm = AddForm(text: text, sha256: sha256, error: nil)
    }

    public func cancelAdd() { addForm = nil }

    /// Adds what the person typed, read by the core: a catalogue model's
    /// repository goes through its row; anything else installs as its own
    /// row. Words that name no model keep the sheet open and say why.
    public func confirmAdd() {
        guard let form = addForm else { return }
        let address: ModelAddress
        do {
            address = try library.modelAddress(form.text, sha256: form.sha256.isEmpty ? nil : form.sha256)
        } catch {
            addForm?.error = error.message
            announcements.say(error.message, interrupting: true)
            return
        }
        addForm = nil
        if case .hubRepo(let repo, "main") = address,
           let entry = catalog.first(where: { $0.model.sourceRepo == repo }) {
            download(entry.id)
            return
        }
        let key = Self.key(of: address)
        if !added.contains(where: { $0.key == key }) {
            added.append(AddedRow(key: key, address: address, transfer: .available))
        }
        resumeAdded(key)
    }

    public func pauseAdded(_ key: String) { pause(key) }

    public func resumeAdded(_ key: String) {
        guard let row = added.first(where: { $0.key == key }) else { return }
        whenNetworkAllows(key, MobileDataQuestion(name: key, bytes: nil)) { [weak self] in
            guard let self else { return }
            self.install(key, name: key, self.library.addModel(row.address))
        }
    }

    /// Drops a stopped or failed added model from the list.
    public func dismissAdded(_ key: String) {
        transfers[key]?.cancel()
        transfers[key] = nil
        added.removeAll { $0.key == key }
    }

    /// What the person sees of an address: the repository, or the file's name.
    static func key(of address: ModelAddress) -> String {
        switch address {
        case .hubRepo(let repo, let revision): revision == "main" ? repo : "\(repo)@\(revision)"
        case .ggufUrl(let url, _):
            String(url.split(separator: "?").first.map(String.init)?.split(separator: "/").last ?? Substring(url))
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
        (catalog.map(\.transfer) + added.map(\.transfer)).contains { transfer in
            switch transfer {
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
        for id in ids {
            if added.contains(where: { $0.key == id }) { resumeAdded(id) } else { download(id) }
        }
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
        for row in added {
            switch row.transfer {
            case .preparing, .downloading:
                list.append(Control(.pauseAdded(key: row.key), label: "Pause \(row.key)",
                                    hint: "Pauses the download. It can go on later from where it stopped."))
            case .paused, .failed, .available:
                list.append(Control(.resumeAdded(key: row.key), label: "Resume \(row.key)",
                                    hint: "Goes on from where it stopped."))
                list.append(Control(.dismissAdded(key: row.key), label: "Remove \(row.key) from this list",
                                    hint: "Stops offering to resume it."))
            case .installed:
                break
            }
        }
        list.append(Control(.addModel, label: "Add a model by name or link",
                            hint: "Adds a Hugging Face repository that holds an Imp model, or a .gguf file's link."))
        if let form = addForm {
            list.append(Control(.addressField, label: "Repository or link",
                                hint: "For example MILVLG/Imp-v1.5-3B-196, or a link to a .gguf file.",
                                value: form.error))
            list.append(Control(.sha256Field, label: "SHA-256 of the file, if you have it",
                                hint: "Checks a .gguf file before it is used."))
            list.append(Control(.confirmAdd, label: "Add", hint: "Downloads the model and prepares it.",
                                isEnabled: !form.text.trimmingCharacters(in: .whitespaces).isEmpty))
            list.append(Control(.cancelAdd, label: "Cancel", hint: "Closes without adding."))
        }
        if case .copying = importing {
            list.append(Control(.cancelImport, label: "Cancel import", hint: "Stops copying the model file."))
        } else {
            list.append(Control(.importFile, label: "Import model file",
                                hint: "Copies a .gguf model file from Files into Imp."))
        }
        if let question = askingMobileData {
            list.append(Control(.allowMobileData, label: "Download anyway",
                                hint: "Downloads \(question.name) over mobile data\(question.bytes.map { ", \(ByteSize.spoken($0))" } ?? "")."))
            list.append(Control(.waitForWifi, label: "Wait for Wi-Fi", hint: "Downloads nothing now."))
        }
        if pendingDelete != nil {
            list.append(Control(.confirmDelete, label: "Delete", hint: "Deletes the model file."))
            list.append(Control(.cancelDelete, label: "Keep", hint: "Keeps the model."))
        }
        return list
    }

    /// A model's name as people read it, for a model id kept elsewhere (the
    /// history): the catalogue's name, else the installed file's, never an id
    /// of the catalogue's (VoiceOver would spell "imp-3b-196" out).
    public func name(ofModel id: String) -> String {
        if let row = installed.first(where: { $0.id == id }) { return row.title }
        if let entry = library.catalog.first(where: { $0.id == id }) { return entry.displayName }
        return "a model no longer on this phone"
    }

    // MARK: private

    private func title(of model: InstalledModel) -> String {
        if let entry = library.catalog.first(where: { $0.id == model.catalogId }) { return entry.displayName }
        return model.id
    }

    private func isFailed(_ transfer: Transfer) -> Bool {
        if case .failed = transfer { true } else { false }
    }

    private func setTransfer(_ key: String, _ transfer: Transfer) {
        if let index = catalog.firstIndex(where: { $0.id == key }) {
            catalog[index].transfer = transfer
        } else if let index = added.firstIndex(where: { $0.key == key }) {
            added[index].transfer = transfer
        }
    }

    private func transfer(of key: String) -> (name: String, transfer: Transfer)? {
        if let row = catalog.first(where: { $0.id == key }) { return (row.model.displayName, row.transfer) }
        return added.first(where: { $0.key == key }).map { ($0.key, $0.transfer) }
    }

    private func setCheck(_ installedId: String, _ check: Check) {
        guard let index = installed.firstIndex(where: { $0.id == installedId }) else { return }
        installed[index].check = check
    }

    /// The download stream ended without installing: it was paused.
    private func transferEnded(_ key: String) {
        guard let (name, transfer) = transfer(of: key) else { return }
        let done: UInt64
        switch transfer {
        case .downloading(let bytes, _): done = bytes
        // The hub install's files resume from the store's cache.
        case .preparing: done = 0
        default: return
        }
        transfers[key] = nil
        setTransfer(key, .paused(done: done))
        if pausedByPerson.contains(key) { announcements.say("\(name) paused.") }
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
