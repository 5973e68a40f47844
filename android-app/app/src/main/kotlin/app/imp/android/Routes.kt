package app.imp.android

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.speech.RecognizerIntent
import androidx.activity.ComponentActivity
import androidx.activity.compose.BackHandler
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.ContextCompat
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleEventObserver
import androidx.lifecycle.ViewModel
import androidx.lifecycle.compose.LocalLifecycleOwner
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.createSavedStateHandle
import androidx.lifecycle.viewmodel.CreationExtras
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import app.imp.android.engine.CoreBenchmarkRunner
import app.imp.android.engine.Problem
import app.imp.android.platform.Clock
import app.imp.android.ui.benchmark.BenchmarkActions
import app.imp.android.ui.benchmark.BenchmarkScreen
import app.imp.android.ui.benchmark.BenchmarkViewModel
import app.imp.android.ui.capture.CaptureActions
import app.imp.android.ui.capture.CaptureScreen
import app.imp.android.ui.capture.CaptureViewModel
import app.imp.android.ui.conversation.ConversationActions
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationScreen
import app.imp.android.ui.conversation.ConversationViewModel
import app.imp.android.ui.conversation.PictureSource
import app.imp.android.ui.history.HistoryActions
import app.imp.android.ui.history.HistoryScreen
import app.imp.android.ui.history.HistoryViewModel
import app.imp.android.ui.models.ModelsActions
import app.imp.android.ui.models.ModelsScreen
import app.imp.android.ui.models.ModelsViewModel
import app.imp.android.ui.settings.SettingsActions
import app.imp.android.ui.settings.SettingsScreen
import app.imp.android.ui.settings.SettingsViewModel
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.text.DateFormat
import java.util.Date
import android.provider.Settings as SystemSettings

/**
 * Each screen wired to its view model and to the platform (pickers, the
 * speech recogniser, system settings). The view models live in their back-stack
 * entry's store ([ScreenStores]), so they outlive rotation and end with the
 * entry; the screens themselves are stateless.
 */
