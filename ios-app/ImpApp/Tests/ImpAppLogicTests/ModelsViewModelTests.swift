import Foundation
import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

@MainActor
final class ModelsViewModelTests: XCTestCase, @unchecked Sendable {
    var chosen: String?

    func models(_ rig: Rig) -> (ModelsViewModel, () -> [String]) {
        let vm = ModelsViewModel(library: rig.library, device: rig.device, network: rig.network,
                                 announcements: rig.announcements, chosenId: { [unowned self] in self.chosen },
                                 wifiOnly: { rig.settings.wifiOnly })
        var used: [String] = []
        vm.onChoose = { [unowned self] model in
            used.append(model.id)
            self.chosen = model.id
        }
        return (vm, { used })
    }

    func testFirstRunListsTheCatalogueWithFitVerdicts() async {
        let rig = Rig(installed: [], chosen: nil, catalog: [.fake(), .fake(id: "imp-4b", name: "Imp 4B", downloadable: false)])
        rig.library.fits.mutate {
            $0 = [ModelFit(catalogId: "imp-3b", installed: false, verdict: .tight, memoryNeededBytes: 2_750_000_000,
                           storageNeededBytes: 2_400_000_000, reason: "2.8 GB of 8 GB."),
                  ModelFit(catalogId: "imp-4b", installed: false, verdict: .doesNotFit, memoryNeededBytes: 9_000_000_000,
                           storageNeededBytes: 3_000_000_000, reason: "Needs 9 GB.")]
        }
        let (vm, _) = models(rig)
        XCTAssertEqual(vm.state, .loading)
        vm.refresh()
        XCTAssertEqual(vm.state, .loaded)
        XCTAssertTrue(vm.isFirstRun)
        // Both can be had: one by its published file, one made from the hub.
        XCTAssertEqual(vm.catalog.map(\.transfer), [.available, .available])
        XCTAssertEqual(vm.catalog.first?.fit?.verdict, .tight)
        let summary = vm.summary(of: vm.catalog[0])
        XCTAssertTrue(summary.contains("2.4 gigabytes download"), summary)
        XCTAssertTrue(summary.contains("Tight on this phone"), summary)
        XCTAssertTrue(vm.summary(of: vm.catalog[1]).contains("Does not fit this phone"))
        XCTAssertTrue(vm.controls.contains { $0.id == .download(catalogId: "imp-3b") })
        XCTAssertTrue(vm.controls.contains { $0.id == .download(catalogId: "imp-4b") })
        XCTAssertTrue(vm.summary(of: vm.catalog[1]).contains("6.4 gigabytes download"), vm.summary(of: vm.catalog[1]))
        XCTAssertTrue(vm.controls.contains { $0.id == .importFile })
    }

    func testDownloadsWithProgressThenInstallsAndChoosesTheModel() async {
        let rig = Rig(voiceOver: true, installed: [], chosen: nil)
        let (vm, used) = models(rig)
        vm.refresh()
        vm.download("imp-3b")
        XCTAssertEqual(vm.catalog[0].transfer, .downloading(done: 0, total: 2_400_000_000))
        let transfer = rig.library.lastTransfer
        XCTAssertEqual(transfer?.source, "download:imp-3b")
        transfer?.progress(600_000_000, of: 2_400_000_000)
        await eventually { vm.catalog[0].transfer == .downloading(done: 600_000_000, total: 2_400_000_000) }
        XCTAssertTrue(vm.transferText(vm.catalog[0].transfer).contains("25 percent"))
        XCTAssertTrue(rig.announcer.texts.contains("Imp 3B: 25 percent downloaded."))
        XCTAssertEqual(vm.control(.pause(catalogId: "imp-3b")).label, "Pause Imp 3B")
        rig.library.models.mutate { $0 = [.fake()] }
        transfer?.finish(.installed(.fake()))
        await eventually { vm.catalog[0].transfer == .installed }
        XCTAssertEqual(used(), ["imp-3b"], "the first model is chosen by itself")
        XCTAssertEqual(vm.installed.map(\.id), ["imp-3b"])
        XCTAssertTrue(vm.installed[0].isChosen)
        XCTAssertTrue(rig.announcer.texts.contains("Imp 3B downloaded and checked."))
        XCTAssertFalse(vm.isFirstRun)
    }

