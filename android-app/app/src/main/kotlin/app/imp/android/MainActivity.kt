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
import app.imp.android.ui.models.ModelsActions
import app.imp.android.ui.models.ModelsScreen
import app.imp.android.ui.models.ModelsViewModel
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

    var showModels by rememberSaveable { mutableStateOf(false) }
    val key = conversationKey
    if (showModels) {
        val models: ModelsViewModel = viewModel(
            factory = viewModelFactory {
                initializer {
                    ModelsViewModel(graph.library, graph.settings, graph.session, graph.device, graph.texts, { uri, progress ->
                        withContext(Dispatchers.IO) { copyModelFile(graph, uri, progress) }
                    })
                }
            },
        )
        val state by models.uiState.collectAsStateWithLifecycle()
        val picker = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
            if (uri != null) models.import(uri.toString(), graph.contentReader.displayName(uri.toString()) ?: "model.gguf")
        }
        BackHandler { showModels = false }
        ModelsScreen(
            state,
            ModelsActions(
                onDownload = models::download, onPause = models::pause, onVerify = models::verify, onChoose = models::choose,
                onDelete = models::askDelete, onConfirmDelete = models::confirmDelete, onCancelDelete = models::cancelDelete,
                onRetry = models::reload, onDone = { showModels = false },
                // Any type: phones label .gguf files inconsistently (application/octet-stream at best).
                onImport = { picker.launch(arrayOf("*/*")) },
            ),
        )
    } else if (key == null) {
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
                onModels = { showModels = true },
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
                        Problem.Recovery.OpenModels -> showModels = true
                        else -> recover(activity, recovery)
                    }
                },
                onNewPicture = { leave() },
            ),
        )
    }
}

/** Copies a picked model file into the app's import directory, where the store uses it in place. */
private fun copyModelFile(graph: AppGraph, uri: String, progress: (Long, Long?) -> Unit): java.io.File {
    val dir = graph.library.importDirectory.also { it.mkdirs() }
    val name = (graph.contentReader.displayName(uri) ?: "model.gguf").replace(Regex("[^A-Za-z0-9._-]"), "_")
    val total = graph.contentReader.size(uri)
    val target = java.io.File(dir, name)
    graph.contentReader.open(uri).use { input ->
        target.outputStream().use { output ->
            val buffer = ByteArray(1 shl 20)
            var done = 0L
            while (true) {
                val n = input.read(buffer)
                if (n < 0) break
                output.write(buffer, 0, n)
                done += n
                progress(done, total)
            }
        }
    }
    return target
}

/** Recoveries that leave the app's screens. */
private fun recover(activity: ComponentActivity, recovery: Problem.Recovery) {
    if (recovery == Problem.Recovery.OpenSystemSettings) {
        activity.startActivity(
            Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", activity.packageName, null)),
        )
    }
}
