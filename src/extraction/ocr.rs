//! OCR with Tesseract on a pool of threads, one engine per thread and language,
//! reused across pages (starting an engine costs over 100 ms). Work never runs
//! on the async executor: callers await a reply from the pool.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};

use image::GrayImage;
use tesseract::{PageSegMode, Tesseract};
use tokio::sync::oneshot;

use super::document::{Page, Scan, Turn, Word};
use super::ocr_signs::restore_minus;
use super::ocr_words::{parse_tsv, without_specks};
use super::{preprocess, ExtractionError};

/// How Tesseract should segment the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segmentation {
    /// Fully automatic layout analysis (Tesseract's `--psm 3`).
    Auto,
    /// As much text as possible in no particular order (`--psm 11`): finds
    /// isolated values such as right-aligned prices that block analysis drops.
    Sparse,
    /// One uniform block of text (`--psm 6`): every column of a narrow page,
    /// or a small region cut out around a value.
    Block,
    /// A single line of text (`--psm 7`): a label and its value.
    Line,
}

/// Words recognised on one image, with boxes in the image's pixels.
#[derive(Debug, Default)]
pub struct Recognised {
    pub words: Vec<Word>,
}

impl Recognised {
    /// Mean word confidence weighted by word length: how well the page read.
    pub fn quality(&self) -> f32 {
        let (mut sum, mut n) = (0.0f32, 0usize);
        for w in &self.words {
            let len = w.text.chars().filter(|c| c.is_alphanumeric()).count();
            sum += w.confidence * len as f32;
            n += len;
        }
        if n == 0 {
            0.0
        } else {
            sum / n as f32
        }
    }

    /// Whether most of the text sits in boxes taller than wide: lines run vertically.
    pub fn mostly_tall(&self) -> bool {
        let long = self.words.iter().filter(|w| w.text.chars().count() >= 4);
        let (tall, total) = long.fold((0, 0), |(t, n), w| {
            (t + usize::from(w.bottom - w.top > w.right - w.left), n + 1)
        });
        total >= 3 && tall * 2 > total
    }

    /// Characters read with confidence; used to compare candidate readings.
    pub fn score(&self) -> f32 {
        self.words
            .iter()
            .map(|w| w.confidence * w.text.chars().filter(|c| c.is_alphanumeric()).count() as f32)
            .sum()
    }
}

enum Job {
    /// A scanned page, prepared and read into the page model.
    Page {
        image: GrayImage,
        dpi: u32,
        language: String,
        number: u32,
        reply: oneshot::Sender<Result<Page, ExtractionError>>,
    },
    /// An image read as it is, in the given mode.
    Recognise {
        image: GrayImage,
        dpi: u32,
        language: String,
        mode: Segmentation,
        reply: oneshot::Sender<Result<Recognised, ExtractionError>>,
    },
}

/// Handle to the OCR threads.
#[derive(Clone)]
pub struct OcrPool {
    tx: mpsc::Sender<Job>,
    threads: usize,
}

