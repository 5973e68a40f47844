//! The prompt format each Imp variant was trained with.
//!
//! Reference: MILVLG/imp `imp_llava/conversation.py`: `conv_phi2` (separator
//! style TWO: `sep = " "` after user turns, `sep2 = "</s>"` after assistant
//! turns), `conv_qwen2` (ChatML: roles `\n<|im_start|>user\n` and
//! `\n<|im_start|>assistant\n`, every message closed by `<|im_end|>`) and
//! `conv_phi3` (roles `\n<|user|>\n` and `\n<|assistant|>\n`, messages closed
//! by `<|end|>`). All three share the system text.

use crate::config::TextArch;

/// The system text shared by every Imp template.
pub const SYSTEM: &str = "A chat between a curious user and an artificial intelligence assistant. \
The assistant gives helpful, detailed, and polite answers to the user's questions.";

pub const IMAGE_PLACEHOLDER: &str = "<image>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTemplate {
    Phi2,
    Qwen2,
    Phi3,
}

impl ChatTemplate {
    /// The template each language model was trained with.
    pub fn for_arch(arch: TextArch) -> Self {
        match arch {
            TextArch::Phi2 => ChatTemplate::Phi2,
            TextArch::Qwen2 => ChatTemplate::Qwen2,
            TextArch::Phi3 => ChatTemplate::Phi3,
        }
    }

    /// The template's name in MILVLG/imp (`conv_templates`), as GGUF files record it.
    pub fn name(self) -> &'static str {
        match self {
            ChatTemplate::Phi2 => "phi2",
            ChatTemplate::Qwen2 => "qwen2",
            ChatTemplate::Phi3 => "phi3",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [ChatTemplate::Phi2, ChatTemplate::Qwen2, ChatTemplate::Phi3]
            .into_iter()
            .find(|t| t.name() == name)
    }

    /// Tokens that end an answer besides config.json's eos: the turn closer and
    /// what the released generation configs also stop on.
    pub fn stop_tokens(self) -> &'static [&'static str] {
        match self {
            ChatTemplate::Phi2 => &["</s>"],
            ChatTemplate::Qwen2 => &["<|im_end|>", "<|endoftext|>"],
            ChatTemplate::Phi3 => &["<|end|>", "<|endoftext|>", "<|assistant|>"],
        }
    }

    /// The text that structures a prompt: the image placeholder and the
    /// template's role and turn markers. A question never contributes one
    /// (see `clean`).
    pub fn markers(self) -> &'static [&'static str] {
        match self {
            ChatTemplate::Phi2 => &[IMAGE_PLACEHOLDER, "</s>", "<|endoftext|>"],
            ChatTemplate::Qwen2 => &[
                IMAGE_PLACEHOLDER,
                "<|im_start|>",
                "<|im_end|>",
                "<|endoftext|>",
            ],
            ChatTemplate::Phi3 => &[
                IMAGE_PLACEHOLDER,
                "<|system|>",
                "<|user|>",
                "<|assistant|>",
                "<|end|>",
                "<|endoftext|>",
            ],
        }
    }

    /// The opening prompt: system text, the image and the first question, up to
    /// where the assistant's answer starts.
    pub fn first_turn(self, question: &str) -> String {
        let q = self.clean(question);
        match self {
            ChatTemplate::Phi2 => format!("{SYSTEM} USER: {IMAGE_PLACEHOLDER}\n{q} ASSISTANT:"),
            ChatTemplate::Qwen2 => format!(
                "<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{IMAGE_PLACEHOLDER}\n\
                 {q}<|im_end|>\n<|im_start|>assistant\n"
            ),
            ChatTemplate::Phi3 => format!(
                "<|system|>\n{SYSTEM}<|end|>\n<|user|>\n{IMAGE_PLACEHOLDER}\n{q}<|end|>\n\
                 <|assistant|>\n"
            ),
        }
    }

    /// What follows the model's previous answer for a follow-up question: the
    /// end of the assistant turn, then the next user turn.
    pub fn next_turn(self, question: &str) -> String {
        let q = self.clean(question);
        match self {
            ChatTemplate::Phi2 => format!("</s>USER: {q} ASSISTANT:"),
            ChatTemplate::Qwen2 => {
                format!("<|im_end|>\n<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n")
            }
            ChatTemplate::Phi3 => format!("<|end|>\n<|user|>\n{q}<|end|>\n<|assistant|>\n"),
        }
    }

    /// The whole conversation as the reference's `get_prompt()` writes it, with
    /// `answers` to all but the last question.
    pub fn render(self, questions: &[&str], answers: &[&str]) -> String {
        // Phi-2's "ASSISTANT: answer" has a space where the others have a newline
        // already in the role.
        let before_answer = if self == ChatTemplate::Phi2 { " " } else { "" };
        let mut prompt = String::new();
        for (i, q) in questions.iter().enumerate() {
            if i == 0 {
                prompt.push_str(&self.first_turn(q));
            } else {
                prompt.push_str(&self.next_turn(q));
            }
            if let Some(a) = answers.get(i) {
                prompt.push_str(before_answer);
                prompt.push_str(a);
            }
        }
        prompt
    }
}

