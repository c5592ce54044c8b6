//! One page of a document as a PNG, for people: the dashboard shows it with
//! the located values' boxes drawn over it.

use std::io::Cursor;

use image::GrayImage;

use super::{blocking, images, DocKind, ExtractionError, Reader};

/// Wide enough to read an invoice on a laptop screen; small enough to send quickly.
const MAX_WIDTH: u32 = 1400;
const RENDER_DPI: u32 = 110;

impl Reader {
    /// Page `number` (1-based) of the document as a grayscale PNG.
    pub async fn page_png(
        &self,
        kind: DocKind,
        bytes: Vec<u8>,
        number: u32,
    ) -> Result<Vec<u8>, ExtractionError> {
        let missing = move |pages: u32| {
            ExtractionError::Unreadable(format!(
                "the document has {pages} page(s); there is no page {number}"
            ))
        };
        let image = match kind {
            DocKind::Zip => {
                return Err(ExtractionError::Unreadable(
                    "a ZIP has no pages of its own".into(),
                ))
            }
            DocKind::Pdf => {
                let max = self.max_pixels.min(super::preprocess::MAX_OCR_PIXELS);
                let mut pages = self
                    .pdf
                    .render_pages(bytes, RENDER_DPI, max, Some(number))
                    .await?;
                pages.pop().ok_or_else(|| missing(0))?
            }
            image => {
                let (max_pixels, max_pages) = (self.max_pixels, self.max_pages);
                blocking(move || {
                    let mut reader = images::PageReader::open(image, bytes, max_pixels, max_pages)?;
                    if number == 0 || number > reader.pages() {
                        return Err(missing(reader.pages()));
                    }
                    reader.page(number).map(|(img, _)| img)
                })
                .await?
            }
        };
        blocking(move || encode(image)).await
    }
}

fn encode(image: GrayImage) -> Result<Vec<u8>, ExtractionError> {
    let image = if image.width() > MAX_WIDTH {
        let height = (u64::from(image.height()) * u64::from(MAX_WIDTH) / u64::from(image.width()))
            .max(1) as u32;
        image::imageops::resize(
            &image,
            MAX_WIDTH,
            height,
            image::imageops::FilterType::Triangle,
        )
    } else {
        image
    };
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| ExtractionError::Unreadable(format!("the page cannot be drawn: {e}")))?;
    Ok(out)
}
