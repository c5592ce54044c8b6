//! Colour pages to grayscale for OCR. Luminance alone turns coloured print
//! (an orange service name, a red total) into a light gray that a global
//! threshold takes for paper; such print is kept dark, while pale tints
//! (a yellow highlight, a light blue band) stay light as luminance has them.

/// The gray level of one pixel: Rec. 601 luminance, halved for a strongly
/// coloured pixel of middle luminance.
pub fn gray(r: u8, g: u8, b: u8) -> u8 {
    let (r, g, b) = (u32::from(r), u32::from(g), u32::from(b));
    let luma = (r * 299 + g * 587 + b * 114) / 1000;
    let spread = r.max(g).max(b) - r.min(g).min(b);
    (if spread >= 128 && luma < 200 {
        luma / 2
    } else {
        luma
    }) as u8
}

/// A decoded image in grayscale, colour as [`gray`] has it.
pub fn grayscale(img: image::DynamicImage) -> image::GrayImage {
    use image::DynamicImage;
    let (w, h) = (img.width(), img.height());
    let from = |px: &[u8], step: usize| -> Vec<u8> {
        px.chunks_exact(step)
            .map(|p| gray(p[0], p[1], p[2]))
            .collect()
    };
    let pixels = match &img {
        DynamicImage::ImageLuma8(_) => return img.into_luma8(),
        DynamicImage::ImageRgb8(rgb) => from(rgb.as_raw(), 3),
        DynamicImage::ImageRgba8(rgba) => from(rgba.as_raw(), 4),
        _ => return img.to_luma8(),
    };
    image::GrayImage::from_raw(w, h, pixels).expect("one gray pixel per pixel")
}

#[cfg(test)]
mod tests {
    use super::gray;

    #[test]
    fn coloured_print_stays_dark_and_tints_stay_light() {
        assert!(gray(255, 153, 0) < 100, "orange print");
        assert!(gray(200, 0, 0) < 100, "red print");
        assert!(gray(255, 255, 0) > 200, "yellow highlight");
        assert!(gray(200, 220, 240) > 200, "light blue band");
        assert_eq!(gray(0, 0, 0), 0);
        assert_eq!(gray(255, 255, 255), 255);
    }
}