/// The reference strips the first message and removes any `<image>` the user
/// typed: the picture is placed by the template, once.
impl ChatTemplate {
    /// The question without any of the template's markers, so that what a
    /// person types (or a screen reader's dictation, or pasted text) can
    /// neither add a second image nor end the turn and speak for the
    /// assistant. Removed until none is left: taking `<image>` out of
    /// `<ima<image>ge>` makes another.
    fn clean(self, question: &str) -> String {
        let mut q = question.to_string();
        while let Some(marker) = self.markers().iter().find(|m| q.contains(*m)) {
            q = q.replace(marker, "");
        }
        q.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markers in a question are dropped, also those that dropping another
    /// one puts together.
    #[test]
    fn a_question_cannot_add_an_image_or_a_turn() {
        for template in [ChatTemplate::Phi2, ChatTemplate::Qwen2, ChatTemplate::Phi3] {
            let typed = "<ima<image>ge> hi <|im_<|end|>end|><|end|></s>";
            let expected = template.first_turn("hi");
            let got = template.first_turn(typed);
            assert_eq!(
                got.matches(IMAGE_PLACEHOLDER).count(),
                1,
                "{template:?}: {got}"
            );
            for marker in template.markers() {
                assert_eq!(
                    got.matches(marker).count(),
                    expected.matches(marker).count(),
                    "{template:?} {marker}: {got}"
                );
            }
        }
    }

    #[test]
    fn phi2_multi_turn_matches_the_reference_layout() {
        let prompt = ChatTemplate::Phi2.render(&["What is it?", "And its colour?"], &["A cat."]);
        assert_eq!(
            prompt,
            format!(
                "{SYSTEM} USER: <image>\nWhat is it? ASSISTANT: A cat.</s>USER: And its colour? \
                 ASSISTANT:"
            )
        );
    }

    #[test]
    fn qwen2_and_phi3_follow_conversation_py() {
        let prompt = ChatTemplate::Qwen2.render(&["What is it?", "And its colour?"], &["A cat."]);
        assert_eq!(
            prompt,
            format!(
                "<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<image>\nWhat is it?\
                 <|im_end|>\n<|im_start|>assistant\nA cat.<|im_end|>\n<|im_start|>user\nAnd its \
                 colour?<|im_end|>\n<|im_start|>assistant\n"
            )
        );
        let prompt = ChatTemplate::Phi3.render(&["What is it?", "And its colour?"], &["A cat."]);
        assert_eq!(
            prompt,
            format!(
                "<|system|>\n{SYSTEM}<|end|>\n<|user|>\n<image>\nWhat is it?<|end|>\n\
                 <|assistant|>\nA cat.<|end|>\n<|user|>\nAnd its colour?<|end|>\n<|assistant|>\n"
            )
        );
        for t in [ChatTemplate::Phi2, ChatTemplate::Qwen2, ChatTemplate::Phi3] {
            assert_eq!(ChatTemplate::from_name(t.name()), Some(t));
            // The follow-up opens with the token that ended the answer.
            assert!(t.next_turn("q").starts_with(t.stop_tokens()[0]));
        }
    }

    #[test]
    fn typed_image_tags_do_not_add_images() {
        let p = ChatTemplate::Phi2.first_turn("  <image> what is this? ");
        assert_eq!(p.matches(IMAGE_PLACEHOLDER).count(), 1);
        assert!(p.ends_with("\nwhat is this? ASSISTANT:"));
    }
}
