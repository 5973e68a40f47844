package app.imp.android.platform

import android.annotation.SuppressLint
import android.content.Context
import android.graphics.ImageFormat
import android.graphics.Matrix
import android.graphics.RectF
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CaptureRequest
import android.hardware.camera2.params.OutputConfiguration
import android.hardware.camera2.params.SessionConfiguration
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.view.Surface
import android.view.TextureView
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.viewinterop.AndroidView
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleEventObserver
import androidx.lifecycle.compose.LocalLifecycleOwner
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.withTimeoutOrNull
import java.util.concurrent.Executor
import kotlin.math.max

/**
 * The back camera through the framework's Camera2 API (CameraX cannot be had
 * here): a TextureView preview, JPEG stills from an ImageReader, and small
 * YUV frames from another whose luminance is looked at for aiming help
 * ([FrameChecker], four times a second), all camera callbacks on one
 * background thread.
 */
class Camera2Camera(context: Context) : Camera {
    private val manager = context.getSystemService(CameraManager::class.java)
    private var open: OpenCamera? = null
    private val lookFlow = MutableSharedFlow<FrameLook>(extraBufferCapacity = 1, onBufferOverflow = BufferOverflow.DROP_OLDEST)
    override val looks: SharedFlow<FrameLook> = lookFlow.asSharedFlow()

    @Volatile private var torchOn = false

    private val cameraId: String? by lazy {
        val ids = runCatching { manager?.cameraIdList?.toList() }.getOrNull().orEmpty()
        ids.firstOrNull { manager?.getCameraCharacteristics(it)?.get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_BACK }
            ?: ids.firstOrNull()
    }

    override val isAvailable: Boolean get() = cameraId != null

    override val hasTorch: Boolean by lazy {
        val id = cameraId ?: return@lazy false
        runCatching { manager?.getCameraCharacteristics(id)?.get(CameraCharacteristics.FLASH_INFO_AVAILABLE) }.getOrNull() == true
    }

    override fun setTorch(on: Boolean) {
        torchOn = on
        open?.repeatPreview()
    }

    @Composable
    override fun Preview(modifier: Modifier) {
        val lifecycleOwner = LocalLifecycleOwner.current
        var view by remember { mutableStateOf<TextureView?>(null) }
        AndroidView(factory = { TextureView(it).also { v -> view = v } }, modifier = modifier)
        val textureView = view ?: return
        DisposableEffect(lifecycleOwner, textureView) {
            val observer = LifecycleEventObserver { _, event ->
                when (event) {
                    Lifecycle.Event.ON_RESUME -> start(textureView)
                    Lifecycle.Event.ON_PAUSE -> stop()
                    else -> Unit
                }
            }
            lifecycleOwner.lifecycle.addObserver(observer)
            onDispose {
                lifecycleOwner.lifecycle.removeObserver(observer)
                stop()
            }
        }
    }

    override suspend fun takePicture(): ByteArray = (open ?: throw CameraNotReady()).capture()

