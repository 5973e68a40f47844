package app.imp.android.ui.models

import androidx.compose.foundation.ExperimentalFoundationApi
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.relocation.BringIntoViewRequester
import androidx.compose.foundation.relocation.bringIntoViewRequester
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.ui.common.ByteSize
import app.imp.android.ui.common.LeaveButton
import app.imp.android.ui.common.ScreenTitle
import app.imp.android.ui.common.ScrollingScreen
import app.imp.android.ui.common.SpokenText
import app.imp.android.ui.common.touchTarget
import app.imp.android.ui.conversation.ProblemCard
import app.imp.kit.FitVerdict

data class ModelsActions(
    val onDownload: (String) -> Unit = {},
    val onPause: (String) -> Unit = {},
    val onImport: () -> Unit = {},
    val onCancelImport: () -> Unit = {},
    val onVerify: (String) -> Unit = {},
    val onChoose: (String) -> Unit = {},
    val onDelete: (String) -> Unit = {},
    val onConfirmDelete: () -> Unit = {},
    val onCancelDelete: () -> Unit = {},
    val onAllowMobileData: () -> Unit = {},
    val onWaitForWifi: () -> Unit = {},
    val onAddModel: () -> Unit = {},
    val onEditAdd: (text: String, sha256: String) -> Unit = { _, _ -> },
    val onConfirmAdd: () -> Unit = {},
    val onCancelAdd: () -> Unit = {},
    val onRetryAdded: (String) -> Unit = {},
    val onDismissAdded: (String) -> Unit = {},
    val onRetry: () -> Unit = {},
    val onDone: () -> Unit = {},
)

