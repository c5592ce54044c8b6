//! A second look at fields that OCR did not read well enough: a field that is
//! missing, does not parse, or is less sure than the template's
//! `min_confidence` is read again from its page — first the region around its
//! label or its zone, cut out, enlarged and also read against its local
//! background (white on colour), then the whole page in other segmentation
//! modes — and the reading whose value parses with the best confidence is
//! kept. Fields read well cost nothing more: the common case stays one pass.

mod attempts;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use image::GrayImage;
use serde_json::Value;

use super::document::{Document, Page, Turn, Word};
use super::rules::{self, FieldResult};
use super::{blocking, images, preprocess, DocKind, ExtractionError, Reader};
use crate::spec::{Compiled, Field, Locator, Options};
use attempts::{
    cut_out, region_attempts, typical_height, Attempt, Look, Region, PADDING, PAGE_ATTEMPTS,
};

/// Whole-page readings one document may spend on second looks.
const PAGE_READINGS: usize = 5;
/// Region readings one document may spend on second looks.
const REGION_READINGS: usize = 12;
/// Values read with less confidence than this are read again.
const REREAD_BELOW: f64 = 0.7;
/// Scanned pages tried for one field (a label or value may be on any of them).
const PAGES_PER_FIELD: usize = 3;

/// The document as uploaded, to prepare a scanned page again.
pub(super) struct Source {
    pub kind: DocKind,
    pub bytes: Vec<u8>,
}

/// Pages prepared again and whole-page readings, shared by the fields of one document.
#[derive(Default)]
struct Cache {
    /// The pages prepared last, newest last; at most [`PAGES_PER_FIELD`].
    prepared: Vec<(u32, Arc<GrayImage>)>,
    pages: HashMap<(u32, u8, u8), Vec<Word>>,
    page_readings: usize,
    region_readings: usize,
}

impl Reader {
    /// Reads doubtful fields again where they may be on a scanned page;
    /// `results` are replaced where a reading does better.
    pub(super) async fn second_look(
        &self,
        source: &Source,
        doc: &Document,
        compiled: &Compiled,
        options: &Options,
        results: &mut [FieldResult],
    ) {
        let fields = &compiled.fields;
        let mut cache = Cache::default();
        // Without a template threshold, a value OCR was unsure of is read again too;
        // not rows, though: one unsure cell among dozens is the rule on a scan, and
        // each whole-page reading costs as much as the first.
        let single = Some(options.min_confidence.unwrap_or(0.0).max(REREAD_BELOW));
        for (field, result) in fields.iter().zip(results.iter_mut()) {
            let wanted = match field.locator {
                Locator::Rows(_) => options.min_confidence,
                _ => single,
            };
            if matches!(field.locator, Locator::Constant(_)) || !result.doubtful(wanted) {
                continue;
            }
            let pages: Vec<&Page> = doc
                .pages
                .iter()
                .filter(|p| p.scan.is_some() && on_page(field, p.number))
                .take(PAGES_PER_FIELD)
                .collect();
            // Regions first (near a label or zone, cheap), then whole pages
            // taking turns, so a value on the last page is not left unread
            // because the first page spent the budget.
            let mut queue: VecDeque<(&Page, Attempt)> = pages
                .iter()
                .flat_map(|&p| region_attempts(p, field).into_iter().map(move |a| (p, a)))
                .collect();
            // A row with an empty cell: its band read as one line first, where
            // a lone short value ("7" under Qty) is not taken for a speck.
            for (page, region) in holed_rows(result, &pages) {
                for look in [Look::Gray, Look::Binary] {
                    let mode = super::ocr::Segmentation::Line;
                    queue.push_back((page, Attempt::Region { region, look, mode }));
                }
            }
            let mut near_label: Vec<u32> = queue.iter().map(|(p, _)| p.number).collect();
            // A table's rows need every column: reading the page as one
            // block keeps the short, isolated cells that layout analysis drops.
            let mut attempts = PAGE_ATTEMPTS.to_vec();
            if matches!(field.locator, Locator::Rows(_)) {
                attempts.sort_by_key(|a| {
                    !matches!(
                        a,
                        Attempt::Page {
                            mode: super::ocr::Segmentation::Block,
                            ..
                        }
                    )
                });
            }
            for attempt in attempts {
                queue.extend(pages.iter().map(|&p| (p, attempt)));
            }
            let mut accepted: Option<Document> = None;
            while let Some((page, attempt)) = queue.pop_front() {
                let image = match self.prepared(source, page, &mut cache).await {
                    Ok(image) => image,
                    Err(e) => {
                        tracing::debug!(page = page.number, error = %e, "page cannot be prepared again");
                        queue.retain(|(p, _)| p.number != page.number);
                        continue;
                    }
                };
                let Some(words) = self
                    .read_again(&image, page, attempt, &options.language, &mut cache)
                    .await
                else {
                    continue;
                };
                let region = match attempt {
                    Attempt::Region { region, .. } => Some(region),
                    Attempt::Page { .. } => None,
                };
                // Readings build on the best so far: a second row's band
                // patched in keeps the first row's.
                let working = accepted.as_ref().unwrap_or(doc);
                let base = working
                    .pages
                    .iter()
                    .find(|p| p.number == page.number)
                    .unwrap_or(page);
                let patched_page = patched(base, region, words);
                if !near_label.contains(&page.number) {
                    // The first reading lost the label (a line on a shaded
                    // band, say); once another reading finds it, the band
                    // around it is read closely before anything else.
                    let around = region_attempts(&patched_page, field);
                    if !around.is_empty() {
                        near_label.push(page.number);
                    }
                    for a in around.into_iter().rev() {
                        queue.push_front((page, a));
                    }
                }
                let patched = working.with_page(patched_page);
                let reading = rules::evaluate(&patched, field, compiled, options);
                tracing::trace!(field = %field.name, page = page.number, ?attempt, value = %reading.value, confidence = ?reading.confidence, "read again");
                if reading.better_than(result) {
                    tracing::debug!(field = %field.name, ?attempt, "a second look read the field");
                    *result = reading;
                    accepted = Some(patched);
                }
                if !result.doubtful(wanted) {
                    break;
                }
            }
        }
    }

