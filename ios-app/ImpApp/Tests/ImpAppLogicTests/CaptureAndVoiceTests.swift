import Foundation
import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

@MainActor
final class CaptureViewModelTests: XCTestCase, @unchecked Sendable {
    func capture(_ rig: Rig) -> (CaptureViewModel, () -> [(Picture, PictureSource)]) {
        let vm = CaptureViewModel(camera: rig.camera, preparer: PicturePreparer(decoder: rig.decoder),
                                  haptics: rig.haptics, settings: { [storage = rig.storage] in storage.load()! })
        var pictures: [(Picture, PictureSource)] = []
        vm.onPicture = { pictures.append(($0, $1)) }
        return (vm, { pictures })
    }

    func testTakesAPictureAndHandsItOnAtOnce() async {
        let rig = Rig()
        let (vm, handed) = capture(rig)
        XCTAssertEqual(vm.state, .idle)
        await vm.appeared()
        XCTAssertEqual(vm.state, .live)
        XCTAssertTrue(rig.camera.isRunning)
        XCTAssertTrue(vm.control(.shutter).isEnabled)
        await vm.takePicture()
        XCTAssertEqual(rig.camera.picturesTaken, 1)
        XCTAssertEqual(handed().count, 1)
        XCTAssertEqual(handed().first?.1, .camera)
        XCTAssertEqual(rig.haptics.events, [.pictureTaken])
        XCTAssertEqual(vm.state, .live)
        vm.disappeared()
        XCTAssertFalse(rig.camera.isRunning)
        XCTAssertEqual(vm.state, .idle)
    }

    func testAsksForTheCameraThenStarts() async {
        let rig = Rig()
        rig.camera.access = .notDetermined
        let (vm, _) = capture(rig)
        await vm.appeared()
        XCTAssertEqual(vm.state, .needsAccess)
        XCTAssertNotNil(vm.explanation)
        XCTAssertEqual(vm.control(.allowCamera).label, "Allow camera")
        await vm.allowCamera()
        XCTAssertEqual(vm.state, .live)
    }

    func testPermissionDeniedExplainsAndOffersSettingsAndTheLibrary() async {
        let rig = Rig()
        rig.camera.access = .notDetermined
        rig.camera.grantsAccess = false
        let (vm, handed) = capture(rig)
        await vm.appeared()
        await vm.allowCamera()
        XCTAssertEqual(vm.state, .denied)
        XCTAssertEqual(vm.problem, .cameraDenied)
        XCTAssertEqual(vm.problem?.recovery, .openSystemSettings)
        XCTAssertTrue(vm.controls.contains { $0.id == .openSystemSettings })
        XCTAssertFalse(vm.controls.contains { $0.id == .shutter })
        // The library still works.
        rig.decoder.sizes.mutate { $0[Data([0xFF, 0xD8, 0xFF, 1])] = (1200, 900) }
        await vm.picked(FakePhoto(Data([0xFF, 0xD8, 0xFF, 1])))
        XCTAssertEqual(handed().first?.1, .library)
        XCTAssertEqual(vm.state, .denied)

        let again = Rig()
        again.camera.access = .restricted
        let (restricted, _) = capture(again)
        await restricted.appeared()
        XCTAssertEqual(restricted.state, .denied)
    }

    func testNoCameraAndACameraThatFailsToStart() async {
        let rig = Rig()
        rig.camera.isAvailable = false
        let (vm, _) = capture(rig)
        await vm.appeared()
        XCTAssertEqual(vm.state, .unavailable)
        XCTAssertEqual(vm.problem, .cameraUnavailable)
        XCTAssertTrue(vm.control(.chooseFromLibrary).isEnabled)

        let busy = Rig()
        busy.camera.startError = Problem.cameraUnavailable
        let (failing, _) = capture(busy)
        await failing.appeared()
        XCTAssertEqual(failing.problem?.kind, .cameraUnavailable)
        XCTAssertEqual(failing.problem?.recovery, .tryAgain)
        busy.camera.startError = nil
        await failing.retry()
        XCTAssertEqual(failing.state, .live)
    }

    func testACaptureErrorIsShown() async {
        let rig = Rig()
        rig.camera.captureError = Problem(.internalError("The photo output failed."), while: .encodingPicture)
        let (vm, handed) = capture(rig)
        await vm.appeared()
        await vm.takePicture()
        XCTAssertEqual(vm.problem?.kind, .failed)
        XCTAssertTrue(handed().isEmpty)
    }

    func testAnUnreadablePhotoIsShown() async {
        let rig = Rig()
        let (vm, handed) = capture(rig)
        await vm.appeared()
        await vm.picked(FakePhoto(Data("not a picture".utf8)))
        XCTAssertEqual(vm.problem?.kind, .pictureUnusable)
        await vm.picked(FakePhoto(nil))
        XCTAssertEqual(vm.problem?.kind, .pictureUnusable)
        XCTAssertTrue(handed().isEmpty)
    }

    func testLeavingThePickerWithoutAPhotoIsNoProblem() async {
        let rig = Rig(voiceOver: true)
        let (vm, handed) = capture(rig)
        await vm.appeared()
        await vm.picked(CancelledPhoto())
        XCTAssertEqual(vm.state, .live)
        XCTAssertNil(vm.problem)
        XCTAssertTrue(handed().isEmpty)
        XCTAssertTrue(rig.announcer.messages.isEmpty)
        XCTAssertTrue(rig.haptics.events.isEmpty)
    }

