import ImpAppLogic
import PhotosUI
import SwiftUI

/// The first screen: the camera, a large shutter, the photo library. Built for
/// VoiceOver first: the shutter is the first control reached, the preview is
/// hidden, and taking the picture moves straight to the questions.
struct CaptureScreen: View {
    let app: AppModel
    let capture: CaptureViewModel
    let camera: CameraController
    @State private var pickedPhoto: PhotosPickerItem?
    /// VoiceOver lands on the shutter whenever the camera is ready.
    @AccessibilityFocusState private var shutterFocused: Bool
    @Environment(\.openURL) private var openURL

    var body: some View {
        VStack(spacing: 16) {
            viewfinder
            if let status = app.modelStatus {
                Text(status)
                    .font(.callout)
                    .foregroundStyle(.secondary)
                    .frame(maxWidth: .infinity, alignment: .leading)
            }
            if let problem = capture.problem {
                ProblemView(problem: problem, action: problemAction, perform: recover)
            }
            controls
        }
        .padding()
        .navigationTitle("Imp")
        .navigationBarTitleDisplayMode(.inline)
        .toolbar {
            ToolbarItemGroup(placement: .topBarTrailing) {
                ControlButton(control: capture.control(.openHistory), systemImage: "clock") {
                    app.path.append(.history)
                }
                ControlButton(control: capture.control(.openModels), systemImage: "shippingbox") {
                    app.models.refresh()
                    app.path.append(.models)
                }
                ControlButton(control: capture.control(.openSettings), systemImage: "gearshape") {
                    app.path.append(.settings)
                }
            }
        }
        // Magic Tap (two-finger double tap) takes the picture from anywhere.
        .accessibilityAction(.magicTap) {
            Task { await capture.takePicture() }
        }
        .onChange(of: capture.state) { _, state in
            if state == .live { shutterFocused = true }
        }
        .task { await capture.appeared() }
        .onDisappear { capture.disappeared() }
        .onChange(of: pickedPhoto) { _, item in
            guard let item else { return }
            pickedPhoto = nil
            Task { await capture.picked(PickedPhoto(item: item)) }
        }
    }

    @ViewBuilder private var viewfinder: some View {
        ZStack {
            RoundedRectangle(cornerRadius: 16).fill(.black)
            switch capture.state {
            case .live, .takingPicture:
                CameraPreview(session: camera.session)
                    .clipShape(RoundedRectangle(cornerRadius: 16))
            default:
                if let explanation = capture.explanation, capture.problem == nil {
                    Text(explanation)
                        .font(.title3)
                        .foregroundStyle(.white)
                        .multilineTextAlignment(.center)
                        .padding()
                }
            }
        }
        .frame(maxWidth: .infinity, maxHeight: .infinity)
        .accessibilityHidden(capture.explanation == nil || capture.problem != nil)
    }

    @ViewBuilder private var controls: some View {
        AdaptiveStack(spacing: 20) {
            ForEach(capture.controls.filter { [.shutter, .allowCamera].contains($0.id) }) { control in
                switch control.id {
                case .shutter:
                    Button {
                        Task { await capture.takePicture() }
                    } label: {
                        Image(systemName: "circle.inset.filled")
                            .resizable()
                            .frame(width: 88, height: 88)
                    }
                    .described(by: control)
                    .accessibilityFocused($shutterFocused)
                case .allowCamera:
                    ControlButton(control: control, systemImage: "camera") {
                        Task { await capture.allowCamera() }
                    }
                    .buttonStyle(.borderedProminent)
                    .controlSize(.large)
                default:
                    EmptyView()
                }
            }
            PhotosPicker(selection: $pickedPhoto, matching: .images, photoLibrary: .shared()) {
                Label(capture.control(.chooseFromLibrary).label, systemImage: "photo.on.rectangle")
                    .frame(minHeight: 44)
            }
            .described(by: capture.control(.chooseFromLibrary))
            .buttonStyle(.bordered)
            .controlSize(.large)
        }
    }

    private var problemAction: Control? {
        capture.controls.first { $0.id == .openSystemSettings || $0.id == .problemAction }
    }

    private func recover() {
        switch capture.problem?.recovery {
        case .openSystemSettings?:
            if let url = URL(string: UIApplication.openSettingsURLString) { openURL(url) }
        case .tryAgain?, .takeNewPicture?:
            Task { await capture.retry() }
        case let recovery?:
            app.recover(recovery)
        case nil:
            break
        }
    }
}