    /// The page's image exactly as OCR read it: decoded or rendered again,
    /// prepared and turned the same way.
    async fn prepared(
        &self,
        source: &Source,
        page: &Page,
        cache: &mut Cache,
    ) -> Result<Arc<GrayImage>, ExtractionError> {
        if let Some((_, image)) = cache.prepared.iter().find(|(n, _)| *n == page.number) {
            return Ok(image.clone());
        }
        let scan = page
            .scan
            .ok_or_else(|| ExtractionError::Unreadable("not a scanned page".into()))?;
        let number = page.number;
        let (image, dpi) = match source.kind {
            DocKind::Pdf => {
                let max = self.max_pixels.min(preprocess::MAX_OCR_PIXELS);
                let mut pages = self
                    .pdf
                    .render_pages(source.bytes.clone(), scan.source_dpi, max, Some(number))
                    .await?;
                let image = pages
                    .pop()
                    .ok_or_else(|| ExtractionError::Unreadable("page not rendered".into()))?;
                (image, scan.source_dpi)
            }
            kind => {
                let (bytes, max_pixels, max_pages) =
                    (source.bytes.clone(), self.max_pixels, self.max_pages);
                blocking(move || {
                    images::PageReader::open(kind, bytes, max_pixels, max_pages)?.page(number)
                })
                .await?
            }
        };
        let (width, height) = (page.width, page.height);
        let image = blocking(move || {
            let (image, dpi) = preprocess::fit_for_ocr(image, dpi);
            let prepared = preprocess::prepare(image, dpi).image;
            let image = match scan.turn {
                Turn::None => prepared,
                turn => preprocess::turn(&prepared, turn),
            };
            if image.dimensions() != (width as u32, height as u32) {
                return Err(ExtractionError::Unreadable(
                    "the page prepared again differs".into(),
                ));
            }
            Ok(image)
        })
        .await?;
        let image = Arc::new(image);
        if cache.prepared.len() >= PAGES_PER_FIELD {
            cache.prepared.remove(0);
        }
        cache.prepared.push((number, image.clone()));
        Ok(image)
    }

