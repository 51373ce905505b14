//! Where an upload's bytes come from: [`UploadSource`] for the caller, and the reader ([`Source`])
//! the session protocol pulls chunks from (seeking back when the registry lost bytes and the
//! source allows it).

use std::path::PathBuf;

use bytes::{BufMut as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _};

use crate::{Digest, Error};

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
    /// A seekable stream that checks its own bytes against `digest` (a verified download,
    /// as in an image copy): see [`UploadSource::verified`].
    Verified {
        /// The stream, positioned at the start of the blob.
        reader: Box<dyn AsyncReadSeek>,
        /// The digest it checks its bytes against.
        digest: Digest,
    },
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

    /// A seekable reader, positioned at the start of the blob, that checks the bytes it
    /// gives against `digest` and fails (an I/O error) at its end rather than end on bytes
    /// that do not match: a `pull_blob` stream, for example. An upload of it with the same
    /// digest does not hash the bytes again; it reads the source to its end (the check)
    /// before the last bytes go to the registry. After a seek back it must check the whole
    /// blob again (from byte 0), as a download started over does.
    pub fn verified(
        r: impl AsyncRead + AsyncSeek + Send + Unpin + 'static,
        digest: Digest,
    ) -> Self {
        Self::Verified {
            reader: Box::new(r),
            digest,
        }
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
            Self::Verified { digest, .. } => write!(f, "Verified({digest})"),
        }
    }
}

enum Reader {
    OnePass(Box<dyn AsyncRead + Send + Unpin>),
    Seek(Box<dyn AsyncReadSeek>),
    /// Bytes in memory: reads are slices of them, no copy.
    Memory {
        data: Bytes,
        at: usize,
    },
    /// A file read at a position on the blocking pool, straight into the chunk's buffer
    /// (no intermediate buffer, no second copy); a read abandoned half-way loses nothing.
    File {
        file: std::sync::Arc<std::fs::File>,
        at: u64,
    },
}

/// Reads up to `n` bytes of `file` from byte `at` into `buf` (fewer only at the end of the
/// file), on the calling thread.
fn read_file_at(
    file: &std::fs::File,
    at: u64,
    buf: &mut BytesMut,
    n: usize,
) -> std::io::Result<()> {
    let start = buf.len();
    buf.resize(start + n, 0); // zeroed once: safe code cannot read into spare capacity
    let mut filled = 0;
    while filled < n {
        let got = match read_at(file, &mut buf[start + filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start + filled);
                return Err(e);
            }
        };
        filled += got;
    }
    buf.truncate(start + filled);
    Ok(())
}