    private fun start(view: TextureView) {
        val id = cameraId ?: return
        if (open != null) return
        val camera = OpenCamera(view, id)
        open = camera
        if (view.isAvailable) {
            camera.open()
        } else {
            view.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
                override fun onSurfaceTextureAvailable(texture: SurfaceTexture, width: Int, height: Int) {
                    if (open === camera) camera.open()
                }

                override fun onSurfaceTextureSizeChanged(texture: SurfaceTexture, width: Int, height: Int) =
                    camera.fitPreview()

                override fun onSurfaceTextureDestroyed(texture: SurfaceTexture) = true

                override fun onSurfaceTextureUpdated(texture: SurfaceTexture) = Unit
            }
        }
    }

    private fun stop() {
        open?.close()
        open = null
    }

    private inner class OpenCamera(private val view: TextureView, private val id: String) {
        private val thread = HandlerThread("imp-camera").apply { start() }
        private val handler = Handler(thread.looper)
        private val executor = Executor { handler.post(it) }
        private val characteristics = manager!!.getCameraCharacteristics(id)
        private val sensorDegrees = characteristics.get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 90
        private val sizes = characteristics.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
        private val still = CaptureSize.forModel(sizes?.getOutputSizes(ImageFormat.JPEG).orEmpty().map { it.width to it.height })
        private val preview = CaptureSize.preview(
            sizes?.getOutputSizes(SurfaceTexture::class.java).orEmpty().map { it.width to it.height },
            still,
        )
        private val reader = ImageReader.newInstance(still.first, still.second, ImageFormat.JPEG, 2)
        private val analysis = CaptureSize.analysis(sizes?.getOutputSizes(ImageFormat.YUV_420_888).orEmpty().map { it.width to it.height })
        private val frames = ImageReader.newInstance(analysis.first, analysis.second, ImageFormat.YUV_420_888, 2)
        private val checker = FrameChecker()
        private var luma = ByteArray(0)
        private var lookedAtMs = 0L
        private var device: CameraDevice? = null
        private var session: CameraCaptureSession? = null
        private var previewSurface: Surface? = null
        private var analysing = false

        /** Completed when the preview's session is configured: a shutter pressed earlier waits for it. */
        private val configured = CompletableDeferred<CameraCaptureSession>()
        private var pending: CompletableDeferred<ByteArray>? = null

        @Volatile private var closed = false

        @SuppressLint("MissingPermission") // the capture screen shows the preview only with the permission
        fun open() {
            reader.setOnImageAvailableListener({ r ->
                r.acquireLatestImage()?.use { image ->
                    val buffer = image.planes[0].buffer
                    pending?.complete(ByteArray(buffer.remaining()).also(buffer::get))
                }
            }, handler)
            frames.setOnImageAvailableListener({ r -> r.acquireLatestImage()?.use(::look) }, handler)
            view.surfaceTexture?.setDefaultBufferSize(preview.first, preview.second)
            fitPreview()
            runCatching {
                manager!!.openCamera(id, object : CameraDevice.StateCallback() {
                    override fun onOpened(camera: CameraDevice) {
                        if (closed) return camera.close()
                        device = camera
                        startSession(camera, withAnalysis = true)
                    }

                    override fun onDisconnected(camera: CameraDevice) = camera.close()

                    override fun onError(camera: CameraDevice, error: Int) = camera.close()
                }, handler)
            }
        }

        /**
         * Preview, stills and (if [withAnalysis]) the small frames for aiming
         * help: a combination every camera level guarantees, but should one
         * refuse it, the session starts again without the frames.
         */
        private fun startSession(camera: CameraDevice, withAnalysis: Boolean) {
            val texture = view.surfaceTexture ?: return
            val surface = Surface(texture)
            previewSurface = surface
            val outputs = listOfNotNull(
                OutputConfiguration(surface),
                OutputConfiguration(reader.surface),
                if (withAnalysis) OutputConfiguration(frames.surface) else null,
            )
            val callback = object : CameraCaptureSession.StateCallback() {
                override fun onConfigured(s: CameraCaptureSession) {
                    if (closed) return s.close()
                    session = s
                    analysing = withAnalysis
                    configured.complete(s)
                    repeatPreview()
                }

                override fun onConfigureFailed(s: CameraCaptureSession) {
                    s.close()
                    if (withAnalysis && !closed) startSession(camera, withAnalysis = false)
                }
            }
            runCatching {
                camera.createCaptureSession(SessionConfiguration(SessionConfiguration.SESSION_REGULAR, outputs, executor, callback))
            }
        }

        /** (Re)starts the preview's repeating request, with the torch as it is now. */
        fun repeatPreview() = handler.post {
            val s = session ?: return@post
            val camera = device ?: return@post
            val surface = previewSurface ?: return@post
            if (closed) return@post
            val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                addTarget(surface)
                if (analysing) addTarget(frames.surface)
                set(CaptureRequest.CONTROL_AF_MODE, CaptureRequest.CONTROL_AF_MODE_CONTINUOUS_PICTURE)
                set(CaptureRequest.FLASH_MODE, flashMode())
            }
            runCatching { s.setRepeatingRequest(request.build(), null, handler) }
        }

        private fun flashMode() = if (torchOn) CaptureRequest.FLASH_MODE_TORCH else CaptureRequest.FLASH_MODE_OFF

        /** Looks at a frame's luminance, at most every [LOOK_EVERY_MS]. */
        private fun look(image: android.media.Image) {
            val now = android.os.SystemClock.elapsedRealtime()
            if (now - lookedAtMs < LOOK_EVERY_MS) return
            lookedAtMs = now
            val plane = image.planes[0]
            val buffer = plane.buffer
            val size = plane.rowStride * (image.height - 1) + image.width
            if (buffer.remaining() < size) return
            if (luma.size != size) luma = ByteArray(size)
            buffer.get(luma, 0, size)
            runCatching { checker.look(luma, image.width, image.height, plane.rowStride) }.onSuccess { lookFlow.tryEmit(it) }
        }

        suspend fun capture(): ByteArray {
            val s = session ?: withTimeoutOrNull(SESSION_WAIT_MS) { configured.await() } ?: throw CameraNotReady()
            val camera = device ?: throw CameraNotReady()
            val result = CompletableDeferred<ByteArray>()
            pending = result
            val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_STILL_CAPTURE).apply {
                addTarget(reader.surface)
                set(CaptureRequest.CONTROL_AF_MODE, CaptureRequest.CONTROL_AF_MODE_CONTINUOUS_PICTURE)
                // Written as the EXIF orientation (or applied) by the camera; the core applies it.
                set(CaptureRequest.JPEG_ORIENTATION, CaptureSize.jpegOrientation(sensorDegrees, displayDegrees()))
                set(CaptureRequest.JPEG_QUALITY, 92.toByte())
                set(CaptureRequest.FLASH_MODE, flashMode())
            }
            s.capture(request.build(), null, handler)
            // Not withTimeout: its timeout is a CancellationException, which callers rightly pass on silently.
            return withTimeoutOrNull(CAPTURE_TIMEOUT_MS) { result.await() } ?: error("The camera did not answer.")
        }

        private fun displayDegrees() = when (view.display?.rotation ?: Surface.ROTATION_0) {
            Surface.ROTATION_90 -> 90
            Surface.ROTATION_180 -> 180
            Surface.ROTATION_270 -> 270
            else -> 0
        }

        /** Fills the view with the preview, cropping rather than stretching, in any display rotation. */
        fun fitPreview() {
            val w = view.width.toFloat()
            val h = view.height.toFloat()
            if (w == 0f || h == 0f) return
            val matrix = Matrix()
            val (pw, ph) = preview.first.toFloat() to preview.second.toFloat()
            val degrees = displayDegrees()
            if (degrees == 90 || degrees == 270) {
                val viewRect = RectF(0f, 0f, w, h)
                val bufferRect = RectF(0f, 0f, ph, pw)
                bufferRect.offset(viewRect.centerX() - bufferRect.centerX(), viewRect.centerY() - bufferRect.centerY())
                matrix.setRectToRect(viewRect, bufferRect, Matrix.ScaleToFit.FILL)
                val scale = max(h / ph, w / pw)
                matrix.postScale(scale, scale, w / 2, h / 2)
                matrix.postRotate(degrees - 180f, w / 2, h / 2)
            } else {
                // Upright, the landscape buffer shows portrait (ph x pw), stretched to the view.
                val content = ph / pw
                if (w / h < content) matrix.setScale(h * content / w, 1f, w / 2, h / 2) else matrix.setScale(1f, w / content / h, w / 2, h / 2)
                if (degrees == 180) matrix.postRotate(180f, w / 2, h / 2)
            }
            view.post { view.setTransform(matrix) }
        }

        fun close() {
            closed = true
            configured.completeExceptionally(CameraNotReady())
            pending?.completeExceptionally(CameraNotReady())
            handler.post {
                session?.close()
                device?.close()
                reader.close()
                frames.close()
                thread.quitSafely()
            }
        }
    }

    private companion object {
        const val CAPTURE_TIMEOUT_MS = 5_000L

        /** Aiming help needs a few looks a second, not the camera's thirty. */
        const val LOOK_EVERY_MS = 250L

        /** How long a shutter pressed while the camera starts waits for it. */
        const val SESSION_WAIT_MS = 3_000L
    }
}

