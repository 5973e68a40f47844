import ImpAppLogic
import UIKit

/// Short vibrations at the moments a person who cannot see the screen needs to
/// know about: the picture is taken, the answer starts, ends, stops, fails.
@MainActor
final class FeedbackHaptics: Haptics {
    private let light = UIImpactFeedbackGenerator(style: .light)
    private let medium = UIImpactFeedbackGenerator(style: .medium)
    private let notification = UINotificationFeedbackGenerator()

    func play(_ event: HapticEvent) {
        switch event {
        case .pictureTaken: medium.impactOccurred()
        case .answerStarted: light.impactOccurred()
        case .answerFinished: notification.notificationOccurred(.success)
        case .answerStopped: medium.impactOccurred(intensity: 0.6)
        case .listening: light.impactOccurred(intensity: 0.8)
        case .failure: notification.notificationOccurred(.error)
        }
    }
}

@MainActor
final class SystemClipboard: Clipboard {
    func copy(_ text: String) {
        UIPasteboard.general.string = text
    }
}
