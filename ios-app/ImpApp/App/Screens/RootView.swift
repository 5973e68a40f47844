import ImpAppLogic
import SwiftUI

/// The navigation: the camera (or, before any model is installed, the models
/// screen) at the root; conversations, history, settings, models and the
/// benchmark above it.
struct RootView: View {
    @Bindable var app: AppModel
    let camera: CameraController
    /// The open conversation, so it comes back if iOS ends the app in the background.
    @SceneStorage("openConversation") private var openConversation: String?

    var body: some View {
        NavigationStack(path: $app.path) {
            Group {
                if app.isFirstRun {
                    ModelsScreen(app: app, models: app.models, firstRun: true)
                } else {
                    CaptureScreen(app: app, capture: app.capture, camera: camera)
                }
            }
            .navigationDestination(for: AppModel.Destination.self) { destination in
                switch destination {
                case .conversation:
                    if let chat = app.conversation { ConversationScreen(app: app, chat: chat) }
                case .history: HistoryScreen(app: app, history: app.history)
                case .settings: SettingsScreen(app: app, settings: app.settings)
                case .models: ModelsScreen(app: app, models: app.models, firstRun: false)
                case .benchmark: BenchmarkScreen(app: app, benchmark: app.benchmark)
                }
            }
        }
        .onChange(of: app.path) { _, path in
            // Back out of a conversation (the back button, a swipe): it ends.
            if !path.contains(.conversation), app.conversation != nil { app.closeConversation() }
        }
        .onChange(of: app.conversation?.savedId) { _, id in openConversation = id }
        .onChange(of: app.keepsScreenAwake, initial: true) { _, awake in
            UIApplication.shared.isIdleTimerDisabled = awake
        }
        .task {
            if let id = openConversation { app.restoreConversation(id: id) }
        }
    }
}
