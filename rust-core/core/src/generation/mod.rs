//! Answering: the loaded [`engine::Engine`], a [`conversation::Conversation`]
//! per picture (its prompt up to the question prefilled ahead, [`prefix`]), and
//! how the next token is chosen ([`sampling`]).

pub mod answer;
pub mod conversation;
pub mod engine;
pub mod prefix;
pub mod sampling;
