import ImpAppLogic
import UIKit

/// VoiceOver as a voice: answer sentences and status messages posted as
/// announcements. Sentences are queued behind what VoiceOver is saying (not
/// cut off), one at a time: the next is posted when VoiceOver reports the last
/// one finished, so Stop can silence the rest.
@MainActor
final class VoiceOverOutput: NSObject, SpeechVoice, Announcer, AccessibilityStatus {
    private var waiting: (text: String, done: @MainActor () -> Void)?
    private var fallback: Task<Void, Never>?

    override init() {
        super.init()
        NotificationCenter.default.addObserver(
            self, selector: #selector(announcementFinished(_:)),
            name: UIAccessibility.announcementDidFinishNotification, object: nil)
    }

    var isVoiceOverRunning: Bool { UIAccessibility.isVoiceOverRunning }

    func speak(_ text: String, rate: Float, onFinished: @escaping @MainActor () -> Void) {
        waiting = (text, onFinished)
        post(text, queued: true)
        // VoiceOver may never report (turned off mid-answer): go on after about
        // the time the sentence takes to say.
        let seconds = 2 + Double(text.count) / 12
        fallback?.cancel()
        fallback = Task { [weak self] in
            try? await Task.sleep(for: .seconds(seconds))
            guard !Task.isCancelled else { return }
            self?.finish(text)
        }
    }

    func stop() {
        fallback?.cancel()
        waiting = nil
        // A posted announcement cannot be withdrawn; an interrupting one cuts it off.
        post(" ", queued: false)
    }

    /// VoiceOver's audio is the system's own: nothing to give back.
    func release() {}

    func announce(_ message: String, interrupting: Bool) {
        post(message, queued: !interrupting)
    }

    private func post(_ text: String, queued: Bool) {
        let announcement = NSAttributedString(
            string: text, attributes: [.accessibilitySpeechQueueAnnouncement: NSNumber(value: queued)])
        UIAccessibility.post(notification: .announcement, argument: announcement)
    }

    @objc private func announcementFinished(_ notification: Notification) {
        guard let text = notification.userInfo?[UIAccessibility.announcementStringValueUserInfoKey] as? String
        else { return }
        finish(text)
    }

    private func finish(_ text: String) {
        guard let waiting, waiting.text == text else { return }
        self.waiting = nil
        fallback?.cancel()
        waiting.done()
    }
}
