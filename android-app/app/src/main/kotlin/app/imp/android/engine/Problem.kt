package app.imp.android.engine

import androidx.annotation.StringRes
import app.imp.android.R
import app.imp.kit.ImpException
import kotlinx.coroutines.CancellationException

/** The app's words, from its string resources (tests read the same ones). */
fun interface Texts {
    fun get(@StringRes id: Int, vararg args: Any): String
}

/**
 * Something that went wrong, said plainly, with the one thing the person can do
 * about it. Every screen shows [title] and [message] and TalkBack hears
 * [announcement]; the same kinds and words as the iOS app's Problem.
 */
data class Problem(val kind: Kind, val title: String, val message: String, val recovery: Recovery? = null) {
    enum class Kind {
        CameraDenied,
        CameraUnavailable,
        VoiceUnavailable,
        ModelMissing,
        ModelDamaged,
        OutOfMemory,
        Busy,
        Cancelled,
        PictureUnusable,
        ConversationFull,
        NoSpace,
        NetworkFailed,
        VerificationFailed,
        NotDownloadable,
        StorageFailed,
        Failed,
    }

    enum class Recovery(@StringRes val label: Int) {
        /** The models screen: a model to download, import or choose. */
        OpenModels(R.string.recovery_open_models),

        /** The app's page in the system settings: a permission to grant. */
        OpenSystemSettings(R.string.recovery_open_system_settings),
        TryAgain(R.string.recovery_try_again),
        TakeNewPicture(R.string.recovery_take_new_picture),

        /** The app's settings: a smaller resolution or model. */
        OpenSettings(R.string.recovery_open_settings),
    }

    val announcement: String get() = "$title. $message"

    companion object {
        /** The words for [error] where it happened: a missing file while loading is a missing model. */
        fun from(error: Throwable, context: ProblemContext, texts: Texts): Problem {
            fun p(kind: Kind, title: Int, message: Int, recovery: Recovery?, detail: String? = null) =
                Problem(
                    kind,
                    texts.get(title),
                    if (detail == null) texts.get(message) else texts.get(message, detail),
                    recovery,
                )
            return when (error) {
                is ProblemException -> error.problem
                is ImpException.ModelUnusable -> p(
                    Kind.ModelDamaged, R.string.problem_model_damaged_title, R.string.problem_model_damaged,
                    Recovery.OpenModels, error.detail,
                )
                is ImpException.NotFound -> if (context == ProblemContext.LoadingModel) {
                    p(
                        Kind.ModelMissing, R.string.problem_model_missing_title, R.string.problem_model_missing,
                        Recovery.OpenModels, error.detail,
                    )
                } else {
                    p(Kind.Failed, R.string.problem_not_found_title, R.string.problem_detail, null, error.detail)
                }
                is ImpException.ImageUnusable -> p(
                    Kind.PictureUnusable, R.string.problem_picture_unusable_title, R.string.problem_picture_unusable,
                    Recovery.TakeNewPicture, error.detail,
                )
                is ImpException.InputTooLong -> p(
                    Kind.ConversationFull, R.string.problem_conversation_full_title,
                    R.string.problem_conversation_full, Recovery.TakeNewPicture,
                )
                is ImpException.Cancelled, is CancellationException -> p(
                    Kind.Cancelled, R.string.problem_cancelled_title, R.string.problem_cancelled, null,
                )
                is ImpException.OutOfMemory -> p(
                    Kind.OutOfMemory, R.string.problem_out_of_memory_title, R.string.problem_out_of_memory,
                    Recovery.OpenSettings, error.detail,
                )
                is OutOfMemoryError -> p(
                    Kind.OutOfMemory, R.string.problem_out_of_memory_title, R.string.problem_out_of_memory,
                    Recovery.OpenSettings, "",
                )
                is ImpException.Busy -> p(Kind.Busy, R.string.problem_busy_title, R.string.problem_busy, null)
                is ImpException.NoSpace -> p(
                    Kind.NoSpace, R.string.problem_no_space_title, R.string.problem_no_space,
                    Recovery.TryAgain, error.detail,
                )
                is ImpException.NetworkFailed -> p(
                    Kind.NetworkFailed, R.string.problem_network_title, R.string.problem_network,
                    Recovery.TryAgain, error.detail,
                )
                is ImpException.VerificationFailed -> p(
                    Kind.VerificationFailed, R.string.problem_verification_title, R.string.problem_verification,
                    Recovery.TryAgain, error.detail,
                )
                is ImpException.NotDownloadable -> p(
                    Kind.NotDownloadable, R.string.problem_not_downloadable_title, R.string.problem_detail, null,
                    error.detail,
                )
                is ImpException.InvalidAddress -> p(
                    Kind.Failed, R.string.problem_invalid_address_title, R.string.problem_detail, null, error.detail,
                )
                else -> if (context == ProblemContext.History) {
                    p(Kind.StorageFailed, R.string.problem_history_title, R.string.problem_detail, null, error.detail)
                } else {
                    p(Kind.Failed, R.string.problem_failed_title, R.string.problem_detail, Recovery.TryAgain, error.detail)
                }
            }
        }

        fun noModel(texts: Texts) = Problem(
            Kind.ModelMissing, texts.get(R.string.problem_no_model_title), texts.get(R.string.problem_no_model),
            Recovery.OpenModels,
        )

        fun cameraDenied(texts: Texts, canAskAgain: Boolean) = Problem(
            Kind.CameraDenied, texts.get(R.string.problem_camera_denied_title),
            texts.get(R.string.problem_camera_denied),
            if (canAskAgain) null else Recovery.OpenSystemSettings,
        )

        fun cameraUnavailable(texts: Texts) = Problem(
            Kind.CameraUnavailable, texts.get(R.string.problem_camera_unavailable_title),
            texts.get(R.string.problem_camera_unavailable),
        )

        fun cameraNotReady(texts: Texts) = Problem(
            Kind.CameraUnavailable, texts.get(R.string.problem_camera_starting_title),
            texts.get(R.string.problem_camera_starting), Recovery.TryAgain,
        )

        fun shotFailed(texts: Texts) = Problem(
            Kind.CameraUnavailable, texts.get(R.string.problem_shot_failed_title),
            texts.get(R.string.problem_shot_failed), Recovery.TryAgain,
        )

        fun voiceUnavailable(texts: Texts) = Problem(
            Kind.VoiceUnavailable, texts.get(R.string.problem_voice_unavailable_title),
            texts.get(R.string.problem_voice_unavailable),
        )
    }
}

/** Where an error happened: the same core error needs different words in different places. */
enum class ProblemContext { LoadingModel, EncodingPicture, Answering, Transfer, History, Benchmark, Picture }

/** A [Problem] thrown through code that expects exceptions. */
class ProblemException(val problem: Problem) : Exception(problem.announcement)

/** The core's sentence, ending in a stop so the app's next sentence reads on. */
private val Throwable.detail: String
    get() = (message ?: "").trim().let { if (it.isEmpty() || it.last() in ".!?") it else "$it." }
