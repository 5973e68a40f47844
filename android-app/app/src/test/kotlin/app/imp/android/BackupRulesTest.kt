package app.imp.android

import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.xmlpull.v1.XmlPullParser

/**
 * Issue 27, defect 10: a move to a new phone (device-to-device transfer, which
 * `allowBackup="false"` alone does not stop) or a backup takes the settings
 * only: not the history, its full-size photos or gigabytes of models.
 */
@RunWith(RobolectricTestRunner::class)
class BackupRulesTest {
    private val app = RuntimeEnvironment.getApplication()

    /** Each section of [xml] with the (rule, domain, path) it lists. */
    private fun rules(xml: Int): Map<String, List<Triple<String, String, String>>> {
        val parser = app.resources.getXml(xml)
        val sections = linkedMapOf<String, MutableList<Triple<String, String, String>>>()
        var section = ""
        while (parser.next() != XmlPullParser.END_DOCUMENT) {
            if (parser.eventType != XmlPullParser.START_TAG) continue
            when (parser.name) {
                "include", "exclude" -> sections.getOrPut(section) { mutableListOf() }
                    .add(Triple(parser.name, parser.getAttributeValue(null, "domain"), parser.getAttributeValue(null, "path")))
                else -> section = parser.name
            }
        }
        return sections
    }

    @Test
    fun aNewPhoneOrABackupGetsTheSettingsOnly() {
        val settingsOnly = listOf(Triple("include", "sharedpref", "settings.xml"))
        assertEquals(
            mapOf("cloud-backup" to settingsOnly, "device-transfer" to settingsOnly),
            rules(R.xml.data_extraction_rules),
        )
        // Android 11 and older. That the manifest points at both is checked on the APK (build-apk.sh).
        assertEquals(mapOf("full-backup-content" to settingsOnly), rules(R.xml.backup_rules))
    }
}
