package app.imp.android.ui.common

import androidx.compose.foundation.layout.heightIn
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp

/**
 * At least 48 dp tall: the smallest touch target Android's accessibility
 * guidelines (and the screen tests) accept. Material's buttons are 40 dp, a
 * dialog's as well, so every control the app draws goes through this.
 */
fun Modifier.touchTarget(): Modifier = heightIn(min = 48.dp)
