//! OCPP-J RPC, shared by both versions: the frame codec and the error codes.
//! Pure code; the connection task does the I/O.

mod error;
mod frame;

pub use error::RpcError;
pub use frame::{Frame, FrameError, MAX_MESSAGE_ID_CHARS};