    /// The words of one attempt, in the page's units; `None` when it cannot be made.
    async fn read_again(
        &self,
        image: &Arc<GrayImage>,
        page: &Page,
        attempt: Attempt,
        language: &str,
        cache: &mut Cache,
    ) -> Option<Vec<Word>> {
        let dpi = page.scan?.dpi;
        match attempt {
            Attempt::Page { look, mode } => {
                let key = (page.number, look as u8, mode as u8);
                if let Some(words) = cache.pages.get(&key) {
                    return Some(words.clone());
                }
                if cache.page_readings >= PAGE_READINGS {
                    return None;
                }
                cache.page_readings += 1;
                let mut image = image.as_ref().clone();
                let image = blocking(move || {
                    look.apply(&mut image);
                    Ok(image)
                })
                .await
                .ok()?;
                let reading = self.ocr.recognise(image, dpi, language, mode).await.ok()?;
                cache.pages.insert(key, reading.words.clone());
                Some(reading.words)
            }
            Attempt::Region { region, look, mode } => {
                if cache.region_readings >= REGION_READINGS {
                    return None;
                }
                cache.region_readings += 1;
                let image = image.clone();
                let text_height = typical_height(page);
                let (cut, scale) = blocking(move || Ok(cut_out(&image, region, text_height, look)))
                    .await
                    .ok()?;
                let dpi = (dpi as f32 * scale) as u32;
                let reading = self.ocr.recognise(cut, dpi, language, mode).await.ok()?;
                let back = |v: f32, origin: f32| (v - PADDING as f32) / scale + origin;
                Some(
                    reading
                        .words
                        .into_iter()
                        .map(|w| Word {
                            left: back(w.left, region.left),
                            right: back(w.right, region.left),
                            top: back(w.top, region.top),
                            bottom: back(w.bottom, region.top),
                            ..w
                        })
                        .collect(),
                )
            }
        }
    }
}

/// The bands of a lines field's rows that have an empty cell, across their
/// page, with the page they are on.
fn holed_rows<'p>(result: &FieldResult, pages: &[&'p Page]) -> Vec<(&'p Page, Region)> {
    let Some(details) = &result.rows else {
        return Vec::new();
    };
    let rows = result
        .value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    rows.iter()
        .zip(details)
        .filter(|(row, _)| {
            row.as_object()
                .is_some_and(|r| r.values().any(Value::is_null))
        })
        .filter_map(|(_, detail)| {
            let area = detail.area.as_ref()?;
            let page = *pages.iter().find(|p| p.number == area.page)?;
            let h = typical_height(page);
            let (top, bottom) = (
                area.y as f32 * page.height,
                (area.y + area.height) as f32 * page.height,
            );
            Some((
                page,
                Region {
                    left: 0.0,
                    top: (top - 0.1 * h).max(0.0),
                    right: page.width,
                    bottom: (bottom + 0.1 * h).min(page.height),
                },
            ))
        })
        .collect()
}

/// Whether a field's value may be on page `number`.
fn on_page(field: &Field, number: u32) -> bool {
    match &field.locator {
        Locator::Zone(z) => z.page == number,
        _ => field.page.is_none_or(|n| n == number),
    }
}

/// `page` with the words of `region` (the whole page when `None`) replaced by `words`.
fn patched(page: &Page, region: Option<Region>, words: Vec<Word>) -> Page {
    let mut all: Vec<Word> = match region {
        Some(r) => page.words().filter(|w| !r.holds(w)).cloned().collect(),
        None => Vec::new(),
    };
    all.extend(words);
    let fresh = Page::from_words(page.number, page.width, page.height, all);
    match page.scan {
        Some(scan) => fresh.scanned(scan),
        None => fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_replaces_only_the_words_of_its_region() {
        let words = vec![
            Word::new("TOTAL", 10.0, 100.0, 60.0, 112.0),
            Word::new("T0TAL", 300.0, 100.0, 350.0, 112.0),
            Word::new("Thanks", 10.0, 200.0, 70.0, 212.0),
        ];
        let page = Page::from_words(1, 400.0, 300.0, words);
        let region = Region {
            left: 200.0,
            top: 90.0,
            right: 400.0,
            bottom: 125.0,
        };
        let got = patched(
            &page,
            Some(region),
            vec![Word::new("12.50", 320.0, 101.0, 370.0, 113.0)],
        );
        assert_eq!(got.text(), "TOTAL 12.50\nThanks");
    }
}