    func testPauseKeepsThePartialDownloadAndResumeGoesOn() async {
        let rig = Rig(voiceOver: true, installed: [], chosen: nil)
        let (vm, _) = models(rig)
        vm.refresh()
        vm.download("imp-3b")
        rig.library.lastTransfer?.progress(1_000_000_000, of: 2_400_000_000)
        await eventually { vm.catalog[0].transfer == .downloading(done: 1_000_000_000, total: 2_400_000_000) }
        vm.pause("imp-3b")
        XCTAssertEqual(vm.catalog[0].transfer, .paused(done: 1_000_000_000))
        await eventually("the stream is cancelled") { rig.library.lastTransfer?.cancelled.current == true }
        XCTAssertTrue(rig.announcer.texts.contains("Imp 3B paused."))
        XCTAssertTrue(vm.controls.contains { $0.id == .resume(catalogId: "imp-3b") })
        vm.resume("imp-3b")
        XCTAssertEqual(vm.catalog[0].transfer, .downloading(done: 1_000_000_000, total: 2_400_000_000))
        XCTAssertEqual(rig.library.transfers.current.count, 2)
    }

    func testADownloadLeftFromAnEarlierRunShowsAsPausedAndCanBeDiscarded() async {
        let rig = Rig(installed: [], chosen: nil)
        rig.library.pending.mutate { $0 = [PendingDownload(id: "imp-3b", doneBytes: 700_000_000)] }
        let (vm, _) = models(rig)
        vm.refresh()
        XCTAssertEqual(vm.catalog[0].transfer, .paused(done: 700_000_000))
        vm.discardDownload("imp-3b")
        XCTAssertEqual(rig.library.discarded.current, ["imp-3b"])
        XCTAssertEqual(vm.catalog[0].transfer, .available)
    }

    func testDownloadErrorsSayWhatToDo() async {
        let cases: [(ImpError, Problem.Kind)] = [
            (.noSpace("2.4 GB needed, 1 GB free."), .noSpace),
            (.networkFailed("The connection was lost."), .networkFailed),
            (.verificationFailed("SHA-256 differs."), .verificationFailed),
            (.notDownloadable("It is made on this device from its authors' version."), .notDownloadable),
        ]
        for (error, kind) in cases {
            let rig = Rig(voiceOver: true, installed: [], chosen: nil)
            let (vm, _) = models(rig)
            vm.refresh()
            vm.download("imp-3b")
            rig.library.lastTransfer?.fail(error)
            await eventually("\(error)") {
                if case .failed = vm.catalog[0].transfer { true } else { false }
            }
            guard case .failed(let problem) = vm.catalog[0].transfer else { continue }
            XCTAssertEqual(problem.kind, kind)
            // Said when it helps (the space needed), else kept as details.
            XCTAssertTrue(problem.message.contains(error.message) || problem.details == error.message,
                          "\(problem.message)")
            XCTAssertEqual(rig.announcer.messages.last?.interrupting, true)
            vm.refresh()
            guard case .failed = vm.catalog[0].transfer else { return XCTFail("a refresh hid the error") }
        }
    }

    /// An entry with no published file is made on the phone from the hub:
    /// VoiceOver hears each stage and every tenth of the whole, not each
    /// progress event, then that it is ready; the screen stays awake meanwhile;
    /// the new model answers.
    func testAnEntryWithNoPublishedFileIsMadeFromTheHub() async {
        let rig = Rig(voiceOver: true, installed: [], chosen: nil, catalog: [.fake(downloadable: false)])
        let (vm, used) = models(rig)
        vm.refresh()
        vm.download("imp-3b")
        XCTAssertEqual(rig.library.networkCalls.current, 1)
        XCTAssertTrue(vm.isBusy)
        guard let install = rig.library.lastInstall else { return XCTFail("no install started") }
        XCTAssertEqual(install.catalogId, "imp-3b")
        for i in 0...40 { install.progress(.downloading, 0.75 * Double(i) / 40) }
        for i in 0...10 { install.progress(.converting, 0.75 + 0.22 * Double(i) / 10) }
        install.progress(.verifying, 1.0)
        await eventually { vm.catalog[0].transfer == .preparing(stage: .verifying, fraction: 1.0) }
        let heard = rig.announcer.texts
        XCTAssertEqual(heard.filter { $0.hasPrefix("Downloading Imp 3B:") }.count, 8, "\(heard)")
        XCTAssertEqual(heard.filter { $0.hasPrefix("Preparing Imp 3B on this phone:") }.count, 3, "\(heard)")
        let model = InstalledModel.fake()
        rig.library.models.mutate { $0 = [model] }
        install.finish(model)
        await eventually { vm.catalog[0].transfer == .installed }
        XCTAssertEqual(rig.announcer.texts.last, "Imp 3B will answer your questions.")
        XCTAssertTrue(rig.announcer.texts.contains("Imp 3B is ready. You can take a picture and ask."))
        XCTAssertEqual(used(), ["imp-3b"])
        XCTAssertFalse(vm.isBusy)
    }

