//! The only code in the app that opens a connection. Every function here takes an
//! [`HttpsUrl`](haven_protocol::HttpsUrl) or a [`WssUrl`](haven_protocol::WssUrl), so a
//! plain `http://` or `ws://` address cannot reach the network from this app.

pub mod backoff;
pub mod https;
pub mod wss;
