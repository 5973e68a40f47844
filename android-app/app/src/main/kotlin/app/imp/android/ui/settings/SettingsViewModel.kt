package app.imp.android.ui.settings

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.imp.android.R
import app.imp.android.engine.EngineSession
import app.imp.android.engine.ModelLibrary
import app.imp.android.engine.Texts
import app.imp.android.platform.DeviceInfo
import app.imp.android.settings.AnswerLength
import app.imp.android.settings.AppSettings
import app.imp.android.settings.ResolutionMode
import app.imp.android.settings.SettingsRepository
import app.imp.android.settings.SpeechMode
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/** A model the person can choose: installed and usable. */
data class ModelChoice(val id: String, val title: String, val imageSize: Int?)

/** The settings screen: the settings, and the choices the phone offers for them. */
data class SettingsUiState(
    val settings: AppSettings,
    val models: List<ModelChoice>,
    /** null first: automatic, one thread per big core. */
    val threadChoices: List<Int?>,
    val bigCores: Int,
    /** What the resolution mode means for the chosen model (a 196 px model reads 196 px either way). */
    val resolutionNote: String?,
)

/**
 * The settings screen's logic: every change is saved at once through the
 * repository, which the engine session follows (a new model, resolution or
 * thread count loads the model again; answer length and speech apply to the
 * next answer).
 */
class SettingsViewModel(
    private val settings: SettingsRepository,
    private val library: ModelLibrary,
    private val session: EngineSession,
    private val device: DeviceInfo,
    private val texts: Texts,
) : ViewModel() {
    private var models = listOf<ModelChoice>()
    private val state = MutableStateFlow(content())
    val uiState: StateFlow<SettingsUiState> = state.asStateFlow()

    init {
        viewModelScope.launch { settings.settings.collect { publish() } }
    }

    /** Reads the installed models (again, after one was installed or deleted). */
    fun refresh() {
        viewModelScope.launch {
            models = try {
                choices(library.installed().filter { it.problem == null }.map { ModelChoice(it.id, session.title(it), it.details?.imageSize) })
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                emptyList() // the models screen says what is wrong with the store
            }
            publish()
        }
    }

    fun chooseModel(id: String) = settings.update { it.copy(modelId = id) }

    fun setResolution(mode: ResolutionMode) = settings.update { it.copy(resolution = mode) }

    fun setAnswerLength(length: AnswerLength) = settings.update { it.copy(answerLength = length) }

    fun setThreads(threads: Int?) =
        settings.update { it.copy(threads = threads?.coerceIn(1, AppSettings.MAX_THREADS)) }

    fun setSpeech(mode: SpeechMode) = settings.update { it.copy(speech = mode) }

    fun setSpeechRate(rate: Float) =
        settings.update { it.copy(speechRate = rate.coerceIn(AppSettings.MIN_RATE, AppSettings.MAX_RATE)) }

    fun setHaptics(on: Boolean) = settings.update { it.copy(haptics = on) }

    fun setWifiOnly(on: Boolean) = settings.update { it.copy(wifiOnly = on) }

    /** Two files of one catalogue model (say two quantizations) are told apart by their ids. */
    private fun choices(models: List<ModelChoice>): List<ModelChoice> {
        val shared = models.groupBy { it.title }.filterValues { it.size > 1 }.keys
        return models.map { if (it.title in shared) it.copy(title = "${it.title} (${it.id})") else it }
    }

    private fun publish() {
        state.value = content()
    }

    private fun content(): SettingsUiState {
        val s = settings.settings.value
        val native = models.firstOrNull { it.id == s.modelId }?.imageSize
        val note = when {
            native == null -> null
            native <= ResolutionMode.FAST_SIZE -> texts.get(R.string.resolution_note_196)
            s.resolution == ResolutionMode.Fast -> texts.get(R.string.resolution_fast_detail)
            else -> texts.get(R.string.resolution_detailed_detail)
        }
        val cores = device.bigCores.coerceAtLeast(1)
        val most = maxOf(cores, device.allCores).coerceAtMost(AppSettings.MAX_THREADS)
        return SettingsUiState(
            settings = s,
            models = models,
            threadChoices = listOf<Int?>(null) + (1..most).toList(),
            bigCores = cores,
            resolutionNote = note,
        )
    }
}
