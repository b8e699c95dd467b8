//! The direct (request-response) wire codec: one raw frame per stream in each direction, read
//! to the end of the stream and bounded by [`MAX_FRAME`].

use std::io;

use libp2p::{
    StreamProtocol,
    futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    request_response,
};

use crate::transport::{MAX_PAYLOAD, MAX_TOPIC_LEN};

/// The direct protocol's name.
pub(super) const DIRECT_PROTOCOL: StreamProtocol = StreamProtocol::new("/triggerx/direct/1");

/// The largest encoded envelope: header, the longest frame topic (`resp/` + a maximal kind),
/// an 8-byte request id and the largest payload, and the signature.
pub(super) const MAX_FRAME: usize =
    1 + 2 + (MAX_TOPIC_LEN + 8) + 20 + 8 + 8 + 4 + 8 + MAX_PAYLOAD + 65;

/// Raw bytes in, raw bytes out.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FrameCodec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(MAX_FRAME as u64 + 1).read_to_end(&mut buf).await?;
    if buf.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, frame: Vec<u8>) -> io::Result<()> {
    io.write_all(&frame).await?;
    io.close().await
}

impl request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, req).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, res).await
    }
}
