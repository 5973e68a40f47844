package app.imp.android.ui.conversation

import androidx.compose.foundation.Image
import androidx.compose.foundation.focusable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardActions
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.FilledTonalButton
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.snapshotFlow
import androidx.compose.ui.Modifier
import androidx.compose.ui.focus.FocusRequester
import androidx.compose.ui.focus.focusRequester
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.engine.Problem
import app.imp.android.pictures.UprightPicture
import app.imp.android.ui.common.LiveAnnouncer
import app.imp.android.ui.common.touchTarget
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.File

/** What the conversation screen can ask of its view model (and of the app: a new picture, the models). */
data class ConversationActions(
    val onDescribe: () -> Unit = {},
    val onReadText: () -> Unit = {},
    val onQuestionChange: (String) -> Unit = {},
    val onAsk: () -> Unit = {},
    val onVoice: () -> Unit = {},
    val onStop: () -> Unit = {},
    val onStopSpeaking: () -> Unit = {},
    val onCopy: (Int) -> Unit = {},
    val onShare: (Int) -> Unit = {},
    val onReadAgain: (Int) -> Unit = {},
    val onRecovery: (Problem.Recovery) -> Unit = {},
    val onNewPicture: () -> Unit = {},
)

/** Test tags: the one way tests find an answer by its turn. */
fun answerTag(turnId: Int) = "answer-$turnId"

const val PROBLEM_TAG = "problem"

/**
 * One picture, the questions about it and their answers. Stateless: everything
 * shown comes from [state], everything done goes to [actions].
 *
 * For TalkBack: every control has visible text (which is its label), the answer
 * text is not itself a live region (that would announce every token); the
 * narrator's sentence-by-sentence announcements go to the [LiveAnnouncer], and
 * focus moves to Describe when the picture opens, to the answer when it ends and
 * to the problem when one occurs ([ConversationContent.focus]).
 */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun ConversationScreen(state: ConversationUiState, actions: ConversationActions, modifier: Modifier = Modifier) {
    val content = state.content
    val describeFocus = remember { FocusRequester() }
    val problemFocus = remember { FocusRequester() }
    val answerFocus = remember { mutableMapOf<Int, FocusRequester>() }
    val scroll = rememberScrollState()
    val answering = state is ConversationUiState.Answering
    // The answer scrolls into view as it grows (the person reads it as it is written): to the end
    // as laid out, which is known only after the layout that the new words cause (read when the words
    // arrive, the end was the previous one and the last line stayed hidden).
    LaunchedEffect(answering) {
        if (answering) snapshotFlow { scroll.maxValue }.collect { scroll.animateScrollTo(it) }
    }
    Surface(modifier = modifier.fillMaxSize(), color = MaterialTheme.colorScheme.background) {
        Column(Modifier.fillMaxSize().safeDrawingPadding()) {
            Column(
                Modifier.weight(1f).fillMaxWidth().verticalScroll(scroll).padding(16.dp),
                verticalArrangement = Arrangement.spacedBy(12.dp),
            ) {
                LiveAnnouncer(content.announcement)
                PictureView(content.picture)
                Text(content.status, style = MaterialTheme.typography.titleMedium)
                content.modelLoading?.let { fraction ->
                    LinearProgressIndicator(progress = { fraction }, modifier = Modifier.fillMaxWidth())
                }
                content.notice?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
                (state as? ConversationUiState.Failed)?.let { failed ->
                    ProblemCard(failed.problem, actions.onRecovery, Modifier.focusRequester(problemFocus))
                }
                FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button(
                        onClick = actions.onDescribe,
                        enabled = content.canAsk,
                        modifier = Modifier.heightIn(min = 56.dp).focusRequester(describeFocus),
                    ) { Text(stringResource(R.string.action_describe)) }
                    FilledTonalButton(
                        onClick = actions.onReadText,
                        enabled = content.canAsk,
                        modifier = Modifier.heightIn(min = 56.dp),
                    ) { Text(stringResource(R.string.action_read_text)) }
                }
                content.turns.forEach { turn ->
                    val requester = answerFocus.getOrPut(turn.id) { FocusRequester() }
                    TurnView(turn, state, actions, Modifier.focusRequester(requester))
                }
                if (!answering && content.isSpeaking) {
                    OutlinedButton(onClick = actions.onStopSpeaking, modifier = Modifier.touchTarget()) {
                        Text(stringResource(R.string.action_stop_speaking))
                    }
                }
                OutlinedTextField(
                    value = content.question,
                    onValueChange = actions.onQuestionChange,
                    label = { Text(stringResource(R.string.question_label)) },
                    enabled = content.canAsk,
                    keyboardOptions = KeyboardOptions(imeAction = ImeAction.Send),
                    keyboardActions = KeyboardActions(onSend = { actions.onAsk() }),
                    modifier = Modifier.fillMaxWidth(),
                )
                // Wraps rather than squeezing: at 200% font the three do not fit on one line.
                FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button(
                        onClick = actions.onAsk,
                        enabled = content.canAsk && content.question.isNotBlank(),
                        modifier = Modifier.touchTarget(),
                    ) { Text(stringResource(R.string.action_ask)) }
                    OutlinedButton(onClick = actions.onVoice, enabled = content.canAsk, modifier = Modifier.touchTarget()) {
                        Text(stringResource(R.string.action_voice))
                    }
                    TextButton(onClick = actions.onNewPicture, modifier = Modifier.touchTarget()) {
                        Text(stringResource(R.string.action_new_picture))
                    }
                }
            }
            // Pinned below the scrolling part: Stop is always where the thumb (and TalkBack) finds it.
            if (answering) {
                Button(
                    onClick = actions.onStop,
                    modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 8.dp).heightIn(min = 56.dp),
                ) {
                    Text(stringResource(R.string.action_stop))
                }
            }
        }
    }
    // Focus follows the view model's request once per request (serial), after the node exists.
    LaunchedEffect(content.focus?.serial) {
        val target = content.focus?.target ?: return@LaunchedEffect
        runCatching {
            when (target) {
                FocusRequest.Target.Describe -> describeFocus.requestFocus()
                FocusRequest.Target.Problem -> problemFocus.requestFocus()
                is FocusRequest.Target.Answer -> answerFocus[target.turnId]?.requestFocus()
            }
        }
    }
}

