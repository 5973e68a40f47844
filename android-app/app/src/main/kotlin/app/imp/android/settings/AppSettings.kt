package app.imp.android.settings

import android.content.SharedPreferences
import androidx.annotation.StringRes
import app.imp.android.R
import app.imp.kit.AnswerSettings
import app.imp.kit.EngineOptions
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** Everything the person can set; the same choices as the iOS app. */
data class AppSettings(
    /** The installed model that answers. */
    val modelId: String? = null,
    val resolution: ResolutionMode = ResolutionMode.Fast,
    val answerLength: AnswerLength = AnswerLength.Normal,
    /** Inference threads; null means one per big core. */
    val threads: Int? = null,
    val speech: SpeechMode = SpeechMode.WhenTalkBackIsOn,
    /** Text-to-speech rate: 1 is the voice's normal speed. */
    val speechRate: Float = 1f,
    val haptics: Boolean = true,
    /** Models are downloaded over Wi-Fi (or another unmetered network) only, unless the person says otherwise each time. */
    val wifiOnly: Boolean = true,
) {
    /**
     * Options to load a model trained at [nativeImageSize] px with, on a phone
     * with [bigCores] and [memoryBudgetBytes] (a fixed figure of the phone,
     * never the memory free this moment: that would refuse models the models
     * screen calls tight, and reload the model whenever it changed).
     */
    fun engineOptions(nativeImageSize: Int?, bigCores: Int, memoryBudgetBytes: Long?) = EngineOptions(
        threads = (threads ?: bigCores).coerceAtLeast(1),
        imageSize = nativeImageSize?.let { resolution.imageSize(it) },
        availableMemoryBytes = memoryBudgetBytes,
    )

    val answerSettings: AnswerSettings get() = AnswerSettings(maxTokens = answerLength.maxTokens)

    companion object {
        const val MIN_RATE = 0.5f
        const val MAX_RATE = 2f
        const val MAX_THREADS = 8
    }
}

/**
 * The paper's resolution reduction: a 196 px picture (196 image tokens) encodes
 * about four times faster than a 384 px one (729 tokens) and reads less fine
 * detail, such as small print.
 */
enum class ResolutionMode(@StringRes val title: Int, @StringRes val detail: Int) {
    Fast(R.string.resolution_fast, R.string.resolution_fast_detail),
    Detailed(R.string.resolution_detailed, R.string.resolution_detailed_detail),
    ;

    /**
     * The vision input size to load a model with: null keeps the model's own. A
     * model trained at 196 px stays at 196 in both modes (running it larger would
     * only stretch its position embeddings).
     */
    fun imageSize(native: Int): Int? = if (this == Fast && native > FAST_SIZE) FAST_SIZE else null

    companion object {
        const val FAST_SIZE = 196
    }
}

enum class AnswerLength(@StringRes val title: Int, val maxTokens: Int) {
    Short(R.string.length_short, 96),
    Normal(R.string.length_normal, 256),
    Long(R.string.length_long, 512),
}

/**
 * When answers are read aloud as they are written (AnswerNarrator, rule 2): by
 * TalkBack when it is on, by text-to-speech otherwise.
 */
enum class SpeechMode(@StringRes val title: Int) {
    WhenTalkBackIsOn(R.string.speech_when_talkback),
    Always(R.string.speech_always),
    Never(R.string.speech_never),
}

/** Where settings are kept between runs. */
interface SettingsStore {
    fun load(): AppSettings

    fun save(settings: AppSettings)
}

/** The settings the whole app reads, kept in [store] on every change. */
class SettingsRepository(private val store: SettingsStore) {
    private val current = MutableStateFlow(store.load())
    val settings: StateFlow<AppSettings> = current.asStateFlow()

    fun update(change: (AppSettings) -> AppSettings) {
        val next = change(current.value)
        if (next == current.value) return
        current.value = next
        store.save(next)
    }
}

/** SharedPreferences: a handful of values, read once at start. Unknown values fall back to the defaults. */
class PreferencesSettingsStore(private val preferences: SharedPreferences) : SettingsStore {
    override fun load(): AppSettings {
        val d = AppSettings()
        val p = preferences
        return AppSettings(
            modelId = p.getString("modelId", null),
            resolution = enumOr(p.getString("resolution", null), d.resolution),
            answerLength = enumOr(p.getString("answerLength", null), d.answerLength),
            threads = p.getInt("threads", 0).takeIf { it > 0 },
            speech = enumOr(p.getString("speech", null), d.speech),
            speechRate = p.getFloat("speechRate", d.speechRate).coerceIn(AppSettings.MIN_RATE, AppSettings.MAX_RATE),
            haptics = p.getBoolean("haptics", d.haptics),
            wifiOnly = p.getBoolean("wifiOnly", d.wifiOnly),
        )
    }

    override fun save(settings: AppSettings) {
        preferences.edit()
            .putString("modelId", settings.modelId)
            .putString("resolution", settings.resolution.name)
            .putString("answerLength", settings.answerLength.name)
            .putInt("threads", settings.threads ?: 0)
            .putString("speech", settings.speech.name)
            .putFloat("speechRate", settings.speechRate)
            .putBoolean("haptics", settings.haptics)
            .putBoolean("wifiOnly", settings.wifiOnly)
            .apply()
    }

    private inline fun <reified E : Enum<E>> enumOr(name: String?, default: E): E =
        enumValues<E>().firstOrNull { it.name == name } ?: default
}
