import PictureInbox
import UIKit
import UniformTypeIdentifiers

/// "Share to Imp" from another app (a photo received in a message). An
/// extension has about 120 MB of memory, far too little for the model, and may
/// not open its app; so it hands the photo's bytes to the app through the app
/// group's inbox (PictureInbox) and says how to go on. The app opens a
/// conversation on it the next time it comes to the front.
final class ShareViewController: UIViewController {
    private let message = UILabel()
    private let done = UIButton(configuration: .borderedProminent())

    override func viewDidLoad() {
        super.viewDidLoad()
        view.backgroundColor = .systemBackground
        message.font = .preferredFont(forTextStyle: .title2)
        message.adjustsFontForContentSizeCategory = true
        message.numberOfLines = 0
        message.textAlignment = .center
        message.text = "Sending the picture to Imp…"
        done.configuration?.title = "Done"
        done.accessibilityHint = "Returns to the app you shared from."
        done.addAction(UIAction { [weak self] _ in self?.finish() }, for: .primaryActionTriggered)
        let stack = UIStackView(arrangedSubviews: [message, done])
        stack.axis = .vertical
        stack.spacing = 24
        stack.translatesAutoresizingMaskIntoConstraints = false
        view.addSubview(stack)
        NSLayoutConstraint.activate([
            stack.leadingAnchor.constraint(equalTo: view.readableContentGuide.leadingAnchor),
            stack.trailingAnchor.constraint(equalTo: view.readableContentGuide.trailingAnchor),
            stack.centerYAnchor.constraint(equalTo: view.centerYAnchor),
        ])
        Task { await receive() }
    }

    private func receive() async {
        let text: String
        do {
            guard let provider = imageProvider() else { throw ShareFailure.noPicture }
            guard let inbox = PictureInbox.shared() else { throw ShareFailure.noInbox }
            try await deposit(from: provider, into: inbox)
            text = "The picture is ready in Imp. Open Imp to hear it described."
        } catch PictureInbox.DepositError.tooLarge {
            text = "This picture is too large to share with Imp. Save it to Photos and choose it in Imp instead."
        } catch {
            text = "Imp could not receive this picture. Save it to Photos and choose it in Imp instead."
        }
        message.text = text
        // VoiceOver users hear the outcome without searching for it.
        UIAccessibility.post(notification: .screenChanged, argument: message)
    }

    private func imageProvider() -> NSItemProvider? {
        let items = extensionContext?.inputItems.compactMap { $0 as? NSExtensionItem } ?? []
        return items.flatMap { $0.attachments ?? [] }
            .first { $0.hasItemConformingToTypeIdentifier(UTType.image.identifier) }
    }

    /// The photo's stored bytes (HEIC, JPEG...) as a file the system writes for
    /// us: its size is checked before anything is read, and it is copied in
    /// pieces (an extension has about 120 MB; a data representation would be
    /// read whole into memory first). The extension does not decode.
    private func deposit(from provider: NSItemProvider, into inbox: PictureInbox) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            _ = provider.loadFileRepresentation(forTypeIdentifier: UTType.image.identifier,
                                                completionHandler: Self.depositing(into: inbox, then: done))
        }
    }

    /// The completion handler runs on the provider's queue, and the file is
    /// deleted once it returns: the copy happens inside it. Built outside the
    /// main actor so that it is not a main-actor closure (Swift 6 would check
    /// the actor when the provider calls it, and trap).
    private nonisolated static func depositing(
        into inbox: PictureInbox, then done: CheckedContinuation<Void, Error>
    ) -> @Sendable (URL?, (any Error)?) -> Void {
        { url, error in
            do {
                guard let url else { throw error ?? ShareFailure.noPicture }
                try inbox.deposit(fileAt: url)
                done.resume()
            } catch {
                done.resume(throwing: error)
            }
        }
    }

    private func finish() {
        extensionContext?.completeRequest(returningItems: nil)
    }

    private enum ShareFailure: Error {
        case noPicture, noInbox
    }
}