object CaptureSize {
    /**
     * The model looks at the picture at 196 or 384 px a side (the core does the
     * exact resize), so a 12 MP still would only cost time and memory: a larger
     * JPEG takes longer to write, the core decodes it to 48 MB of pixels next to
     * the model, and the resize throws almost all of it away. The smallest still
     * whose short side is at least [MIN_SHORT_SIDE] (twice the largest model
     * input, so the downscale averages several pixels and small print stays
     * legible) keeps everything the model can use; 4:3, the sensor's own shape,
     * is preferred so nothing is cropped away.
     */
    const val MIN_SHORT_SIDE = 768

    fun forModel(sizes: List<Pair<Int, Int>>): Pair<Int, Int> {
        if (sizes.isEmpty()) return 1280 to 960
        val enough = sizes.filter { minOf(it.first, it.second) >= MIN_SHORT_SIDE }
        if (enough.isEmpty()) return sizes.maxBy { it.first.toLong() * it.second }
        val fourThree = enough.filter { isFourThree(it) }
        return (fourThree.ifEmpty { enough }).minBy { it.first.toLong() * it.second }
    }

    /** The largest preview size of the still's shape up to 1920 x 1080 (the stream the screen needs). */
    fun preview(sizes: List<Pair<Int, Int>>, still: Pair<Int, Int>): Pair<Int, Int> {
        val aspect = still.first.toFloat() / still.second
        val fitting = sizes.filter { maxOf(it.first, it.second) <= 1920 && minOf(it.first, it.second) <= 1080 }
        val same = fitting.filter { kotlin.math.abs(it.first.toFloat() / it.second - aspect) < 0.01f }
        return (same.ifEmpty { fitting }).maxByOrNull { it.first.toLong() * it.second } ?: still
    }

    /**
     * The frames looked at for aiming help: the smallest YUV size whose short
     * side is at least 240 px (enough to judge light, blur and motion; the
     * checker samples it anyway), else the largest there is.
     */
    fun analysis(sizes: List<Pair<Int, Int>>): Pair<Int, Int> {
        if (sizes.isEmpty()) return 320 to 240
        val enough = sizes.filter { minOf(it.first, it.second) >= 240 }
        return enough.minByOrNull { it.first.toLong() * it.second } ?: sizes.maxBy { it.first.toLong() * it.second }
    }

    /** The JPEG rotation that makes the back camera's picture upright for the display's rotation. */
    fun jpegOrientation(sensorDegrees: Int, displayDegrees: Int) = (sensorDegrees - displayDegrees + 360) % 360

    private fun isFourThree(size: Pair<Int, Int>) =
        maxOf(size.first, size.second) * 3 == minOf(size.first, size.second) * 4
}
