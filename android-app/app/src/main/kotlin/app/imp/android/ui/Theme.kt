package app.imp.android.ui

import android.content.Context
import android.os.Build
import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.material3.ColorScheme
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.dynamicDarkColorScheme
import androidx.compose.material3.dynamicLightColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.LocalContext

private val ImpBlue = Color(0xFF1B3A4B)
private val ImpAmber = Color(0xFFF2B134)

private val LightColors = lightColorScheme(primary = ImpBlue, secondary = ImpAmber)
private val DarkColors = darkColorScheme(primary = Color(0xFF9CCBE3), secondary = ImpAmber)

/** The wallpaper's colours where the phone has them (Android 12+), else Imp's. */
fun impColorScheme(context: Context, darkTheme: Boolean, dynamicColor: Boolean = true): ColorScheme = when {
    dynamicColor && Build.VERSION.SDK_INT >= Build.VERSION_CODES.S ->
        if (darkTheme) dynamicDarkColorScheme(context) else dynamicLightColorScheme(context)
    darkTheme -> DarkColors
    else -> LightColors
}

@Composable
fun ImpTheme(
    darkTheme: Boolean = isSystemInDarkTheme(),
    dynamicColor: Boolean = true,
    content: @Composable () -> Unit,
) {
    MaterialTheme(colorScheme = impColorScheme(LocalContext.current, darkTheme, dynamicColor), content = content)
}
