//! The prompt format each Imp variant was trained with.
//!
//! Reference: MILVLG/imp `imp_llava/conversation.py` (`conv_phi2`, separator style
//! TWO: `sep = " "` after user turns, `sep2 = "</s>"` after assistant turns).

/// The system text shared by every Imp template.
pub const SYSTEM: &str = "A chat between a curious user and an artificial intelligence assistant. \
The assistant gives helpful, detailed, and polite answers to the user's questions.";

pub const IMAGE_PLACEHOLDER: &str = "<image>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTemplate {
    Phi2,
}

impl ChatTemplate {
    /// The template's name in MILVLG/imp (`conv_templates`), as GGUF files record it.
    pub fn name(self) -> &'static str {
        match self {
            ChatTemplate::Phi2 => "phi2",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "phi2" => Some(ChatTemplate::Phi2),
            _ => None,
        }
    }

    /// The opening prompt: system text, the image and the first question, up to
    /// where the assistant's answer starts.
    pub fn first_turn(self, question: &str) -> String {
        match self {
            ChatTemplate::Phi2 => format!(
                "{SYSTEM} USER: {IMAGE_PLACEHOLDER}\n{} ASSISTANT:",
                clean(question)
            ),
        }
    }

    /// What follows the model's previous answer for a follow-up question: the
    /// end of the assistant turn, then the next user turn.
    pub fn next_turn(self, question: &str) -> String {
        match self {
            ChatTemplate::Phi2 => format!("</s>USER: {} ASSISTANT:", clean(question)),
        }
    }

    /// The whole conversation as the reference's `get_prompt()` writes it, with
    /// `answers` to all but the last question.
    pub fn render(self, questions: &[&str], answers: &[&str]) -> String {
        let mut prompt = String::new();
        for (i, q) in questions.iter().enumerate() {
            if i == 0 {
                prompt.push_str(&self.first_turn(q));
            } else {
                prompt.push_str(&self.next_turn(q));
            }
            if let Some(a) = answers.get(i) {
                prompt.push(' ');
                prompt.push_str(a);
            }
        }
        prompt
    }
}

/// The reference strips the first message and removes any `<image>` the user
/// typed: the picture is placed by the template, once.
fn clean(question: &str) -> String {
    question.replace(IMAGE_PLACEHOLDER, "").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn typed_image_tags_do_not_add_images() {
        let p = ChatTemplate::Phi2.first_turn("  <image> what is this? ");
        assert_eq!(p.matches(IMAGE_PLACEHOLDER).count(), 1);
        assert!(p.ends_with("\nwhat is this? ASSISTANT:"));
    }
}
