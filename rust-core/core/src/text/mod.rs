//! The words: the tokenizer, each language model's prompt template, and the
//! stream that releases generated text only in whole characters.

pub mod chat_template;
pub mod text_stream;
pub mod tokenizer;
