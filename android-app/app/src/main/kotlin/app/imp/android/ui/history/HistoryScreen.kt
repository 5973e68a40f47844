package app.imp.android.ui.history

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.clearAndSetSemantics
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.ui.common.LeaveButton
import app.imp.android.ui.common.LiveAnnouncer
import app.imp.android.ui.common.ScreenTitle
import app.imp.android.ui.common.touchTarget
import app.imp.android.ui.conversation.ProblemCard

data class HistoryActions(
    val onOpen: (String) -> Unit = {},
    val onDelete: (String) -> Unit = {},
    val onLoadMore: () -> Unit = {},
    val onDeleteAll: () -> Unit = {},
    val onConfirmDeleteAll: () -> Unit = {},
    val onCancelDeleteAll: () -> Unit = {},
    val onRetry: () -> Unit = {},
    val onDone: () -> Unit = {},
)

fun historyRowTag(id: String) = "history-$id"

/**
 * Past conversations, newest first. Each row is one control that TalkBack reads
 * as a whole (question, answer, count, model, date) and opens the conversation;
 * its Delete button names what it deletes. Stateless.
 */
@Composable
fun HistoryScreen(state: HistoryUiState, actions: HistoryActions, modifier: Modifier = Modifier) {
    Surface(modifier = modifier.fillMaxSize(), color = MaterialTheme.colorScheme.background) {
        LazyColumn(
            Modifier.fillMaxSize().safeDrawingPadding().padding(horizontal = 16.dp),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            item {
                LiveAnnouncer(state.announcement)
                ScreenTitle(stringResource(R.string.history_title), Modifier.padding(top = 16.dp))
                LeaveButton(stringResource(R.string.action_back), actions.onDone)
            }
            when (state) {
                is HistoryUiState.Loading -> item { CircularProgressIndicator() }
                is HistoryUiState.Empty -> item { Text(stringResource(R.string.history_empty), style = MaterialTheme.typography.bodyLarge) }
                is HistoryUiState.Failed -> item { ProblemCard(state.problem, { actions.onRetry() }) }
                is HistoryUiState.Loaded -> loaded(state, actions)
            }
        }
    }
}

private fun androidx.compose.foundation.lazy.LazyListScope.loaded(state: HistoryUiState.Loaded, actions: HistoryActions) {
    state.problem?.let { problem -> item { ProblemCard(problem, {}) } }
    items(state.rows, key = { it.id }) { row -> RowCard(row, actions) }
    if (state.canLoadMore) {
        item {
            OutlinedButton(onClick = actions.onLoadMore, modifier = Modifier.fillMaxWidth().touchTarget()) {
                Text(stringResource(R.string.history_more))
            }
        }
    }
    item {
        TextButton(onClick = actions.onDeleteAll, modifier = Modifier.padding(bottom = 16.dp).touchTarget()) {
            Text(stringResource(R.string.history_delete_all))
        }
        if (state.confirmingDeleteAll) {
            AlertDialog(
                onDismissRequest = actions.onCancelDeleteAll,
                confirmButton = {
                    TextButton(onClick = actions.onConfirmDeleteAll, modifier = Modifier.touchTarget()) { Text(stringResource(R.string.history_delete_all_confirm)) }
                },
                dismissButton = { TextButton(onClick = actions.onCancelDeleteAll, modifier = Modifier.touchTarget()) { Text(stringResource(R.string.history_keep)) } },
                title = { Text(stringResource(R.string.history_delete_all_title)) },
                text = { Text(stringResource(R.string.history_delete_all_body)) },
            )
        }
    }
}

@Composable
private fun RowCard(row: HistoryRow, actions: HistoryActions) {
    val openLabel = stringResource(R.string.history_open)
    Card(Modifier.fillMaxWidth()) {
        Row(
            Modifier
                .fillMaxWidth()
                .touchTarget()
                .clickable(onClickLabel = openLabel) { actions.onOpen(row.id) }
                .testTag(historyRowTag(row.id))
                .clearAndSetSemantics { contentDescription = row.spoken }
                .padding(12.dp),
            horizontalArrangement = Arrangement.spacedBy(12.dp),
            verticalAlignment = Alignment.Top,
        ) {
            Thumbnail(row.thumbnail)
            Column(Modifier.weight(1f), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Text(row.title, style = MaterialTheme.typography.titleSmall, maxLines = 2, overflow = TextOverflow.Ellipsis)
                if (row.answer.isNotEmpty()) {
                    Text(row.answer, style = MaterialTheme.typography.bodyMedium, maxLines = 3, overflow = TextOverflow.Ellipsis)
                }
                Text(row.detail, style = MaterialTheme.typography.labelMedium)
                Text(row.date, style = MaterialTheme.typography.labelMedium)
            }
        }
        val deleteLabel = stringResource(R.string.history_delete, row.title)
        TextButton(
            onClick = { actions.onDelete(row.id) },
            modifier = Modifier.padding(start = 4.dp).touchTarget().semantics { contentDescription = deleteLabel },
        ) {
            Text(stringResource(R.string.history_delete_short))
        }
    }
}

@Composable
private fun Thumbnail(jpeg: ByteArray?) {
    val bitmap = remember(jpeg) { jpeg?.let { BitmapFactory.decodeByteArray(it, 0, it.size) } } ?: return
    // Decorative: the row's words say what the conversation was about.
    Image(bitmap.asImageBitmap(), contentDescription = null, contentScale = ContentScale.Crop, modifier = Modifier.size(64.dp))
}
