//! Answering: the loaded [`engine::Engine`], a [`conversation::Conversation`]
//! per picture, and how the next token is chosen ([`sampling`]).

pub mod conversation;
pub mod engine;
pub mod sampling;
