//! A TCP listener whose connections a handler can cut without answering,
//! to play a server that committed a write and then lost the connection.
//!
//! Each connection carries a [`ConnTag`]; a handler that calls
//! [`ConnTag::drop_connection`] makes every later read and write on that
//! connection fail, so hyper closes it before the response leaves.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The kill switch of one connection, handed to handlers as connect info.
#[derive(Debug, Clone, Default)]
pub struct ConnTag {
    cut: Arc<AtomicBool>,
}

impl ConnTag {
    /// Cuts the connection: the response being prepared will never arrive.
    pub fn drop_connection(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Wraps a [`TcpListener`], tagging each accepted connection.
pub struct CuttableListener {
    inner: TcpListener,
}

impl CuttableListener {
    pub fn new(inner: TcpListener) -> Self {
        CuttableListener { inner }
    }
}

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = ConnTag;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let tag = ConnTag::default();
                    return (
                        CuttableStream {
                            inner: stream,
                            tag: tag.clone(),
                        },
                        tag,
                    );
                }
                // Out of descriptors or a connection reset before accept: wait, go on.
                Err(err) => {
                    tracing::debug!("sandbox accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnTag::default())
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for ConnTag {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every operation once its tag is cut.
pub struct CuttableStream {
    inner: TcpStream,
    tag: ConnTag,
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "sandbox dropped the connection",
    )
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.tag.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.tag.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.tag.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
