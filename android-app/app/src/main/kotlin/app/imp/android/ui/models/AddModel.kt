package app.imp.android.ui.models

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.ui.common.touchTarget
import app.imp.kit.InstallStage

/** Models added by address: each with its progress, or how it stopped and what can be done. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun AddedModels(rows: List<AddedRow>, actions: ModelsActions) {
    rows.forEach { row ->
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
                Text(row.key, style = MaterialTheme.typography.titleSmall)
                when (val t = row.transfer) {
                    is Transfer.Preparing -> {
                        LinearProgressIndicator(progress = { t.fraction.toFloat() }, modifier = Modifier.fillMaxWidth())
                        Text(stringResource(stageText(t.stage), row.key, (t.fraction * 100).toInt()))
                        OutlinedButton(onClick = { actions.onPause(row.key) }, modifier = Modifier.touchTarget()) {
                            Text(stringResource(R.string.models_pause))
                        }
                    }
                    is Transfer.Failed, is Transfer.Paused, is Transfer.Downloading, Transfer.Available, Transfer.Installed -> {
                        Text(if (t is Transfer.Failed) t.problem.announcement else stringResource(R.string.models_added_stopped))
                        FlowRow(horizontalArrangement = Arrangement.spacedBy(4.dp)) {
                            Button(onClick = { actions.onRetryAdded(row.key) }, modifier = Modifier.touchTarget()) {
                                Text(stringResource(if (t is Transfer.Failed) R.string.recovery_try_again else R.string.models_resume_plain))
                            }
                            TextButton(onClick = { actions.onDismissAdded(row.key) }, modifier = Modifier.touchTarget()) {
                                Text(stringResource(R.string.models_added_dismiss, row.key))
                            }
                        }
                    }
                }
            }
        }
    }
}

fun stageText(stage: InstallStage): Int = when (stage) {
    InstallStage.DOWNLOADING -> R.string.models_stage_downloading
    InstallStage.CONVERTING -> R.string.models_stage_converting
    InstallStage.VERIFYING -> R.string.models_stage_verifying
}

/**
 * "Add a model", in place on the screen (a dialog would squeeze two fields
 * and an explanation at 200 % font): a hub repository or a `.gguf` link, and
 * the file's SHA-256 if the person has it. The core says what a wrong entry
 * is not; that shows under the field (and is announced by the view model).
 */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun AddModelForm(form: AddModelForm, actions: ModelsActions) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(stringResource(R.string.models_add_title), style = MaterialTheme.typography.titleSmall)
            Text(stringResource(R.string.models_add_body))
            OutlinedTextField(
                value = form.text,
                onValueChange = { actions.onEditAdd(it, form.sha256) },
                label = { Text(stringResource(R.string.models_add_address)) },
                isError = form.error != null,
                supportingText = form.error?.let { { Text(it) } },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri, imeAction = ImeAction.Next),
                modifier = Modifier.fillMaxWidth(),
            )
            OutlinedTextField(
                value = form.sha256,
                onValueChange = { actions.onEditAdd(form.text, it) },
                label = { Text(stringResource(R.string.models_add_sha256)) },
                singleLine = true,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Ascii, imeAction = ImeAction.Done),
                modifier = Modifier.fillMaxWidth(),
            )
            FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = actions.onConfirmAdd, enabled = form.text.isNotBlank(), modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.models_add_confirm))
                }
                TextButton(onClick = actions.onCancelAdd, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.models_add_cancel))
                }
            }
        }
    }
}