/** Marks a picture still being decoded (screenshot tests wait until none is). */
const val PICTURE_LOADING_TAG = "picture-loading"

/** The conversation's picture: still decoding, or decoded (null: none, or unreadable). */
private sealed interface PictureState {
    data object Decoding : PictureState

    data class Decoded(val bitmap: android.graphics.Bitmap?) : PictureState
}

@Composable
private fun PictureView(file: File?) {
    // Decoded off the main thread (a camera frame is megabytes), upright as its EXIF says.
    // produceState keeps its value when the file changes (the conversation opens with no file, then
    // gets one): back to Decoding, or the old picture (or none) would stand for the new one meanwhile.
    val shown by produceState<PictureState>(PictureState.Decoding, file) {
        value = PictureState.Decoding
        value = PictureState.Decoded(file?.let { withContext(Dispatchers.IO) { UprightPicture.forScreen(it, maxSide = 1024) } })
    }
    when (val state = shown) {
        PictureState.Decoding -> Box(Modifier.testTag(PICTURE_LOADING_TAG))
        is PictureState.Decoded -> state.bitmap?.let { picture ->
            Image(
                picture.asImageBitmap(),
                contentDescription = stringResource(R.string.picture_description),
                contentScale = ContentScale.Fit,
                modifier = Modifier.fillMaxWidth().heightIn(max = 280.dp),
            )
        }
    }
}

@Composable
private fun TurnView(turn: Turn, state: ConversationUiState, actions: ConversationActions, modifier: Modifier) {
    Card(modifier = Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(
                stringResource(R.string.question_asked, turn.question),
                style = MaterialTheme.typography.titleSmall,
                modifier = Modifier.semantics { heading() },
            )
            val answer = when {
                turn.answer.isNotEmpty() -> turn.answer
                turn.status == Turn.Status.Waiting -> stringResource(R.string.status_thinking)
                else -> ""
            }
            Text(
                answer,
                style = MaterialTheme.typography.bodyLarge,
                modifier = modifier.testTag(answerTag(turn.id)).focusable(),
            )
            when (val status = turn.status) {
                Turn.Status.Stopped -> Text(stringResource(R.string.answer_stopped), style = MaterialTheme.typography.labelMedium)
                is Turn.Status.Failed -> Text(status.problem.title, style = MaterialTheme.typography.labelMedium)
                else -> Unit
            }
            if (turn.isDone && turn.answer.isNotEmpty()) {
                FlowRowActions(turn.id, state !is ConversationUiState.Answering, actions)
            }
        }
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun FlowRowActions(turnId: Int, canReadAgain: Boolean, actions: ConversationActions) {
    FlowRow(horizontalArrangement = Arrangement.spacedBy(4.dp)) {
        TextButton(onClick = { actions.onCopy(turnId) }, modifier = Modifier.touchTarget()) {
            Text(stringResource(R.string.action_copy))
        }
        TextButton(onClick = { actions.onShare(turnId) }, modifier = Modifier.touchTarget()) {
            Text(stringResource(R.string.action_share))
        }
        if (canReadAgain) {
            TextButton(onClick = { actions.onReadAgain(turnId) }, modifier = Modifier.touchTarget()) {
                Text(stringResource(R.string.action_read_again))
            }
        }
    }
}

/** A problem in plain words with the one thing to do about it. */
@Composable
fun ProblemCard(problem: Problem, onRecovery: (Problem.Recovery) -> Unit, modifier: Modifier = Modifier) {
    Card(
        colors = CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.errorContainer),
        modifier = Modifier.fillMaxWidth().testTag(PROBLEM_TAG),
    ) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(
                problem.title,
                style = MaterialTheme.typography.titleMedium,
                modifier = modifier.semantics { heading() }.focusable(),
            )
            Text(problem.message, style = MaterialTheme.typography.bodyMedium)
            problem.recovery?.let { recovery ->
                Button(onClick = { onRecovery(recovery) }, modifier = Modifier.touchTarget()) {
                    Text(stringResource(recovery.label))
                }
            }
        }
    }
}
