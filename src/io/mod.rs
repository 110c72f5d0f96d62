//! The I/O edge: the clock, sockets and the tokio driver that runs sans-IO
//! sessions. Everything that awaits a socket or reads the clock lives here.
//! It knows nothing of simulators (`sim/` uses it, not the other way round).

pub mod clock;
pub mod driver;
pub mod socket;

pub use driver::{run_session, DriverError, EventSink, SessionCommand};
pub use socket::{bind_all, DatagramSocket, SocketFactory, UdpFactory};
