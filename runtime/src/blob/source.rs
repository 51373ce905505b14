//! Where an upload's bytes come from: [`UploadSource`] for the caller, and the reader ([`Source`])
//! the session protocol pulls chunks from (seeking back when the registry lost bytes and the
//! source allows it).

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _};

use crate::Error;

/// The operation named in the errors of reading a source.
const OP: &str = "push_blob";

/// A readable and seekable source.
pub trait AsyncReadSeek: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> AsyncReadSeek for T {}

/// Where the bytes of an upload come from.
///
/// A seekable source (bytes, a file, [`UploadSource::Seekable`]) can start over in a new
/// session when the registry loses one; a one-pass stream ([`UploadSource::Reader`]) can
/// only while its first chunk is still unconfirmed (it is in memory), and fails clearly
/// otherwise.
#[non_exhaustive]
pub enum UploadSource {
    /// Bytes in memory (seekable).
    Bytes(Bytes),
    /// A file (seekable; its length is known).
    Path(PathBuf),
    /// A one-pass stream.
    Reader(Box<dyn AsyncRead + Send + Unpin>),
    /// A seekable stream, positioned at the start of the blob.
    Seekable(Box<dyn AsyncReadSeek>),
}

impl UploadSource {
    /// A one-pass reader.
    pub fn reader(r: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Self::Reader(Box::new(r))
    }

    /// A seekable reader, positioned at the start of the blob.
    pub fn seekable(r: impl AsyncRead + AsyncSeek + Send + Unpin + 'static) -> Self {
        Self::Seekable(Box::new(r))
    }

    /// A file.
    pub fn path(p: impl Into<PathBuf>) -> Self {
        Self::Path(p.into())
    }
}

impl std::fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Self::Path(p) => write!(f, "Path({})", p.display()),
            Self::Reader(_) => f.write_str("Reader"),
            Self::Seekable(_) => f.write_str("Seekable"),
        }
    }
}

enum Reader {
    OnePass(Box<dyn AsyncRead + Send + Unpin>),
    Seek(Box<dyn AsyncReadSeek>),
}

/// An opened [`UploadSource`].
pub struct Source {
    reader: Reader,
    /// The length, when known up front (bytes, files).
    len: Option<u64>,
}

impl Source {
    /// Opens `source` (a file is opened and its length read).
    ///
    /// Errors: [`Error::Io`] when a file cannot be opened or examined.
    pub async fn open(source: UploadSource) -> crate::Result<Self> {
        let (reader, len) = match source {
            UploadSource::Bytes(b) => {
                let len = b.len() as u64;
                (Reader::Seek(Box::new(std::io::Cursor::new(b))), Some(len))
            }
            UploadSource::Path(p) => {
                let f = tokio::fs::File::open(&p)
                    .await
                    .map_err(|e| Error::io(OP, format!("cannot open {}", p.display()), e))?;
                let len = f
                    .metadata()
                    .await
                    .map_err(|e| Error::io(OP, format!("cannot stat {}", p.display()), e))?
                    .len();
                (Reader::Seek(Box::new(f)), Some(len))
            }
            UploadSource::Reader(r) => (Reader::OnePass(r), None),
            UploadSource::Seekable(r) => (Reader::Seek(r), None),
        };
        Ok(Self { reader, len })
    }

    /// The length, when known without reading (bytes, files).
    pub fn known_len(&self) -> Option<u64> {
        self.len
    }

    /// Whether the source can go back.
    pub fn seekable(&self) -> bool {
        matches!(self.reader, Reader::Seek(_))
    }

    /// Reads up to `n` bytes (fewer only at the end).
    ///
    /// Errors: [`Error::Io`] when the reader fails.
    pub async fn read_chunk(&mut self, n: usize) -> crate::Result<Bytes> {
        let mut buf = BytesMut::with_capacity(n);
        while buf.len() < n {
            let read = match &mut self.reader {
                Reader::OnePass(r) => r.read_buf(&mut buf).await,
                Reader::Seek(r) => r.read_buf(&mut buf).await,
            };
            match read {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(Error::io(OP, "cannot read the upload source", e)),
            }
        }
        Ok(buf.freeze())
    }

    /// Moves a seekable source to byte `to`.
    ///
    /// Errors: [`Error::InvalidInput`] for a one-pass source, [`Error::Io`] when seeking fails.
    pub async fn seek(&mut self, to: u64) -> crate::Result<()> {
        match &mut self.reader {
            Reader::Seek(r) => {
                r.seek(std::io::SeekFrom::Start(to))
                    .await
                    .map_err(|e| Error::io(OP, "cannot seek the upload source", e))?;
                Ok(())
            }
            Reader::OnePass(_) => Err(Error::invalid_input(OP, "the source cannot seek")),
        }
    }
}
