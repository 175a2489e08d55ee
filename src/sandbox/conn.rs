//! A TCP listener whose connections a handler can cut without answering,
//! to play a server that committed a write and then lost the connection.
//!
//! Each connection carries a [`ConnTag`]; a handler that calls
//! [`ConnTag::drop_connection`] makes every later read and write on that
//! connection fail, so hyper closes it before the response leaves.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

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
    idle: Duration,
}

impl CuttableListener {
    /// Connections idle for `idle` (headers half sent, or nothing at all)
    /// are closed, as any server closes them.
    pub fn new(inner: TcpListener, idle: Duration) -> Self {
        CuttableListener { inner, idle }
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
                            idle: self.idle,
                            deadline: Box::pin(tokio::time::sleep(self.idle)),
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

/// A TCP stream that fails every operation once its tag is cut, or once
/// nothing has moved on it for its idle time.
pub struct CuttableStream {
    inner: TcpStream,
    tag: ConnTag,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl CuttableStream {
    /// Something moved: the idle clock starts again.
    fn moved(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// Whether the connection has been idle too long.
    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "sandbox closed an idle connection")
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
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.timed_out(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
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
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.moved();
                Poll::Ready(Ok(n))
            }
            Poll::Pending if this.timed_out(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
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
