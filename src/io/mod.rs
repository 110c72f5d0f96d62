//! The I/O edge: the clock, sockets and the tokio driver that runs sans-IO
//! sessions and simulated devices. Everything that awaits lives here.

pub mod clock;
pub mod driver;
pub mod socket;

pub use driver::{run_device, run_session, DriverError, EventSink, SessionCommand};
pub use socket::{DatagramSocket, MemFactory, MemNet, MemSocket, SocketFactory, UdpFactory};