    func testAFailureAfterATapIsFeltAndWithVoiceOverAnnouncedAtOnce() async {
        let rig = Rig(voiceOver: true)
        rig.camera.captureError = Problem(.internalError("The photo output failed."), while: .encodingPicture)
        let vm = CaptureViewModel(camera: rig.camera, preparer: PicturePreparer(decoder: rig.decoder),
                                  haptics: rig.haptics, announcements: rig.announcements,
                                  settings: { [storage = rig.storage] in storage.load()! })
        await vm.appeared()
        XCTAssertTrue(rig.announcer.messages.isEmpty, "a working camera says nothing")
        await vm.takePicture()
        XCTAssertEqual(rig.haptics.events, [.failure])
        XCTAssertEqual(rig.announcer.texts, [vm.problem?.announcement])
        XCTAssertEqual(rig.announcer.messages.last?.interrupting, true)

        await vm.picked(FakePhoto(Data("not a picture".utf8)))
        XCTAssertEqual(vm.problem?.kind, .pictureUnusable)
        XCTAssertEqual(rig.announcer.texts.last, vm.problem?.announcement)

        // Refusing the camera in the system's dialog: told how to allow it later.
        let refusing = Rig(voiceOver: true)
        refusing.camera.access = .notDetermined
        refusing.camera.grantsAccess = false
        let asking = CaptureViewModel(camera: refusing.camera, preparer: PicturePreparer(decoder: refusing.decoder),
                                      haptics: refusing.haptics, announcements: refusing.announcements,
                                      settings: { AppSettings() })
        await asking.appeared()
        XCTAssertTrue(refusing.announcer.messages.isEmpty, "arriving: the screen explains, nothing interrupts")
        await asking.allowCamera()
        XCTAssertEqual(refusing.announcer.texts, [Problem.cameraDenied.announcement])

        // Without VoiceOver nothing is announced (the words are on screen).
        let sighted = Rig()
        sighted.camera.captureError = rig.camera.captureError
        let quiet = CaptureViewModel(camera: sighted.camera, preparer: PicturePreparer(decoder: sighted.decoder),
                                     haptics: sighted.haptics, announcements: sighted.announcements,
                                     settings: { AppSettings() })
        await quiet.appeared()
        await quiet.takePicture()
        XCTAssertNotNil(quiet.problem)
        XCTAssertTrue(sighted.announcer.messages.isEmpty)
        XCTAssertEqual(sighted.haptics.events, [.failure])
    }
}

/// The photo picker closed before the photo was loaded.
private struct CancelledPhoto: PhotoLibraryItem {
    func loadData() async throws -> Data { throw CancellationError() }
}

@MainActor
final class VoiceQuestionTests: XCTestCase, @unchecked Sendable {
    func testListensAndAsksTheFinalTranscript() async {
        let recognizer = FakeRecognizer()
        let voice = VoiceQuestion(recognizer: recognizer)
        var asked: [String] = []
        var silenced = 0
        voice.onQuestion = { asked.append($0) }
        voice.beforeListening = { silenced += 1 }
        XCTAssertTrue(voice.control.hint.contains("recognised on this phone"))
        await voice.toggle()
        XCTAssertEqual(voice.state, .listening(transcript: ""))
        XCTAssertEqual(silenced, 1)
        recognizer.hear("is the")
        await eventually { voice.transcript == "is the" }
        await voice.toggle()  // the person taps again: stop and ask
        XCTAssertEqual(voice.state, .finishing(transcript: "is the"))
        XCTAssertEqual(recognizer.finished, 1)
        XCTAssertFalse(voice.control.isEnabled)
        recognizer.hear("is the door open", final: true)
        await eventually { voice.state == .idle }
        XCTAssertEqual(asked, ["is the door open"])
    }

    func testPermissionAndAvailabilityProblems() async {
        let recognizer = FakeRecognizer()
        let voice = VoiceQuestion(recognizer: recognizer)
        recognizer.access = .denied
        await voice.toggle()
        XCTAssertEqual(voice.state, .failed(.microphoneDenied))
        XCTAssertEqual(Problem.microphoneDenied.recovery, .openSystemSettings)
        recognizer.access = .granted
        recognizer.isAvailable = false
        await voice.toggle()
        XCTAssertEqual(voice.state, .failed(.voiceUnavailable))
        recognizer.isAvailable = true
        recognizer.recognizesOnDevice = false
        XCTAssertTrue(voice.control.hint.contains("sent to Apple"), "the person is told the audio leaves the phone")
        await voice.toggle()
        XCTAssertEqual(voice.state, .listening(transcript: ""))
    }

    func testNothingHeardIsAProblemAndAnEmptyTranscriptAsksNothing() async {
        let recognizer = FakeRecognizer()
        let voice = VoiceQuestion(recognizer: recognizer)
        var asked: [String] = []
        voice.onQuestion = { asked.append($0) }
        await voice.toggle()
        recognizer.fail()
        await eventually { voice.state != .listening(transcript: "") }
        if case .failed(let problem) = voice.state {
            XCTAssertEqual(problem.title, "Nothing was heard")
        } else {
            XCTFail("\(voice.state)")
        }
        await voice.toggle()
        recognizer.hear("   ", final: true)
        await eventually { voice.state == .idle }
        XCTAssertEqual(asked, [])
    }

    func testCancelDropsTheTranscript() async {
        let recognizer = FakeRecognizer()
        let voice = VoiceQuestion(recognizer: recognizer)
        var asked: [String] = []
        voice.onQuestion = { asked.append($0) }
        await voice.toggle()
        recognizer.hear("never mind")
        voice.cancel()
        XCTAssertEqual(voice.state, .idle)
        XCTAssertEqual(recognizer.cancelled, 1)
        await settle()
        XCTAssertEqual(asked, [])
    }
}
