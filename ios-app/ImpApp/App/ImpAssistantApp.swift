import ImpAppLogic
import SwiftUI

/// Imp: point the camera, ask, hear the answer, computed on this phone.
@main
struct ImpAssistantApp: App {
    @State private var phone: PhoneEnvironment
    @State private var app: AppModel
    @Environment(\.scenePhase) private var scenePhase

    init() {
        let phone = PhoneEnvironment()
        _phone = State(initialValue: phone)
        _app = State(initialValue: AppModel(environment: phone.environment))
    }

    var body: some Scene {
        WindowGroup {
            RootView(app: app, camera: phone.camera)
                .task { app.launch() }
        }
        .onChange(of: scenePhase) { _, phase in
            switch phase {
            case .active: Task { await app.becameActive() }
            case .background: app.enteredBackground()
            default: break
            }
        }
    }
}
