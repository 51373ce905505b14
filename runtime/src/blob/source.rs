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
    /// Bytes read ahead and given back ([`Source::unread`]): the next read starts with them.
    back: Option<Bytes>,
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
        Ok(Self {
            reader,
            len,
            back: None,
        })
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
        let mut buf = match self.back.take() {
            Some(mut back) if back.len() >= n => {
                let first = back.split_to(n);
                if !back.is_empty() {
                    self.back = Some(back);
                }
                return Ok(first);
            }
            Some(back) => {
                let mut buf = BytesMut::with_capacity(n);
                buf.extend_from_slice(&back);
                buf
            }
            None => BytesMut::with_capacity(n),
        };
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

    /// Gives back `data`, the last bytes read: the next [`Source::read_chunk`] starts with
    /// them, as if they had not been read (an upload that read ahead while a chunk was on
    /// the wire, and must now send that chunk again first). At most one read's bytes are
    /// held; giving back twice without a read in between keeps the later bytes first.
    pub fn unread(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.back = Some(match self.back.take() {
            Some(older) => {
                let mut joined = BytesMut::with_capacity(data.len() + older.len());
                joined.extend_from_slice(&data);
                joined.extend_from_slice(&older);
                joined.freeze()
            }
            None => data,
        });
    }

    /// Moves a seekable source to byte `to` (bytes given back are dropped).
    ///
    /// Errors: [`Error::InvalidInput`] for a one-pass source, [`Error::Io`] when seeking fails.
    pub async fn seek(&mut self, to: u64) -> crate::Result<()> {
        self.back = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn one_pass(data: &'static [u8]) -> UploadSource {
        UploadSource::reader(std::io::Cursor::new(data))
    }

    #[tokio::test]
    async fn bytes_given_back_are_read_first_then_the_rest_follows() {
        let mut src = Source::open(one_pass(b"abcdefghij")).await.unwrap();
        let ahead = src.read_chunk(4).await.unwrap();
        assert_eq!(&ahead[..], b"abcd");
        src.unread(ahead);
        // shorter than what was given back: the rest stays for the next read
        assert_eq!(&src.read_chunk(3).await.unwrap()[..], b"abc");
        // longer: what is left of it, then the reader
        assert_eq!(&src.read_chunk(4).await.unwrap()[..], b"defg");
        assert_eq!(&src.read_chunk(10).await.unwrap()[..], b"hij");
        assert!(src.read_chunk(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn giving_back_twice_keeps_the_later_bytes_first_and_a_seek_drops_them() {
        let mut src = Source::open(UploadSource::Bytes(Bytes::from_static(b"0123456789")))
            .await
            .unwrap();
        let a = src.read_chunk(3).await.unwrap();
        let b = src.read_chunk(3).await.unwrap();
        src.unread(b);
        src.unread(a);
        assert_eq!(&src.read_chunk(10).await.unwrap()[..], b"0123456789");
        let c = src.read_chunk(2).await.unwrap();
        assert!(c.is_empty());
        src.seek(2).await.unwrap();
        src.unread(Bytes::from_static(b"zz"));
        src.seek(8).await.unwrap();
        assert_eq!(&src.read_chunk(10).await.unwrap()[..], b"89");
    }
}