impl OcrPool {
    pub fn start(threads: usize) -> Self {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("ocr-{n}"))
                .spawn(move || {
                    let mut engines: HashMap<String, Tesseract> = HashMap::new();
                    loop {
                        let job = match rx.lock().map(|r| r.recv()) {
                            Ok(Ok(job)) => job,
                            _ => return,
                        };
                        match job {
                            Job::Page {
                                image,
                                dpi,
                                language,
                                number,
                                reply,
                            } => {
                                let _ = reply.send(read_page(
                                    &mut engines,
                                    image,
                                    dpi,
                                    &language,
                                    number,
                                ));
                            }
                            Job::Recognise {
                                image,
                                dpi,
                                language,
                                mode,
                                reply,
                            } => {
                                let _ = reply.send(recognise(
                                    &mut engines,
                                    &image,
                                    dpi,
                                    &language,
                                    mode,
                                ));
                            }
                        }
                    }
                })
                .expect("spawning an OCR thread");
        }
        Self { tx, threads }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Reads one scanned page into the page model, in the pool.
    pub async fn read_page(
        &self,
        image: GrayImage,
        dpi: u32,
        language: &str,
        number: u32,
    ) -> Result<Page, ExtractionError> {
        let (reply, rx) = oneshot::channel();
        self.run(
            Job::Page {
                image,
                dpi,
                language: language.to_string(),
                number,
                reply,
            },
            rx,
        )
        .await
    }

    /// Reads an image as it is (no preparation), in the pool.
    pub async fn recognise(
        &self,
        image: GrayImage,
        dpi: u32,
        language: &str,
        mode: Segmentation,
    ) -> Result<Recognised, ExtractionError> {
        let (reply, rx) = oneshot::channel();
        self.run(
            Job::Recognise {
                image,
                dpi,
                language: language.to_string(),
                mode,
                reply,
            },
            rx,
        )
        .await
    }

    async fn run<T>(
        &self,
        job: Job,
        rx: oneshot::Receiver<Result<T, ExtractionError>>,
    ) -> Result<T, ExtractionError> {
        let stopped = || ExtractionError::EngineUnavailable("the OCR threads have stopped".into());
        self.tx.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// A reading is trusted without a second try above this quality.
const GOOD_ENOUGH: f32 = 0.80;
/// Another orientation or segmentation replaces the upright automatic reading
/// only when it reads this much more (a tie keeps the usual reading).
const CLEARLY_BETTER: f32 = 1.15;

/// Prepares the image and reads it; only when the reading is poor are the other
/// orientations (a page on its side or upside down) and sparse segmentation tried.
fn read_page(
    engines: &mut HashMap<String, Tesseract>,
    image: GrayImage,
    dpi: u32,
    language: &str,
    number: u32,
) -> Result<Page, ExtractionError> {
    let started = std::time::Instant::now();
    let source_dpi = dpi;
    let (image, dpi) = preprocess::fit_for_ocr(image, dpi);
    let prepared = preprocess::prepare(image, dpi);
    let dpi = prepared.dpi;
    let mut best_image = prepared.image;

    let prepared_in = started.elapsed();
    let mut best = recognise(engines, &best_image, dpi, language, Segmentation::Auto)?;
    tracing::debug!(
        page = number,
        prepare_ms = prepared_in.as_millis() as u64,
        ocr_ms = (started.elapsed() - prepared_in).as_millis() as u64,
        quality = best.quality(),
        size = ?best_image.dimensions(),
        dpi,
        "page read"
    );
    // Tesseract reads a page on its side, but its word boxes stay sideways: turn the page.
    let sideways = best.mostly_tall();
    let mut best_turn = Turn::None;
    if sideways || best.quality() < GOOD_ENOUGH {
        let turns = [Turn::Clockwise, Turn::Anticlockwise, Turn::Half];
        let original = std::mem::take(&mut best_image);
        if sideways {
            best = Recognised::default();
        }
        best_image = original.clone();
        // A page on its side needs a quarter turn, never a half one.
        for turn in turns.into_iter().take(if sideways { 2 } else { 3 }) {
            let turned = preprocess::turn(&original, turn);
            let reading = recognise(engines, &turned, dpi, language, Segmentation::Auto)?;
            // A reading in tall boxes is of a page still on its side.
            if !reading.mostly_tall() && reading.score() > best.score() * CLEARLY_BETTER {
                best = reading;
                best_image = turned;
                best_turn = turn;
            }
            if best.quality() >= GOOD_ENOUGH {
                break;
            }
        }
    }
    if best.quality() < GOOD_ENOUGH {
        let sparse = recognise(engines, &best_image, dpi, language, Segmentation::Sparse)?;
        if sparse.score() > best.score() * CLEARLY_BETTER {
            best = sparse;
        }
    }
    tracing::debug!(
        page = number,
        total_ms = started.elapsed().as_millis() as u64,
        "page done"
    );
    let (w, h) = best_image.dimensions();
    let scan = Scan {
        source_dpi,
        dpi,
        turn: best_turn,
    };
    Ok(Page::from_words(number, w as f32, h as f32, best.words).scanned(scan))
}

fn recognise(
    engines: &mut HashMap<String, Tesseract>,
    image: &GrayImage,
    dpi: u32,
    language: &str,
    mode: Segmentation,
) -> Result<Recognised, ExtractionError> {
    let mut engine = match engines.remove(language) {
        Some(e) => e,
        None => quieted(start_engine(language)?, language)?,
    };
    engine.set_page_seg_mode(match mode {
        Segmentation::Auto => PageSegMode::PsmAuto,
        Segmentation::Sparse => PageSegMode::PsmSparseText,
        Segmentation::Block => PageSegMode::PsmSingleBlock,
        Segmentation::Line => PageSegMode::PsmSingleLine,
    });
    let (w, h) = image.dimensions();
    let started = std::time::Instant::now();
    let failed =
        |e: &dyn std::fmt::Display| ExtractionError::Unreadable(format!("OCR failed: {e}"));
    // On error the engine is consumed; the next page starts a new one.
    let mut engine = engine
        .set_frame(image.as_raw(), w as i32, h as i32, 1, w as i32)
        .map_err(|e| failed(&e))?
        .set_source_resolution(dpi as i32)
        .recognize()
        .map_err(|e| failed(&e))?;
    let tsv = engine.get_tsv_text(0).map_err(|e| failed(&e))?;
    engines.insert(language.to_string(), engine);
    tracing::debug!(
        ?mode,
        width = w,
        height = h,
        ms = started.elapsed().as_millis() as u64,
        "recognised"
    );
    let mut words = parse_tsv(&tsv);
    restore_minus(image, &mut words);
    Ok(Recognised {
        words: without_specks(words),
    })
}

fn start_engine(language: &str) -> Result<Tesseract, ExtractionError> {
    Tesseract::new(None, Some(language)).map_err(|e| {
        ExtractionError::EngineUnavailable(format!(
            "Tesseract cannot start with language {language:?} ({e}); install tesseract-ocr-{language} or see `docpush doctor`"
        ))
    })
}

/// Sends Tesseract's progress notes ("Image too small to scale!!" on a
/// speck) nowhere instead of to the service's stderr, between its log lines;
/// what fails reaches the results anyway. The setting is process-wide, so the
/// first engine sets it; an engine that refuses it is replaced by a plain one.
fn quieted(engine: Tesseract, language: &str) -> Result<Tesseract, ExtractionError> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    let mut engine = Some(engine);
    QUIET.call_once(|| {
        if let Some(e) = engine.take() {
            match e.set_variable("debug_file", "/dev/null") {
                Ok(e) => engine = Some(e),
                Err(err) => tracing::debug!(error = %err, "Tesseract keeps its notes on stderr"),
            }
        }
    });
    match engine {
        Some(e) => Ok(e),
        None => start_engine(language),
    }
}

/// Languages Tesseract can load here (from its tessdata directory).
pub fn installed_languages() -> Vec<String> {
    let out = std::process::Command::new("tesseract")
        .arg("--list-langs")
        .output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        Err(_) => Vec::new(),
    }
}