class Routes(
    private val graph: AppGraph,
    private val activity: ComponentActivity,
    private val stores: ScreenStores,
    private val go: (Destination) -> Unit,
    private val back: () -> Unit,
) {
    @Composable
    fun Capture(onPicture: (String, PictureSource) -> Unit) {
        val app = activity.applicationContext
        val capture: CaptureViewModel = screenModel(Destination.Capture.name) {
            CaptureViewModel(
                graph.camera,
                { ContextCompat.checkSelfPermission(app, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED },
                { jpeg -> withContext(Dispatchers.IO) { graph.pictures.keepCapture(jpeg) } },
                graph.haptics, graph.shutterSound::play, graph.texts,
            )
        }
        // Back in front: the permission may have been granted (or taken away) in the system settings.
        val lifecycleOwner = LocalLifecycleOwner.current
        DisposableEffect(lifecycleOwner) {
            val observer = LifecycleEventObserver { _, event -> if (event == Lifecycle.Event.ON_RESUME) capture.refresh() }
            lifecycleOwner.lifecycle.addObserver(observer)
            onDispose { lifecycleOwner.lifecycle.removeObserver(observer) }
        }
        val state by capture.uiState.collectAsStateWithLifecycle()
        val aiming by capture.aiming.collectAsStateWithLifecycle()
        val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            capture.permissionResult(granted, activity.shouldShowRequestPermissionRationale(Manifest.permission.CAMERA))
        }
        val take = { capture.takePicture { file -> onPicture(file.path, PictureSource.Camera) } }
        val picker = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
            if (uri != null) onPicture(uri.toString(), PictureSource.Library)
        }
        CaptureScreen(
            state = state,
            actions = CaptureActions(
                onTakePicture = take,
                onTorch = capture::toggleTorch,
                onAllowCamera = { permission.launch(Manifest.permission.CAMERA) },
                onPickPhoto = { picker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
                onRecovery = { recovery -> if (recovery == Problem.Recovery.TryAgain) take() else recover(recovery) },
                onModels = { go(Destination.Models) },
                onHistory = { go(Destination.History) },
                onSettings = { go(Destination.Settings) },
            ),
            preview = { modifier -> graph.camera.Preview(modifier) },
            aiming = aiming,
        )
    }

    @Composable
    fun Models() {
        val models: ModelsViewModel = screenModel(Destination.Models.name) {
            ModelsViewModel(graph.library, graph.settings, graph.session, graph.installs, graph.device, graph.network, graph.texts, { uri, progress ->
                withContext(Dispatchers.IO) { graph.modelFileCopy.copy(uri, progress) }
            })
        }
        val state by models.uiState.collectAsStateWithLifecycle()
        val picker = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
            if (uri != null) models.import(uri.toString(), graph.contentReader.displayName(uri.toString()) ?: "model.gguf")
        }
        // The install's progress notification, asked for when it is first
        // wanted; the install runs whatever the answer.
        val notifications = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { }
        val context = LocalContext.current
        val askNotifications = {
            if (Build.VERSION.SDK_INT >= 33 &&
                context.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
            ) {
                notifications.launch(Manifest.permission.POST_NOTIFICATIONS)
            }
        }
        BackHandler { back() }
        ModelsScreen(
            state,
            ModelsActions(
                onDownload = { id -> askNotifications().also { models.download(id) } }, onPause = models::pause, onVerify = models::verify, onChoose = models::choose,
                onDelete = models::askDelete, onConfirmDelete = models::confirmDelete, onCancelDelete = models::cancelDelete,
                onAllowMobileData = models::allowMobileData, onWaitForWifi = models::waitForWifi,
                onRetry = models::reload, onDone = back,
                onAddModel = models::openAddModel, onEditAdd = models::editAddModel, onCancelAdd = models::cancelAddModel,
                onConfirmAdd = { askNotifications().also { models.confirmAddModel() } },
                onRetryAdded = models::retryAdded, onDismissAdded = models::dismissAdded,
                // Any type: phones label .gguf files inconsistently (application/octet-stream at best).
                onImport = { picker.launch(arrayOf("*/*")) },
                onCancelImport = models::cancelImport,
            ),
        )
    }

    @Composable
    fun History(onOpen: (String) -> Unit) {
        val history: HistoryViewModel = screenModel(Destination.History.name) {
            val dates = DateFormat.getDateTimeInstance(DateFormat.MEDIUM, DateFormat.SHORT)
            HistoryViewModel(graph.archive, graph.pictures, graph.texts, ::modelName) { ms -> dates.format(Date(ms)) }
        }
        // Again on every visit: a conversation may have been added or continued since.
        LaunchedEffect(Unit) { history.refresh() }
        val state by history.uiState.collectAsStateWithLifecycle()
        BackHandler { back() }
        HistoryScreen(
            state,
            HistoryActions(
                onOpen = onOpen, onDelete = history::delete, onLoadMore = history::loadMore,
                onDeleteAll = history::askDeleteAll, onConfirmDeleteAll = history::confirmDeleteAll,
                onCancelDeleteAll = history::cancelDeleteAll, onRetry = history::refresh, onDone = back,
            ),
        )
    }

    @Composable
    fun Settings() {
        val settings: SettingsViewModel = screenModel(Destination.Settings.name) {
            SettingsViewModel(graph.settings, graph.library, graph.session, graph.device, graph.texts)
        }
        // Again on every visit: a model may have been installed or deleted since.
        LaunchedEffect(Unit) { settings.refresh() }
        val state by settings.uiState.collectAsStateWithLifecycle()
        BackHandler { back() }
        SettingsScreen(
            state,
            SettingsActions(
                onModel = settings::chooseModel, onResolution = settings::setResolution, onAnswerLength = settings::setAnswerLength,
                onThreads = settings::setThreads, onSpeech = settings::setSpeech, onSpeechRate = settings::setSpeechRate,
                onHaptics = settings::setHaptics, onWifiOnly = settings::setWifiOnly, onModels = { go(Destination.Models) },
                onBenchmark = { go(Destination.Benchmark) }, onDone = back,
            ),
        )
    }

    @Composable
    fun Benchmark() {
        val benchmark: BenchmarkViewModel = screenModel(Destination.Benchmark.name) {
            BenchmarkViewModel(CoreBenchmarkRunner(), graph.library, graph.settings, graph.session, graph.device, graph.texts)
        }
        LaunchedEffect(Unit) { benchmark.refresh() }
        val state by benchmark.uiState.collectAsStateWithLifecycle()
        // Leaving stops the run (rotating does not: the view model outlives it).
        val leave = {
            benchmark.cancel()
            back()
        }
        BackHandler { leave() }
        BenchmarkScreen(
            state,
            BenchmarkActions(
                onRun = benchmark::start, onCancel = benchmark::cancel, onShare = graph.shareSheet::share,
                onRecovery = { if (it == Problem.Recovery.OpenModels) go(Destination.Models) else recover(it) },
                onDone = leave,
            ),
        )
    }

    @Composable
    fun Conversation(args: ConversationArgs, onLeave: () -> Unit, onNewPicture: () -> Unit) {
        val viewModel: ConversationViewModel = screenModel(conversationEntry(args.key)) {
            ConversationViewModel(
                createSavedStateHandle(), graph.session, graph.archive, graph.pictures, graph.narrator,
                graph.clipboard, graph.shareSheet, Clock { System.currentTimeMillis() }, graph.settings, graph.texts,
            )
        }
        LaunchedEffect(args.key) { viewModel.open(args) }
        val state by viewModel.uiState.collectAsStateWithLifecycle()
        val voice = rememberLauncherForActivityResult(ActivityResultContracts.StartActivityForResult()) { result ->
            viewModel.voiceResult(result.data?.getStringArrayListExtra(RecognizerIntent.EXTRA_RESULTS)?.firstOrNull())
        }
        fun leave() {
            viewModel.close()
            onLeave()
        }
        fun newPicture() {
            viewModel.close()
            onNewPicture()
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
                        Problem.Recovery.TakeNewPicture -> newPicture()
                        Problem.Recovery.OpenModels -> go(Destination.Models)
                        Problem.Recovery.OpenSettings -> go(Destination.Settings)
                        else -> recover(recovery)
                    }
                },
                onNewPicture = { newPicture() },
            ),
        )
    }

    /**
     * [entry]'s view model, in its own store; keyed by the entry, so a
     * [createSavedStateHandle] is the entry's own too (kept by the activity
     * across process death).
     */
    @Composable
    private inline fun <reified VM : ViewModel> screenModel(entry: String, crossinline make: CreationExtras.() -> VM): VM =
        viewModel(
            viewModelStoreOwner = stores.owner(entry),
            key = entry,
            factory = viewModelFactory { initializer { make() } },
            extras = activity.defaultViewModelCreationExtras,
        )

    private fun modelName(id: String): String =
        graph.library.catalog.firstOrNull { it.id == id || id.startsWith(it.id) }?.displayName ?: id


    /** Recoveries that leave the app's screens. */
    private fun recover(recovery: Problem.Recovery) {
        if (recovery == Problem.Recovery.OpenSystemSettings) {
            activity.startActivity(
                Intent(SystemSettings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", activity.packageName, null)),
            )
        }
    }
}

/** The back-stack entry of the conversation [key]: each conversation is an entry of its own. */
fun conversationEntry(key: String) = "${Destination.Conversation.name}:$key"
