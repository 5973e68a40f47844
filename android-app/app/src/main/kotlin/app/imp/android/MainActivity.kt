package app.imp.android

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Bundle
import android.provider.Settings
import android.speech.RecognizerIntent
import androidx.activity.ComponentActivity
import androidx.activity.compose.BackHandler
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.createSavedStateHandle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import app.imp.android.engine.Problem
import app.imp.android.platform.Clock
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.capture.CaptureActions
import app.imp.android.ui.capture.CaptureScreen
import app.imp.android.ui.capture.CaptureUiState
import app.imp.android.ui.conversation.ConversationActions
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationScreen
import app.imp.android.ui.conversation.ConversationViewModel
import app.imp.android.ui.conversation.PictureSource
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.UUID

/**
 * The one activity: the capture screen, and the conversation about a picture
 * (taken, picked, or shared from another app through the share sheet).
 */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        val graph = AppGraph.get(this)
        graph.haptics.attach(window.decorView)
        val shared = sharedPicture(intent)
        setContent {
            ImpTheme {
                ImpApp(graph, shared)
            }
        }
    }

    /** A photo another app shared (ACTION_SEND image/): opens straight into a conversation. */
    private fun sharedPicture(intent: Intent?): String? {
        if (intent?.action != Intent.ACTION_SEND || intent.type?.startsWith("image/") != true) return null
        @Suppress("DEPRECATION")
        val uri = intent.getParcelableExtra<Uri>(Intent.EXTRA_STREAM)
        return uri?.toString()
    }
}

@Composable
private fun ImpApp(graph: AppGraph, sharedPicture: String?) {
    val activity = androidx.compose.ui.platform.LocalContext.current as ComponentActivity
    val scope = rememberCoroutineScope()
    // The open conversation, saved across rotation and process death (the view model keeps the rest).
    var conversationKey by rememberSaveable { mutableStateOf(sharedPicture?.let { UUID.randomUUID().toString() }) }
    var conversationPicture by rememberSaveable { mutableStateOf(sharedPicture) }
    var conversationSource by rememberSaveable { mutableStateOf(if (sharedPicture != null) PictureSource.Shared.name else PictureSource.Camera.name) }

    fun openConversation(picture: String, source: PictureSource) {
        conversationKey = UUID.randomUUID().toString()
        conversationPicture = picture
        conversationSource = source.name
    }

    val key = conversationKey
    if (key == null) {
        fun cameraState(): CaptureUiState = when {
            !graph.camera.isAvailable -> CaptureUiState.NoCamera(Problem.cameraUnavailable(graph.texts))
            ContextCompat.checkSelfPermission(activity, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED ->
                CaptureUiState.Previewing
            else -> CaptureUiState.NeedsPermission
        }
        var capture by remember { mutableStateOf(cameraState()) }
        val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            capture = if (granted) {
                CaptureUiState.Previewing
            } else {
                val canAskAgain = activity.shouldShowRequestPermissionRationale(Manifest.permission.CAMERA)
                CaptureUiState.NoCamera(Problem.cameraDenied(graph.texts, canAskAgain))
            }
        }
        val picker = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
            if (uri != null) openConversation(uri.toString(), PictureSource.Library)
        }
        CaptureScreen(
            state = capture,
            actions = CaptureActions(
                onTakePicture = {
                    capture = CaptureUiState.Taking
                    scope.launch {
                        try {
                            val jpeg = graph.camera.takePicture()
                            val file = withContext(Dispatchers.IO) { graph.pictures.keepCapture(jpeg) }
                            capture = CaptureUiState.Previewing
                            openConversation(file.path, PictureSource.Camera)
                        } catch (e: Exception) {
                            capture = CaptureUiState.NoCamera(Problem.cameraUnavailable(graph.texts))
                        }
                    }
                },
                onAllowCamera = { permission.launch(Manifest.permission.CAMERA) },
                onPickPhoto = { picker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
                onRecovery = { recovery -> recover(activity, recovery) },
            ),
            preview = { modifier -> graph.camera.Preview(modifier) },
        )
    } else {
        val viewModel: ConversationViewModel = viewModel(
            factory = viewModelFactory {
                initializer {
                    ConversationViewModel(
                        createSavedStateHandle(), graph.session, graph.archive, graph.pictures, graph.narrator,
                        graph.clipboard, graph.shareSheet, Clock { System.currentTimeMillis() }, graph.settings, graph.texts,
                    )
                }
            },
        )
        LaunchedEffect(key) {
            viewModel.open(ConversationArgs(key, conversationPicture, PictureSource.valueOf(conversationSource)))
        }
        val state by viewModel.uiState.collectAsStateWithLifecycle()
        val voice = rememberLauncherForActivityResult(ActivityResultContracts.StartActivityForResult()) { result ->
            viewModel.voiceResult(result.data?.getStringArrayListExtra(RecognizerIntent.EXTRA_RESULTS)?.firstOrNull())
        }
        fun leave() {
            viewModel.close()
            conversationKey = null
        }
        BackHandler { leave() }
        ConversationScreen(
            state = state,
            actions = ConversationActions(
                onDescribe = viewModel::describe,
                onReadText = viewModel::readText,
                onQuestionChange = viewModel::onQuestionChange,
                onAsk = viewModel::askTypedQuestion,
                onVoice = {
                    viewModel.voiceStarting()
                    // The platform recogniser, on the phone when it can (no network while asking).
                    val listen = Intent(RecognizerIntent.ACTION_RECOGNIZE_SPEECH)
                        .putExtra(RecognizerIntent.EXTRA_LANGUAGE_MODEL, RecognizerIntent.LANGUAGE_MODEL_FREE_FORM)
                        .putExtra(RecognizerIntent.EXTRA_PREFER_OFFLINE, true)
                        .putExtra(RecognizerIntent.EXTRA_PROMPT, activity.getString(R.string.voice_prompt))
                    try {
                        voice.launch(listen)
                    } catch (e: ActivityNotFoundException) {
                        viewModel.voiceUnavailable()
                    }
                },
                onStop = viewModel::stop,
                onStopSpeaking = viewModel::stopSpeaking,
                onCopy = viewModel::copyAnswer,
                onShare = viewModel::shareAnswer,
                onReadAgain = viewModel::readAgain,
                onRecovery = { recovery ->
                    when (recovery) {
                        Problem.Recovery.TryAgain -> viewModel.retry()
                        Problem.Recovery.TakeNewPicture -> leave()
                        else -> recover(activity, recovery)
                    }
                },
                onNewPicture = { leave() },
            ),
        )
    }
}

/** Recoveries that leave the app's screens. */
private fun recover(activity: ComponentActivity, recovery: Problem.Recovery) {
    if (recovery == Problem.Recovery.OpenSystemSettings) {
        activity.startActivity(
            Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", activity.packageName, null)),
        )
    }
}