/** The models: what is on the phone, what can be downloaded and whether it fits. Stateless. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun ModelsScreen(state: ModelsUiState, actions: ModelsActions, modifier: Modifier = Modifier) {
    ScrollingScreen(state.announcement, modifier) {
        ScreenTitle(stringResource(R.string.models_title))
        when (state) {
            is ModelsUiState.Loading -> CircularProgressIndicator()
            is ModelsUiState.Failed -> ProblemCard(state.problem, { actions.onRetry() })
            is ModelsUiState.Loaded -> Loaded(state, actions)
        }
    }
}

@OptIn(ExperimentalLayoutApi::class, ExperimentalFoundationApi::class)
@Composable
private fun Loaded(state: ModelsUiState.Loaded, actions: ModelsActions) {
    state.ready?.let { name ->
        // Seen wherever the person had scrolled to when it became ready.
        val requester = remember { BringIntoViewRequester() }
        LaunchedEffect(name) { requester.bringIntoView() }
        Card(Modifier.fillMaxWidth().bringIntoViewRequester(requester)) {
            Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(
                    stringResource(R.string.models_ready_title, name),
                    style = MaterialTheme.typography.titleMedium,
                    modifier = Modifier.semantics { heading() },
                )
                Button(onClick = actions.onDone, modifier = Modifier.fillMaxWidth().touchTarget()) {
                    Text(stringResource(R.string.models_take_picture))
                }
            }
        }
    }
    state.notice?.let { ProblemCard(it, {}) }
    if (state.firstRun) Text(stringResource(R.string.models_first_run), style = MaterialTheme.typography.bodyLarge)
    if (state.installed.isNotEmpty()) {
        Text(stringResource(R.string.models_installed), style = MaterialTheme.typography.titleMedium, modifier = Modifier.semantics { heading() })
    }
    state.installed.forEach { row ->
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
                Text(row.title, style = MaterialTheme.typography.titleSmall)
                Text(
                    SpokenText.sentences(
                        listOfNotNull(
                            ByteSize.text(row.model.sizeBytes),
                            if (row.isChosen) stringResource(R.string.models_in_use) else null,
                            row.model.problem,
                            when (val check = row.check) {
                                is Check.Verifying -> stringResource(R.string.models_checking)
                                is Check.Passed -> stringResource(R.string.models_check_passed)
                                is Check.Failed -> check.problem.message
                                Check.None -> null
                            },
                        ),
                    ),
                )
                FlowRow(horizontalArrangement = Arrangement.spacedBy(4.dp)) {
                    if (!row.isChosen) {
                        Button(onClick = { actions.onChoose(row.id) }, modifier = Modifier.touchTarget()) {
                            Text(stringResource(R.string.models_use))
                        }
                    }
                    TextButton(onClick = { actions.onVerify(row.id) }, enabled = row.check !is Check.Verifying, modifier = Modifier.touchTarget()) {
                        Text(stringResource(R.string.models_verify, row.title))
                    }
                    TextButton(onClick = { actions.onDelete(row.id) }, modifier = Modifier.touchTarget()) {
                        Text(stringResource(R.string.models_delete, row.title))
                    }
                }
            }
        }
    }
    Text(stringResource(R.string.models_catalogue), style = MaterialTheme.typography.titleMedium, modifier = Modifier.semantics { heading() })
    state.catalog.forEach { row ->
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
                Text(row.model.displayName, style = MaterialTheme.typography.titleSmall)
                Text(row.model.goodFor, style = MaterialTheme.typography.bodyMedium)
                val size = row.model.files.firstOrNull()?.sizeBytes ?: row.model.downloadBytes
                Text(
                    SpokenText.sentences(
                        listOfNotNull(
                            size?.let { stringResource(R.string.models_download_size, ByteSize.text(it)) },
                            stringResource(R.string.models_memory, ByteSize.text(row.model.memoryBytes)),
                            row.fit?.let { fit ->
                                stringResource(
                                    when (fit.verdict) {
                                        FitVerdict.FITS -> R.string.fit_fits
                                        FitVerdict.TIGHT -> R.string.fit_tight
                                        FitVerdict.DOES_NOT_FIT -> R.string.fit_does_not_fit
                                    },
                                )
                            },
                        ),
                    ),
                )
                when (val t = row.transfer) {
                    Transfer.Available -> Button(onClick = { actions.onDownload(row.id) }, modifier = Modifier.touchTarget()) {
                        Text(stringResource(R.string.models_download, row.model.displayName))
                    }
                    is Transfer.Downloading -> {
                        val percent = ByteSize.percent(t.done, t.total)
                        if (percent != null) LinearProgressIndicator(progress = { percent / 100f }, modifier = Modifier.fillMaxWidth())
                        Text(stringResource(R.string.models_downloaded, ByteSize.text(t.done)))
                        OutlinedButton(onClick = { actions.onPause(row.id) }, modifier = Modifier.touchTarget()) {
                            Text(stringResource(R.string.models_pause))
                        }
                    }
                    is Transfer.Preparing -> {
                        LinearProgressIndicator(progress = { t.fraction.toFloat() }, modifier = Modifier.fillMaxWidth())
                        Text(stringResource(stageText(t.stage), row.model.displayName, (t.fraction * 100).toInt()))
                        OutlinedButton(onClick = { actions.onPause(row.id) }, modifier = Modifier.touchTarget()) {
                            Text(stringResource(R.string.models_pause))
                        }
                    }
                    is Transfer.Paused -> Button(onClick = { actions.onDownload(row.id) }, modifier = Modifier.touchTarget()) {
                        Text(
                            if (t.done > 0) {
                                stringResource(R.string.models_resume, ByteSize.text(t.done))
                            } else {
                                stringResource(R.string.models_resume_plain)
                            },
                        )
                    }
                    is Transfer.Failed -> {
                        Text(t.problem.announcement)
                        Button(onClick = { actions.onDownload(row.id) }, modifier = Modifier.touchTarget()) {
                            Text(stringResource(R.string.recovery_try_again))
                        }
                    }
                    Transfer.Installed -> Text(stringResource(R.string.models_on_phone))
                }
            }
        }
    }
    Text(stringResource(R.string.models_other), style = MaterialTheme.typography.titleMedium, modifier = Modifier.semantics { heading() })
    AddedModels(state.added, actions)
    if (state.addForm != null) {
        AddModelForm(state.addForm, actions)
    } else {
        OutlinedButton(onClick = actions.onAddModel, modifier = Modifier.fillMaxWidth().touchTarget()) {
            Text(stringResource(R.string.models_add))
        }
    }
    when (val i = state.importing) {
        is ModelImport.Copying -> {
            val percent = ByteSize.percent(i.done, i.total)
            if (percent != null) LinearProgressIndicator(progress = { percent / 100f }, modifier = Modifier.fillMaxWidth())
            Text(
                percent?.let { stringResource(R.string.models_importing_percent, i.name, it) }
                    ?: stringResource(R.string.models_importing, i.name),
            )
            OutlinedButton(onClick = actions.onCancelImport, modifier = Modifier.touchTarget()) {
                Text(stringResource(R.string.models_import_cancel))
            }
        }
        is ModelImport.Checking -> Text(stringResource(R.string.models_importing, i.name))
        is ModelImport.Failed -> ProblemCard(i.problem, { actions.onImport() })
        ModelImport.Idle -> Unit
    }
    OutlinedButton(onClick = actions.onImport, modifier = Modifier.fillMaxWidth().touchTarget()) {
        Text(stringResource(R.string.models_import))
    }
    LeaveButton(stringResource(R.string.models_done), actions.onDone)
    state.askingMobileData?.let { question ->
        AlertDialog(
            onDismissRequest = actions.onWaitForWifi,
            confirmButton = {
                TextButton(onClick = actions.onAllowMobileData, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.models_mobile_data_allow))
                }
            },
            dismissButton = {
                TextButton(onClick = actions.onWaitForWifi, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.models_mobile_data_wait))
                }
            },
            title = { Text(stringResource(R.string.models_mobile_data_title)) },
            text = {
                Text(
                    question.bytes?.let { stringResource(R.string.models_mobile_data_body, question.name, ByteSize.text(it)) }
                        ?: stringResource(R.string.models_mobile_data_body_unknown, question.name),
                )
            },
        )
    }
    state.pendingDelete?.let { row ->
        AlertDialog(
            onDismissRequest = actions.onCancelDelete,
            confirmButton = { TextButton(onClick = actions.onConfirmDelete, modifier = Modifier.touchTarget()) { Text(stringResource(R.string.models_delete, row.title)) } },
            dismissButton = { TextButton(onClick = actions.onCancelDelete, modifier = Modifier.touchTarget()) { Text(stringResource(R.string.models_keep)) } },
            title = { Text(stringResource(R.string.models_delete_title, row.title)) },
            text = { Text(stringResource(R.string.models_delete_body, ByteSize.text(row.model.sizeBytes))) },
        )
    }
}
