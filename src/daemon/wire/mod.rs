//! WhatsApp Cloud API wire formats: decoding webhooks, encoding sends.

pub mod inbound;
pub mod outbound;
pub mod sign;
