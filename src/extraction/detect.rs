//! Document type by content (magic bytes), never by name.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    Webp,
    Zip,
}

impl DocKind {
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        let head = &bytes[..bytes.len().min(1024)];
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Self::Tiff)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(Self::Zip)
        } else if head.windows(5).any(|w| w == b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Tiff => "tiff",
            Self::Webp => "webp",
            Self::Zip => "zip",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Tiff | Self::Webp)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Pdf,
            Self::Png,
            Self::Jpeg,
            Self::Tiff,
            Self::Webp,
            Self::Zip,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown document kind {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        let cases: &[(&[u8], Option<DocKind>)] = &[
            (b"%PDF-1.7\n", Some(DocKind::Pdf)),
            (b"\n\n%PDF-1.4", Some(DocKind::Pdf)),
            (b"\x89PNG\r\n\x1a\n....", Some(DocKind::Png)),
            (&[0xFF, 0xD8, 0xFF, 0xE0], Some(DocKind::Jpeg)),
            (b"II*\0....", Some(DocKind::Tiff)),
            (b"MM\0*....", Some(DocKind::Tiff)),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some(DocKind::Webp)),
            (b"PK\x03\x04....", Some(DocKind::Zip)),
            (b"hello, world", None),
            (b"", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(DocKind::detect(bytes), *want, "{bytes:?}");
        }
    }
}
