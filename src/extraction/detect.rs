//! Document type by content (magic bytes), never by name.

pub use crate::types::DocKind;

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

    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Tiff | Self::Webp)
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
