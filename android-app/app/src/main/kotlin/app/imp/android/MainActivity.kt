package app.imp.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import app.imp.android.ui.HomeScreen
import app.imp.android.ui.ImpTheme

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        setContent {
            ImpTheme {
                HomeScreen(onTakePicture = {})
            }
        }
    }
}
