package app.imp.android

import org.robolectric.annotation.Config

// Every screen test again in the dark theme (the system's night mode), so
// each screen and state has a dark reference image too: `screenshot("NAME")`
// writes and compares NAME-dark there.

@Config(qualifiers = "+night")
class BenchmarkDarkTest : BenchmarkTest()

@Config(qualifiers = "+night")
class ModelsDarkTest : ModelsTest()

@Config(qualifiers = "+night")
class HistoryDarkTest : HistoryTest()

@Config(qualifiers = "+night")
class ConversationProblemsDarkTest : ConversationProblemsTest()

@Config(qualifiers = "+night")
class SettingsDarkTest : SettingsTest()

@Config(qualifiers = "+night")
class ConversationScreenDarkTest : ConversationScreenTest()

@Config(qualifiers = "+night")
class CaptureScreenDarkTest : CaptureScreenTest()