/// Reads from `r` into `buf` until it holds `n` bytes or `r` ends.
async fn fill(
    r: &mut (dyn AsyncRead + Send + Unpin),
    buf: &mut BytesMut,
    n: usize,
) -> std::io::Result<()> {
    buf.reserve(n - buf.len());
    while buf.len() < n {
        // never past `n`: a buffer may have more room than asked for
        let room = n - buf.len();
        if r.read_buf(&mut (&mut *buf).limit(room)).await? == 0 {
            break;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

/// An opened [`UploadSource`].
pub struct Source {
    reader: Reader,
    /// The length, when known up front (bytes, files).
    len: Option<u64>,
    /// Bytes read ahead and given back ([`Source::unread`]): the next read starts with them.
    back: Option<Bytes>,
    /// The digest the reader checks its bytes against ([`UploadSource::verified`]).
    verified: Option<Digest>,
}

impl Source {
    /// Opens `source` (a file is opened and its length read).
    ///
    /// Errors: [`Error::Io`] when a file cannot be opened or examined.
    pub async fn open(source: UploadSource) -> crate::Result<Self> {
        let mut verified = None;
        let (reader, len) = match source {
            UploadSource::Bytes(b) => {
                let len = b.len() as u64;
                (Reader::Memory { data: b, at: 0 }, Some(len))
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
                let file = std::sync::Arc::new(f.into_std().await);
                (Reader::File { file, at: 0 }, Some(len))
            }
            UploadSource::Reader(r) => (Reader::OnePass(r), None),
            UploadSource::Seekable(r) => (Reader::Seek(r), None),
            UploadSource::Verified { reader, digest } => {
                verified = Some(digest);
                (Reader::Seek(reader), None)
            }
        };
        Ok(Self {
            reader,
            len,
            back: None,
            verified,
        })
    }

    /// The length, when known without reading (bytes, files).
    pub fn known_len(&self) -> Option<u64> {
        self.len
    }

    /// The digest the source checks its own bytes against, if it does
    /// ([`UploadSource::verified`]).
    pub fn verified(&self) -> Option<&Digest> {
        self.verified.as_ref()
    }

    /// Reads once more where the blob should end, so that a source that checks its bytes
    /// ([`UploadSource::verified`]) does so; call it after the blob's last byte was read.
    ///
    /// Errors: [`Error::Io`] when the reader fails (its check did not pass), and
    /// [`Error::InvalidInput`] when it gives more bytes.
    pub async fn expect_end(&mut self) -> crate::Result<()> {
        let more = self.read_chunk(1).await?;
        if more.is_empty() {
            Ok(())
        } else {
            self.unread(more);
            Err(Error::invalid_input(
                OP,
                "the source is longer than the size announced",
            ))
        }
    }

    /// Whether the source can go back.
    pub fn seekable(&self) -> bool {
        !matches!(self.reader, Reader::OnePass(_))
    }

    /// Reads up to `n` bytes (fewer only at the end).
    ///
    /// Errors: [`Error::Io`] when the reader fails.
    pub async fn read_chunk(&mut self, n: usize) -> crate::Result<Bytes> {
        let buf = match self.back.take() {
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
            None => BytesMut::new(),
        };
        self.read_more(buf, n)
            .await
            .map_err(|e| Error::io(OP, "cannot read the upload source", e))
    }

    /// Fills `buf` up to `n` bytes from the reader (fewer only at the end).
    async fn read_more(&mut self, mut buf: BytesMut, n: usize) -> std::io::Result<Bytes> {
        let want = n - buf.len();
        match &mut self.reader {
            Reader::Memory { data, at } => {
                let end = data.len().min(*at + want);
                let piece = data.slice(*at..end);
                *at = end;
                if buf.is_empty() {
                    return Ok(piece);
                }
                buf.extend_from_slice(&piece);
            }
            Reader::File { file, at } => {
                let file = std::sync::Arc::clone(file);
                let (from, before) = (*at, buf.len());
                buf = tokio::task::spawn_blocking(move || {
                    read_file_at(&file, from, &mut buf, want).map(|()| buf)
                })
                .await
                .map_err(std::io::Error::other)??;
                *at = from + (buf.len() - before) as u64;
            }
            Reader::OnePass(r) => fill(r.as_mut(), &mut buf, n).await?,
            Reader::Seek(r) => fill(r.as_mut(), &mut buf, n).await?,
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
            Reader::Memory { data, at } => {
                *at = data.len().min(usize::try_from(to).unwrap_or(usize::MAX));
                Ok(())
            }
            Reader::File { at, .. } => {
                *at = to;
                Ok(())
            }
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
    use std::time::Duration;

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

    #[tokio::test]
    async fn a_file_is_read_at_its_position_and_seeks_back_without_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut src = Source::open(UploadSource::path(&path)).await.unwrap();
        assert_eq!(src.known_len(), Some(10));
        assert!(src.seekable());
        assert_eq!(&src.read_chunk(4).await.unwrap()[..], b"0123");
        let ahead = src.read_chunk(4).await.unwrap();
        assert_eq!(&ahead[..], b"4567");
        src.unread(ahead);
        // what was given back, then the file from where it stands
        assert_eq!(&src.read_chunk(6).await.unwrap()[..], b"456789");
        assert!(src.read_chunk(4).await.unwrap().is_empty());
        src.seek(3).await.unwrap();
        assert_eq!(&src.read_chunk(100).await.unwrap()[..], b"3456789");
    }

    #[tokio::test]
    async fn a_file_read_abandoned_half_way_is_read_again_from_the_same_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let data: Vec<u8> = (0..=255u8).cycle().take(3 << 20).collect();
        std::fs::write(&path, &data).unwrap();
        let mut src = Source::open(UploadSource::path(&path)).await.unwrap();
        assert_eq!(&src.read_chunk(5).await.unwrap()[..], &data[..5]);
        // dropped before the blocking read is polled to its end
        let abandoned = tokio::time::timeout(Duration::ZERO, src.read_chunk(2 << 20)).await;
        assert!(
            abandoned.is_err(),
            "a zero timeout ends the read before it completes"
        );
        let next = src.read_chunk(1 << 20).await.unwrap();
        assert_eq!(&next[..], &data[5..5 + (1 << 20)]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_a_read_gives_what_it_has_and_bytes_in_memory_are_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"abc").unwrap();
        let mut src = Source::open(UploadSource::path(&path)).await.unwrap();
        assert_eq!(&src.read_chunk(8).await.unwrap()[..], b"abc");
        assert!(src.read_chunk(8).await.unwrap().is_empty());

        let data = Bytes::from(vec![7u8; 64]);
        let mut src = Source::open(UploadSource::Bytes(data.clone()))
            .await
            .unwrap();
        let piece = src.read_chunk(16).await.unwrap();
        // a slice of the caller's bytes: the same memory
        assert_eq!(piece.as_ptr(), data.as_ptr());
        let rest = src.read_chunk(100).await.unwrap();
        assert_eq!(rest.len(), 48);
        assert_eq!(rest.as_ptr(), data[16..].as_ptr());
    }

    #[tokio::test]
    async fn a_missing_file_names_its_path() {
        let err = Source::open(UploadSource::path("/nonexistent/acr-blob"))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/acr-blob"), "{err}");
    }
}
