//! The words: the tokenizer, each language model's prompt template, the
//! stream that releases generated text only in whole characters, and where
//! the sentences of an answer end (for speech).

pub mod chat_template;
pub mod sentences;
pub mod text_stream;
pub mod tokenizer;