    func testPausingAHubInstallStopsItAndResumeStartsItAgain() async {
        let rig = Rig(installed: [], chosen: nil, catalog: [.fake(downloadable: false)])
        let (vm, _) = models(rig)
        vm.refresh()
        vm.download("imp-3b")
        rig.library.lastInstall?.progress(.downloading, 0.3)
        await eventually { vm.catalog[0].transfer == .preparing(stage: .downloading, fraction: 0.3) }
        vm.pause("imp-3b")
        XCTAssertEqual(vm.catalog[0].transfer, .paused(done: 0))
        await eventually { rig.library.lastInstall?.cancelled.current == true }
        vm.resume("imp-3b")
        XCTAssertEqual(rig.library.installs.current.count, 2)
    }

    /// "Add a model": words that name no model keep the sheet open and say
    /// why (shown and spoken); a repository installs as its own row, with
    /// spoken progress, then is ready and answers; a catalogue model's
    /// repository goes through its own row.
    func testAModelIsAddedByAddressAndNonsenseIsExplained() async {
        let rig = Rig(voiceOver: true, installed: [], chosen: nil, catalog: [.fake(downloadable: false)])
        let (vm, used) = models(rig)
        vm.refresh()
        vm.openAdd()
        XCTAssertFalse(vm.control(.confirmAdd).isEnabled)
        vm.editAdd(text: "a cat", sha256: "")
        vm.confirmAdd()
        let why = vm.addForm?.error ?? ""
        XCTAssertTrue(why.contains("neither"), why)
        XCTAssertEqual(rig.announcer.texts.last, why)
        XCTAssertEqual(vm.control(.addressField).value, why)
        XCTAssertEqual(rig.library.networkCalls.current, 0)

        vm.editAdd(text: "someone/imp-custom", sha256: "")
        XCTAssertNil(vm.addForm?.error)
        vm.confirmAdd()
        XCTAssertNil(vm.addForm)
        XCTAssertEqual(rig.library.addresses.current, [.hubRepo(repo: "someone/imp-custom", revision: "main")])
        XCTAssertEqual(vm.added.map(\.key), ["someone/imp-custom"])
        XCTAssertTrue(vm.isBusy)
        rig.library.lastInstall?.progress(.converting, 0.8)
        await eventually { vm.added.first?.transfer == .preparing(stage: .converting, fraction: 0.8) }
        XCTAssertTrue(rig.announcer.texts.contains("Preparing someone/imp-custom on this phone: 80 percent"))
        XCTAssertTrue(vm.controls.contains { $0.id == .pauseAdded(key: "someone/imp-custom") })
        let model = InstalledModel.fake(id: "imp-custom-q4_k", catalogId: nil)
        rig.library.models.mutate { $0 = [model] }
        rig.library.lastInstall?.finish(model)
        await eventually { vm.added.isEmpty }
        XCTAssertTrue(rig.announcer.texts.contains("someone/imp-custom is ready. You can take a picture and ask."))
        XCTAssertEqual(used(), ["imp-custom-q4_k"])
        XCTAssertFalse(vm.isBusy)

        vm.openAdd()
        vm.editAdd(text: "MILVLG/imp-3b", sha256: "")
        vm.confirmAdd()
        XCTAssertEqual(vm.catalog[0].transfer, .preparing(stage: .downloading, fraction: 0))
        XCTAssertEqual(rig.library.lastInstall?.catalogId, "imp-3b")
        XCTAssertTrue(vm.added.isEmpty)
    }

