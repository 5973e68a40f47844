package app.imp.android.ui.settings

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.selection.selectableGroup
import androidx.compose.foundation.selection.toggleable
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Slider
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.semantics.stateDescription
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.settings.AnswerLength
import app.imp.android.settings.AppSettings
import app.imp.android.settings.ResolutionMode
import app.imp.android.settings.SpeechMode
import app.imp.android.ui.common.LeaveButton
import app.imp.android.ui.common.ScreenTitle
import app.imp.android.ui.common.ScrollingScreen
import app.imp.android.ui.common.touchTarget
import kotlin.math.roundToInt

data class SettingsActions(
    val onModel: (String) -> Unit = {},
    val onResolution: (ResolutionMode) -> Unit = {},
    val onAnswerLength: (AnswerLength) -> Unit = {},
    val onThreads: (Int?) -> Unit = {},
    val onSpeech: (SpeechMode) -> Unit = {},
    val onSpeechRate: (Float) -> Unit = {},
    val onHaptics: (Boolean) -> Unit = {},
    val onWifiOnly: (Boolean) -> Unit = {},
    val onModels: () -> Unit = {},
    val onBenchmark: () -> Unit = {},
    val onDone: () -> Unit = {},
)

/**
 * The settings, each a group of radio buttons (TalkBack reads "selected, 2 of
 * 3") or a switch; every change applies at once. Stateless.
 */
@Composable
fun SettingsScreen(state: SettingsUiState, actions: SettingsActions, modifier: Modifier = Modifier) {
    val s = state.settings
    ScrollingScreen(announcement = null, modifier) {
        ScreenTitle(stringResource(R.string.settings_title))
        LeaveButton(stringResource(R.string.action_back), actions.onDone)

        Section(stringResource(R.string.settings_model))
        if (state.models.isEmpty()) Text(stringResource(R.string.settings_no_models))
        Choices(state.models.map { it.id to it.title }, s.modelId) { id -> id?.let(actions.onModel) }
        OutlinedButton(onClick = actions.onModels, modifier = Modifier.touchTarget()) { Text(stringResource(R.string.action_models)) }

        Section(stringResource(R.string.settings_resolution))
        Choices(ResolutionMode.entries.map { it to stringResource(it.title) }, s.resolution, actions.onResolution)
        state.resolutionNote?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }

        Section(stringResource(R.string.settings_answer_length))
        Choices(AnswerLength.entries.map { it to stringResource(it.title) }, s.answerLength, actions.onAnswerLength)

        Section(stringResource(R.string.settings_threads))
        Choices(state.threadChoices.map { it to threadTitle(it, state.bigCores) }, s.threads, actions.onThreads)

        Section(stringResource(R.string.settings_speech))
        Choices(SpeechMode.entries.map { it to stringResource(it.title) }, s.speech, actions.onSpeech)
        SpeechRate(s.speechRate, actions.onSpeechRate)
        Switched(stringResource(R.string.settings_haptics), s.haptics, actions.onHaptics)

        Section(stringResource(R.string.settings_downloads))
        Switched(stringResource(R.string.settings_wifi_only), s.wifiOnly, actions.onWifiOnly)

        OutlinedButton(onClick = actions.onBenchmark, modifier = Modifier.fillMaxWidth().touchTarget()) {
            Text(stringResource(R.string.action_benchmark))
        }
    }
}

@Composable
private fun Section(title: String) {
    Text(title, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 8.dp).semantics { heading() })
}

@Composable
private fun threadTitle(threads: Int?, bigCores: Int): String = when (threads) {
    null -> stringResource(R.string.threads_automatic, bigCores)
    1 -> stringResource(R.string.threads_one)
    else -> stringResource(R.string.threads_many, threads)
}

/** One row per choice, the whole row the touch target (48 dp high at least). */
@Composable
private fun <T> Choices(options: List<Pair<T, String>>, selected: T?, onSelect: (T) -> Unit) {
    Column(Modifier.selectableGroup()) {
        options.forEach { (value, title) ->
            Row(
                Modifier
                    .fillMaxWidth()
                    .touchTarget()
                    .selectable(selected = value == selected, role = Role.RadioButton, onClick = { onSelect(value) }),
                verticalAlignment = Alignment.CenterVertically,
            ) {
                RadioButton(selected = value == selected, onClick = null)
                Text(title, modifier = Modifier.padding(start = 12.dp))
            }
        }
    }
}

@Composable
private fun SpeechRate(rate: Float, onChange: (Float) -> Unit) {
    val label = stringResource(R.string.settings_speech_rate)
    val percent = stringResource(R.string.settings_speech_rate_value, (rate * 100).roundToInt())
    Text("$label: $percent", style = MaterialTheme.typography.bodyMedium)
    Slider(
        value = rate,
        onValueChange = { onChange((it * 10).roundToInt() / 10f) },
        valueRange = AppSettings.MIN_RATE..AppSettings.MAX_RATE,
        // Tenths: TalkBack's volume keys step through 0.5, 0.6 ... 2.0.
        steps = ((AppSettings.MAX_RATE - AppSettings.MIN_RATE) * 10).toInt() - 1,
        modifier = Modifier.fillMaxWidth().touchTarget().semantics {
            contentDescription = label
            stateDescription = percent
        },
    )
}

@Composable
private fun Switched(title: String, on: Boolean, onChange: (Boolean) -> Unit) {
    Row(
        Modifier.fillMaxWidth().touchTarget().toggleable(value = on, role = Role.Switch, onValueChange = onChange),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Text(title, modifier = Modifier.weight(1f))
        Switch(checked = on, onCheckedChange = null)
    }
}
