package app.imp.android.ui.benchmark

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.engine.Problem
import app.imp.android.ui.common.LeaveButton
import app.imp.android.ui.common.ScreenTitle
import app.imp.android.ui.common.ScrollingScreen
import app.imp.android.ui.common.touchTarget
import app.imp.android.ui.conversation.ProblemCard

data class BenchmarkActions(
    val onRun: () -> Unit = {},
    val onCancel: () -> Unit = {},
    val onShare: (String) -> Unit = {},
    val onRecovery: (Problem.Recovery) -> Unit = {},
    val onDone: () -> Unit = {},
)

/** The benchmark: one button, the steps while it runs, then Table 4's figures. Stateless. */
@Composable
fun BenchmarkScreen(state: BenchmarkUiState, actions: BenchmarkActions, modifier: Modifier = Modifier) {
    ScrollingScreen(state.announcement, modifier) {
        ScreenTitle(stringResource(R.string.benchmark_title))
        LeaveButton(stringResource(R.string.action_back), actions.onDone)
        Text(stringResource(R.string.benchmark_about), style = MaterialTheme.typography.bodyMedium)
        when (val s = state.screen) {
            BenchmarkScreenState.Checking -> CircularProgressIndicator()
            is BenchmarkScreenState.Unavailable -> ProblemCard(s.problem, actions.onRecovery)
            is BenchmarkScreenState.Ready -> {
                Text(s.modelTitle, style = MaterialTheme.typography.titleMedium)
                RunButton(R.string.benchmark_run_action, actions.onRun)
            }
            is BenchmarkScreenState.Running -> {
                Text(s.step, style = MaterialTheme.typography.titleMedium)
                LinearProgressIndicator(progress = { s.fraction }, modifier = Modifier.fillMaxWidth())
                OutlinedButton(onClick = actions.onCancel, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.benchmark_cancel))
                }
            }
            is BenchmarkScreenState.Finished -> {
                Results(s)
                RunButton(R.string.benchmark_run_again, actions.onRun)
                OutlinedButton(onClick = { actions.onShare(s.json) }, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.benchmark_share))
                }
            }
            is BenchmarkScreenState.Failed -> {
                ProblemCard(s.problem, actions.onRecovery)
                RunButton(R.string.benchmark_run_again, actions.onRun)
            }
        }
    }
}

@Composable
private fun RunButton(label: Int, onRun: () -> Unit) {
    Button(onClick = onRun, modifier = Modifier.fillMaxWidth().touchTarget()) { Text(stringResource(label)) }
}

@Composable
private fun Results(finished: BenchmarkScreenState.Finished) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            finished.lines.forEach { (label, value) ->
                // One node a line: TalkBack reads "Generation, 16.1 tokens a second".
                Row(Modifier.fillMaxWidth().semantics(mergeDescendants = true) {}) {
                    Text(label, modifier = Modifier.weight(1f))
                    Text(value, fontWeight = FontWeight.Bold)
                }
            }
        }
    }
}
