import AVFoundation
import ImpAppLogic
import ImpKit

/// The back camera: AVCaptureSession with an AVCapturePhotoOutput.
///
/// Resolution: the core resizes every picture exactly to the model's 196 or 384
/// px (Pillow's bicubic, as the reference does), so the 12 or 48 MP a phone can
/// capture buys nothing the model sees; it costs a larger JPEG to decode (a
/// 12 MP frame is 48 MB of pixels) and a resize four to sixteen times the work,
/// on the way to the first word of the answer. The camera runs the smallest 4:3
/// format at least 1920 px wide: five times the model's largest input, enough
/// for the resize's antialiasing, for the kept original a reopened conversation
/// encodes again, and for the screen.
@MainActor
final class CameraController: Camera {
    /// The preview layer shows this session.
    let session: AVCaptureSession
    private let queue: SessionQueue
    private let output = AVCapturePhotoOutput()
    private var configured = false
    /// Delegates of captures in flight (AVCapturePhotoOutput holds them weakly).
    private var inFlight: [Int64: PhotoCapture] = [:]

    static let minimumWidth: Int32 = 1920

    init() {
        let session = AVCaptureSession()
        self.session = session
        queue = SessionQueue(session)
    }

    var isAvailable: Bool { Self.backCamera() != nil }

    var access: CameraAccess {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: .granted
        case .denied: .denied
        case .restricted: .restricted
        case .notDetermined: .notDetermined
        @unknown default: .denied
        }
    }

    func requestAccess() async -> Bool {
        await AVCaptureDevice.requestAccess(for: .video)
    }

    func start() async throws {
        if !configured {
            try configure()
            configured = true
        }
        await queue.start()
        guard session.isRunning else {
            throw Problem(.cameraUnavailable, title: "The camera could not start",
                          message: "Another app may be using it. Close it and come back, or choose a photo instead.",
                          recovery: .tryAgain)
        }
    }

    func stop() {
        queue.stop()
    }

    func takePicture() async throws -> Picture {
        // JPEG, not HEIC: the core decodes JPEG itself and applies its EXIF
        // orientation, so the photo goes to it untouched.
        let settings = AVCapturePhotoSettings(format: [AVVideoCodecKey: AVVideoCodecType.jpeg])
        settings.maxPhotoDimensions = output.maxPhotoDimensions
        settings.photoQualityPrioritization = .balanced
        let id = settings.uniqueID
        let data: Data = try await withCheckedThrowingContinuation { continuation in
            let capture = PhotoCapture { [weak self] result in
                Task { @MainActor in self?.inFlight[id] = nil }
                continuation.resume(with: result)
            }
            inFlight[id] = capture
            output.capturePhoto(with: settings, delegate: capture)
        }
        return .encoded(data)
    }

    private func configure() throws {
        guard let camera = Self.backCamera() else {
            throw Problem.cameraUnavailable
        }
        let input = try AVCaptureDeviceInput(device: camera)
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        guard session.canAddInput(input), session.canAddOutput(output) else {
            throw Problem.cameraUnavailable
        }
        session.addInput(input)
        session.addOutput(output)
        if let format = Self.smallestFormat(of: camera) {
            session.sessionPreset = .inputPriority
            try camera.lockForConfiguration()
            camera.activeFormat = format
            camera.unlockForConfiguration()
            if let dimensions = format.supportedMaxPhotoDimensions
                .filter({ $0.width >= Self.minimumWidth })
                .min(by: { $0.width * $0.height < $1.width * $1.height })
            {
                output.maxPhotoDimensions = dimensions
            }
        } else {
            session.sessionPreset = .photo
        }
        output.maxPhotoQualityPrioritization = .balanced
    }

    private static func backCamera() -> AVCaptureDevice? {
        AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back)
    }

    /// The smallest 4:3 format with photos at least `minimumWidth` wide.
    private static func smallestFormat(of camera: AVCaptureDevice) -> AVCaptureDevice.Format? {
        camera.formats
            .filter { format in
                let d = CMVideoFormatDescriptionGetDimensions(format.formatDescription)
                return d.width >= minimumWidth && d.width * 3 == d.height * 4
                    && format.supportedMaxPhotoDimensions.contains { $0.width >= minimumWidth }
            }
            .min { a, b in
                CMVideoFormatDescriptionGetDimensions(a.formatDescription).width
                    < CMVideoFormatDescriptionGetDimensions(b.formatDescription).width
            }
    }
}

/// Starts and stops the session off the main thread (startRunning blocks for
/// a noticeable time). AVCaptureSession may be started and stopped from any
/// one serial queue; it is only touched on `queue` here.
private final class SessionQueue: @unchecked Sendable {
    private let session: AVCaptureSession
    private let queue = DispatchQueue(label: "app.imp.camera")

    init(_ session: AVCaptureSession) { self.session = session }

    func start() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async {
                if !self.session.isRunning { self.session.startRunning() }
                done.resume()
            }
        }
    }

    func stop() {
        queue.async {
            if self.session.isRunning { self.session.stopRunning() }
        }
    }
}

/// One photo's delegate; reports the JPEG bytes once.
private final class PhotoCapture: NSObject, AVCapturePhotoCaptureDelegate, @unchecked Sendable {
    private let done: @Sendable (Result<Data, Error>) -> Void

    init(done: @escaping @Sendable (Result<Data, Error>) -> Void) {
        self.done = done
    }

    func photoOutput(_ output: AVCapturePhotoOutput, didFinishProcessingPhoto photo: AVCapturePhoto,
                     error: Error?) {
        if let error {
            done(.failure(Problem.pictureNotTaken(details: error.localizedDescription)))
        } else if let data = photo.fileDataRepresentation() {
            done(.success(data))
        } else {
            done(.failure(Problem.pictureNotTaken(details: "The camera returned no photo data.")))
        }
    }
}