    /// A failed added link says why; Resume tries again, Remove drops the row;
    /// leaving the app pauses it and coming back resumes it.
    func testAnAddedLinkThatFailsCanBeResumedOrRemoved() async {
        let rig = Rig(voiceOver: true, installed: [], chosen: nil)
        let (vm, _) = models(rig)
        vm.refresh()
        vm.openAdd()
        let link = "https://example.org/files/imp-tiny.gguf"
        vm.editAdd(text: link, sha256: String(repeating: "ab", count: 32))
        vm.confirmAdd()
        XCTAssertEqual(rig.library.addresses.current,
                       [.ggufUrl(url: link, sha256: String(repeating: "ab", count: 32))])
        rig.library.lastInstall?.fail(.networkFailed("The download couldn't get through."))
        await eventually { if case .failed = vm.added.first?.transfer { true } else { false } }
        XCTAssertEqual(rig.announcer.texts.last?.contains("The download stopped"), true)
        XCTAssertEqual(rig.announcer.texts.last?.contains("couldn't get through"), false, "the core's words are details")
        XCTAssertTrue(vm.controls.contains { $0.id == .resumeAdded(key: "imp-tiny.gguf") })
        vm.resumeAdded("imp-tiny.gguf")
        XCTAssertEqual(rig.library.addresses.current.count, 2)
        vm.suspendTransfers()
        XCTAssertEqual(vm.added.first?.transfer, .paused(done: 0))
        vm.resumeSuspendedTransfers()
        XCTAssertEqual(rig.library.addresses.current.count, 3)
        vm.dismissAdded("imp-tiny.gguf")
        XCTAssertTrue(vm.added.isEmpty)
        await eventually { rig.library.lastInstall?.cancelled.current == true }
    }

    /// Off Wi-Fi, with the default setting, a download asks first (with the
    /// size, spoken); waiting starts nothing; allowing starts it and is not
    /// asked again; with the setting off nothing is asked.
    func testOffWifiADownloadAsksBeforeUsingMobileData() async {
        let rig = Rig(voiceOver: true, installed: [], chosen: nil, catalog: [.fake(downloadable: false)])
        rig.network.expensive.mutate { $0 = true }
        let (vm, _) = models(rig)
        vm.refresh()
        vm.download("imp-3b")
        XCTAssertEqual(vm.askingMobileData, .init(name: "Imp 3B", bytes: 6_400_000_000))
        XCTAssertEqual(rig.library.networkCalls.current, 0)
        XCTAssertTrue(rig.announcer.texts.last?.contains("use mobile data?") == true)
        XCTAssertTrue(vm.control(.allowMobileData).hint.contains("6.4 gigabytes"), vm.control(.allowMobileData).hint)
        vm.waitForWifi()
        XCTAssertNil(vm.askingMobileData)
        XCTAssertEqual(rig.library.networkCalls.current, 0)

        vm.download("imp-3b")
        vm.allowMobileData()
        XCTAssertNil(vm.askingMobileData)
        XCTAssertEqual(rig.library.networkCalls.current, 1)
        vm.pause("imp-3b")
        vm.resume("imp-3b")
        XCTAssertNil(vm.askingMobileData, "allowed once for this model")
        XCTAssertEqual(rig.library.networkCalls.current, 2)

        var settings = rig.settings
        settings.wifiOnly = false
        rig.storage.save(settings)
        vm.openAdd()
        vm.editAdd(text: "someone/imp-custom", sha256: "")
        vm.confirmAdd()
        XCTAssertNil(vm.askingMobileData)
        XCTAssertEqual(rig.library.networkCalls.current, 3)
    }

    func testBackgroundSuspendsDownloadsAndForegroundResumesThem() async {
        let rig = Rig(installed: [], chosen: nil)
        let (vm, _) = models(rig)
        vm.refresh()
        vm.download("imp-3b")
        vm.suspendTransfers()
        XCTAssertEqual(vm.catalog[0].transfer, .paused(done: 0))
        await eventually { rig.library.lastTransfer?.cancelled.current == true }
        vm.resumeSuspendedTransfers()
        XCTAssertEqual(rig.library.transfers.current.count, 2)
        vm.resumeSuspendedTransfers()
        XCTAssertEqual(rig.library.transfers.current.count, 2, "resumed once")
    }

    func testImportsAPickedFileWhileItIsAccessible() async {
        let rig = Rig(installed: [], chosen: nil)
        let (vm, used) = models(rig)
        vm.refresh()
        let file = FakePickedFile(path: "/Files/imp-3b-q4k.gguf")
        vm.importFile(file)
        XCTAssertEqual(vm.importing, .copying(done: 0, total: nil))
        XCTAssertEqual(file.accesses.current, 1)
        XCTAssertTrue(vm.controls.contains { $0.id == .cancelImport })
        let transfer = rig.library.lastTransfer
        XCTAssertEqual(transfer?.source, "import:/Files/imp-3b-q4k.gguf")
        transfer?.progress(10, of: 100)
        await eventually { vm.importing == .copying(done: 10, total: 100) }
        XCTAssertEqual(file.releases.current, 0, "access lasts until the copy ends")
        let imported = InstalledModel.fake(id: "imp-3b-q4k", catalogId: nil)
        rig.library.models.mutate { $0 = [imported] }
        transfer?.finish(.installed(imported))
        await eventually { vm.importing == .idle }
        await eventually { file.releases.current == 1 }
        XCTAssertEqual(used(), ["imp-3b-q4k"])
        XCTAssertEqual(vm.installed.first?.title, "imp-3b-q4k")
    }

    func testAFailedImportIsShown() async {
        let rig = Rig(installed: [], chosen: nil)
        let (vm, _) = models(rig)
        vm.refresh()
        vm.importFile(FakePickedFile(path: "/Files/notes.txt"))
        rig.library.lastTransfer?.fail(.modelUnusable("Not a GGUF file."))
        await eventually { if case .failed = vm.importing { true } else { false } }
        guard case .failed(let problem) = vm.importing else { return }
        XCTAssertEqual(problem.kind, .modelDamaged)
    }

    func testVerifiesAModel() async {
        let rig = Rig(voiceOver: true)
        let (vm, _) = models(rig)
        vm.refresh()
        vm.verify("imp-3b")
        XCTAssertEqual(vm.installed[0].check, .verifying(fraction: nil))
        XCTAssertFalse(vm.control(.verify(installedId: "imp-3b")).isEnabled)
        rig.library.lastTransfer?.progress(50, of: 100)
        await eventually { vm.installed[0].check == .verifying(fraction: 0.5) }
        rig.library.lastTransfer?.finish(.verified(id: "imp-3b", sha256: "ab", expected: "ab", ok: true))
        await eventually { vm.installed[0].check == .passed }
        XCTAssertEqual(rig.announcer.texts.last, "Checked: the file matches its checksum.")

        vm.verify("imp-3b")
        rig.library.lastTransfer?.finish(.verified(id: "imp-3b", sha256: "cd", expected: "ab", ok: false))
        await eventually { if case .failed = vm.installed[0].check { true } else { false } }
        if case .failed(let problem) = vm.installed[0].check { XCTAssertEqual(problem.kind, .verificationFailed) }
    }

    func testADamagedModelCannotBeChosenAndDeletingAsksFirst() async {
        let rig = Rig(installed: [.fake(), .fake(id: "broken", catalogId: nil, problem: "The file is truncated.")])
        chosen = "imp-3b"
        var removed: [String] = []
        let (vm, used) = models(rig)
        vm.onRemoved = { removed.append($0) }
        vm.refresh()
        XCTAssertFalse(vm.controls.contains { $0.id == .useModel(installedId: "broken") })
        vm.use("broken")
        XCTAssertEqual(used(), [])
        XCTAssertEqual(vm.control(.useModel(installedId: "imp-3b")).value, "In use")
        vm.requestDelete("broken")
        XCTAssertEqual(vm.pendingDelete, "broken")
        XCTAssertEqual(vm.control(.confirmDelete).label, "Delete")
        vm.cancelDelete()
        XCTAssertTrue(rig.library.removed.current.isEmpty)
        vm.requestDelete("broken")
        vm.confirmDelete()
        XCTAssertEqual(rig.library.removed.current, ["broken"])
        XCTAssertEqual(removed, ["broken"])
        XCTAssertEqual(vm.installed.map(\.id), ["imp-3b"])
    }

    func testAStoreThatCannotBeReadIsAProblem() async {
        let rig = Rig()
        rig.library.failure.mutate { $0 = .internalError("Permission denied.") }
        let (vm, _) = models(rig)
        vm.refresh()
        guard case .failed(let problem) = vm.state else { return XCTFail() }
        XCTAssertTrue(problem.details?.contains("Permission denied.") ?? false)
    }
}
